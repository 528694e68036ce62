import Foundation
import QueryCore
import QuerySQL
import QuerySim
import Testing

/// One simulated fleet per fault, with the real SQL engine, checking what a user would see.
@Suite("Faults in a simulated fleet")
struct FaultTests {
    static let distinctMachines = "SELECT count(DISTINCT machine_id) FROM processes"

    func fleet(
        seed: UInt64 = 3, clusters: Int = 3, machines: Int = 4, sqlNodes: Int = 1, dropAfter: Duration = .seconds(60),
        network: NetworkConditions = .clean, maxSkew: Duration = .zero, queryTimeout: Duration? = nil
    ) throws -> (Fleet, InvariantChecker) {
        let shape = FleetShape(clusters: clusters, machinesPerCluster: machines, proxiesPerCluster: 2, aggregators: 2, sqlNodes: sqlNodes)
        let fleet = try Fleet(
            FleetConfiguration(
                shape: shape, seed: seed, interval: .seconds(10), dropAfter: dropAfter, queryTimeout: queryTimeout,
                prewarm: ["processes"], network: network, maxSkew: maxSkew),
            evaluator: SQLEngine())
        let checker = InvariantChecker(fleet: fleet)
        fleet.start()
        return (fleet, checker)
    }

    func answer(_ fleet: Fleet, _ id: QueryID, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> QueryAnswer? {
        switch fleet.simulation.query(id)?.outcome {
        case .success(let answer)?: return answer
        case .failure(let error)?:
            Issue.record("query \(id) failed: \(error)", sourceLocation: sourceLocation)
        case nil:
            Issue.record("query \(id) unanswered", sourceLocation: sourceLocation)
        }
        return nil
    }

    func integer(_ fleet: Fleet, _ id: QueryID, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Int64? {
        guard let row = answer(fleet, id, sourceLocation: sourceLocation)?.result.rows.first, case .integer(let n)? = row.first
        else { return nil }
        return n
    }

    func expectClean(_ checker: InvariantChecker, quietSince: Instant, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        checker.finish(quietSince: quietSince)
        #expect(checker.violations.isEmpty, "\(checker.violations.map(\.description).joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    @Test("a machine that dies is dropped after the timeout and returns when it restarts")
    func machineDeath() throws {
        let (fleet, checker) = try fleet()
        let before = fleet.submit(Self.distinctMachines, at: .seconds(50))
        fleet.simulation.schedule(at: .seconds(55)) { $0.crash("edge:1.2") }
        let silent = fleet.submit(Self.distinctMachines, at: .seconds(90))  // 35 s silent: kept
        let dropped = fleet.submit(Self.distinctMachines, at: .seconds(150))  // > 60 s: dropped
        fleet.simulation.schedule(at: .seconds(160)) { $0.restart("edge:1.2") }
        let back = fleet.submit(Self.distinctMachines, at: .seconds(200))
        fleet.run(until: .seconds(270))
        #expect(integer(fleet, before) == 12)
        #expect(integer(fleet, silent) == 12)
        #expect(integer(fleet, dropped) == 11)
        let figures = answer(fleet, dropped)?.completeness.tables.first { $0.table == "processes" }
        #expect(figures?.machinesContributing == 11 && figures?.machinesKnown == 12)
        #expect(figures?.dropped.keys.contains("edge:1.2") == true)
        #expect(integer(fleet, back) == 12)
        expectClean(checker, quietSince: .seconds(160))
    }

    @Test("a partitioned machine is dropped and returns after the heal")
    func machinePartition() throws {
        let (fleet, checker) = try fleet()
        fleet.simulation.schedule(at: .seconds(40)) { $0.partition(["edge:0.1"]) }
        let dropped = fleet.submit(Self.distinctMachines, at: .seconds(130))
        fleet.simulation.schedule(at: .seconds(140)) { $0.heal(["edge:0.1"]) }
        let back = fleet.submit(Self.distinctMachines, at: .seconds(180))
        fleet.run(until: .seconds(250))
        #expect(integer(fleet, dropped) == 11)
        #expect(integer(fleet, back) == 12)
        expectClean(checker, quietSince: .seconds(140))
    }

    @Test("losing a TLA: the SQL node fails over and keeps answering with every machine")
    func aggregatorFailover() throws {
        let (fleet, checker) = try fleet()
        fleet.simulation.schedule(at: .seconds(45)) { $0.crash("tla:0") }
        let during = fleet.submit(Self.distinctMachines, at: .seconds(100))
        fleet.simulation.schedule(at: .seconds(120)) { $0.restart("tla:0") }
        fleet.simulation.schedule(at: .seconds(130)) { $0.partition(["tla:1"]) }
        let partitioned = fleet.submit(Self.distinctMachines, at: .seconds(200))
        fleet.simulation.schedule(at: .seconds(210)) { $0.heal(["tla:1"]) }
        fleet.run(until: .seconds(300))
        #expect(integer(fleet, during) == 12)
        #expect(integer(fleet, partitioned) == 12)
        #expect(fleet.simulation.metricTotal("query.failovers", nodePrefix: "sql:") >= 1)
        expectClean(checker, quietSince: .seconds(210))
    }

    @Test("losing one proxy of a cluster loses no machine")
    func proxyFailover() throws {
        let (fleet, checker) = try fleet()
        fleet.simulation.schedule(at: .seconds(45)) { $0.crash("proxy:2.0") }
        let during = fleet.submit(Self.distinctMachines, at: .seconds(120))
        fleet.simulation.schedule(at: .seconds(130)) { $0.restart("proxy:2.0") }
        fleet.simulation.schedule(at: .seconds(140)) { $0.crash("proxy:2.1") }
        let other = fleet.submit(Self.distinctMachines, at: .seconds(220))
        fleet.simulation.schedule(at: .seconds(230)) { $0.restart("proxy:2.1") }
        fleet.run(until: .seconds(320))
        #expect(integer(fleet, during) == 12)
        #expect(integer(fleet, other) == 12)
        expectClean(checker, quietSince: .seconds(230))
    }

    @Test("a SQL node crash fails its waiting queries cleanly; after restart it answers again")
    func sqlNodeCrash() throws {
        let (fleet, checker) = try fleet(queryTimeout: .seconds(40))
        // Not prewarmed: the query waits for the table to arrive in a future generation…
        let waiting = fleet.submit("SELECT count(*) FROM machines", at: .seconds(50))
        fleet.simulation.schedule(at: .seconds(50.5)) { $0.crash("sql:0") }  // …and the node dies first.
        let whileDown = fleet.submit(Self.distinctMachines, at: .seconds(60))
        fleet.simulation.schedule(at: .seconds(70)) { $0.restart("sql:0") }
        let after = fleet.submit("SELECT count(*) FROM machines", at: .seconds(130))
        fleet.run(until: .seconds(200))
        for id in [waiting, whileDown] {
            guard case .failure(let error)? = fleet.simulation.query(id)?.outcome else {
                Issue.record("query \(id) should have failed")
                continue
            }
            #expect(error.code == .unavailable)
        }
        // The restarted node asks for `machines` again; it is answered once it arrives (or times out cleanly).
        switch fleet.simulation.query(after)?.outcome {
        case .success(let answer)?: #expect(answer.result.rows == [[.integer(12)]])
        case .failure(let error)?: #expect(error.code == .timeout, "\(error)")
        case nil: Issue.record("unanswered")
        }
        expectClean(checker, quietSince: .seconds(70))
    }

    @Test("tables are fetched on demand; unknown tables and bad SQL fail cleanly")
    func onDemand() throws {
        let (fleet, checker) = try fleet(queryTimeout: .seconds(30))
        let software = fleet.submit("SELECT version, count(*) FROM software_versions GROUP BY version ORDER BY version", at: .seconds(40))
        let unknown = fleet.submit("SELECT * FROM no_such_table", at: .seconds(40))
        let bad = fleet.submit("SELEC 1", at: .seconds(40))
        fleet.run(until: .seconds(120))
        let rows = answer(fleet, software)?.result.rows ?? []
        #expect(rows.reduce(0) { total, row in if case .integer(let n) = row[1] { total + n } else { total } } == 12)
        let answeredAt = fleet.simulation.query(software)?.answeredAt
        #expect(answeredAt.map { $0 > .seconds(40) } == true, "answered in a later generation")
        for (id, code) in [(unknown, QueryError.Code.timeout), (bad, .syntaxError)] {
            guard case .failure(let error)? = fleet.simulation.query(id)?.outcome else {
                Issue.record("query \(id) should have failed")
                continue
            }
            #expect(error.code == code || error.code == .unknownTable, "\(error)")
            #expect(!error.message.isEmpty)
        }
        expectClean(checker, quietSince: .zero)
    }

    @Test("lossy, duplicating, reordering network with clock skew: every answer counts every machine")
    func lossyNetwork() throws {
        let network = NetworkConditions(
            latency: .exponential(minimum: .milliseconds(1), mean: .milliseconds(40)), loss: 0.05, duplication: 0.05,
            reordering: 0.1)
        let (fleet, checker) = try fleet(seed: 11, network: network, maxSkew: .seconds(2))
        let ids = stride(from: 60.0, through: 200, by: 20).map { fleet.submit(Self.distinctMachines, at: .seconds($0)) }
        fleet.simulation.schedule(at: .seconds(210)) { $0.network = .clean }
        fleet.run(until: .seconds(300))
        for id in ids {
            // A machine whose update was lost is kept (not dropped) until `dropAfter`, so counts stay whole.
            #expect(integer(fleet, id) == 12)
        }
        #expect(fleet.simulation.statistics.lost > 0 && fleet.simulation.statistics.duplicated > 0)
        expectClean(checker, quietSince: .seconds(210))
    }

    @Test("the paper's query runs verbatim and returns rows above 100 MB")
    func paperQuery() throws {
        let (fleet, _) = try fleet()
        let id = fleet.submit(
            "SELECT p.process_name, sv.version, avg(p.rss) avg_memory FROM processes p, software_versions sv WHERE p.machine_id = sv.machine_id AND p.uid=5000 GROUP BY 1,2 HAVING avg_memory > 100*1000000;",
            at: .seconds(80))
        fleet.run(until: .seconds(100))
        let result = try #require(answer(fleet, id)).result
        #expect(result.columns == ["process_name", "version", "avg_memory"])
        #expect(!result.rows.isEmpty)
        for row in result.rows {
            guard case .real(let avg) = row[2] else {
                Issue.record("avg_memory is \(row[2])")
                continue
            }
            #expect(avg > 100_000_000)
        }
        #expect(Set(result.rows.map { $0[0] }).contains(.text("ghost")))
    }

    @Test("scenario files run end to end and print one line per query", arguments: ["kill-and-return", "paper-query", "lossy-failover", "one-tla-children"])
    func scenarioFiles(name: String) throws {
        let root = URLPath.packageRoot()
        let text = try String(contentsOfFile: root + "/Examples/scenarios/\(name).json", encoding: .utf8)
        let engine = SQLEngine()
        let scenario = try Scenario.parse(text) { (sql: String) throws(QueryError) in
            _ = try engine.tablesReferenced(by: sql, catalog: SnapshotCatalog())
        }
        let report = try ScenarioRunner(scenario: scenario, evaluator: engine).run()
        let queries = scenario.events.filter { if case .query = $0.action { true } else { false } }.count
        #expect(report.lines.count == queries)
        for line in report.lines {
            #expect(line.serialized.hasPrefix("{\"at\": "))
            #expect(line.serialized.contains("\"rows\": ") || line.serialized.contains("\"error\": "))
        }
        let again = try ScenarioRunner(scenario: scenario, evaluator: engine).run()
        #expect(again.traceHash == report.traceHash)
        if name == "kill-and-return" {
            let counts = report.lines.map { line -> String in
                let text = line.serialized
                guard let r = text.range(of: "\"rows\": [[") else { return "?" }
                return String(text[r.upperBound...].prefix { $0.isNumber })
            }
            #expect(counts == ["12", "12", "11", "12", "12", "12"])
        }
        if name == "one-tla-children" {
            // One TLA, three proxies per cluster, three SQL nodes, both tables deferred to its two
            // children: every count agrees with the machines the completeness says contributed.
            #expect(report.violations.isEmpty)
            var checked = 0
            for line in report.lines {
                let text = line.serialized
                guard text.contains("\"columns\": [\"count("),
                    let r = text.range(of: "\"rows\": [["), let m = text.range(of: "\"machines\": [")
                else { continue }
                let count = text[r.upperBound...].prefix { $0.isNumber }
                let contributing = text[m.upperBound...].prefix { $0.isNumber }
                #expect(count == contributing, "\(text)")
                checked += 1
            }
            #expect(checked >= 10)
        }
    }
}
