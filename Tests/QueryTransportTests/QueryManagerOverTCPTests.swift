import MetricsTestKit
import QueryCore
import QuerySQL
import Testing

@testable import QueryTransport

@Suite("Query manager over TCP", .serialized)
struct QueryManagerOverTCPTests {
    /// Runs a listening transport that hosts `service`, and a session to it.
    static func withNode(
        _ service: QueryManagerService, _ body: (QuerySession) async throws -> Void
    ) async throws {
        let transport = TCPTransport(
            nodes: ["sql:0"],
            configuration: .init(listen: Endpoint(host: "127.0.0.1", port: 0)),
            logger: quietLogger("node"), metricsFactory: TestMetrics(), manager: service)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await transport.run() }
            group.addTask { for await _ in transport.events {} }
            let port = try #require(await transport.listeningPort())
            let client = QueryClient(
                endpoints: [Endpoint(host: "127.0.0.1", port: port)], configuration: .init(queryTimeout: .seconds(60)))
            try await client.withSession(body)
            transport.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func streamStatementTriggersReachASubscriberOverTCP() async throws {
        let service = QueryManagerService(evaluator: SQLEngine())
        try await Self.withNode(service) { session in
            let schema = try Schema([("host", .text), ("memutil", .real)])
            _ = try await session.manage(.registerMetric(name: "MemUtilEvent", schema: schema, publishers: .anyone), as: "ops")
            let topic = try await session.register(
                "select host, memutil from MemUtilEvent where memutil > 70", as: "ops")
            // The same statement again (other spacing, other case) is the same topic.
            #expect(
                try await session.register("SELECT host,  memutil FROM MemUtilEvent WHERE memutil > 70", as: "ops")
                    == topic)

            let triggers = try await session.subscribe(topic, as: "ops")
            let caused = try await session.publish(
                "MemUtilEvent",
                events: [["host": "a", "memutil": 50.0], ["host": "b", "memutil": 91.5]],
                at: .seconds(1), as: "ops")
            #expect(caused == 1)
            var iterator = triggers.makeAsyncIterator()
            let trigger = try #require(try await iterator.next())
            #expect(trigger.topic == topic.name)
            #expect(trigger.kind == .rows)
            #expect(trigger.columns == ["host", "memutil"])
            #expect(trigger.rows == [["b", 91.5]])

            // Someone else may not subscribe to a topic only its owner may read.
            await #expect(throws: QueryError.self) {
                _ = try await session.subscribe(topic, as: "mallory")
            }
            do throws(QueryError) {
                _ = try await session.subscribe(topic, as: "mallory")
            } catch {
                #expect(error.code == .permissionDenied)
                #expect(error.message.contains("mallory"))
            }

            // A bad statement comes back with the parser's position.
            do throws(QueryError) {
                _ = try await session.register("select host frm MemUtilEvent", as: "ops")
                Issue.record("a malformed statement was accepted")
            } catch {
                #expect(error.location != nil)
            }

            guard case .listing(let listing) = try await session.manage(.list, as: "ops") else {
                Issue.record("list did not answer a listing")
                return
            }
            #expect(listing.metrics.map(\.name) == ["MemUtilEvent"])
            #expect(listing.statements.map(\.topic) == [topic])
            #expect(listing.statements.first?.owners == ["ops"])

            // Unregistering (both registrations) ends the subscription.
            _ = try await session.manage(.unregisterStatement(topic: topic.name), as: "ops")
            _ = try await session.manage(.unregisterStatement(topic: topic.name), as: "ops")
            #expect(try await iterator.next() == nil)
        }
    }

    @Test func snapshotQueryRaisesWhenRowsAppearAndClearsWhenTheyGo() async throws {
        let service = QueryManagerService(evaluator: SQLEngine())
        let schema = try Schema([("machine_id", .integer), ("rss", .integer)])
        func generation(_ rows: [[Value]], version: UInt64) throws -> SnapshotCatalog {
            var table = Table(name: "processes", schema: schema)
            try table.replace(
                origin: "edge:0.1", version: version, segment: try Segment(schema: schema, rows: rows),
                publishedAt: .seconds(Double(version)))
            return SnapshotCatalog(tables: ["processes": table], version: version)
        }
        try await Self.withNode(service) { session in
            let topic = try await session.register(
                "SELECT machine_id, rss FROM processes WHERE rss > 1000", kind: .snapshot, subscribers: .anyone,
                as: "ops")
            // Public topic: anyone may subscribe.
            let triggers = try await session.subscribe(topic, as: "viewer")
            var iterator = triggers.makeAsyncIterator()

            #expect(service.generationArrived(try generation([[1, 10]], version: 1), at: .seconds(1)).isEmpty)
            service.generationArrived(try generation([[1, 10], [2, 5000]], version: 2), at: .seconds(2))
            let raised = try #require(try await iterator.next())
            #expect(raised.kind == .raised)
            #expect(raised.rows == [[2, 5000]])
            #expect(raised.time == .seconds(2))
            service.generationArrived(try generation([[1, 10]], version: 3), at: .seconds(3))
            let cleared = try #require(try await iterator.next())
            #expect(cleared.kind == .cleared)
            #expect(cleared.sequence == raised.sequence + 1)
        }
    }

    @Test func aNodeWithoutAManagerRefusesManagerRequests() async throws {
        let transport = TCPTransport(
            nodes: ["tla:0"], configuration: .init(listen: Endpoint(host: "127.0.0.1", port: 0)),
            logger: quietLogger("node"), metricsFactory: TestMetrics())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await transport.run() }
            group.addTask { for await _ in transport.events {} }
            let port = try #require(await transport.listeningPort())
            try await QueryClient(endpoints: [Endpoint(host: "127.0.0.1", port: port)]).withSession { session in
                do throws(QueryError) {
                    _ = try await session.manage(.list, as: "ops")
                    Issue.record("a node without a manager answered")
                } catch {
                    #expect(error.code == .unsupported)
                }
            }
            transport.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
