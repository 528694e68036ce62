/// Diffing segments: the changes that turn one origin's rows into another version of them.
extension Segment {
    /// The changes that turn `self` into `new`.
    ///
    /// For a keyed schema, rows are matched by key: `upserts` holds the rows of `new` whose key is
    /// absent from `self` or whose other columns changed, and `deletes` holds the key columns (see
    /// ``Schema/deleteSchema``) of the rows of `self` whose key is absent from `new`. For a keyless
    /// schema, both are multisets of whole rows: `upserts` are the rows of `new` in excess of `self`
    /// and `deletes` the rows of `self` in excess of `new`.
    ///
    /// Rows compare exactly: integers, booleans and text by value, reals by bit pattern (so `0.0`
    /// and `-0.0` differ and NaN equals an identical NaN), nulls equal nulls. Upserts keep the order
    /// of `new`, deletes the order of `self`.
    ///
    /// - Parameter new: The rows to reach; must have the same schema.
    /// - Returns: Upserts (schema of `self`) and deletes (``Schema/deleteSchema``).
    /// - Throws: ``QueryError`` `.schemaMismatch` if the schemas differ, `.invalidArgument` if a
    ///   keyed segment holds one key twice, `.limitExceeded` above 2³¹ − 1 rows.
    /// - Complexity: O(rows of `self` + rows of `new`) expected, hashing column arrays directly (small
    ///   segments are matched by linear scans instead, see ``DeltaStrategy``).
    public func diff(to new: Segment) throws(QueryError) -> (upserts: Segment, deletes: Segment) {
        try diff(to: new, strategy: .automatic)
    }

    /// ``diff(to:)`` with the keyed matching method chosen by `strategy` (tests force each one), using
    /// what the caller already knows about the two segments (`hints`: the same result, less work).
    func diff(
        to new: Segment,
        strategy: DeltaStrategy,
        hints: DiffHints = DiffHints()
    ) throws(QueryError) -> (upserts: Segment, deletes: Segment) {
        guard schema == new.schema else {
            throw QueryError(.schemaMismatch, "cannot diff rows of schema \(schema) against \(new.schema)")
        }
        try Segment.checkRowLimit(rowCount)
        try Segment.checkRowLimit(new.rowCount)
        if schema.isKeyed {
            return try keyedDiff(to: new, strategy: strategy, hints: hints)
        }
        let (inserted, removed) = multisetDifference(to: new)
        return (new.gathering(inserted, other: nil), gathering(removed, other: nil))
    }

    /// Whether `self` and `other` hold the same rows as multisets, compared exactly (see
    /// ``diff(to:)``), regardless of order and of keys.
    ///
    /// - Complexity: O(rows of `self` + rows of `other`) expected.
    public func hasSameRows(as other: Segment) -> Bool {
        guard schema == other.schema, rowCount == other.rowCount else { return false }
        guard rowCount < Int(Int32.max) else { return false }
        let (inserted, removed) = multisetDifference(to: other)
        return inserted.isEmpty && removed.isEmpty
    }

    static func checkRowLimit(_ count: Int) throws(QueryError) {
        guard count < Int(Int32.max) else {
            throw QueryError(.limitExceeded, "a segment of \(count) rows is above the limit of \(Int32.max - 1)")
        }
    }

    /// The key values of row `row` of `keyColumns`, for error messages.
    static func describeKey(_ keyColumns: [Column], row: Int) -> String {
        "(" + keyColumns.map { $0[row].description.prefix(40) }.joined(separator: ", ") + ")"
    }

    /// Throws if `keyColumns` hold one key twice.
    static func checkUniqueKeys(_ keyColumns: [Column], rowCount: Int) throws(QueryError) {
        guard rowCount > 1 else { return }
        let hashes = RowIdentity.hashes(of: keyColumns, rowCount: rowCount)
        var table = RowTable(capacityFor: rowCount)
        for i in 0..<rowCount {
            let hash = hashes[i]
            let (slot, found) = table.find(hash: hash) { r in
                hashes[Int(r)] == hash && RowIdentity.rowsIdentical(keyColumns, Int(r), keyColumns, i)
            }
            if found {
                throw QueryError(
                    .invalidArgument,
                    "key \(describeKey(keyColumns, row: i)) appears twice (rows \(table.slots[slot] + 1) and \(i + 1))"
                )
            }
            table.insert(Int32(i), at: slot)
        }
    }

    /// Multiset difference over whole rows: rows of `new` in excess of `self` (`inserted`, in the
    /// order of `new`) and rows of `self` in excess of `new` (`removed`, in the order of `self`).
    func multisetDifference(to new: Segment) -> (inserted: [Int32], removed: [Int32]) {
        if isEmpty { return (Array(0..<Int32(new.rowCount)), []) }
        if new.isEmpty { return ([], Array(0..<Int32(rowCount))) }
        let oldHashes = RowIdentity.hashes(of: columns, rowCount: rowCount)
        let newHashes = RowIdentity.hashes(of: new.columns, rowCount: new.rowCount)
        // One slot per distinct row of `self`, holding a representative row; `head[rep]` is the first
        // unmatched occurrence of that row, `next[i]` the occurrence after `i` (-1 ends the chain).
        var table = RowTable(capacityFor: rowCount)
        var head = [Int32](repeating: -1, count: rowCount)
        var next = [Int32](repeating: -1, count: rowCount)
        for i in stride(from: rowCount - 1, through: 0, by: -1) {
            let hash = oldHashes[i]
            let (slot, found) = table.find(hash: hash) { r in
                oldHashes[Int(r)] == hash && RowIdentity.rowsIdentical(columns, Int(r), columns, i)
            }
            if found {
                let rep = Int(table.slots[slot])
                next[i] = head[rep]
                head[rep] = Int32(i)
            } else {
                table.insert(Int32(i), at: slot)
                head[i] = Int32(i)
            }
        }
        var matched = [Bool](repeating: false, count: rowCount)
        var inserted: [Int32] = []
        for j in 0..<new.rowCount {
            let hash = newHashes[j]
            let (slot, found) = table.find(hash: hash) { r in
                oldHashes[Int(r)] == hash && RowIdentity.rowsIdentical(columns, Int(r), new.columns, j)
            }
            let rep = found ? Int(table.slots[slot]) : -1
            if rep >= 0, head[rep] >= 0 {
                let occurrence = Int(head[rep])
                matched[occurrence] = true
                head[rep] = next[occurrence]
            } else {
                inserted.append(Int32(j))
            }
        }
        var removed: [Int32] = []
        for i in 0..<rowCount where !matched[i] { removed.append(Int32(i)) }
        return (inserted, removed)
    }
}
