import Foundation
import QueryCore
import QuerySQL
import QuerySim
import Testing

/// Scenario files run end to end on small fleets: what a user reads in the JSON lines is true.
@Suite("Scenario runs")
struct ScenarioRunnerTests {
    func run(_ text: String) throws -> ScenarioRunner.Report {
        // As query-sim runs scenarios.
        let engine = SQLEngine(workBudget: Scenario.limits.queryWork)
        let scenario = try Scenario.parse(text) { (sql: String) throws(QueryError) in
            _ = try engine.tablesReferenced(by: sql, catalog: SnapshotCatalog())
        }
        return try ScenarioRunner(scenario: scenario, evaluator: engine).run()
    }

    @Test("a scripted clock skew is not reported as an invariant violation")
    func scriptedSkew() throws {
        // An edge whose clock is a day behind stamps its rows a day in the past: the answer's spread
        // says so, and the checker allows for the skew the script set (before: a false
        // snapshot-spread violation printed on stderr).
        let report = try run("""
            {"fleet": {"clusters": 1, "machinesPerCluster": 2}, "prewarm": ["processes"], "until": 60,
             "events": [{"at": 5, "skew": {"node": "edge:0.0", "seconds": -86400}},
                        {"at": 50, "query": "SELECT count(DISTINCT machine_id) FROM processes", "node": "sql:0"},
                        {"at": 50.0004, "query": "SELECT 1", "node": "sql:0"}]}
            """)
        #expect(report.violations.isEmpty, "\(report.violations)")
        // Each line's time is the one the file gave, not rounded to milliseconds.
        #expect(report.lines[1].serialized.hasPrefix(#"{"at": 50.0004, "node": "sql:0""#), "\(report.lines[1].serialized)")
        let line = report.lines[0].serialized
        #expect(line.contains("\"rows\": [[2]]"), "\(line)")
        #expect(line.contains("\"oldestPublish\": -86"), "\(line)")
    }

    @Test("a first query after a long spell with nothing wanted is answered in the next generation")
    func firstQueryAfterNothingWasWanted() throws {
        // Nothing is prewarmed, so for 400 s no tier asks for anything and no machine sends
        // anything. That silence is not a fault: before, every proxy dropped its machines and every
        // TLA its clusters after `dropAfter`, and the first table wanted then waited a generation
        // more for them to return, past a 2-interval timeout. With children, the same holds for a
        // child asked for no table.
        for children in [0, 1] {
            let report = try run("""
                {"fleet": {"clusters": 2, "machinesPerCluster": 3, "tlaChildren": \(children)}, "queryTimeout": 20,
                 \(children > 0 ? #""deferred": ["software_versions"],"# : "")
                 "events": [{"at": 400, "query": "SELECT count(*) FROM processes", "node": "sql:0"},
                            {"at": 405, "query": "SELECT count(*) FROM software_versions", "node": "sql:0"}]}
                """)
            #expect(report.violations.isEmpty, "\(report.violations)")
            for line in report.lines.map(\.serialized) {
                #expect(!line.contains("error") && line.contains("\"clusters\": [2, 2], \"dropped\": []"), "children \(children): \(line)")
            }
        }
    }

