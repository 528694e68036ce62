/// Building columns from picked rows of one or two source columns, typed loop by typed loop.
extension Column {
    /// A pick of row `row` from the first source.
    @inline(__always)
    static func pickFirst(_ row: Int) -> Int32 { Int32(truncatingIfNeeded: row) }

    /// A pick of row `row` from the second source.
    @inline(__always)
    static func pickSecond(_ row: Int) -> Int32 { ~Int32(truncatingIfNeeded: row) }

    /// A column whose row `k` is `first[picks[k]]` when `picks[k] >= 0`, else `second[~picks[k]]`.
    ///
    /// `first` and `second` must have the same type; `second` may be `nil` when every pick is
    /// non-negative.
    ///
    /// - Complexity: O(picks + bytes of picked text), a handful of allocations.
    static func gathering(_ picks: [Int32], from first: Column, _ second: Column?) -> Column {
        picks.withUnsafeBufferPointer { gathering($0, from: first, second) }
    }

    /// ``gathering(_:from:_:)`` over picks in a buffer (callers keep small pick lists off the heap).
    static func gathering(_ picks: UnsafeBufferPointer<Int32>, from first: Column, _ second: Column?) -> Column {
        if let second { return gathering(picks, first, second) }
        return gathering(picks, first, first)
    }

    /// ``gathering(_:from:_:)`` of column `c` of `firsts` and `seconds` (arrays of columns the
    /// caller holds: their elements are read in place, where columns passed to a function that
    /// allocates are copied first).
    static func gathering(
        _ picks: UnsafeBufferPointer<Int32>,
        _ firsts: [Column],
        _ seconds: [Column],
        at c: Int
    ) -> Column {
        gathering(picks, firsts[c], seconds[c])
    }

