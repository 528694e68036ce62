import QueryCore
import QuerySQL
import Testing

/// The README's library examples, compiled and checked so the README cannot drift from the API.
@Suite("README examples")
struct ReadmeExampleTests {
    @Test func sqlOverLocalAndPublishedTables() throws {
        let db = SQLDatabase()
        try db.execute("CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y')")
        let result = try db.query("SELECT b, a * 10 AS a10 FROM t WHERE a > 1")
        #expect(result.columns == ["b", "a10"])
        #expect(result.rows == [[.text("y"), .integer(20)]])

        let schema = try Schema([("machine_id", .integer), ("process_name", .text), ("rss", .integer)])
        var processes = Table(name: "processes", schema: schema)
        let rows = try Segment(schema: schema, rows: [[1, "ghost", 900_000_000], [1, "dnsd", 3_000_000]])
        try processes.replace(origin: "edge:0.1", version: 1, segment: rows, publishedAt: .seconds(0))
        db.register(processes)
        let grouped = try db.query("SELECT process_name, avg(rss) FROM processes GROUP BY 1 ORDER BY 1")
        #expect(grouped.rows == [[.text("dnsd"), .real(3_000_000)], [.text("ghost"), .real(900_000_000)]])

        let error = #expect(throws: QueryError.self) { try db.query("SELECT rs FROM processes") }
        #expect(error?.code == .unknownColumn)
        #expect(error?.description.contains("did you mean 'rss'?") == true)
        #expect(error?.description.contains("1:8") == true)
    }

    @Test func persistentQueryTriggersASubscriber() async throws {
        let manager = QueryManager()
        try manager.registerMetric("MemUtilEvent", schema: try Schema([("host", .text), ("memutil", .real)]))
        let topic = try manager.registerStatement(
            "select avg(memutil) as avgMemUtil from MemUtilEvent.win:time(20 sec) where avgMemUtil > 70",
            owner: "ops")
        let alerts = try manager.subscribe(topic, as: "ops")
        try manager.publish("MemUtilEvent", fields: ["host": "a", "memutil": 91.0], at: .seconds(1), as: "ops")
        var received: [[Value]] = []
        for await trigger in alerts {
            received = trigger.rows
            break
        }
        #expect(received == [[.real(91.0)]])
    }
}
