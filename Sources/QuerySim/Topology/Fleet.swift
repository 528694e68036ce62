public import QueryCore

/// A simulated collection tree: edges, redundant cluster proxies, TLAs (with children), SQL nodes,
/// a workload publishing into the edges every generation, and helpers to query and break it.
///
/// ```swift
/// let fleet = try Fleet(FleetConfiguration(shape: FleetShape(clusters: 3, machinesPerCluster: 4)),
///                       evaluator: SQLEngine())
/// fleet.start()
/// let q = fleet.submit("SELECT count(*) FROM processes", to: FleetShape.sql(0), at: .seconds(60))
/// fleet.run(until: .seconds(120))
/// print(fleet.simulation.query(q)!.outcome!)
/// ```
///
/// By default every SQL node lists all TLAs, starting with `tla:<i mod aggregators>`, and every
/// TLA sees every cluster (a mega TLA) through all of its proxies; ``FleetConfiguration/partitioning``
/// divides the fleet into subnetworks, aggregator sets and table partitions (see
/// ``FleetPartitioning``).
public final class Fleet {
    /// The settings.
    public let configuration: FleetConfiguration
    /// The simulation the fleet runs in.
    public let simulation: Simulation
    /// The workload.
    public private(set) var workload: ProcessesWorkload
    /// Generations published so far.
    public private(set) var publishedGeneration: UInt64 = 0
    /// Machines (cluster, machine) that stopped publishing (their data source is switched off;
    /// the edge agent itself may still be up).
    private var silenced: Set<Int> = []

    /// Builds the fleet (nodes are added but not started).
    ///
    /// - Parameters:
    ///   - configuration: Shape, timing, workload, network.
    ///   - evaluator: The SQL engine the SQL nodes use.
    /// - Throws: ``QueryError`` `.invalidArgument` for a bad shape.
    public init(_ configuration: FleetConfiguration, evaluator: any QueryEvaluator) throws(QueryError) {
        try configuration.shape.validate()
        try configuration.partitioning.validate(configuration.shape)
        self.configuration = configuration
        self.simulation = Simulation(
            configuration: SimulationConfiguration(
                seed: configuration.seed, network: configuration.network, logCapacity: configuration.logCapacity,
                trace: configuration.trace,
                messageSize: { $0.encode().count },
                messageFingerprint: MessageFingerprint.describe))
        self.workload = ProcessesWorkload(
            configuration: .init(
                seed: configuration.seed, clusters: configuration.shape.clusters,
                machinesPerCluster: configuration.shape.machinesPerCluster,
                processesPerMachine: configuration.processesPerMachine, churn: configuration.churn))
        try build(evaluator: evaluator)
    }

