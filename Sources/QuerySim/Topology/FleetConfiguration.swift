public import QueryCore

/// Everything needed to build a simulated fleet: its shape, the tree's timing and fault policy,
/// the workload and the network.
public struct FleetConfiguration: Sendable {
    /// The fleet's size.
    public var shape: FleetShape
    /// The seed of the simulation and the workload.
    public var seed: UInt64
    /// Time between generations. Default 10 s (the paper uses 120 s; simulations go faster).
    public var interval: Duration
    /// Silence after which a machine or cluster is dropped. Default 180 s (the paper's three minutes).
    public var dropAfter: Duration
    /// How long an unanswerable query waits (`nil`: the SQL node's default).
    public var queryTimeout: Duration?
    /// How long interest in an unused table lasts (`nil`: the SQL node's default).
    public var idleExpiry: Duration?
    /// Tables requested from the start.
    public var prewarm: [TableName]
    /// Tables the TLAs defer to their children (round-robin over each TLA's children).
    public var deferredTables: [TableName]
    /// Rows of `processes` per machine.
    public var processesPerMachine: Int
    /// Fraction of rows changed per generation.
    public var churn: Double
    /// Network conditions at the start.
    public var network: NetworkConditions
    /// Largest clock skew; each node draws one uniformly in `-maxSkew...maxSkew`. Default zero.
    public var maxSkew: Duration
    /// How long before each generation's start the machines publish their rows. Default 1/20 interval.
    public var publishLead: Duration?
    /// Trace-hash detail (``SimulationConfiguration/TraceDetail/headers`` is much cheaper for big fleets).
    public var trace: SimulationConfiguration.TraceDetail
    /// Log lines kept per node.
    public var logCapacity: Int
    /// Subnetworks, aggregator sets and table partitions (default none: a flat fleet).
    public var partitioning: FleetPartitioning

    /// Creates a fleet configuration with the defaults above.
    public init(
        shape: FleetShape, seed: UInt64 = 1, interval: Duration = .seconds(10), dropAfter: Duration = .seconds(180),
        queryTimeout: Duration? = nil, idleExpiry: Duration? = nil, prewarm: [TableName] = [],
        deferredTables: [TableName] = [], processesPerMachine: Int = 25, churn: Double = 0.05,
        network: NetworkConditions = .clean, maxSkew: Duration = .zero, publishLead: Duration? = nil,
        trace: SimulationConfiguration.TraceDetail = .full, logCapacity: Int = 200,
        partitioning: FleetPartitioning = FleetPartitioning()
    ) {
        self.shape = shape
        self.seed = seed
        self.interval = interval
        self.dropAfter = dropAfter
        self.queryTimeout = queryTimeout
        self.idleExpiry = idleExpiry
        self.prewarm = prewarm
        self.deferredTables = deferredTables
        self.processesPerMachine = processesPerMachine
        self.churn = churn
        self.network = network
        self.maxSkew = maxSkew
        self.publishLead = publishLead
        self.trace = trace
        self.logCapacity = logCapacity
        self.partitioning = partitioning
    }

    /// The generation schedule every node shares.
    public var schedule: GenerationSchedule { GenerationSchedule(interval: interval) }
}
