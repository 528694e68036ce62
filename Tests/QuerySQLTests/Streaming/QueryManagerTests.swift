import QueryCore
import Testing
@testable import QuerySQL

@Suite struct QueryManagerTests {
    func manager() throws -> QueryManager {
        let m = QueryManager()
        try m.registerMetric("Cpu", schema: try Schema([("host", .text), ("load", .integer)]), publishers: .only(["agent"]))
        return m
    }

    @Test func registerDeduplicateListAndUnregister() throws {
        let m = try manager()
        let a = try m.registerStatement("select host from Cpu where load > 90", owner: "alice")
        let b = try m.registerStatement("SELECT  host\nFROM cpu -- same query\nWHERE load > 90", owner: "bob")
        #expect(a == b)
        #expect(m.statements.count == 1)
        #expect(m.statements.first?.owners == ["alice", "bob"])
        let c = try m.registerStatement("select host from Cpu where load > 95", owner: "alice")
        #expect(c != a)
        #expect(m.statements.count == 2)
        // A non-owner cannot unregister; the last owner's unregistration stops the statement.
        #expect(throws: QueryError.self) { try m.unregisterStatement(c, by: "bob") }
        try m.unregisterStatement(a, by: "alice")
        #expect(m.statements.count == 2)
        try m.unregisterStatement(a, by: "bob")
        #expect(m.statements.map(\.topic) == [c])
        #expect(m.metrics.map(\.name) == ["Cpu"])
    }

    @Test func invalidStatementsCarryTheParsersPosition() throws {
        let m = try manager()
        do {
            _ = try m.registerStatement("select host from Cpu where lod > 1", owner: "alice")
            Issue.record("accepted an unknown column")
        } catch {
            #expect(error.code == .unknownColumn)
            #expect(error.location?.column == 28)
        }
        do {
            _ = try m.registerStatement("select host form Cpu", owner: "alice")
            Issue.record("accepted a syntax error")
        } catch {
            #expect(error.code == .syntaxError)
            #expect(error.location != nil)
        }
        #expect(m.statements.isEmpty)
    }

