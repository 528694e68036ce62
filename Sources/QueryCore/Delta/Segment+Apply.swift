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
        if schema.isKeyed { return try keyedApply(upserts: upserts, deletes: deletes, strategy: strategy) }
        return try keylessApply(upserts: upserts, deletes: deletes)
    }

    private func keyedApply(upserts: Segment, deletes: Segment, strategy: DeltaStrategy) throws(QueryError) -> Segment {
        if strategy.appliesLinearly(held: rowCount, carried: upserts.rowCount + deletes.rowCount) {
            return try linearKeyedApply(upserts: upserts, deletes: deletes)
        }
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
        var picks: [Int32] = []
        picks.reserveCapacity(rowCount + upserts.rowCount)
        for i in 0..<rowCount {
            let hash = heldHashes[i]
            let (slot, found) = table.find(hash: hash) { matches($0, hash, heldKeys, i) }
            guard found else {
                picks.append(Column.pickFirst(i))
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
                picks.append(Column.pickSecond(Int(r)))
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
        for u in 0..<upserts.rowCount where !upsertUsed[u] { picks.append(Column.pickSecond(u)) }
        return gathering(picks, other: upserts)
    }

    private func keylessApply(upserts: Segment, deletes: Segment) throws(QueryError) -> Segment {
        var picks: [Int32] = []
        picks.reserveCapacity(rowCount + upserts.rowCount)
        if deletes.isEmpty {
            for i in 0..<rowCount { picks.append(Column.pickFirst(i)) }
        } else {
            // Held rows in excess of the deletes are kept; deletes in excess of the held rows are an error.
            let (kept, unmatched) = deletes.multisetDifference(to: self)
            guard unmatched.isEmpty else {
                throw QueryError(
                    .baseVersionMismatch,
                    "delta deletes \(unmatched.count) row(s) that are not held"
                )
            }
            picks.append(contentsOf: kept)
        }
        for u in 0..<upserts.rowCount { picks.append(Column.pickSecond(u)) }
        return gathering(picks, other: upserts)
    }
}
