/// Building the few rows a publisher's delta carries (one or two changed rows of a machine's
/// table) from one segment: each column's picked values copied straight into its new arrays,
/// which are filled on the stack and copied (see ``Swift/Array/init(filling:_:)``), with no
/// sizing pass and no shared scratch buffer.
extension Segment {
    /// The rows `picks` of `self` (row indices, any order, repeats allowed): the same segment as
    /// ``gathering(_:other:)`` with no other source builds (the same values, text offsets from 0,
    /// a null bitmap only when a picked row is null; `self` itself when the picks are every row in
    /// order).
    ///
    /// - Complexity: O(picks × columns + bytes of picked text), two or three small allocations per
    ///   column.
    func pickedRows(_ picks: UnsafeBufferPointer<Int32>) -> Segment {
        if picks.isEmpty || picks.count >= rowCount || schema.columns.contains(where: { $0.type == .any }) {
            return gathering(picks, other: nil)
        }
        let built = columns.map { Segment.picked(picks, from: $0) }
        return Segment(unchecked: schema, columns: built, rowCount: picks.count)
    }

    /// Column `column` (not any-typed) at the rows `picks`.
    @inline(__always)
    private static func picked(_ picks: UnsafeBufferPointer<Int32>, from column: Column) -> Column {
        let n = picks.count
        let nulls = column.nulls.flatMap { pickedNulls(picks, $0) }
        switch column.storage {
        case .integer(let values): return Column(storage: .integer(picked(picks, values)), nulls: nulls, count: n)
        case .real(let values): return Column(storage: .real(picked(picks, values)), nulls: nulls, count: n)
        case .boolean(let values): return Column(storage: .boolean(picked(picks, values)), nulls: nulls, count: n)
        case .text(let text): return Column(storage: .text(picked(picks, text)), nulls: nulls, count: n)
        case .any: preconditionFailure("any-typed columns are gathered by the general path")
        }
    }

    /// Fixed-width values at the rows `picks`.
    @inline(__always)
    private static func picked<T: BitwiseCopyable>(_ picks: UnsafeBufferPointer<Int32>, _ values: [T]) -> [T] {
        values.withUnsafeBufferPointer { v in
            [T](filling: picks.count) { out in
                for k in 0..<picks.count { out[k] = v[Int(picks[k])] }
            }
        }
    }

    /// Text at the rows `picks`, offsets from 0.
    private static func picked(_ picks: UnsafeBufferPointer<Int32>, _ text: TextColumn) -> TextColumn {
        text.offsets.withUnsafeBufferPointer { o in
            text.bytes.withUnsafeBufferPointer { b in
                var total = 0
                let offsets = [UInt32](filling: picks.count + 1) { out in
                    out[0] = 0
                    for k in 0..<picks.count {
                        let r = Int(picks[k])
                        total += Int(o[r + 1] &- o[r])
                        out[k + 1] = UInt32(truncatingIfNeeded: total)
                    }
                }
                let bytes = [UInt8](filling: total) { out in
                    var at = 0
                    for k in 0..<picks.count {
                        let r = Int(picks[k])
                        let start = Int(o[r])
                        let length = Int(o[r + 1]) - start
                        if length > 0 { (out.baseAddress! + at).initialize(from: b.baseAddress! + start, count: length) }
                        at += length
                    }
                }
                return TextColumn(bytes: bytes, offsets: offsets)
            }
        }
    }

    /// The null bitmap of the rows `picks` of `nulls`; `nil` when no picked row is null.
    private static func pickedNulls(_ picks: UnsafeBufferPointer<Int32>, _ nulls: NullBitmap) -> NullBitmap? {
        nulls.words.withUnsafeBufferPointer { w in
            @inline(__always)
            func isNull(_ k: Int) -> Bool {
                let r = Int(picks[k])
                return w[r >> 6] & (1 << UInt64(r & 63)) != 0
            }
            guard picks.indices.contains(where: isNull) else { return nil }
            let words = [UInt64](filling: (picks.count + 63) / 64) { out in
                out.initialize(repeating: 0)
                for k in picks.indices where isNull(k) { out[k >> 6] |= 1 << UInt64(k & 63) }
            }
            return NullBitmap(words: words, count: picks.count)
        }
    }
}
