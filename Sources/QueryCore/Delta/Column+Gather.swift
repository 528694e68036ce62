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
        let count = picks.count
        let other = second ?? first
        let nulls = gatherNulls(picks, first, other)
        switch (first.storage, other.storage) {
        case (.integer(let a), .integer(let b)):
            return Column(storage: .integer(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case (.real(let a), .real(let b)):
            return Column(storage: .real(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case (.boolean(let a), .boolean(let b)):
            return Column(storage: .boolean(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case (.any(let a), .any(let b)):
            return Column(storage: .any(gatherArray(picks, a, b)), nulls: nulls, count: count)
        case (.text(let a), .text(let b)):
            return Column(storage: .text(gatherText(picks, a, b)), nulls: nulls, count: count)
        default:
            preconditionFailure("gathering from columns of different types \(first.type) and \(other.type)")
        }
    }

    private static func gatherArray<T>(_ picks: [Int32], _ a: [T], _ b: [T]) -> [T] {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                picks.map { p in p >= 0 ? a[Int(p)] : b[Int(~p)] }
            }
        }
    }

    private static func gatherText(_ picks: [Int32], _ a: TextColumn, _ b: TextColumn) -> TextColumn {
        var offsets = [UInt32]()
        offsets.reserveCapacity(picks.count + 1)
        offsets.append(0)
        var total = 0
        for p in picks {
            total += p >= 0 ? a.byteCount(at: Int(p)) : b.byteCount(at: Int(~p))
            offsets.append(UInt32(truncatingIfNeeded: total))
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            a.bytes.withUnsafeBufferPointer { ab in
                b.bytes.withUnsafeBufferPointer { bb in
                    a.offsets.withUnsafeBufferPointer { ao in
                        b.offsets.withUnsafeBufferPointer { bo in
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
                            initialized = out
                        }
                    }
                }
            }
        }
        return TextColumn(bytes: bytes, offsets: offsets)
    }

    private static func gatherNulls(_ picks: [Int32], _ a: Column, _ b: Column) -> NullBitmap? {
        if a.nulls == nil && b.nulls == nil { return nil }
        var words = [UInt64](repeating: 0, count: (picks.count + 63) / 64)
        var any = false
        for (k, p) in picks.enumerated() {
            let isNull = p >= 0 ? a.isNull(Int(p)) : b.isNull(Int(~p))
            if isNull {
                words[k >> 6] |= 1 << UInt64(k & 63)
                any = true
            }
        }
        return any ? NullBitmap(words: words, count: picks.count) : nil
    }
}

extension Segment {
    /// A segment whose rows are picked from `self` (non-negative picks) and `other` (negative
    /// picks, see ``Column/pickSecond(_:)``), column by column; both must share `schema`'s types.
    ///
    /// When the picks keep every row of `self` in place (replacing some with rows of `other`), a
    /// column whose replacement values are identical to the values they replace is shared, not
    /// copied: an update of a few columns copies only those columns.
    package func gathering(_ picks: [Int32], other: Segment?) -> Segment {
        if picks.isEmpty { return .empty(schema) }
        var inPlace = picks.count == rowCount
        if inPlace {
            for (k, p) in picks.enumerated() where p >= 0 && Int(p) != k {
                inPlace = false
                break
            }
        }
        let columns = self.columns.indices.map { c in
            let column = self.columns[c]
            if inPlace {
                var unchanged = true
                if let other {
                    let replacement = other.columns[c]
                    for (k, p) in picks.enumerated() where p < 0 {
                        if !RowIdentity.valuesIdentical(column, k, replacement, Int(~p)) {
                            unchanged = false
                            break
                        }
                    }
                }
                if unchanged { return column }
            }
            return Column.gathering(picks, from: column, other?.columns[c])
        }
        return Segment(unchecked: schema, columns: columns, rowCount: picks.count)
    }

    /// A segment of the picked rows of `columns` (all from one source) under `schema`.
    static func gathering(_ picks: [Int32], columns: [Column], schema: Schema) -> Segment {
        if picks.isEmpty { return .empty(schema) }
        return Segment(
            unchecked: schema,
            columns: columns.map { Column.gathering(picks, from: $0, nil) },
            rowCount: picks.count
        )
    }
}
