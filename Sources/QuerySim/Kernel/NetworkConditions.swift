/// The faults and delays of the simulated network. All decisions are drawn from the simulation's
/// seeded generator, so a seed replays the same losses, duplicates and reorderings.
public struct NetworkConditions: Sendable, Hashable {
    /// Delay of each message.
    public var latency: LatencyDistribution
    /// Probability that a message is lost (0…1).
    public var loss: Double
    /// Probability that a message is delivered twice (0…1).
    public var duplication: Double
    /// Probability that a message overtakes or is overtaken on its link: it gets an extra delay from
    /// ``reorderDelay`` and bypasses the per-link FIFO order that otherwise holds (as over TCP).
    public var reordering: Double
    /// Extra delay of a reordered message.
    public var reorderDelay: LatencyDistribution

    /// Creates network conditions. The defaults are a clean LAN-like network: 1–20 ms latency,
    /// no loss, no duplication, no reordering.
    public init(
        latency: LatencyDistribution = .uniform(min: .milliseconds(1), max: .milliseconds(20)),
        loss: Double = 0,
        duplication: Double = 0,
        reordering: Double = 0,
        reorderDelay: LatencyDistribution = .uniform(min: .milliseconds(5), max: .milliseconds(500))
    ) {
        self.latency = latency
        self.loss = loss
        self.duplication = duplication
        self.reordering = reordering
        self.reorderDelay = reorderDelay
    }

    /// A clean network with the default latency.
    public static let clean = NetworkConditions()
}

/// Counts of what the simulated network did with the messages it was given.
public struct NetworkStatistics: Sendable, Hashable {
    /// Messages roles asked to send.
    public var sent = 0
    /// Messages handed to a live receiver.
    public var delivered = 0
    /// Messages lost by the ``NetworkConditions/loss`` draw.
    public var lost = 0
    /// Extra copies created by the ``NetworkConditions/duplication`` draw.
    public var duplicated = 0
    /// Messages that bypassed per-link FIFO order.
    public var reordered = 0
    /// Messages dropped because sender and receiver were on different sides of a partition.
    public var partitioned = 0
    /// Messages that arrived at a crashed node.
    public var toDeadNode = 0
    /// Messages addressed to a node the simulation does not know.
    public var unknownDestination = 0
    /// Bytes of messages sent, as measured by ``SimulationConfiguration/messageSize`` (0 without one).
    public var bytesSent = 0

    /// Creates zeroed statistics.
    public init() {}
}