    @Test("deferred tables are handed to the TLA children and still answered in full")
    func deferredTables() throws {
        let text = """
            {"fleet": {"clusters": 2, "machinesPerCluster": 2, "tlaChildren": 1}, "prewarm": ["processes"],
             "deferred": ["processes"], "until": 60,
             "events": [{"at": 50, "query": "SELECT count(DISTINCT machine_id) FROM processes", "node": "sql:0"}]}
            """
        let scenario = try Scenario.parse(text)
        #expect(scenario.deferred == ["processes"])
        let runner = ScenarioRunner(scenario: scenario, evaluator: SQLEngine())
        #expect(runner.fleetConfiguration.deferredTables == ["processes"])
        let report = try runner.run()
        #expect(report.violations.isEmpty, "\(report.violations)")
        let line = report.lines[0].serialized
        #expect(line.contains("\"rows\": [[4]]") && line.contains("\"machines\": [4, 4]"), "\(line)")
        // Without children to defer to, the same file is refused before the run.
        #expect(throws: QueryError.self) {
            try Scenario.parse(text.replacingOccurrences(of: "\"tlaChildren\": 1", with: "\"tlaChildren\": 0"))
        }
    }

    @Test("queries that cannot be answered fail cleanly with a reason, one line each")
    func cleanFailures() throws {
        let report = try run("""
            {"fleet": {"clusters": 1, "machinesPerCluster": 2, "sqlNodes": 2}, "queryTimeout": 15, "prewarm": ["processes"],
             "events": [{"at": 20, "query": "SELECT * FROM nosuch", "node": "sql:0"},
                        {"at": 20, "query": "SELECT nosuch FROM machines", "node": "sql:0"},
                        {"at": 50, "kill": "sql:0"},
                        {"at": 60, "query": "SELECT count(*) FROM machines", "node": "sql:0"},
                        {"at": 60, "query": "SELECT count(*) FROM processes a, processes b, processes c, processes d, machines e, machines f", "node": "sql:1"}]}
            """)
        let lines = report.lines.map(\.serialized)
        #expect(lines.count == 4)
        #expect(lines[0].contains("\"error\": \"timeout: ") && lines[0].contains("'nosuch'"), "\(lines[0])")
        #expect(lines[1].contains("\"error\": \"unknownColumn: "), "\(lines[1])")
        #expect(lines[2].contains("\"error\": \"unavailable: "), "\(lines[2])")
        // A cross product of 50⁴ × 2 × 2 = 25 million rows stops at the work budget instead of filling memory.
        #expect(lines[3].contains("\"error\": \"limitExceeded: "), "\(lines[3])")
    }

    @Test("by default a query for a table nobody asked for in a while is answered, not timed out")
    func onDemandAfterAQuietSpell() throws {
        // After dropAfter without interest, the first on-demand request takes a generation longer
        // (the SQL node's own 2-interval default timed out 48 ms before the answer came).
        let text = """
            {"fleet": {"clusters": 2, "machinesPerCluster": 3},
             "events": [{"at": 400, "query": "SELECT count(DISTINCT machine_id) FROM processes", "node": "sql:0"}]}
            """
        #expect(try Scenario.parse(text).queryTimeout == 40)
        let line = try run(text).lines[0].serialized
        #expect(line.contains("\"rows\": [[6]]") && line.contains("\"machines\": [6, 6]"), "\(line)")
    }

    @Test("a scenario file that cannot be used says why")
    func unreadableFiles() throws {
        func error(_ path: String) -> String {
            do {
                _ = try Scenario.readFile(path)
                return "no error"
            } catch {
                return error.message
            }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(error(directory.path) == "is a directory, not a scenario file")
        #expect(error(directory.appendingPathComponent("missing.json").path) == "no such file")
        let bad = directory.appendingPathComponent("latin1.json")
        try Data("{\"fleet\": 1,\n \"workload\": \"".utf8 + [0xE9] + "\"}".utf8).write(to: bad)
        #expect(error(bad.path) == "is not UTF-8 text: byte 0xE9 at line 2, column 15")
        let good = directory.appendingPathComponent("ok.json")
        try Data("{\"é\": 1}".utf8).write(to: good)
        #expect(try Scenario.readFile(good.path) == "{\"é\": 1}")
    }

    /// `Examples/scenarios/partitioned.json`: subnetworks, two aggregator sets and two table
    /// partitions. Queries sent to the wrong partition's node (or through a TLA of the wrong
    /// partition) are answered where they are redirected, and the clusters counted are those of the
    /// TLA the answering node listens to.
    @Test("a partitioned fleet's scenario: redirects are followed, subnetworks counted, no invariant broken")
    func partitionedScenario() throws {
        let root = URLPath.packageRoot()
        let report = try run(try String(contentsOfFile: root + "/Examples/scenarios/partitioned.json", encoding: .utf8))
        #expect(report.violations.isEmpty, "\(report.violations)")
        let lines = report.lines.map(\.serialized)
        func has(_ k: Int, _ parts: String...) {
            for part in parts { #expect(lines[k].contains(part), "line \(k): \(lines[k])") }
        }
        // sql:0 listens to tla:1 (clusters 0 and 1); sql:2 to tla:2 (cluster 2).
        has(0, "\"node\": \"sql:0\"", "\"rows\": [[4]]", "\"clusters\": [2, 2]")
        has(1, "\"node\": \"sql:2\"", "\"rows\": [[2]]", "\"clusters\": [1, 1]")
        // sql:0 (procs) sends a question about machines to inventory's sql:1.
        has(2, "\"node\": \"sql:1\"", "\"machines\": [4, 4]")
        // With tla:1 down, sql:1 fails over to tla:0, which sees every cluster.
        has(4, "\"node\": \"sql:1\"", "\"machines\": [6, 6]")
        // sql:2 serves everything, but its TLA (procs) redirects machines to sql:1; sql:1 (inventory)
        // redirects processes to sql:0.
        has(5, "\"node\": \"sql:1\"", "\"rows\": [[")
        has(6, "\"node\": \"sql:0\"", "\"rows\": [[4]]")
    }
}
