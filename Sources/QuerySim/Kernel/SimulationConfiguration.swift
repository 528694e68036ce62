public import QueryCore

/// How a ``Simulation`` runs: its seed, its network and how much it records.
public struct SimulationConfiguration: Sendable {
    /// How much of each event the trace hash covers.
    public enum TraceDetail: Sendable, Hashable {
        /// No trace hash (fastest; for large benchmarks).
        case off
        /// Times, nodes, event kinds, timer names and query ids, but not message bodies.
        case headers
        /// Everything in ``headers`` plus each message's fingerprint and each answer's rows.
        case full
    }

    /// The one seed every random decision derives from.
    public var seed: UInt64
    /// Network delays and faults (can be changed while running with ``Simulation/network``).
    public var network: NetworkConditions
    /// Log lines kept per node (older ones are discarded).
    public var logCapacity: Int
    /// How much the trace hash covers.
    public var trace: TraceDetail
    /// Measures a message's wire size for ``NetworkStatistics/bytesSent`` (for example with the
    /// wire codec); `nil` leaves byte counts at zero.
    public var messageSize: (@Sendable (Message) -> Int)?
    /// A canonical description of a message for the trace hash under ``TraceDetail/full``; `nil`
    /// uses `String(describing:)`, which is canonical only if messages hold no dictionaries or sets.
    public var messageFingerprint: (@Sendable (Message) -> String)?

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - seed: The seed; equal seeds give equal runs.
    ///   - network: Network conditions; a clean LAN by default.
    ///   - logCapacity: Log lines kept per node; 1,000 by default.
    ///   - trace: Trace-hash detail; ``TraceDetail/full`` by default.
    public init(
        seed: UInt64, network: NetworkConditions = .clean, logCapacity: Int = 1000, trace: TraceDetail = .full,
        messageSize: (@Sendable (Message) -> Int)? = nil,
        messageFingerprint: (@Sendable (Message) -> String)? = nil
    ) {
        self.seed = seed
        self.network = network
        self.logCapacity = logCapacity
        self.trace = trace
        self.messageSize = messageSize
        self.messageFingerprint = messageFingerprint
    }
}

/// One role invocation, as observers (invariant checkers) see it.
public struct SimulationStep: Sendable {
    /// Virtual time of the step.
    public var time: Instant
    /// The node whose role handled the input.
    public var node: NodeID
    /// The input.
    public var input: RoleInput
    /// The actions the role returned, in order.
    public var actions: [RoleAction]
}
