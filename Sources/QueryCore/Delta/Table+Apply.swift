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
        // One hash lookup for the read and the write (origin names are strings).
        let index = slices.index(forKey: origin)
        let held = index.map { slices.values[$0] }
        if let held, copy.version <= held.version {
            staleRejections += 1
            return .rejectedStale(held: held.version)
        }
        switch copy {
        case .full(let version, let segment):
            try replace(origin: origin, version: version, segment: segment, publishedAt: publishedAt)
            return .applied
        case .delta(let base, let version, _, _):
            guard let index, let held, held.version == base else { return .needsResync(held: held?.version) }
            guard copy.schema == schema else {
                throw QueryError(
                    .schemaMismatch,
                    "table '\(name)' from \(origin): delta schema \(copy.schema) differs from \(schema)"
                )
            }
            let segment: Segment
            do {
                segment = try held.segment.applying(copy, heldVersion: held.version)
            } catch  where error.code == .baseVersionMismatch {
                return .needsResync(held: held.version)
            } catch {
                throw QueryError(error.code, "table '\(name)' from \(origin): \(error.message)")
            }
            slices.values[index] = Slice(version: version, segment: segment, publishedAt: publishedAt)
            return .applied
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