    @Test func unauthorisedSubscribeAndPublishAreRefused() throws {
        let m = try manager()
        let topic = try m.registerStatement("select host from Cpu where load > 90", owner: "alice")
        do {
            _ = try m.subscribe(topic, as: "mallory")
            Issue.record("mallory subscribed")
        } catch {
            #expect(error.code == .permissionDenied)
            #expect(error.message.contains("mallory"))
            #expect(error.message.contains(topic.name))
        }
        #expect(throws: QueryError.self) { try m.publish("Cpu", fields: ["host": "a", "load": 99], as: "mallory") }
        #expect(throws: QueryError.self) {
            try m.publish(rows: [["x"]], columns: ["host"], to: topic, at: .zero, as: "mallory")
        }
        #expect(throws: QueryError.self) { _ = try m.subscribe(TopicHandle(name: "pq.nope"), as: "alice") }
        let open = try m.registerStatement("select host from Cpu", owner: "alice", access: .publicRead(owner: "alice"))
        _ = try m.subscribe(open, as: "mallory")
    }

    @Test func subscriberReceivesTriggers() async throws {
        let m = try manager()
        let topic = try m.registerStatement("select host, load from Cpu where load > 90", owner: "alice")
        let subscription = try m.subscribe(topic, as: "alice")
        try m.publish("Cpu", fields: ["host": "a", "load": 95], at: .seconds(1), as: "agent")
        try m.publish("Cpu", fields: ["host": "b", "load": 10], at: .seconds(2), as: "agent")
        try m.publish("Cpu", fields: ["host": "c", "load": 99], at: .seconds(3), as: "agent")
        var received: [Trigger] = []
        for await trigger in subscription {
            received.append(trigger)
            if received.count == 2 { break }
        }
        #expect(received.map(\.rows) == [[["a", 95]], [["c", 99]]])
        #expect(received.map(\.sequence) == [1, 2])
        #expect(received.map(\.time) == [.seconds(1), .seconds(3)])
    }

    @Test func slowSubscriberDropsOldestAndIsCounted() async throws {
        let m = try manager()
        let topic = try m.registerStatement("select load from Cpu", owner: "alice")
        let slow = try m.subscribe(topic, as: "alice", capacity: 2)
        for i in 1...5 { try m.publish("Cpu", fields: ["host": "a", "load": .integer(Int64(i))], as: "agent") }
        #expect(slow.droppedCount == 3)
        #expect(m.droppedTriggers(on: topic) == 3)
        var sequences: [UInt64] = []
        for await trigger in slow {
            sequences.append(trigger.sequence)
            if sequences.count == 2 { break }
        }
        #expect(sequences == [4, 5])
    }

    @Test func disconnectPolicyClosesTheSubscription() async throws {
        let m = try manager()
        let topic = try m.registerStatement("select load from Cpu", owner: "alice")
        let subscription = try m.subscribe(topic, as: "alice", capacity: 1, policy: .disconnect)
        let other = try m.subscribe(topic, as: "alice", capacity: 10)
        for i in 1...3 { try m.publish("Cpu", fields: ["host": "a", "load": .integer(Int64(i))], as: "agent") }
        #expect(subscription.isClosed)
        var got: [UInt64] = []
        for await trigger in subscription { got.append(trigger.sequence) }
        #expect(got == [1])
        // The other subscriber is unaffected.
        #expect(other.droppedCount == 0)
    }

    @Test func unregisteringEndsSubscriptions() async throws {
        let m = try manager()
        let topic = try m.registerStatement("select load from Cpu", owner: "alice")
        let subscription = try m.subscribe(topic, as: "alice")
        try m.publish("Cpu", fields: ["host": "a", "load": 1], as: "agent")
        try m.unregisterStatement(topic, by: "alice")
        var count = 0
        for await _ in subscription { count += 1 }
        #expect(count == 1)
    }

    @Test func windowExpiryTriggersThroughTheClock() throws {
        let m = try manager()
        _ = try m.registerStatement("select count(*) as n from Cpu.win:time(10 sec)", owner: "alice")
        try m.publish("Cpu", fields: ["host": "a", "load": 1], at: .seconds(0), as: "agent")
        let due = m.advance(to: .seconds(30))
        #expect(due.map(\.time) == [.seconds(10)])
        #expect(due.first?.rows == [[0]])
    }

    /// A stand-in evaluator: rows of table `t` whose value exceeds a threshold.
    struct ThresholdEvaluator: QueryEvaluator {
        func tablesReferenced(by sql: String, catalog: any TableCatalog) throws(QueryError) -> Set<TableName> { ["t"] }
        func evaluate(_ sql: String, in catalog: any TableCatalog) throws(QueryError) -> QueryResult {
            guard let table = catalog.table("t") else { throw QueryError(.unknownTable, "no table t") }
            let rows = table.consolidated().rows.filter { Value.compare($0[0], 100) > 0 }
            return QueryResult(columns: ["v"], rows: rows)
        }
    }

    struct Catalog: TableCatalog {
        var tables: [TableName: Table]
        var version: UInt64 = 0
        func table(_ name: TableName) -> Table? { tables[name] }
        func viewDefinition(_ name: TableName) -> String? { nil }
    }

    static func catalog(_ values: [Int64], version: Version) throws -> Catalog {
        var table = Table(name: "t", schema: try Schema([("v", .integer)]))
        let segment = try Segment(schema: table.schema, rows: values.map { [Value.integer($0)] })
        try table.replace(origin: NodeID("m1"), version: version, segment: segment, publishedAt: .zero)
        return Catalog(tables: ["t": table])
    }

    @Test func snapshotQueryRaisesUpdatesAndClears() throws {
        let m = try manager()
        #expect(throws: QueryError.self) {
            _ = try m.registerSnapshotQuery("select v fro t", evaluator: ThresholdEvaluator(), owner: "ops")
        }
        let topic = try m.registerSnapshotQuery("select v from t where v > 100", evaluator: ThresholdEvaluator(), owner: "ops")
        var kinds: [Trigger.Kind] = []
        for (generation, values) in ([[1, 2], [150], [150], [150, 300], [5], [5]] as [[Int64]]).enumerated() {
            let triggers = m.evaluateSnapshots(in: try Self.catalog(values, version: Version(generation + 1)), at: .seconds(Double(generation)))
            #expect(triggers.allSatisfy { $0.topic == topic.name })
            kinds += triggers.map(\.kind)
        }
        #expect(kinds == [.raised, .updated, .cleared])
    }
}
