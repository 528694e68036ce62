import QueryCore
import Synchronization
import Testing

@testable import QuerySQL

@Suite struct EventSourceTests {
    static let cpu = try! Schema([("host", .text), ("load", .integer), ("temp", .real)])

    @Test func sourceEventsAreCheckedAgainstTheSchema() throws {
        let event = try SourceEvent(
            stream: "Cpu",
            time: .seconds(1),
            fields: [("LOAD", .real(3)), ("host", "a"), ("temp", .integer(40))],
            schema: Self.cpu
        )
        #expect(event.values == ["a", 3, 40.0])
        #expect(try SourceEvent(stream: "Cpu", time: nil, fields: [], schema: Self.cpu).values == [nil, nil, nil])
        #expect(throws: QueryError.self) {
            try SourceEvent(stream: "Cpu", time: nil, fields: [("lod", 1)], schema: Self.cpu)
        }
        do {
            _ = try SourceEvent(stream: "Cpu", time: nil, fields: [("load", "high")], schema: Self.cpu)
            Issue.record("accepted text in an integer field")
        } catch {
            #expect(error.code == .typeMismatch)
            #expect(error.message.contains("field 'load' of stream 'Cpu' is INTEGER"))
        }
        #expect(throws: QueryError.self) {
            try SourceEvent(stream: "Cpu", time: nil, fields: [("load", 1), ("Load", 2)], schema: Self.cpu)
        }
    }

    @Test func aBatchIsRefusedWholeWithoutTheRightToPublish() throws {
        let manager = QueryManager()
        try manager.registerMetric("Cpu", schema: Self.cpu, publishers: .only(["agent"]))
        try manager.registerMetric("Mem", schema: try Schema([("host", .text)]), publishers: .only(["other"]))
        let topic = try manager.registerStatement("select host, load from Cpu where load > 90", owner: "ops")
        let cpu = SourceEvent(stream: "Cpu", time: .seconds(1), values: ["a", 95, nil])
        let mem = SourceEvent(stream: "Mem", time: .seconds(1), values: ["a"])
        #expect(throws: QueryError.self) { try manager.publish([cpu, mem], as: "agent") }
        let triggers = try manager.publish([cpu, cpu], as: "agent")
        #expect(triggers.map(\.topic) == [topic.name, topic.name])
        #expect(triggers.map(\.sequence) == [1, 2])
        // A sink declares once, accepts the same schema again and refuses another one.
        let sink = manager.eventSink(as: "agent")
        try sink.declareStream("Cpu", schema: Self.cpu)
        #expect(throws: QueryError.self) { try sink.declareStream("Cpu", schema: try Schema([("host", .text)])) }
    }

    @Test func inProcessSourceDeliversInOrderAndCountsRejects() async throws {
        let manager = QueryManager()
        try manager.registerMetric("Cpu", schema: Self.cpu)
        let topic = try manager.registerStatement(
            "select count(*) as n, avg(load) as avgLoad from Cpu.win:time(10 sec)",
            owner: "ops"
        )
        let subscription = try manager.subscribe(topic, as: "ops")
        let source = InProcessEventSource(capacity: 100)
        source.publish("Cpu", fields: ["host": "a", "load": 10], at: .seconds(1))
        source.publish("Cpu", fields: ["host": "a", "load": "busy"], at: .seconds(2))  // refused: wrong type
        source.publish("Nope", fields: ["x": 1], at: .seconds(2))  // refused: unknown stream
        source.publish("Cpu", fields: ["host": "b", "load": 30], at: .seconds(3))
        source.advance(to: .seconds(12))
        source.finish()
        #expect(source.publish("Cpu", fields: [:]) == false)
        try await source.run(into: manager.eventSink(as: "producer"))

        let statistics = source.statistics
        #expect(statistics.events == 2)
        #expect(statistics.rejected == 2)
        #expect(statistics.lastError?.message.contains("unknown stream 'Nope'") == true)
        var rows: [[Value]] = []
        for await trigger in subscription {
            rows.append(contentsOf: trigger.rows)
            if rows.count == 3 { break }
        }
        // Two arrivals, then the first event leaves the 10 s window at t=11.
        #expect(rows == [[1, 10.0], [2, 20.0], [1, 30.0]])
    }

    @Test func inProcessSourceDropsTheOldestWhenFull() async throws {
        let manager = QueryManager()
        try manager.registerMetric("Cpu", schema: Self.cpu)
        let source = InProcessEventSource(capacity: 2)
        for load in 1...5 {
            source.publish("Cpu", fields: ["host": "a", "load": .integer(Int64(load))], at: .seconds(Double(load)))
        }
        source.finish()
        let topic = try manager.registerStatement("select load from Cpu", owner: "ops")
        try await source.run(into: manager.eventSink(as: "producer"))
        #expect(source.statistics.dropped == 3)
        #expect(source.statistics.events == 2)
        #expect(manager.statements.first?.topic == topic)
    }

    /// A catalog of one generation, built by hand.
    static func catalog(generation: UInt64, rows: [(String, [[Value]])]) throws -> SnapshotCatalog {
        let schema = try Schema([("machine_id", .integer), ("process_name", .text), ("rss", .integer)])
        var table = Table(name: "processes", schema: schema)
        for (origin, originRows) in rows {
            _ = try table.replace(
                origin: NodeID(validating: origin),
                version: Version(generation),
                segment: try Segment(schema: schema, rows: originRows),
                publishedAt: .seconds(Double(generation) * 60)
            )
        }
        return SnapshotCatalog(tables: ["processes": table], version: generation)
    }

    @Test func collectionTreeGenerationsBecomeEventsAndTrigger() throws {
        let manager = QueryManager()
        let source = CollectionTreeEventSource(
            configuration: {
                var c = CollectionTreeEventSource.Configuration(tables: ["processes", "absent"])
                c.originField = "origin"
                return c
            }()
        )
        let sink = manager.eventSink(as: "sql:0")
        let first = try Self.catalog(
            generation: 1,
            rows: [
                ("edge:0.1", [[1, "ghost", 900], [1, "dnsd", 10]]), ("edge:0.0", [[0, "ghost", 100]]),
            ]
        )
        // Registered before the first generation, so statements can be registered too.
        let schema = try source.streamSchema(of: try #require(first.table("processes")))
        #expect(schema.columnNames == ["machine_id", "process_name", "rss", "origin"])
        try manager.registerMetric("processes", schema: schema, publishers: .only(["sql:0"]))
        let topic = try manager.registerStatement(
            "select process_name, sum(rss) as total from processes.win:time(90 sec) group by process_name having sum(rss) > 1500",
            owner: "ops"
        )
        let origins = try manager.registerStatement(
            "select origin, machine_id from processes where process_name = 'dnsd'",
            owner: "ops"
        )
        let capture = CaptureSink()
        try manager.addSink(capture, to: topic, as: "ops")
        try manager.addSink(capture, to: origins, as: "ops")

        #expect(
            try source.publish(
                first,
                generation: Generation(number: 1, time: .seconds(60)),
                at: .seconds(61),
                into: sink
            ) == 3
        )
        #expect(capture.triggers.map(\.rows) == [[["edge:0.1", 1]]])
        #expect(capture.triggers.first?.time == .seconds(60))

        let second = try Self.catalog(
            generation: 2,
            rows: [("edge:0.1", [[1, "ghost", 950]]), ("edge:0.0", [[0, "ghost", 120]])]
        )
        #expect(
            try source.publish(
                second,
                generation: Generation(number: 2, time: .seconds(120)),
                at: .seconds(121),
                into: sink
            ) == 2
        )
        // The same generation again gives nothing.
        #expect(
            try source.publish(
                second,
                generation: Generation(number: 2, time: .seconds(120)),
                at: .seconds(125),
                into: sink
            ) == 0
        )
        // Both generations are in the 90 s window; origins go in order, so edge:0.0's 120 comes
        // first (ghost 100 + 900 + 120 = 1120), then edge:0.1's 950 makes 2070 > 1500.
        let sums = capture.triggers.filter { $0.topic == topic.name }
        #expect(sums.map(\.rows) == [[["ghost", 2070]]])
        #expect(sums.first?.time == .seconds(120))
        #expect(source.statistics.events == 5)
        #expect(source.statistics.batches == 2)
    }

    @Test func aChangedTableSchemaIsRefusedAndCounted() throws {
        let manager = QueryManager()
        try manager.registerMetric("processes", schema: try Schema([("machine_id", .integer)]))
        let source = CollectionTreeEventSource(configuration: .init(tables: ["processes"]))
        let catalog = try Self.catalog(generation: 1, rows: [("edge:0.0", [[0, "ghost", 100]])])
        do {
            try source.publish(
                catalog,
                generation: Generation(number: 1, time: .seconds(60)),
                at: .seconds(60),
                into: manager.eventSink(as: "sql")
            )
            Issue.record("published into a stream with another schema")
        } catch {
            #expect(error.code == .alreadyExists)
            #expect(error.message.contains("generation 1, table 'processes'"))
        }
        #expect(source.statistics.rejected == 1)
    }

    @Test func collectionTreeRunPublishesQueuedGenerations() async throws {
        let manager = QueryManager()
        let source = CollectionTreeEventSource(configuration: .init(tables: ["processes"]))
        for n in 1...3 {
            let catalog = try Self.catalog(
                generation: UInt64(n),
                rows: [("edge:0.0", [[0, "ghost", .integer(Int64(n))]])]
            )
            source.generationCompleted(
                catalog,
                generation: Generation(number: UInt64(n), time: .seconds(Double(n) * 60)),
                at: .seconds(Double(n) * 60)
            )
        }
        source.finish()
        try await source.run(into: manager.eventSink(as: "sql"))
        // Two generations are kept while run(into:) is not keeping up; the oldest was dropped.
        #expect(source.statistics.dropped == 1)
        #expect(source.statistics.events == 2)
    }
}

/// Keeps every trigger it is given.
final class CaptureSink: TriggerSink {
    private let received = Mutex<[Trigger]>([])
    var triggers: [Trigger] { received.withLock { $0 } }

    func deliver(_ trigger: Trigger) -> TriggerDeliveryResult {
        received.withLock { $0.append(trigger) }
        return .delivered
    }
}
