/// One origin's (publishing machine's) rows of one table, as a full copy or a delta against the
/// version the receiver acknowledged.
public struct OriginCopy: Sendable {
    /// The machine that published the rows.
    public var origin: NodeID
    /// The rows, full or as a delta.
    public var copy: TableCopy
    /// When the origin published this version.
    public var publishedAt: Instant

    /// Creates an origin copy.
    public init(origin: NodeID, copy: TableCopy, publishedAt: Instant) {
        self.origin = origin
        self.copy = copy
        self.publishedAt = publishedAt
    }
}
