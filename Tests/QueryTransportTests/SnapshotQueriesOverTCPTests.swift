import MetricsTestKit
import QueryCore
import QuerySQL
import Testing

@testable import QueryTransport

/// A snapshot persistent query registered over TCP at a real SQL node (edges → proxy → TLA → SQL
/// node on 127.0.0.1, 0.4 s generations): its trigger is raised by the generation that first
/// brings matching rows, through ``NodeRuntime/onNewGeneration(_:)``.
@Suite("Snapshot queries over TCP", .serialized)
struct SnapshotQueriesOverTCPTests {
    typealias Tree = TreeOverTCPTests

    @Test func snapshotQueryIsRaisedByTheGenerationThatBringsMatchingRows() async throws {
        let machines = Tree.edgeIDs(process: 0)
        let proxy = Tree.process(
            [
                ClusterProxy(
                    id: "proxy:0.0",
                    configuration: .init(cluster: "cluster:0", machines: machines, schedule: Tree.schedule))
            ], listen: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await proxy.run() }
            let proxyPort = try #require(await proxy.transport.listeningPort())
            let tla = Tree.process(
                [
                    Aggregator(
                        id: "tla:0",
                        configuration: .init(
                            clusters: [.init(cluster: "cluster:0", proxies: ["proxy:0.0"])], schedule: Tree.schedule))
                ], listen: true, peers: [proxyPort])
            group.addTask { try await tla.run() }
            let tlaPort = try #require(await tla.transport.listeningPort())

            let service = QueryManagerService(evaluator: SQLEngine())
            let transport = TCPTransport(
                nodes: ["sql:0"],
                configuration: .init(
                    listen: Endpoint(host: "127.0.0.1", port: 0), peers: [Endpoint(host: "127.0.0.1", port: tlaPort)],
                    // The client pings every 2 s: an idle timeout of 2 s here raced with it under load.
                    keepaliveInterval: .milliseconds(200), idleTimeout: .seconds(10),
                    backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))),
                logger: quietLogger("transport"), metricsFactory: TestMetrics(), manager: service)
            let sql = NodeRuntime(
                roles: [
                    QueryNode(
                        id: "sql:0",
                        configuration: .init(aggregators: ["tla:0"], schedule: Tree.schedule, prewarm: ["load"]),
                        evaluator: SQLEngine())
                ],
                transport: transport, clock: ContinuousClock(), logger: quietLogger("runtime"),
                metricsFactory: TestMetrics())
            let generations = MutexBox<[UInt64]>([])
            sql.onNewGeneration { snapshot in
                generations.withLock { $0.append(snapshot.generation.number) }
                service.generationArrived(snapshot.catalog, at: snapshot.generation.time)
            }
            group.addTask { try await sql.run() }
            let sqlPort = try #require(await transport.listeningPort())

            let client = QueryClient(endpoints: [Endpoint(host: "127.0.0.1", port: sqlPort)])
            try await client.withSession { session in
                // Registered before any row matches: `load` counts publish rounds from 0.
                let topic = try await session.register(
                    "SELECT machine_id, load FROM load WHERE load >= 3 ORDER BY machine_id", kind: .snapshot,
                    as: "ops")
                let triggers = try await session.subscribe(topic, as: "ops")

                let edge = Tree.process(
                    machines.map { EdgeAgent(id: $0, configuration: .init(schedule: Tree.schedule)) }, listen: false,
                    peers: [proxyPort])
                group.addTask { try await edge.run() }
                let publisher = Task { await Tree.publish(edge, machines: machines) }
                defer { publisher.cancel() }

                var iterator = triggers.makeAsyncIterator()
                let raised = try #require(try await iterator.next())
                #expect(raised.kind == .raised)
                #expect(raised.topic == topic.name)
                #expect(raised.columns == ["machine_id", "load"])
                #expect(!raised.rows.isEmpty)
                #expect(raised.rows.allSatisfy { row in
                    if case .real(let load) = row[1] { return load >= 3 } else { return false }
                })
                // One evaluation per generation number, in increasing order.
                let seen = generations.withLock { $0 }
                #expect(seen == seen.sorted() && Set(seen).count == seen.count)

                publisher.cancel()
                edge.beginGracefulShutdown()
            }
            for runtime in [sql, tla, proxy] { runtime.beginGracefulShutdown() }
            try await group.waitForAll()
        }
    }
}