    private func build(evaluator: any QueryEvaluator) throws(QueryError) {
        let c = configuration
        let shape = c.shape
        let schedule = c.schedule
        var skewRandom = SimulationRandom(seed: c.seed, stream: "skew")
        func skew() -> Duration {
            let span = c.maxSkew.nanoseconds
            guard span > 0 else { return .zero }
            return .nanoseconds(Int64(skewRandom.next() % UInt64(2 * span + 1)) - span)
        }
        let edgeConfiguration = EdgeAgent.Configuration(schedule: schedule)
        for cluster in 0..<shape.clusters {
            for machine in 0..<shape.machinesPerCluster {
                try simulation.addNode(FleetShape.edge(cluster, machine), skew: skew()) {
                    EdgeAgent(id: $0, configuration: edgeConfiguration)
                }
            }
        }
        var sources: [Aggregator.ClusterSource] = []
        for cluster in 0..<shape.clusters {
            let machines = (0..<shape.machinesPerCluster).map { FleetShape.edge(cluster, $0) }
            let proxies = (0..<shape.proxiesPerCluster).map { FleetShape.proxy(cluster, $0) }
            sources.append(Aggregator.ClusterSource(cluster: FleetShape.cluster(cluster), proxies: proxies))
            let proxyConfiguration = ClusterProxy.Configuration(
                cluster: FleetShape.cluster(cluster), machines: machines, schedule: schedule, dropAfter: c.dropAfter,
                prewarm: c.prewarm)
            for proxy in proxies {
                try simulation.addNode(proxy, skew: skew()) { ClusterProxy(id: $0, configuration: proxyConfiguration) }
            }
        }
        let parts = c.partitioning
        let tables = ProcessesWorkload.tableNames
        let partitions = parts.rolePartitions
        for a in 0..<shape.aggregators {
            let node = FleetShape.aggregator(a)
            let children = (0..<shape.childrenPerAggregator).map { FleetShape.child(a, $0) }
            let served = parts.servedTables(by: node, all: tables)
            let deferredTables = c.deferredTables.filter { served?.contains($0) ?? true }
            var deferred: [TableName: NodeID] = [:]
            if !children.isEmpty {
                for (k, table) in deferredTables.enumerated() { deferred[table] = children[k % children.count] }
            }
            var aggregatorConfiguration = Aggregator.Configuration(
                clusters: sources, schedule: schedule, dropAfter: c.dropAfter, prewarm: c.prewarm, deferred: deferred)
            if !parts.isEmpty {
                aggregatorConfiguration.clusters = parts.clusters(ofAggregator: a, in: shape).map { sources[$0] }
                aggregatorConfiguration.prewarm = c.prewarm.filter { served?.contains($0) ?? true }
                aggregatorConfiguration.aggregatorSet = parts.aggregatorSet(of: node)
                aggregatorConfiguration.servedTables = served
                aggregatorConfiguration.partitions = partitions
            }
            try simulation.addNode(FleetShape.aggregator(a), skew: skew()) {
                Aggregator(id: $0, configuration: aggregatorConfiguration)
            }
            for child in children {
                let childConfiguration = AggregatorChild.Configuration(
                    parent: FleetShape.aggregator(a), schedule: schedule, dropAfter: c.dropAfter)
                try simulation.addNode(child, skew: skew()) { AggregatorChild(id: $0, configuration: childConfiguration) }
            }
        }
        for s in 0..<shape.sqlNodes {
            let node = FleetShape.sql(s)
            let order = parts.aggregators(ofSQL: s, in: shape, all: tables)
            var queryConfiguration = QueryNode.Configuration(
                aggregators: order, schedule: schedule, queryTimeout: c.queryTimeout, idleExpiry: c.idleExpiry,
                prewarm: c.prewarm)
            if !parts.isEmpty {
                let served = parts.servedTables(by: node, all: tables)
                queryConfiguration.prewarm = c.prewarm.filter { served?.contains($0) ?? true }
                queryConfiguration.aggregatorSet = parts.aggregatorSet(of: node)
                queryConfiguration.servedTables = served
                queryConfiguration.partitions = partitions
            }
            try simulation.addNode(FleetShape.sql(s), skew: skew()) {
                QueryNode(id: $0, configuration: queryConfiguration, evaluator: evaluator)
            }
        }
    }

    /// Starts every node and the workload's publishing cycle.
    public func start() {
        simulation.startAll()
        schedulePublish(generation: configuration.schedule.number(at: simulation.now) + (publishedGeneration == 0 ? 0 : 1))
    }

    private var publishLead: Duration { configuration.publishLead ?? configuration.interval / 20 }

    private func schedulePublish(generation: UInt64) {
        let number = max(generation, 1)
        let at = configuration.schedule.generation(number).time - publishLead
        simulation.schedule(at: at) { [weak self] _ in
            guard let self else { return }
            self.publish(generation: number)
            self.schedulePublish(generation: number + 1)
        }
    }

    /// Every live machine publishes its tables for `generation` now.
    private func publish(generation: UInt64) {
        publishedGeneration = generation
        let shape = configuration.shape
        let now = simulation.now
        for cluster in 0..<shape.clusters {
            for machine in 0..<shape.machinesPerCluster {
                let id = FleetShape.edge(cluster, machine)
                guard simulation.isUp(id), !silenced.contains(cluster * shape.machinesPerCluster + machine) else { continue }
                for (table, segment) in workload.tables(cluster: cluster, machine: machine, generation: generation, now: now) {
                    simulation.deliver(.publish(table, segment), to: id)
                }
            }
        }
    }

    /// Runs the simulation until `time`.
    public func run(until time: Instant) { simulation.run(until: time) }

    /// Submits a query to a SQL node at `time` (now by default).
    @discardableResult
    public func submit(_ sql: String, to node: NodeID = FleetShape.sql(0), at time: Instant? = nil) -> QueryID {
        simulation.submitQuery(sql, to: node, at: time)
    }

    /// Every node of the fleet, in the order they were added (edges, proxies, TLAs and children, SQL nodes).
    public var nodes: [NodeID] { simulation.nodeIDs }

    /// Stops machine `(cluster, machine)` from publishing without crashing its agent (or resumes it).
    public func setPublishing(_ on: Bool, cluster: Int, machine: Int) {
        let key = cluster * configuration.shape.machinesPerCluster + machine
        if on { silenced.remove(key) } else { silenced.insert(key) }
    }
}
