/// One origin's copy of one table as it travels: either every row, or the changes since a version
/// the receiver is believed to hold.
///
/// For a keyed table, a delta's `upserts` are the rows that are new or changed (by key), and its
/// `deletes` hold **only the key columns** of the rows removed (their schema is
/// ``Schema/deleteSchema``). For a keyless table, the table is a multiset of rows: `upserts` are
/// rows added and `deletes` are whole rows removed, one occurrence per delete row.
///
/// Rows are compared exactly (see ``Segment/diff(to:)``), so applying a delta reproduces its target
/// bit for bit, `-0.0` and NaN payloads included.
public enum TableCopy: Sendable {
    /// Every row of the origin at `version`.
    case full(version: Version, segment: Segment)
    /// The changes that turn the rows at `base` into the rows at `version`.
    case delta(base: Version, version: Version, upserts: Segment, deletes: Segment)

    /// The version this copy brings its receiver to.
    public var version: Version {
        switch self {
        case .full(let version, _): version
        case .delta(_, let version, _, _): version
        }
    }

    /// Whether this is a full copy (applicable without a base).
    public var isFull: Bool {
        if case .full = self { return true }
        return false
    }

    /// The version a delta applies to; `nil` for a full copy.
    public var base: Version? {
        if case .delta(let base, _, _, _) = self { return base }
        return nil
    }

    /// The schema of the table the copy belongs to.
    public var schema: Schema {
        switch self {
        case .full(_, let segment): segment.schema
        case .delta(_, _, let upserts, _): upserts.schema
        }
    }

    /// The number of rows the copy carries (full rows, or upserts plus deletes).
    public var carriedRowCount: Int {
        switch self {
        case .full(_, let segment): segment.rowCount
        case .delta(_, _, let upserts, let deletes): upserts.rowCount + deletes.rowCount
        }
    }

    /// The copy to send a receiver that holds `old` (or nothing) so that it ends up with `new`.
    ///
    /// Returns a full copy when there is no `old`, when the schema changed (a delta cannot carry a
    /// schema change), or when the delta would carry at least as many rows as `new` has (a full copy
    /// is then no larger and needs no base). Otherwise returns the delta from ``Segment/diff(to:)``.
    ///
    /// - Parameters:
    ///   - old: The version and rows the receiver holds (as acknowledged), if any.
    ///   - new: The version and rows to bring it to.
    /// - Throws: ``QueryError`` `.staleVersion` if `new.version` is not newer than `old.version`;
    ///   `.invalidArgument` if a keyed segment holds a key twice.
    /// - Complexity: O(rows of `old` + rows of `new`).
    public static func make(
        from old: (version: Version, segment: Segment)?,
        to new: (version: Version, segment: Segment)
    ) throws(QueryError) -> TableCopy {
        guard let old else { return .full(version: new.version, segment: new.segment) }
        guard new.version > old.version else {
            throw QueryError(
                .staleVersion,
                "cannot make a delta to version \(new.version) from the newer or equal \(old.version)"
            )
        }
        guard old.segment.schema == new.segment.schema else {
            return .full(version: new.version, segment: new.segment)
        }
        let (upserts, deletes) = try old.segment.diff(to: new.segment)
        return make(base: old.version, to: new, upserts: upserts, deletes: deletes)
    }

    /// The copy to send for a diff already computed (``Segment/diff(to:)`` from the rows at `base`
    /// to `new.segment`): the delta, or a full copy when the delta would carry at least as many rows
    /// as `new` has (the same rule as ``make(from:to:)``).
    static func make(
        base: Version,
        to new: (version: Version, segment: Segment),
        upserts: Segment,
        deletes: Segment
    ) -> TableCopy {
        if upserts.rowCount + deletes.rowCount >= new.segment.rowCount, new.segment.rowCount > 0 {
            return .full(version: new.version, segment: new.segment)
        }
        return .delta(base: base, version: new.version, upserts: upserts, deletes: deletes)
    }

    /// Checks that a copy is well-formed: a delta's version is above its base, its upserts and
    /// deletes follow the table's schema and its delete schema.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` or `.schemaMismatch` saying what is wrong.
    public func validate() throws(QueryError) {
        guard case .delta(let base, let version, let upserts, let deletes) = self else { return }
        guard version > base else {
            throw QueryError(.invalidArgument, "delta to version \(version) from base \(base) does not move forward")
        }
        guard deletes.schema == upserts.schema.deleteSchema else {
            throw QueryError(
                .schemaMismatch,
                "delta deletes have schema \(deletes.schema); expected \(upserts.schema.deleteSchema)"
            )
        }
    }
}
