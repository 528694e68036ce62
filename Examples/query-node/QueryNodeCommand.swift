import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import QueryCore
import QuerySQL
import QuerySim
import QueryTransport
import ServiceLifecycle
import UnixSignals

/// `query-node`: runs one tier of the collection tree as a process talking TCP.
@main
struct QueryNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query-node",
        abstract: "Run one node of the swift-query collection tree (edge, proxy, TLA, TLA child, SQL node).",
        discussion: """
            The JSON config names the listen address, peers, cluster, aggregator set, prewarm list, views,
            partitions, deferrals, intervals and timeouts (see NodeConfig.swift). Metrics are served in
            Prometheus text format at http://<metrics>/metrics. SIGTERM or SIGINT stops the node cleanly.
            """)

    @Option(help: "The role: edge, proxy, tla, tla-child, sql or tla-sql.")
    var role: String

    @Option(help: "The node's JSON configuration file.")
    var config: String

    @Option(help: "Edge only: how many simulated machines this process hosts (overrides the config).")
    var machines: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        guard let kind = RoleKind(rawValue: role) else {
            throw ValidationError(
                "unknown role '\(role)'; use one of \(RoleKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        let nodeConfig: NodeConfig
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: config))
            nodeConfig = try JSONDecoder().decode(NodeConfig.self, from: data)
        } catch {
            throw ValidationError("cannot read config '\(config)': \(error)")
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = prometheusSanitizer
        MetricsSystem.bootstrap(factory)

        let (roles, machines) = try NodeAssembly.roles(
            kind: kind, config: nodeConfig, machinesOverride: machines, evaluator: SQLEngine())
        var logger = Logger(label: "query-node")
        logger[metadataKey: "role"] = "\(kind.rawValue)"
        if let id = nodeConfig.id { logger[metadataKey: "node.id"] = "\(id)" }

        // SQL nodes host a query manager: persistent queries over TCP, snapshot queries per generation.
        let managerService: QueryManagerService? =
            kind == .sql || kind == .tlaSQL ? QueryManagerService(evaluator: SQLEngine()) : nil
        let transport = TCPTransport(
            nodes: roles.map(\.id),
            configuration: .init(
                listen: try nodeConfig.endpoint(nodeConfig.listen), peers: try nodeConfig.peerEndpoints(),
                keepaliveInterval: NodeConfig.seconds(nodeConfig.keepalive) ?? .seconds(2),
                idleTimeout: NodeConfig.seconds(nodeConfig.idleTimeout) ?? .seconds(10), tls: nodeConfig.tlsSettings),
            logger: logger, manager: managerService)
        let runtime = NodeRuntime(
            roles: roles, transport: transport, clock: ContinuousClock(),
            configuration: .init(directory: try nodeConfig.directoryValue()), logger: logger)

        var services: [any Service] = [runtime]
        if let managerService {
            let interest = SnapshotInterest(
                runtime: runtime, manager: managerService, evaluator: SQLEngine(), logger: logger)
            // Tables streamed into the manager as events, one stream per table, each generation.
            let eventTables = try NodeConfig.tables(nodeConfig.eventTables)
            let treeSource: CollectionTreeEventSource? =
                eventTables.isEmpty
                ? nil
                : {
                    var configuration = CollectionTreeEventSource.Configuration(tables: eventTables)
                    configuration.originField = "origin"
                    return CollectionTreeEventSource(configuration: configuration)
                }()
            runtime.onNewGeneration { snapshot in
                managerService.generationArrived(snapshot.catalog, at: snapshot.generation.time)
                interest.generationArrived(snapshot)
                treeSource?.generationCompleted(
                    snapshot.catalog, generation: snapshot.generation, at: snapshot.generation.time)
            }
            services.append(managerService)
            services.append(interest)
            if let treeSource {
                services.append(
                    EventSourceService(source: treeSource, sink: managerService.manager.eventSink(as: "collection-tree")))
            }
            if let push = nodeConfig.push {
                let server = EventPushServer(configuration: try push.serverConfiguration(), logger: logger)
                let sink = managerService.manager.eventSink(as: Principal(push.principal ?? "push"))
                services.append(EventSourceService(source: server, sink: sink))
            }
        } else if nodeConfig.push != nil {
            throw ValidationError("\"push\" needs a node with a query manager (role sql or tla-sql)")
        }
        if let metrics = try nodeConfig.endpoint(nodeConfig.metrics) {
            services.append(MetricsServer(listen: metrics, registry: registry, logger: logger))
        }
        if kind == .edge {
            let clusters = (machines.map(\.cluster).max() ?? 0) + 1
            let perCluster = (machines.map(\.machine).max() ?? 0) + 1
            services.append(
                EdgePublisher(
                    runtime: runtime, machines: machines, schedule: nodeConfig.schedule,
                    workloadConfiguration: ProcessesWorkload.Configuration(
                        seed: nodeConfig.seed ?? 1, clusters: clusters, machinesPerCluster: perCluster,
                        processesPerMachine: nodeConfig.processesPerMachine ?? 25, churn: nodeConfig.churn ?? 0.05),
                    logger: logger))
        }
        logger.info(
            "starting",
            metadata: [
                "nodes": "\(roles.count)", "listen": "\(nodeConfig.listen ?? "-")", "peers": "\(nodeConfig.peers ?? [])",
            ])
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}
