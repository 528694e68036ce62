import QueryCore
import QuerySim

/// The role kinds `query-node` can run.
enum RoleKind: String, CaseIterable, Sendable {
    case edge, proxy, tla, tlaChild = "tla-child", sql, tlaSQL = "tla-sql"
}

/// Builds the roles one process hosts from its configuration.
enum NodeAssembly {
    /// The hosted roles, and (for edges) which (cluster, machine) each edge publishes as.
    static func roles(
        kind: RoleKind, config: NodeConfig, machinesOverride: Int?, evaluator: @autoclosure () -> any QueryEvaluator
    ) throws(QueryError) -> (roles: [any Role], machines: [(cluster: Int, machine: Int, id: NodeID)]) {
        let schedule = config.schedule
        switch kind {
        case .edge:
            guard let cluster = config.cluster else {
                throw QueryError(.invalidArgument, "an edge config needs \"cluster\"")
            }
            let count = machinesOverride ?? config.machines ?? 1
            guard (1...100_000).contains(count) else {
                throw QueryError(.invalidArgument, "machines is \(count); it must be in 1…100000")
            }
            let first = config.firstMachine ?? 0
            let pinned = try NodeConfig.nodeSet(config.pinnedProxies)
            var roles: [any Role] = []
            var machines: [(Int, Int, NodeID)] = []
            for machine in first..<(first + count) {
                let id = FleetShape.edge(cluster, machine)
                roles.append(EdgeAgent(id: id, configuration: .init(schedule: schedule, pinnedProxies: pinned)))
                machines.append((cluster, machine, id))
            }
            return (roles, machines)
        case .proxy:
            guard let cluster = config.cluster, let machineCount = config.machines else {
                throw QueryError(.invalidArgument, "a proxy config needs \"cluster\" and \"machines\"")
            }
            let configuration = ClusterProxy.Configuration(
                cluster: FleetShape.cluster(cluster),
                machines: (0..<machineCount).map { FleetShape.edge(cluster, $0) }, schedule: schedule,
                dropAfter: NodeConfig.seconds(config.dropAfter) ?? .seconds(180),
                interestLease: NodeConfig.seconds(config.interestLease), prewarm: try NodeConfig.tables(config.prewarm),
                pinnedAggregators: try NodeConfig.nodeSet(config.pinnedAggregators))
            return ([ClusterProxy(id: try config.nodeID("id"), configuration: configuration)], [])
        case .tla:
            return ([Aggregator(id: try config.nodeID("id"), configuration: try aggregatorConfiguration(config))], [])
        case .tlaChild:
            guard let parent = config.parent else {
                throw QueryError(.invalidArgument, "a tla-child config needs \"parent\"")
            }
            let configuration = AggregatorChild.Configuration(
                parent: try NodeID(validating: parent), schedule: schedule,
                dropAfter: NodeConfig.seconds(config.dropAfter) ?? .seconds(180))
            return ([AggregatorChild(id: try config.nodeID("id"), configuration: configuration)], [])
        case .sql:
            return (
                [
                    QueryNode(
                        id: try config.nodeID("id"), configuration: try queryConfiguration(config),
                        evaluator: evaluator())
                ], []
            )
        case .tlaSQL:
            return (
                [
                    AggregatorQueryNode(
                        id: try config.nodeID("id"), aggregator: try aggregatorConfiguration(config),
                        query: try queryConfiguration(config), evaluator: evaluator())
                ], []
            )
        }
    }

    static func aggregatorConfiguration(_ config: NodeConfig) throws(QueryError) -> Aggregator.Configuration {
        var clusters: [Aggregator.ClusterSource] = []
        for source in config.clusters ?? [] {
            clusters.append(
                Aggregator.ClusterSource(
                    cluster: FleetShape.cluster(source.cluster), proxies: try NodeConfig.nodes(source.proxies)))
        }
        var deferred: [TableName: NodeID] = [:]
        for (table, child) in config.deferred ?? [:] {
            deferred[try TableName(validating: table)] = try NodeID(validating: child)
        }
        return Aggregator.Configuration(
            clusters: clusters, schedule: config.schedule,
            dropAfter: NodeConfig.seconds(config.dropAfter) ?? .seconds(180),
            failoverAfter: NodeConfig.seconds(config.failoverAfter),
            childDropAfter: NodeConfig.seconds(config.childDropAfter),
            interestLease: NodeConfig.seconds(config.interestLease), prewarm: try NodeConfig.tables(config.prewarm),
            deferred: deferred, aggregatorSet: try config.aggregatorSetValue(),
            servedTables: try NodeConfig.tableSet(config.servedTables),
            partitions: try config.partitionList(),
            pinnedProxies: try NodeConfig.nodeSet(config.pinnedProxies))
    }

    static func queryConfiguration(_ config: NodeConfig) throws(QueryError) -> QueryNode.Configuration {
        var views: [TableName: String] = [:]
        for (name, sql) in config.views ?? [:] { views[try TableName(validating: name)] = sql }
        return QueryNode.Configuration(
            aggregators: try NodeConfig.nodes(config.aggregators), schedule: config.schedule,
            failoverAfter: NodeConfig.seconds(config.failoverAfter), queryTimeout: NodeConfig.seconds(config.queryTimeout),
            idleExpiry: NodeConfig.seconds(config.idleExpiry), interestLease: NodeConfig.seconds(config.interestLease),
            prewarm: try NodeConfig.tables(config.prewarmAndEventTables), views: views, aggregatorSet: try config.aggregatorSetValue(),
            servedTables: try NodeConfig.tableSet(config.servedTables),
            partitions: try config.partitionList(),
            pinnedAggregators: try NodeConfig.nodeSet(config.pinnedAggregators))
    }
}
