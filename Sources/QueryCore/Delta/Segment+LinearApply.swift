/// The keyed apply of small deltas: linear search over typed keys, no hash tables, and the picks
/// in the caller's buffer (on the stack), so applying a few changed rows allocates only the
/// columns that change.
extension Segment {
    /// The picks of a keyed delta matched by linear search (see ``DeltaStrategy``): the same picks
    /// and the same errors as the hashed match. At most 64 rows may be carried.
    ///
    /// - Returns: How many picks were written to `picks`.
    /// - Complexity: O(rows held × rows carried + rows carried²) key comparisons.
    func linearKeyedPicks(
        upserts: Segment,
        deletes: Segment,
        into picks: UnsafeMutableBufferPointer<Int32>
    ) throws(QueryError) -> Int {
        let key = schema.keyColumns
        precondition(upserts.rowCount + deletes.rowCount <= 64, "a linear apply tracks at most 64 carried rows")
        if key.count == 1, let held = IntegerKeyComparer.keys(columns[key[0]]),
            let upsertKeys = IntegerKeyComparer.keys(upserts.columns[key[0]]),
            deletes.columns.count == 1, let deleteKeys = IntegerKeyComparer.keys(deletes.columns[0])
        {
            try validateCarried(
                upserts: upserts,
                deletes: deletes,
                IntegerKeyComparer(first: upsertKeys, second: upsertKeys),
                IntegerKeyComparer(first: deleteKeys, second: deleteKeys),
                IntegerKeyComparer(first: upsertKeys, second: deleteKeys)
            )
            return try integerKeyPicks(held: held, upsertKeys: upsertKeys, deleteKeys: deleteKeys, into: picks)
        }
        let heldKeys = key.map { columns[$0] }
        let upsertKeys = key.map { upserts.columns[$0] }
        let deleteKeys = deletes.columns
        return try linearKeyedPicks(
            upserts: upserts,
            deletes: deletes,
            into: picks,
            ColumnsKeyComparer(first: heldKeys, second: upsertKeys),
            ColumnsKeyComparer(first: heldKeys, second: deleteKeys),
            ColumnsKeyComparer(first: upsertKeys, second: upsertKeys),
            ColumnsKeyComparer(first: deleteKeys, second: deleteKeys),
            ColumnsKeyComparer(first: upsertKeys, second: deleteKeys)
        )
    }

    /// The linear apply over five key comparers: held × upserts, held × deletes, upserts ×
    /// upserts, deletes × deletes and upserts × deletes.
    private func linearKeyedPicks<K: RowKeyComparer>(
        upserts: Segment,
        deletes: Segment,
        into picks: UnsafeMutableBufferPointer<Int32>,
        _ heldUpsert: K,
        _ heldDelete: K,
        _ upsertUpsert: K,
        _ deleteDelete: K,
        _ upsertDelete: K
    ) throws(QueryError) -> Int {
        try validateCarried(upserts: upserts, deletes: deletes, upsertUpsert, deleteDelete, upsertDelete)
        let upsertCount = upserts.rowCount
        let deleteCount = deletes.rowCount
        var upsertUsed: UInt64 = 0  // bit sets over at most 64 carried rows
        var deleteUsed: UInt64 = 0
        var picked = 0
        rows: for i in 0..<rowCount {
            for u in 0..<upsertCount where heldUpsert.same(i, u) {
                guard upsertUsed & (1 << UInt64(u)) == 0 else { throw heldTwice(row: i) }
                upsertUsed |= 1 << UInt64(u)
                picks[picked] = Column.pickSecond(u)
                picked += 1
                continue rows
            }
            for d in 0..<deleteCount where heldDelete.same(i, d) {
                guard deleteUsed & (1 << UInt64(d)) == 0 else { throw heldTwice(row: i) }
                deleteUsed |= 1 << UInt64(d)
                continue rows
            }
            picks[picked] = Column.pickFirst(i)
            picked += 1
        }
        guard deleteUsed.nonzeroBitCount == deleteCount else {
            throw QueryError(
                .baseVersionMismatch,
                "delta deletes \(deleteCount - deleteUsed.nonzeroBitCount) key(s) that are not held"
            )
        }
        for u in 0..<upsertCount where upsertUsed & (1 << UInt64(u)) == 0 {
            picks[picked] = Column.pickSecond(u)
            picked += 1
        }
        return picked
    }

