/// Applying ``TableCopy``s to a ``Table`` under the version rule.
extension Table {
    /// Offers `origin`'s `copy`, applied only if it is newer than the version held (the version rule)
    /// and, for a delta, only if its base is the version held.
    ///
    /// - Parameters:
    ///   - copy: The copy received.
    ///   - origin: The publishing machine (or cluster) the rows belong to.
    ///   - publishedAt: When the origin published this version.
    /// - Returns: ``ApplyOutcome/applied``; ``ApplyOutcome/rejectedStale(held:)`` for a copy not newer
    ///   than the held one (counted in ``staleRejections``); ``ApplyOutcome/needsResync(held:)`` for a
    ///   delta whose base is not held, or whose deletes name rows that are not held.
    /// - Throws: ``QueryError`` `.schemaMismatch` if the copy's schema differs from the table's (a full
    ///   copy may change the schema only when this origin is the table's only one), or
    ///   `.invalidArgument` for a malformed delta. The table is unchanged on error.
    /// - Complexity: O(1) for a full copy; O(rows held for `origin` + rows carried) for a delta.
    @discardableResult
    public mutating func apply(
        _ copy: TableCopy,
        origin: NodeID,
        publishedAt: Instant
    ) throws(QueryError) -> ApplyOutcome {
        try applyReporting(copy, origin: origin, publishedAt: publishedAt, inPlace: true).outcome
    }

    /// What an applied copy did to the rows held before it (a sender keeps them, or the delta, to
    /// bring receivers that hold the older version up to date).
    enum Replaced: Sendable {
        /// Nothing was held (or nothing was applied).
        case nothing
        /// The held rows were replaced by new ones; they are these, at this version.
        case rows(version: Version, segment: Segment)
        /// The held rows were updated in place by the delta applied; these upsert rows inserted
        /// new keys.
        case inPlace(inserted: InsertedRows)
    }

    /// ``apply(_:origin:publishedAt:)``, also saying what the copy replaced.
    ///
    /// - Parameter inPlace: apply a delta into the held rows' own storage (their buffers are
    ///   overwritten when nobody else holds them); otherwise the held rows are kept intact and
    ///   returned as ``Replaced/rows(version:segment:)``. The rows held afterwards are the same.
    mutating func applyReporting(
        _ copy: TableCopy,
        origin: NodeID,
        publishedAt: Instant,
        inPlace: Bool
    ) throws(QueryError) -> (outcome: ApplyOutcome, replaced: Replaced) {
        // One hash lookup for the read and the write (origin names are strings).
        guard let slot = slot(of: origin) else {
            switch copy {
            case .full(let version, let segment):
                try replace(origin: origin, version: version, segment: segment, publishedAt: publishedAt)
                return (.applied, .nothing)
            case .delta:
                return (.needsResync(held: nil), .nothing)
            }
        }
        return try applyReporting(copy, slot: slot, publishedAt: publishedAt, inPlace: inPlace)
    }

