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
    /// A proxy's figures of its cluster: the contributing machines it had not heard for an interval
    /// or more when it sent them, sorted by node. A TLA whose cluster falls silent ages each out
    /// `dropAfter` after it was last heard, as the proxy would have dropped it (see
    /// ``agingOut(_:)``). Empty in a TLA's sums.
    public var silent: [SilentMachine]
    /// With ``silent`` machines listed: the oldest time at which a contributing machine not listed
    /// last confirmed its rows (`nil`: every contributing machine is listed, or none is).
    public var heardOldestPublish: Instant?

    /// Creates completeness figures.
    public init(
        machinesContributing: Int = 0,
        machinesKnown: Int = 0,
        clustersContributing: Int = 0,
        clustersKnown: Int = 0,
        dropped: [DroppedNode] = [],
        oldestPublish: Instant? = nil,
        newestPublish: Instant? = nil,
        silent: [SilentMachine] = [],
        heardOldestPublish: Instant? = nil
    ) {
        self.machinesContributing = machinesContributing
        self.machinesKnown = machinesKnown
        self.clustersContributing = clustersContributing
        self.clustersKnown = clustersKnown
        self.dropped = dropped.sorted()
        self.oldestPublish = oldestPublish
        self.newestPublish = newestPublish
        self.silent = silent.sorted()
        self.heardOldestPublish = heardOldestPublish
    }

    /// Adds `other`'s figures to these (a TLA summing its clusters). Silent machines are not
    /// carried into the sum: only a proxy's figures of its own cluster list them.
    public mutating func add(_ other: TableCompleteness) {
        machinesContributing += other.machinesContributing
        machinesKnown += other.machinesKnown
        clustersContributing += other.clustersContributing
        clustersKnown += other.clustersKnown
        dropped = (dropped + other.dropped).sorted()
        oldestPublish = Instant.minimum(oldestPublish, other.oldestPublish)
        newestPublish = Instant.maximum(newestPublish, other.newestPublish)
        silent = []
        heardOldestPublish = nil
    }

    /// One cluster's figures with the listed ``silent`` machines in `agedOut` (machine → since when)
    /// dropped: they no longer contribute, are named as dropped since then, and the publish times
    /// are those of the machines left (the machines not listed, and the listed ones not aged out).
    /// Machines not listed are not affected.
    public func agingOut(_ agedOut: [NodeID: Instant]) -> TableCompleteness {
        guard !agedOut.isEmpty, !silent.isEmpty else { return self }
        var aged = self
        aged.silent = []
        var remainingOldest = heardOldestPublish
        var remainingNewest: Instant?
        for machine in silent {
            if let since = agedOut[machine.node] {
                aged.machinesContributing = max(0, aged.machinesContributing - 1)
                aged.dropped.append(DroppedNode(node: machine.node, since: since))
            } else {
                aged.silent.append(machine)
                remainingOldest = Instant.minimum(remainingOldest, machine.confirmedAt)
                remainingNewest = Instant.maximum(remainingNewest, machine.confirmedAt)
            }
        }
        guard aged.silent.count < silent.count else { return self }
        aged.dropped.sort()
        if aged.machinesContributing == 0 {
            aged.clustersContributing = 0
            aged.oldestPublish = nil
            aged.newestPublish = nil
        } else {
            aged.oldestPublish = remainingOldest ?? aged.oldestPublish
            // Every machine left is listed: the newest of them (the others were heard more recently).
            if heardOldestPublish == nil { aged.newestPublish = remainingNewest ?? aged.newestPublish }
        }
        return aged
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

/// A machine its proxy had not heard for a while when it sent its figures.
public struct SilentMachine: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The machine.
    public var node: NodeID
    /// How long the proxy had not heard it when it sent the figures (a duration, not a time: the
    /// receiver places it on its own clock, skew-free).
    public var silence: Duration
    /// When the machine last confirmed its rows of the table.
    public var confirmedAt: Instant?

    /// Creates a silent-machine record.
    public init(node: NodeID, silence: Duration, confirmedAt: Instant?) {
        self.node = node
        self.silence = silence
        self.confirmedAt = confirmedAt
    }

    public static func < (lhs: SilentMachine, rhs: SilentMachine) -> Bool { (lhs.node, lhs.silence) < (rhs.node, rhs.silence) }

    public var description: String { "\(node) silent \(silence.secondsDouble)s" }
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
