/// Gathering picked rows of one source in two phases: every picked value is first copied into one
/// scratch buffer, reading the source columns in place with nothing allocated in between, then each
/// new column's arrays are allocated from that buffer.
///
/// The one-phase gather (``Column/gathering(_:from:_:)``) allocates while it reads a source column,
/// so the optimiser copies the column (retains its arrays) around every allocation; a delta of one
/// or two rows of a dozen columns spent more on those copies than on the values. Here no source
/// column is touched once allocation starts.
extension Segment {
    /// What the fill phase wrote for one column, where in the scratch buffer.
    private struct PickedColumn {
        /// 0 integer, 1 real, 2 boolean, 3 text.
        var kind: UInt8 = 0
        /// Whether some picked row is null (its bitmap is at `nulls`).
        var hasNulls = false
        /// Byte offsets into the scratch buffer: the values (text: the offsets), the text bytes, the
        /// null bitmap's words (-1: the column has no bitmap).
        var values = 0
        var bytes = 0
        var byteCount = 0
        var nulls = -1
    }

    /// The rows `picks` (each a row index of `columns`, in any order, repeats allowed) of
    /// `columns`, under `schema`; `nil` when a column holds values of any type (callers then take
    /// the general gather).
    ///
    /// Rows are identical to what ``Column/gathering(_:from:_:)`` builds: the same values, text
    /// offsets from 0, and a null bitmap only when a picked row is null.
    ///
    /// - Complexity: O(picks × columns + bytes of picked text); one scratch buffer (on the stack
    ///   when small) plus the new columns' arrays.
    static func pickingRows(_ picks: UnsafeBufferPointer<Int32>, of columns: [Column], schema: Schema) -> Segment? {
        let n = picks.count
        guard n > 0 else { return .empty(schema) }
        return columns.withUnsafeBufferPointer { source -> Segment? in
            withUnsafeTemporaryAllocation(of: PickedColumn.self, capacity: source.count) { plan -> Segment? in
                // Sizing: where each column's values go.
                var size = 0
                @inline(__always)
                func reserve(_ bytes: Int) -> Int {
                    let at = size
                    size += (bytes + 7) & ~7
                    return at
                }
                for c in source.indices {
                    var p = PickedColumn()
                    switch source[c].storage {
                    case .integer:
                        p.kind = 0
                        p.values = reserve(n * 8)
                    case .real:
                        p.kind = 1
                        p.values = reserve(n * 8)
                    case .boolean:
                        p.kind = 2
                        p.values = reserve(n)
                    case .text(let text):
                        p.kind = 3
                        p.values = reserve((n + 1) * 4)
                        var total = 0
                        text.offsets.withUnsafeBufferPointer { o in
                            for k in 0..<n {
                                let r = Int(picks[k])
                                total += Int(o[r + 1] &- o[r])
                            }
                        }
                        p.bytes = reserve(total)
                        p.byteCount = total
                    case .any:
                        return nil
                    }
                    if source[c].nulls != nil { p.nulls = reserve((n + 63) / 64 * 8) }
                    (plan.baseAddress! + c).initialize(to: p)
                }
                return withUnsafeTemporaryAllocation(byteCount: max(size, 8), alignment: 8) { scratch -> Segment in
                    let base = scratch.baseAddress!
                    // Filling: reads only.
                    for c in source.indices {
                        Self.fill(picks, from: source[c], into: base, &plan[c])
                    }
                    // Allocating: reads only the scratch buffer.
                    var built: [Column] = []
                    built.reserveCapacity(source.count)
                    for c in 0..<source.count {
                        let p = plan[c]
                        var nulls: NullBitmap?
                        if p.hasNulls {
                            let words = (base + p.nulls).assumingMemoryBound(to: UInt64.self)
                            nulls = NullBitmap(words: Array(UnsafeBufferPointer(start: words, count: (n + 63) / 64)), count: n)
                        }
                        let storage: Column.Storage
                        switch p.kind {
                        case 0:
                            storage = .integer(Array(UnsafeBufferPointer(start: (base + p.values).assumingMemoryBound(to: Int64.self), count: n)))
                        case 1:
                            storage = .real(Array(UnsafeBufferPointer(start: (base + p.values).assumingMemoryBound(to: Double.self), count: n)))
                        case 2:
                            storage = .boolean(Array(UnsafeBufferPointer(start: (base + p.values).assumingMemoryBound(to: Bool.self), count: n)))
                        default:
                            let offsets = Array(UnsafeBufferPointer(start: (base + p.values).assumingMemoryBound(to: UInt32.self), count: n + 1))
                            let bytes = Array(UnsafeBufferPointer(start: (base + p.bytes).assumingMemoryBound(to: UInt8.self), count: p.byteCount))
                            storage = .text(TextColumn(bytes: bytes, offsets: offsets))
                        }
                        built.append(Column(storage: storage, nulls: nulls, count: n))
                    }
                    return Segment(unchecked: schema, columns: built, rowCount: n)
                }
            }
        }
    }

    /// Copies the picked rows of `column` (not any-typed) where `plan` says, and notes whether a
    /// picked row is null.
    @inline(__always)
    private static func fill(
        _ picks: UnsafeBufferPointer<Int32>,
        from column: Column,
        into base: UnsafeMutableRawPointer,
        _ plan: inout PickedColumn
    ) {
        let n = picks.count
        @inline(__always)
        func copy<T: BitwiseCopyable>(_ values: [T]) {
            let out = (base + plan.values).assumingMemoryBound(to: T.self)
            values.withUnsafeBufferPointer { v in
                for k in 0..<n { out[k] = v[Int(picks[k])] }
            }
        }
        switch column.storage {
        case .integer(let values): copy(values)
        case .real(let values): copy(values)
        case .boolean(let values): copy(values)
        case .text(let text):
            let out = (base + plan.values).assumingMemoryBound(to: UInt32.self)
            let bytesOut = (base + plan.bytes).assumingMemoryBound(to: UInt8.self)
            text.offsets.withUnsafeBufferPointer { o in
                text.bytes.withUnsafeBufferPointer { b in
                    var total = 0
                    out[0] = 0
                    for k in 0..<n {
                        let r = Int(picks[k])
                        let start = Int(o[r])
                        let length = Int(o[r + 1]) - start
                        if length > 0 { (bytesOut + total).initialize(from: b.baseAddress! + start, count: length) }
                        total += length
                        out[k + 1] = UInt32(truncatingIfNeeded: total)
                    }
                }
            }
        case .any:
            preconditionFailure("any-typed columns are gathered by the general path")
        }
        guard plan.nulls >= 0, let nulls = column.nulls else { return }
        let words = (base + plan.nulls).assumingMemoryBound(to: UInt64.self)
        let wordCount = (n + 63) / 64
        words.initialize(repeating: 0, count: wordCount)
        var any = false
        nulls.words.withUnsafeBufferPointer { w in
            for k in 0..<n {
                let r = Int(picks[k])
                if w[r >> 6] & (1 << UInt64(r & 63)) != 0 {
                    words[k >> 6] |= 1 << UInt64(k & 63)
                    any = true
                }
            }
        }
        plan.hasNulls = any
    }
}
