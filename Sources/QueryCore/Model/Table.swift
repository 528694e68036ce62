/// A table as a receiver holds it: for each origin (publishing machine), the newest version of
/// that origin's rows as one immutable ``Segment``.
///
/// Replacing one origin's rows replaces one segment; nothing else is copied. The *version rule*
/// holds for every mutation: per origin, only a newer version is applied, an older or equal one is
/// rejected and counted in ``staleRejections``.
public struct Table: Sendable {
    /// One origin's contribution.
    public struct Slice: Sendable {
        /// The origin's version of these rows.
        public var version: Version
        /// The rows.
        public var segment: Segment
        /// When the origin published this version.
        public var publishedAt: Instant

        /// Creates a slice.
        public init(version: Version, segment: Segment, publishedAt: Instant) {
            self.version = version
            self.segment = segment
            self.publishedAt = publishedAt
        }
    }

    /// What happened to an offered copy.
    public enum ReplaceOutcome: Sendable, Hashable {
        /// The copy was newer and is now held.
        case applied
        /// The copy was not newer than the held version, which is kept.
        case rejectedStale(held: Version)
    }

    /// The table's name.
    public let name: TableName
    /// The schema every slice follows.
    public internal(set) var schema: Schema
    /// Each origin's newest slice.
    public internal(set) var slices: [NodeID: Slice]
    /// How many copies were rejected by the version rule.
    public internal(set) var staleRejections = 0

    /// An empty table.
    public init(name: TableName, schema: Schema) {
        self.name = name
        self.schema = schema
        self.slices = [:]
    }

    /// The total number of rows over all origins.
    public var rowCount: Int { slices.values.reduce(0) { $0 + $1.segment.rowCount } }

    /// The origins in a stable (sorted) order; iterate this, not ``slices``, where order is visible.
    public var sortedOrigins: [NodeID] { slices.keys.sorted() }

    /// The version held for `origin`, if any.
    public func version(of origin: NodeID) -> Version? { slices[origin]?.version }

    /// Offers `segment` as `origin`'s rows at `version`, applied only if newer than what is held.
    ///
    /// - Throws: ``QueryError`` `.schemaMismatch` if the segment's schema differs from the table's
    ///   (unless the table has no slices yet or this origin is its only one, which adopts the new schema).
    /// - Complexity: O(1) (the segment is shared, not copied).
    @discardableResult
    public mutating func replace(
        origin: NodeID, version: Version, segment: Segment, publishedAt: Instant
    ) throws(QueryError) -> ReplaceOutcome {
        if let held = slices[origin], held.version >= version {
            staleRejections += 1
            return .rejectedStale(held: held.version)
        }
        if segment.schema != schema {
            let onlySelf = slices.isEmpty || (slices.count == 1 && slices[origin] != nil)
            guard onlySelf else {
                throw QueryError(
                    .schemaMismatch,
                    "table '\(name)' from \(origin): schema \(segment.schema) differs from \(schema)")
            }
            schema = segment.schema
        }
        slices[origin] = Slice(version: version, segment: segment, publishedAt: publishedAt)
        return .applied
    }

    /// Removes `origin`'s rows (a dropped machine); returns what was held.
    @discardableResult
    public mutating func removeOrigin(_ origin: NodeID) -> Slice? {
        slices.removeValue(forKey: origin)
    }

    /// Every origin's rows concatenated in ``sortedOrigins`` order: one segment to scan.
    ///
    /// - Complexity: O(total rows); cache the result per table version where it is used repeatedly.
    public func consolidated() -> Segment {
        let segments = sortedOrigins.map { slices[$0]!.segment }
        if segments.isEmpty { return .empty(schema) }
        // Every slice has the table's schema (enforced by `replace`).
        return (try? Segment.concatenating(segments, schema: schema)) ?? .empty(schema)
    }

    /// The oldest and newest publish times over all slices, or `nil` for an empty table.
    public var publishTimeRange: ClosedRange<Instant>? {
        guard let first = slices.values.first else { return nil }
        var low = first.publishedAt, high = first.publishedAt
        for slice in slices.values {
            low = min(low, slice.publishedAt)
            high = max(high, slice.publishedAt)
        }
        return low...high
    }
}
