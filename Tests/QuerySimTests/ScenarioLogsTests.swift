import QueryCore
import QuerySQL
import QuerySim
import Testing

/// What `query-sim --scenario --logs --trace` prints comes from the run's report and its steps.
@Suite("Scenario logs and steps")
struct ScenarioLogsTests {
    @Test("a scenario run hands back its logs and lets its steps be watched")
    func logsAndSteps() throws {
        let text = """
            {"fleet": {"clusters": 1, "machinesPerCluster": 2}, "until": 40,
             "events": [{"at": 20, "query": "SELECT count(*) FROM machines", "node": "sql:0"}]}
            """
        let engine = SQLEngine(workBudget: Scenario.limits.queryWork)
        let scenario = try Scenario.parse(text) { (sql: String) throws(QueryError) in
            _ = try engine.tablesReferenced(by: sql, catalog: SnapshotCatalog())
        }
        final class Requests: @unchecked Sendable { var count = 0 }
        let requests = Requests()
        let report = try ScenarioRunner(scenario: scenario, evaluator: engine).run(logLines: 1_000) { step in
            for case .send(.request(let r), _) in step.actions where r.tables.contains("machines") { requests.count += 1 }
        }
        #expect(report.logs.contains("query waits for tables"), "\(report.logs)")
        #expect(requests.count > 0)
        // Without logLines, no logs.
        #expect(try ScenarioRunner(scenario: scenario, evaluator: engine).run().logs.isEmpty)
    }
}
