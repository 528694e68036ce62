/// The commonest delta of all: every upsert replaces a held row (a process whose numbers changed),
/// nothing is deleted or inserted.
///
/// ``Segment/applyDeltaDirectly(upserts:deletes:)`` writes such a delta column by column through
/// the general writer, which also closes up deleted rows, appends new keys and recomputes each
/// column's byte size. Here the rows stay where they are: each column's replaced cells are compared
/// where they lie (no call per column, nothing retained), and a column with a differing cell is
/// written in place, its values (and a text column's bytes, when the new value has the old one's
/// byte length) overwritten with no change of size. Columns with nulls, and text values of another
/// byte length, go through the general writer. The rows afterwards are exactly those of the
/// general path, bit for bit, and a column none of whose cells differs is not touched.
extension Segment {
    /// Writes `targets` (of `upserts`, checked against this segment's schema), which replace held
    /// rows only (no insert, no delete), over the held cells.
    ///
    /// - Returns: `false` (nothing written) when the segment has more than 64 columns: the caller
    ///   then takes the general path.
    mutating func replaceCells(_ targets: UpsertTargets, from upserts: Segment) -> Bool {
        precondition(targets.inserts == 0 && targets.deletes == 0, "replacements only")
        let columnCount = columns.count
        guard columnCount <= 64 else { return false }
        // Which columns have a differing cell, read before anything is written.
        var changed: UInt64 = 0
        columns.withUnsafeBufferPointer { held in
            upserts.columns.withUnsafeBufferPointer { sources in
                for c in 0..<columnCount where Column.replacedCellsDiffer(held[c], targets, sources[c]) {
                    changed |= 1 << UInt64(c)
                }
            }
        }
        guard changed != 0 else { return true }
        var byteDelta = 0
        let heldRows = rowCount
        upserts.columns.withUnsafeBufferPointer { sources in
            // Written in place: the array is copied first only if another segment holds it.
            columns.withUnsafeMutableBufferPointer { held in
                var remaining = changed
                while remaining != 0 {
                    let c = remaining.trailingZeroBitCount
                    remaining &= remaining &- 1
                    byteDelta += Column.replaceCells(&held[c], targets, sources[c], heldRows: heldRows)
                }
            }
        }
        byteSize += byteDelta
        return true
    }
}