    /// ``applyReporting(_:origin:publishedAt:inPlace:)`` for the origin in `slot` (held or not).
    mutating func applyReporting(
        _ copy: TableCopy,
        slot: Int,
        publishedAt: Instant,
        inPlace: Bool
    ) throws(QueryError) -> (outcome: ApplyOutcome, replaced: Replaced) {
        // Read in place: the held slice is not copied unless its rows are handed back.
        guard let heldVersion = version(at: slot) else {
            switch copy {
            case .full(let version, let segment):
                try replace(slot: slot, version: version, segment: segment, publishedAt: publishedAt)
                return (.applied, .nothing)
            case .delta:
                return (.needsResync(held: nil), .nothing)
            }
        }
        if copy.version <= heldVersion {
            staleRejections += 1
            return (.rejectedStale(held: heldVersion), .nothing)
        }
        switch copy {
        case .full(let version, let segment):
            let held = slice(at: slot)!.segment
            try replace(slot: slot, version: version, segment: segment, publishedAt: publishedAt)
            return (.applied, .rows(version: heldVersion, segment: held))
        case .delta(let base, let version, let upserts, let deletes):
            guard heldVersion == base else { return (.needsResync(held: heldVersion), .nothing) }
            guard upserts.schema == schema else {
                throw QueryError(
                    .schemaMismatch,
                    "table '\(name)' from \(origin(at: slot)): delta schema \(copy.schema) differs from \(schema)"
                )
            }
            guard inPlace else {
                let held = slice(at: slot)!.segment
                let segment: Segment
                do {
                    segment = try held.applying(copy, heldVersion: heldVersion)
                } catch where error.code == .baseVersionMismatch {
                    return (.needsResync(held: heldVersion), .nothing)
                } catch {
                    throw QueryError(error.code, "table '\(name)' from \(origin(at: slot)): \(error.message)")
                }
                setSlice(Slice(version: version, segment: segment, publishedAt: publishedAt), at: slot)
                return (.applied, .rows(version: heldVersion, segment: held))
            }
            // The checks of `Segment.applying`, in its order (`TableCopy.validate` says what is
            // wrong; it is called only when the quick look finds something).
            if version <= base || !schema.isDeleteSchema(deletes.schema) {
                do {
                    try copy.validate()
                } catch {
                    throw QueryError(error.code, "table '\(name)' from \(origin(at: slot)): \(error.message)")
                }
            }
            // The held rows' schema is the table's (`replace` adopts or refuses every other).
            let inserted: InsertedRows
            do {
                inserted = try applyDeltaInPlace(at: slot, upserts: upserts, deletes: deletes)
            } catch {
                if error.code == .baseVersionMismatch { return (.needsResync(held: heldVersion), .nothing) }
                throw QueryError(error.code, "table '\(name)' from \(origin(at: slot)): \(error.message)")
            }
            setVersion(version, publishedAt: publishedAt, at: slot)
            return (.applied, .inPlace(inserted: inserted))
        }
    }

    /// Applies a batch of copies all-or-nothing (for sourced tables): every copy is checked first,
    /// in order (so one origin may appear several times, each copy building on the one before), and
    /// none is applied unless all would be.
    ///
    /// - Parameter copies: `(origin, copy, publishedAt)` triples, applied in order.
    /// - Returns: ``ApplyOutcome/applied`` if every copy was applied; otherwise the outcome of the
    ///   first copy that could not be, and the table is unchanged except that every stale copy in the
    ///   batch is counted in ``staleRejections``.
    /// - Throws: ``QueryError`` as ``apply(_:origin:publishedAt:)`` does, for the first copy that
    ///   fails that way; the table is then unchanged.
    /// - Complexity: O(origins held) to stage the batch plus the cost of each apply.
    @discardableResult
    public mutating func applyAll(_ copies: [(NodeID, TableCopy, Instant)]) throws(QueryError) -> ApplyOutcome {
        var staged = self
        var firstRefusal: ApplyOutcome?
        var firstError: QueryError?
        for (origin, copy, publishedAt) in copies {
            do {
                let outcome = try staged.apply(copy, origin: origin, publishedAt: publishedAt)
                if outcome != .applied, firstRefusal == nil, firstError == nil { firstRefusal = outcome }
            } catch {
                if firstRefusal == nil, firstError == nil { firstError = error }
            }
        }
        if let firstError {
            staleRejections = staged.staleRejections
            throw firstError
        }
        if let firstRefusal {
            staleRejections = staged.staleRejections
            return firstRefusal
        }
        self = staged
        return .applied
    }
}

extension Schema {
    /// Whether `candidate` is this schema's ``deleteSchema`` (the same as `candidate == deleteSchema`),
    /// found by comparing the key columns' definitions in place: the delete schema is not assembled
    /// (three references retained and released) for a check every applied delta makes.
    func isDeleteSchema(_ candidate: Schema) -> Bool {
        let keys = keyColumns
        if keys.isEmpty || keys.elementsEqual(columns.indices) { return candidate == self }
        guard candidate.columns.count == keys.count, candidate.keyColumns.count == keys.count else { return false }
        for i in keys.indices {
            guard candidate.keyColumns[i] == i, candidate.columns[i] == columns[keys[i]] else { return false }
        }
        return true
    }
}
