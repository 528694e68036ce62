/// Applying a ``TableCopy`` to the rows a receiver holds.
extension Segment {
    /// The rows after applying `copy` to `self`, held at `heldVersion` (`nil` if nothing is held,
    /// in which case `self` is ignored).
    ///
    /// A full copy replaces the rows. A delta applies only to its base: for a keyed table, deletes
    /// remove the rows with their keys and upserts replace the row with the same key in place or are
    /// appended; for a keyless table, each delete row removes one identical row and upserts are
    /// appended.
    ///
    /// - Parameters:
    ///   - copy: The copy to apply.
    ///   - heldVersion: The version of `self`, or `nil` if nothing is held.
    /// - Returns: The new rows; `self` itself when a delta changes nothing.
    /// - Throws: ``QueryError``
    ///   - `.staleVersion` if `copy` is not newer than `heldVersion`;
    ///   - `.baseVersionMismatch` if `copy` is a delta whose base is not `heldVersion`, or whose
    ///     deletes name rows that are not held (either way the receiver needs a full copy);
    ///   - `.schemaMismatch` if the delta's schema is not the held rows' schema;
    ///   - `.invalidArgument` if the delta is malformed (a key upserted twice, or both upserted and
    ///     deleted).
    /// - Complexity: O(rows held + rows carried) expected; O(1) for a full copy or an empty delta.
    public func applying(_ copy: TableCopy, heldVersion: Version?) throws(QueryError) -> Segment {
        try applying(copy, heldVersion: heldVersion, strategy: .automatic)
    }

    /// ``applying(_:heldVersion:)`` with the keyed matching method chosen by `strategy` (tests
    /// force each one).
    func applying(_ copy: TableCopy, heldVersion: Version?, strategy: DeltaStrategy) throws(QueryError) -> Segment {
        if let heldVersion, copy.version <= heldVersion {
            throw QueryError(
                .staleVersion,
                "copy at version \(copy.version) is not newer than the held version \(heldVersion)"
            )
        }
        switch copy {
        case .full(_, let segment):
            return segment
        case .delta(let base, _, let upserts, let deletes):
            guard let heldVersion, heldVersion == base else {
                let held = heldVersion.map { "version \($0)" } ?? "nothing"
                throw QueryError(.baseVersionMismatch, "delta from base \(base) offered, \(held) held")
            }
            try copy.validate()
            guard upserts.schema == schema else {
                throw QueryError(.schemaMismatch, "delta rows have schema \(upserts.schema); held rows have \(schema)")
            }
            return try applyingDelta(upserts: upserts, deletes: deletes, strategy: strategy)
        }
    }