    /// ``gathering(_:from:_:)`` from two sources (the same column twice when there is one).
    @inline(__always)
    static func gathering(_ picks: UnsafeBufferPointer<Int32>, _ first: Column, _ other: Column) -> Column {
        let count = picks.count
        let nulls = gatherNulls(picks, first, other)
        // Nested switches, not a tuple of both storages: a tuple would copy (retain) both payloads.
        switch first.storage {
        case .integer(let a):
            guard case .integer(let b) = other.storage else { break }
            return Column(storage: .integer(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case .real(let a):
            guard case .real(let b) = other.storage else { break }
            return Column(storage: .real(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case .boolean(let a):
            guard case .boolean(let b) = other.storage else { break }
            return Column(storage: .boolean(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case .any(let a):
            guard case .any(let b) = other.storage else { break }
            return Column(storage: .any(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case .text(let a):
            guard case .text(let b) = other.storage else { break }
            return Column(storage: .text(gatherText(picks, a, b)), nulls: nulls, count: count)
        }
        preconditionFailure("gathering from columns of different types \(first.type) and \(other.type)")
    }

    /// Fixed-width values (allocated through specialised code, see ``Swift/Array/init(filling:_:)``).
    private static func gatherArray<T: BitwiseCopyable>(_ picks: UnsafeBufferPointer<Int32>, _ a: [T], _ b: [T]) -> [T] {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                [T](filling: picks.count) { out in
                    for k in picks.indices {
                        let p = picks[k]
                        out[k] = p >= 0 ? a[Int(p)] : b[Int(~p)]
                    }
                }
            }
        }
    }

    /// Values of any type.
    private static func gatherArray(_ picks: UnsafeBufferPointer<Int32>, _ a: [Value], _ b: [Value]) -> [Value] {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                [Value](unsafeUninitializedCapacity: picks.count) { out, initialized in
                    for k in picks.indices {
                        let p = picks[k]
                        (out.baseAddress! + k).initialize(to: p >= 0 ? a[Int(p)] : b[Int(~p)])
                    }
                    initialized = picks.count
                }
            }
        }
    }

    private static func gatherText(_ picks: UnsafeBufferPointer<Int32>, _ a: TextColumn, _ b: TextColumn) -> TextColumn {
        a.bytes.withUnsafeBufferPointer { ab in
            b.bytes.withUnsafeBufferPointer { bb in
                a.offsets.withUnsafeBufferPointer { ao in
                    b.offsets.withUnsafeBufferPointer { bo in
                        var total = 0
                        let offsets = [UInt32](filling: picks.count + 1) { out in
                            out[0] = 0
                            for k in picks.indices {
                                let p = picks[k]
                                total += p >= 0
                                    ? Int(ao[Int(p) + 1] &- ao[Int(p)]) : Int(bo[Int(~p) + 1] &- bo[Int(~p)])
                                out[k + 1] = UInt32(truncatingIfNeeded: total)
                            }
                        }
                        let bytes = [UInt8](filling: total) { buffer in
                            var out = 0
                            for p in picks {
                                let (source, sourceOffsets, row) = p >= 0 ? (ab, ao, Int(p)) : (bb, bo, Int(~p))
                                let start = Int(sourceOffsets[row])
                                let length = Int(sourceOffsets[row + 1]) - start
                                if length > 0 {
                                    (buffer.baseAddress! + out).initialize(
                                        from: source.baseAddress! + start,
                                        count: length
                                    )
                                    out += length
                                }
                            }
                        }
                        return TextColumn(bytes: bytes, offsets: offsets)
                    }
                }
            }
        }
    }

    static func gatherNulls(_ picks: UnsafeBufferPointer<Int32>, _ a: Column, _ b: Column) -> NullBitmap? {
        if a.nulls == nil && b.nulls == nil { return nil }
        var any = false
        let words = [UInt64](filling: (picks.count + 63) / 64) { words in
            words.initialize(repeating: 0)
            for k in picks.indices {
                let p = picks[k]
                let isNull = p >= 0 ? a.isNull(Int(p)) : b.isNull(Int(~p))
                if isNull {
                    words[k >> 6] |= 1 << UInt64(k & 63)
                    any = true
                }
            }
        }
        return any ? NullBitmap(words: words, count: picks.count) : nil
    }

    /// A copy of this column with the rows `replacements[r].row` set to row
    /// `replacements[r].source` of `source` (a column of the same type): an update in place, which
    /// copies fixed-width arrays wholesale instead of row by row.
    ///
    /// - Complexity: O(rows + replacements), one or two allocations.
    static func replacingRows(
        of column: Column,
        _ replacements: UnsafeBufferPointer<(row: Int32, source: Int32)>,
        from source: Column
    ) -> Column {
        var nulls = column.nulls
        if column.nulls != nil || source.nulls != nil {
            var bitmap = column.nulls ?? NullBitmap(count: column.count)
            for r in replacements {
                bitmap.set(Int(r.row), isNull: source.isNull(Int(r.source)))
            }
            nulls = bitmap
        }
        func patch<T>(_ values: [T], _ from: [T]) -> [T] {
            var copy = values
            copy.withUnsafeMutableBufferPointer { out in
                from.withUnsafeBufferPointer { from in
                    for r in replacements { out[Int(r.row)] = from[Int(r.source)] }
                }
            }
            return copy
        }
        switch column.storage {
        case .integer(let a):
            guard case .integer(let b) = source.storage else { break }
            return Column(storage: .integer(patch(a, b)), nulls: nulls, count: column.count)
        case .real(let a):
            guard case .real(let b) = source.storage else { break }
            return Column(storage: .real(patch(a, b)), nulls: nulls, count: column.count)
        case .boolean(let a):
            guard case .boolean(let b) = source.storage else { break }
            return Column(storage: .boolean(patch(a, b)), nulls: nulls, count: column.count)
        case .any(let a):
            guard case .any(let b) = source.storage else { break }
            return Column(storage: .any(patch(a, b)), nulls: nulls, count: column.count)
        case .text:
            // Text rows change length: rebuild through picks.
            return withUnsafeTemporaryAllocation(of: Int32.self, capacity: column.count) { picks in
                for k in 0..<column.count { picks[k] = pickFirst(k) }
                for r in replacements { picks[Int(r.row)] = ~r.source }
                return gathering(UnsafeBufferPointer(picks), from: column, source)
            }
        }
        preconditionFailure("replacing rows of a \(column.type) column with \(source.type) values")
    }
}

extension Segment {
    /// A segment whose rows are picked from `self` (non-negative picks) and `other` (negative
    /// picks, see ``Column/pickSecond(_:)``), column by column; both must share `schema`'s types.
    ///
    /// Picks that keep every row of `self` in order return `self` (no copy). When the picks keep
    /// every row of `self` in place (replacing some with rows of `other`), a column whose
    /// replacement values are identical to the values they replace is shared, not copied, and the
    /// others are copied and patched: an update of a few columns copies only those columns.
    package func gathering(_ picks: [Int32], other: Segment?) -> Segment {
        picks.withUnsafeBufferPointer { gathering($0, other: other) }
    }

    /// ``gathering(_:other:)`` over picks in a buffer.
    func gathering(_ picks: UnsafeBufferPointer<Int32>, other: Segment?) -> Segment {
        if picks.isEmpty { return .empty(schema) }
        var inPlace = picks.count == rowCount
        var replaced = 0
        if inPlace {
            for k in picks.indices {
                let p = picks[k]
                if p < 0 {
                    replaced += 1
                } else if Int(p) != k {
                    inPlace = false
                    break
                }
            }
        }
        guard inPlace else {
            // One source: gathered in two phases, without copying the source columns.
            if other == nil, let picked = Segment.pickingRows(picks, of: self.columns, schema: schema) {
                return picked
            }
            var columns: [Column] = []
            columns.reserveCapacity(self.columns.count)
            let others = other?.columns ?? self.columns
            for c in self.columns.indices {
                columns.append(Column.gathering(picks, self.columns, others, at: c))
            }
            return Segment(unchecked: schema, columns: columns, rowCount: picks.count)
        }
        guard replaced > 0, let other else { return self }
        return withUnsafeTemporaryAllocation(of: (row: Int32, source: Int32).self, capacity: replaced) { list in
            var n = 0
            for k in picks.indices where picks[k] < 0 {
                list[n] = (Int32(truncatingIfNeeded: k), ~picks[k])
                n += 1
            }
            let replacements = UnsafeBufferPointer(list)
            var columns = self.columns
            for c in columns.indices {
                let replacement = other.columns[c]
                var unchanged = true
                for r in replacements
                where !RowIdentity.valuesIdentical(columns[c], Int(r.row), replacement, Int(r.source)) {
                    unchanged = false
                    break
                }
                if !unchanged {
                    columns[c] = Column.replacingRows(of: columns[c], replacements, from: replacement)
                }
            }
            return Segment(unchecked: schema, columns: columns, rowCount: rowCount)
        }
    }

    /// A segment of the picked rows of `columns` (all from one source) under `schema`.
    static func gathering(_ picks: [Int32], columns: [Column], schema: Schema) -> Segment {
        picks.withUnsafeBufferPointer { gathering($0, columns: columns, schema: schema) }
    }

    /// ``gathering(_:columns:schema:)`` over picks in a buffer.
    static func gathering(_ picks: UnsafeBufferPointer<Int32>, columns: [Column], schema: Schema) -> Segment {
        if picks.isEmpty { return .empty(schema) }
        if let picked = pickingRows(picks, of: columns, schema: schema) { return picked }
        var gathered: [Column] = []
        gathered.reserveCapacity(columns.count)
        for c in columns.indices { gathered.append(Column.gathering(picks, columns, columns, at: c)) }
        return Segment(unchecked: schema, columns: gathered, rowCount: picks.count)
    }
}