extension Column {
    /// Whether some replaced cell of `targets` differs in `column` from what `source` (a column of
    /// the same type) holds in its upsert row: another null flag or another raw value (the
    /// placeholder under a null included). The opposite of ``upsertsKeepCells(_:_:_:)``, read
    /// where the values lie.
    @inline(__always)
    static func replacedCellsDiffer(_ column: Column, _ targets: Segment.UpsertTargets, _ source: Column) -> Bool {
        if column.nulls != nil || source.nulls != nil { return !upsertsKeepCells(column, targets, source) }
        let count = targets.count
        switch column.storage {
        case .integer(let a):
            guard case .integer(let b) = source.storage else { return !upsertsKeepCells(column, targets, source) }
            return a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for u in 0..<count where a[Int(targets.rows[u])] != b[u] { return true }
                    return false
                }
            }
        case .real(let a):
            guard case .real(let b) = source.storage else { return !upsertsKeepCells(column, targets, source) }
            return a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for u in 0..<count where a[Int(targets.rows[u])].bitPattern != b[u].bitPattern { return true }
                    return false
                }
            }
        case .text(let a):
            guard case .text(let b) = source.storage else { return !upsertsKeepCells(column, targets, source) }
            return a.bytes.withUnsafeBufferPointer { ab in
                b.bytes.withUnsafeBufferPointer { bb in
                    a.offsets.withUnsafeBufferPointer { ao in
                        b.offsets.withUnsafeBufferPointer { bo in
                            for u in 0..<count {
                                let t = Int(targets.rows[u])
                                let start = Int(ao[t])
                                let length = Int(ao[t + 1]) - start
                                let sourceStart = Int(bo[u])
                                guard Int(bo[u + 1]) - sourceStart == length else { return true }
                                if length > 0,
                                    !RowIdentity.bytesEqual(
                                        ab.baseAddress! + start, bb.baseAddress! + sourceStart, length)
                                {
                                    return true
                                }
                            }
                            return false
                        }
                    }
                }
            }
        case .boolean, .any:
            return !upsertsKeepCells(column, targets, source)
        }
    }

    /// Writes the replaced cells of `targets` from `source` into `column` (`heldRows` rows), one
    /// of whose cells differs: in place for integers, reals, and text values of the held byte
    /// length in a column without nulls; through ``writeUpserts(_:_:from:heldRows:changes:)``
    /// otherwise.
    ///
    /// - Returns: How much the column's part of ``Segment/byteSize`` grew.
    static func replaceCells(
        _ column: inout Column,
        _ targets: Segment.UpsertTargets,
        _ source: Column,
        heldRows: Int
    ) -> Int {
        guard column.nulls == nil, source.nulls == nil, sameLengths(column, targets, source) else {
            return writeUpserts(&column, targets, from: source, heldRows: heldRows, changes: true)
        }
        let count = column.count
        // Taken out (moved, not retained) so the buffers are held once and written in place; the
        // column is set again below, on every path.
        let (storage, _) = Column.parts(of: consume column)
        switch consume storage {
        case .integer(var a):
            if case .integer(let b) = source.storage { overwrite(&a, targets, b) }
            column = Column(written: .integer(a), nulls: nil, count: count)
        case .real(var a):
            if case .real(let b) = source.storage { overwrite(&a, targets, b) }
            column = Column(written: .real(a), nulls: nil, count: count)
        case .boolean(var a):
            if case .boolean(let b) = source.storage { overwrite(&a, targets, b) }
            column = Column(written: .boolean(a), nulls: nil, count: count)
        case .any(var a):
            if case .any(let b) = source.storage { overwrite(&a, targets, b) }
            column = Column(written: .any(a), nulls: nil, count: count)
        case .text(let text):
            var bytes = text.bytes
            let offsets = text.offsets
            _ = consume text
            if case .text(let b) = source.storage {
                b.bytes.withUnsafeBufferPointer { bb in
                    b.offsets.withUnsafeBufferPointer { bo in
                        offsets.withUnsafeBufferPointer { o in
                            bytes.withUnsafeMutableBufferPointer { out in
                                for u in 0..<targets.count {
                                    let t = Int(targets.rows[u])
                                    let start = Int(o[t])
                                    let length = Int(o[t + 1]) - start
                                    guard length > 0 else { continue }
                                    (out.baseAddress! + start).update(from: bb.baseAddress! + Int(bo[u]), count: length)
                                }
                            }
                        }
                    }
                }
            }
            column = Column(written: .text(TextColumn(bytes: bytes, offsets: offsets)), nulls: nil, count: count)
        }
        return 0
    }

    /// Whether every replaced text value of `targets` has the held value's byte length (always
    /// true for a column of another type).
    @inline(__always)
    private static func sameLengths(_ column: Column, _ targets: Segment.UpsertTargets, _ source: Column) -> Bool {
        guard case .text(let a) = column.storage else { return true }
        guard case .text(let b) = source.storage else { return false }
        return a.offsets.withUnsafeBufferPointer { ao in
            b.offsets.withUnsafeBufferPointer { bo in
                for u in 0..<targets.count {
                    let t = Int(targets.rows[u])
                    if ao[t + 1] &- ao[t] != bo[u + 1] &- bo[u] { return false }
                }
                return true
            }
        }
    }

    /// Overwrites the replaced positions of a fixed-width array with the upserts' values.
    @inline(__always)
    private static func overwrite<T>(_ a: inout [T], _ targets: Segment.UpsertTargets, _ b: [T]) {
        b.withUnsafeBufferPointer { b in
            a.withUnsafeMutableBufferPointer { out in
                for u in 0..<targets.count { out[Int(targets.rows[u])] = b[u] }
            }
        }
    }
}