    /// Applies upserts and deletes that were checked against this segment's schema.
    func applyingDelta(
        upserts: Segment,
        deletes: Segment,
        strategy: DeltaStrategy = .automatic
    ) throws(QueryError) -> Segment {
        if upserts.isEmpty && deletes.isEmpty { return self }
        try Segment.checkRowLimit(rowCount + upserts.rowCount)
        try Segment.checkRowLimit(deletes.rowCount)
        let outcome = withUnsafeTemporaryAllocation(of: Int32.self, capacity: rowCount + upserts.rowCount) {
            buffer -> Result<Segment, QueryError> in
            do throws(QueryError) {
                let count = try deltaPicks(upserts: upserts, deletes: deletes, strategy: strategy, into: buffer)
                return .success(gathering(UnsafeBufferPointer(rebasing: buffer[0..<count]), other: upserts))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// The picks (see ``Column/pickFirst(_:)``) that turn these rows into the rows after a delta of
    /// `upserts` and `deletes` (checked against this segment's schema), written to `picks` (room for
    /// `rowCount + upserts.rowCount`); returns how many.
    ///
    /// For a keyed table the picks keep the held rows in order (a row whose key is upserted picks
    /// the upsert, a deleted row is skipped) and then append the upserts of new keys in their
    /// order; for a keyless table they keep the held rows not deleted, in order, then every upsert.
    /// Either way the picks of held rows increase, and each is at or after its position.
    ///
    /// - Throws: ``QueryError`` as ``applying(_:heldVersion:)`` does for a malformed delta or one
    ///   deleting rows that are not held.
    func deltaPicks(
        upserts: Segment,
        deletes: Segment,
        strategy: DeltaStrategy,
        into picks: UnsafeMutableBufferPointer<Int32>
    ) throws(QueryError) -> Int {
        precondition(picks.count >= rowCount + upserts.rowCount, "room for the held rows and the upserts")
        if schema.isKeyed {
            if strategy.appliesLinearly(held: rowCount, carried: upserts.rowCount + deletes.rowCount) {
                return try linearKeyedPicks(upserts: upserts, deletes: deletes, into: picks)
            }
            return try hashedKeyedPicks(upserts: upserts, deletes: deletes, into: picks)
        }
        return try keylessPicks(upserts: upserts, deletes: deletes, into: picks)
    }

    /// The keyed picks matched through a hash table of the carried rows' keys.
    private func hashedKeyedPicks(
        upserts: Segment,
        deletes: Segment,
        into picks: UnsafeMutableBufferPointer<Int32>
    ) throws(QueryError) -> Int {
        let keyIndices = schema.keyColumns
        let upsertKeys = keyIndices.map { upserts.columns[$0] }
        let deleteKeys = deletes.columns
        let upsertHashes = RowIdentity.hashes(of: upsertKeys, rowCount: upserts.rowCount)
        let deleteHashes = RowIdentity.hashes(of: deleteKeys, rowCount: deletes.rowCount)
        // Upsert rows are stored as `u`, delete rows as `~d`.
        var table = RowTable(capacityFor: upserts.rowCount + deletes.rowCount)
        func matches(_ r: Int32, _ hash: UInt64, _ keys: [Column], _ row: Int) -> Bool {
            if r >= 0 {
                return upsertHashes[Int(r)] == hash && RowIdentity.rowsIdentical(upsertKeys, Int(r), keys, row)
            }
            return deleteHashes[Int(~r)] == hash && RowIdentity.rowsIdentical(deleteKeys, Int(~r), keys, row)
        }
        for u in 0..<upserts.rowCount {
            let hash = upsertHashes[u]
            let (slot, found) = table.find(hash: hash) { matches($0, hash, upsertKeys, u) }
            if found {
                throw QueryError(
                    .invalidArgument,
                    "delta upserts key \(Segment.describeKey(upsertKeys, row: u)) twice (rows \(table.slots[slot] + 1) and \(u + 1))"
                )
            }
            table.insert(Int32(u), at: slot)
        }
        for d in 0..<deletes.rowCount {
            let hash = deleteHashes[d]
            let (slot, found) = table.find(hash: hash) { matches($0, hash, deleteKeys, d) }
            if found {
                let what = table.slots[slot] >= 0 ? "both upserts and deletes" : "deletes twice"
                throw QueryError(.invalidArgument, "delta \(what) key \(Segment.describeKey(deleteKeys, row: d))")
            }
            table.insert(~Int32(d), at: slot)
        }
        let heldKeys = keyIndices.map { columns[$0] }
        let heldHashes = RowIdentity.hashes(of: heldKeys, rowCount: rowCount)
        var upsertUsed = [Bool](repeating: false, count: upserts.rowCount)
        var deleteUsed = [Bool](repeating: false, count: deletes.rowCount)
        var deleted = 0
        var picked = 0
        for i in 0..<rowCount {
            let hash = heldHashes[i]
            let (slot, found) = table.find(hash: hash) { matches($0, hash, heldKeys, i) }
            guard found else {
                picks[picked] = Column.pickFirst(i)
                picked += 1
                continue
            }
            let r = table.slots[slot]
            if r >= 0 {
                guard !upsertUsed[Int(r)] else {
                    throw QueryError(
                        .baseVersionMismatch,
                        "held rows have key \(Segment.describeKey(heldKeys, row: i)) twice"
                    )
                }
                upsertUsed[Int(r)] = true
                picks[picked] = Column.pickSecond(Int(r))
                picked += 1
            } else {
                guard !deleteUsed[Int(~r)] else {
                    throw QueryError(
                        .baseVersionMismatch,
                        "held rows have key \(Segment.describeKey(heldKeys, row: i)) twice"
                    )
                }
                deleteUsed[Int(~r)] = true
                deleted += 1
            }
        }
        guard deleted == deletes.rowCount else {
            throw QueryError(
                .baseVersionMismatch,
                "delta deletes \(deletes.rowCount - deleted) key(s) that are not held"
            )
        }
        for u in 0..<upserts.rowCount where !upsertUsed[u] {
            picks[picked] = Column.pickSecond(u)
            picked += 1
        }
        return picked
    }

    /// The keyless picks: held rows in excess of the deletes (as multisets), then every upsert.
    private func keylessPicks(
        upserts: Segment,
        deletes: Segment,
        into picks: UnsafeMutableBufferPointer<Int32>
    ) throws(QueryError) -> Int {
        var picked = 0
        if deletes.isEmpty {
            for i in 0..<rowCount { picks[i] = Column.pickFirst(i) }
            picked = rowCount
        } else {
            // Held rows in excess of the deletes are kept; deletes in excess of the held rows are an error.
            let (kept, unmatched) = deletes.multisetDifference(to: self)
            guard unmatched.isEmpty else {
                throw QueryError(
                    .baseVersionMismatch,
                    "delta deletes \(unmatched.count) row(s) that are not held"
                )
            }
            for pick in kept {
                picks[picked] = pick
                picked += 1
            }
        }
        for u in 0..<upserts.rowCount {
            picks[picked] = Column.pickSecond(u)
            picked += 1
        }
        return picked
    }
}
