import Logging
import MetricsTestKit
import QueryCore
import QuerySQL
import Synchronization
import Testing

@testable import QueryTransport

/// The whole tree as real listeners on 127.0.0.1 (port 0) in one process: edges → proxy → two
/// TLAs → SQL node, a client asking through the TCP client protocol. Intervals are shortened
/// (0.4 s) so failover and drop-after-timeout happen within seconds.
@Suite("Tree over TCP", .serialized)
struct TreeOverTCPTests {
    typealias Runtime = NodeRuntime<TCPTransport, ContinuousClock>

    static let interval = Duration.milliseconds(400)
    static let schedule = GenerationSchedule(interval: interval)
    static let schema = try! Schema([("machine_id", .integer), ("load", .real)])
    static let machinesPerEdgeProcess = 3

    /// One simulated process: a transport and a runtime over it.
    static func process(
        _ roles: [any Role], listen: Bool, peers: [Int] = [], directory: [NodeID: Endpoint] = [:]
    ) -> Runtime {
        let transport = TCPTransport(
            nodes: roles.map(\.id),
            configuration: .init(
                listen: listen ? Endpoint(host: "127.0.0.1", port: 0) : nil,
                peers: peers.map { Endpoint(host: "127.0.0.1", port: $0) }, keepaliveInterval: .milliseconds(200),
                idleTimeout: .seconds(2), backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))),
            logger: quietLogger("transport"), metricsFactory: TestMetrics())
        return NodeRuntime(
            roles: roles, transport: transport, clock: ContinuousClock(),
            configuration: .init(queryDeadline: .seconds(10), directory: directory), logger: quietLogger("runtime"),
            metricsFactory: TestMetrics())
    }

    static func edgeIDs(process: Int) -> [NodeID] {
        (0..<machinesPerEdgeProcess).map { NodeID("edge:0.\(process * machinesPerEdgeProcess + $0)") }
    }

    /// Publishes one row per machine every half interval until cancelled.
    static func publish(_ runtime: Runtime, machines: [NodeID]) async {
        var round = 0.0
        while !Task.isCancelled {
            for machine in machines {
                let number = Int64(machine.rawValue.split(separator: ".").last.flatMap { Int($0) } ?? 0)
                let segment = try! Segment(schema: schema, rows: [[.integer(number), .real(round)]])
                runtime.publish("load", segment, at: machine)
            }
            round += 1
            try? await Task.sleep(for: interval / 2)
        }
    }

    /// Asks until `accept` holds for the first value, within a deadline; returns the last value.
    static func ask(
        _ client: QueryClient, _ sql: String, within deadline: Duration = .seconds(120),
        until accept: (Int64, UInt64) -> Bool
    ) async -> (value: Int64, generation: UInt64)? {
        var last: (Int64, UInt64)?
        _ = await eventually(within: deadline) {
            guard let (answer, _) = try? await client.query(sql),
                case .integer(let value)? = answer.result.rows.first?.first
            else { return false }
            last = (value, answer.generation.number)
            return accept(value, answer.generation.number)
        }
        return last
    }

    @Test func queryEndToEndThenTLAFailoverThenEdgeDrop() async throws {
        let allMachines = Self.edgeIDs(process: 0) + Self.edgeIDs(process: 1)
        let proxy = Self.process(
            [
                ClusterProxy(
                    id: "proxy:0.0",
                    configuration: .init(
                        cluster: "cluster:0", machines: allMachines, schedule: Self.schedule,
                        dropAfter: .milliseconds(1500)))
            ], listen: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await proxy.run() }
            let proxyPort = try #require(await proxy.transport.listeningPort())

            let tlas = (0..<2).map { index in
                Self.process(
                    [
                        Aggregator(
                            id: NodeID("tla:\(index)"),
                            configuration: .init(
                                clusters: [.init(cluster: "cluster:0", proxies: ["proxy:0.0"])], schedule: Self.schedule,
                                dropAfter: .milliseconds(1500)))
                    ], listen: true, peers: [proxyPort])
            }
            for tla in tlas { group.addTask { try await tla.run() } }
            var tlaPorts: [Int] = []
            for tla in tlas { tlaPorts.append(try #require(await tla.transport.listeningPort())) }

            let sql = Self.process(
                [
                    QueryNode(
                        id: "sql:0",
                        configuration: .init(
                            aggregators: ["tla:0", "tla:1"], schedule: Self.schedule, failoverAfter: .milliseconds(800),
                            queryTimeout: .seconds(3)),
                        evaluator: SQLEngine())
                ], listen: true, peers: tlaPorts)
            group.addTask { try await sql.run() }
            let sqlPort = try #require(await sql.transport.listeningPort())

            let edges = (0..<2).map { process in
                Self.process(Self.edgeIDs(process: process).map { EdgeAgent(id: $0, configuration: .init(schedule: Self.schedule)) },
                    listen: false, peers: [proxyPort])
            }
            var publishers: [Task<Void, Never>] = []
            for (index, edge) in edges.enumerated() {
                group.addTask { try await edge.run() }
                publishers.append(Task { await Self.publish(edge, machines: Self.edgeIDs(process: index)) })
            }

            let client = QueryClient(
                endpoints: [Endpoint(host: "127.0.0.1", port: sqlPort)], configuration: .init(queryTimeout: .seconds(5)))
            let sqlText = "SELECT count(DISTINCT machine_id) FROM load"

            // 1. End to end: every machine's row arrives at the SQL node.
            let all = try #require(await Self.ask(client, sqlText) { value, _ in value == 6 })
            #expect(all.value == 6)

            // 2. Kill the TLA the SQL node uses first; it fails over to tla:1 and answers again,
            //    from generations newer than any tla:0 could have sent.
            tlas[0].beginGracefulShutdown()
            #expect(await eventually { !sql.transport.reachablePeers.contains("tla:0") })
            let killedAt = Self.schedule.number(at: .wallClockNow())
            let afterFailover = await Self.ask(client, sqlText) { value, generation in
                value == 6 && generation > killedAt + 2
            }
            #expect(afterFailover?.value == 6)
            #expect((afterFailover?.generation ?? 0) > killedAt + 2)

            // 3. Kill one edge process: its machines' rows vanish after the (shortened) drop timeout.
            publishers[1].cancel()
            edges[1].beginGracefulShutdown()
            let afterDrop = await Self.ask(client, sqlText) { value, _ in value == 3 }
            #expect(afterDrop?.value == 3)

            publishers[0].cancel()
            for runtime in [edges[0], tlas[1], sql, proxy] { runtime.beginGracefulShutdown() }
            try await group.waitForAll()
        }
    }
}