    /// Checks that the delta names each key once: no key upserted twice, deleted twice, or both
    /// upserted and deleted (the first such key, in the order the hashed match finds it).
    private func validateCarried<K: RowKeyComparer>(
        upserts: Segment,
        deletes: Segment,
        _ upsertUpsert: K,
        _ deleteDelete: K,
        _ upsertDelete: K
    ) throws(QueryError) {
        let upsertCount = upserts.rowCount
        let deleteCount = deletes.rowCount
        for u in 0..<upsertCount {
            for v in 0..<u where upsertUpsert.same(v, u) {
                throw QueryError(
                    .invalidArgument,
                    "delta upserts key \(describeKey(upserts, row: u)) twice (rows \(v + 1) and \(u + 1))"
                )
            }
        }
        for d in 0..<deleteCount {
            for e in 0..<d where deleteDelete.same(e, d) {
                throw QueryError(.invalidArgument, "delta deletes twice key \(Segment.describeKey(deletes.columns, row: d))")
            }
            for u in 0..<upsertCount where upsertDelete.same(u, d) {
                throw QueryError(
                    .invalidArgument,
                    "delta both upserts and deletes key \(describeKey(upserts, row: u))"
                )
            }
        }
    }

    /// The held-row part of the linear match for one integer key column without nulls (the
    /// carried keys already checked by ``validateCarried(upserts:deletes:_:_:_:)``): each carried
    /// key is looked for along the held keys, and the picks are written in row order.
    ///
    /// The same picks and errors as the generic scan: a key held twice is reported at its second
    /// row, the smallest such row among the carried keys.
    private func integerKeyPicks(
        held: [Int64],
        upsertKeys: [Int64],
        deleteKeys: [Int64],
        into picks: UnsafeMutableBufferPointer<Int32>
    ) throws(QueryError) -> Int {
        let rows = rowCount
        // `picks[i]` first marks what becomes of held row `i`: itself, an upsert (`~u`), or deleted.
        let deleted = Int32.max  // never a held row (at most 2³¹ − 1 rows, so i < Int32.max)
        var secondRow = Int.max
        var upsertUsed: UInt64 = 0
        var deletesFound = 0
        held.withUnsafeBufferPointer { held in
            for i in 0..<rows { picks[i] = Int32(truncatingIfNeeded: i) }
            func find(_ key: Int64, mark: Int32) -> Bool {
                var found = false
                for i in 0..<rows where held[i] == key {
                    if found {
                        secondRow = min(secondRow, i)
                        break
                    }
                    picks[i] = mark
                    found = true
                }
                return found
            }
            upsertKeys.withUnsafeBufferPointer { keys in
                for u in keys.indices where find(keys[u], mark: Column.pickSecond(u)) { upsertUsed |= 1 << UInt64(u) }
            }
            deleteKeys.withUnsafeBufferPointer { keys in
                for d in keys.indices where find(keys[d], mark: deleted) { deletesFound += 1 }
            }
        }
        if secondRow != Int.max { throw heldTwice(row: secondRow) }
        guard deletesFound == deleteKeys.count else {
            throw QueryError(
                .baseVersionMismatch,
                "delta deletes \(deleteKeys.count - deletesFound) key(s) that are not held"
            )
        }
        var picked = rows
        if deletesFound > 0 {
            // Close up the deleted rows (writing at or before the position read).
            picked = 0
            for i in 0..<rows where picks[i] != deleted {
                picks[picked] = picks[i]
                picked += 1
            }
        }
        for u in upsertKeys.indices where upsertUsed & (1 << UInt64(u)) == 0 {
            picks[picked] = Column.pickSecond(u)
            picked += 1
        }
        return picked
    }

    /// The error for a held key that appears twice (held rows no valid history produces).
    private func heldTwice(row: Int) -> QueryError {
        QueryError(
            .baseVersionMismatch,
            "held rows have key \(Segment.describeKey(schema.keyColumns.map { columns[$0] }, row: row)) twice"
        )
    }

    /// The key of row `row` of `segment` (of this schema), for error messages.
    private func describeKey(_ segment: Segment, row: Int) -> String {
        Segment.describeKey(schema.keyColumns.map { segment.columns[$0] }, row: row)
    }
}
