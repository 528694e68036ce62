/// How complete one sender's copy of one table is: machines and clusters contributing out of
/// those known, those dropped for silence and since when, and the publish-time spread of the rows.
///
/// Each tier fills it for its scope (an edge for itself, a proxy for its cluster, a TLA for its
/// subnetwork) and the tier above adds the figures of its sources together.
public struct TableCompleteness: Sendable, Hashable {
    /// Machines whose rows are in the table.
    public var machinesContributing: Int
    /// Machines known to have the table (contributing, dropped, or configured but never heard).
    public var machinesKnown: Int
    /// Clusters whose rows are in the table.
    public var clustersContributing: Int
    /// Clusters known to have the table.
    public var clustersKnown: Int
    /// Machines or clusters dropped for silence and since when, sorted by node.
    public var dropped: [DroppedNode]
    /// The oldest time at which a contributing origin last confirmed its rows, if any.
    public var oldestPublish: Instant?
    /// The newest such time.
    public var newestPublish: Instant?

    /// Creates completeness figures.
    public init(
        machinesContributing: Int = 0,
        machinesKnown: Int = 0,
        clustersContributing: Int = 0,
        clustersKnown: Int = 0,
        dropped: [DroppedNode] = [],
        oldestPublish: Instant? = nil,
        newestPublish: Instant? = nil
    ) {
        self.machinesContributing = machinesContributing
        self.machinesKnown = machinesKnown
        self.clustersContributing = clustersContributing
        self.clustersKnown = clustersKnown
        self.dropped = dropped.sorted()
        self.oldestPublish = oldestPublish
        self.newestPublish = newestPublish
    }

    /// Adds `other`'s figures to these (a TLA summing its clusters).
    public mutating func add(_ other: TableCompleteness) {
        machinesContributing += other.machinesContributing
        machinesKnown += other.machinesKnown
        clustersContributing += other.clustersContributing
        clustersKnown += other.clustersKnown
        dropped = (dropped + other.dropped).sorted()
        oldestPublish = Instant.minimum(oldestPublish, other.oldestPublish)
        newestPublish = Instant.maximum(newestPublish, other.newestPublish)
    }

    /// One cluster's figures as far as rows of only `held` of its machines are at hand (its full
    /// state has not arrived, or some of its copies could not be applied): never more machines
    /// contributing than that, and the cluster contributes only if some of them do.
    func limited(toHeld held: Int) -> TableCompleteness {
        guard held < machinesContributing else { return self }
        var limited = self
        limited.machinesContributing = held
        if held == 0 { limited.clustersContributing = 0 }
        return limited
    }
}

/// A machine or cluster dropped for silence, and since when.
public struct DroppedNode: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The machine or cluster.
    public var node: NodeID
    /// When it was dropped.
    public var since: Instant

    /// Creates a dropped-node record.
    public init(node: NodeID, since: Instant) {
        self.node = node
        self.since = since
    }

    public static func < (lhs: DroppedNode, rhs: DroppedNode) -> Bool {
        (lhs.node, lhs.since) < (rhs.node, rhs.since)
    }

    public var description: String { "\(node) since \(since)" }
}

extension Instant {
    /// The earlier of two optional instants (`nil` counts as absent).
    static func minimum(_ a: Instant?, _ b: Instant?) -> Instant? {
        guard let a else { return b }
        guard let b else { return a }
        return Swift.min(a, b)
    }

    /// The later of two optional instants (`nil` counts as absent).
    static func maximum(_ a: Instant?, _ b: Instant?) -> Instant? {
        guard let a else { return b }
        guard let b else { return a }
        return Swift.max(a, b)
    }
}
