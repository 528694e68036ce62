import QueryCore
import QuerySim
import Testing

@Suite("Scenario files")
struct ScenarioParsingTests {
    static let example = """
        {"seed": 7,
         "fleet": {"clusters": 3, "machinesPerCluster": 4, "proxiesPerCluster": 2, "aggregators": 2, "sqlNodes": 1},
         "interval": 10, "dropAfter": 180, "workload": "processes", "prewarm": ["processes"],
         "events": [
           {"at": 100, "query": "SELECT count(DISTINCT machine_id) FROM processes", "node": "sql:0"},
           {"at": 110, "kill": "edge:1.2"}, {"at": 420, "restart": "edge:1.2"},
           {"at": 520, "partition": ["tla:0"]}, {"at": 700, "heal": ["tla:0"]},
           {"at": 530, "loss": 0.05}]}
        """

    @Test("the issue's example parses")
    func example() throws {
        let scenario = try Scenario.parse(Self.example)
        #expect(scenario.seed == 7)
        #expect(scenario.fleet == FleetShape(clusters: 3, machinesPerCluster: 4, proxiesPerCluster: 2, aggregators: 2, sqlNodes: 1))
        #expect(scenario.interval == 10 && scenario.dropAfter == 180)
        #expect(scenario.prewarm == ["processes"])
        #expect(scenario.events.map(\.at) == [100, 110, 420, 520, 530, 700])
        #expect(scenario.events[1].action == .kill("edge:1.2"))
        #expect(scenario.events[4].action == .loss(0.05))
        #expect(scenario.until > 700)
    }

    func error(_ text: String, checkSQL: ((String) throws(QueryError) -> Void)? = nil) -> String {
        do {
            _ = try Scenario.parse(text, checkSQL: checkSQL)
            return "no error"
        } catch {
            return error.message
        }
    }

    @Test("deferred tables need TLA children, each listed once")
    func deferredTables() throws {
        func text(_ fleet: String, _ deferred: String) -> String {
            #"{"fleet": {"clusters": 1, "machinesPerCluster": 1, \#(fleet)}, "deferred": \#(deferred)}"#
        }
        let scenario = try Scenario.parse(text(#""tlaChildren": 2"#, #"["software_versions", "processes"]"#))
        #expect(scenario.deferred == ["software_versions", "processes"])
        #expect(ScenarioRunner(scenario: scenario, evaluator: CountingEvaluator()).fleetConfiguration.deferredTables == scenario.deferred)
        #expect(try Scenario.parse(text(#""tlaChildren": 0"#, "[]")).deferred.isEmpty)
        #expect(error(text(#""tlaChildren": 0"#, #"["processes"]"#)).hasPrefix("$.deferred: "))
        #expect(error(text(#""tlaChildren": 1"#, #"["processes", "processes"]"#)).hasPrefix("$.deferred[1]: "))
        #expect(error(text(#""tlaChildren": 1"#, #"[3]"#)).hasPrefix("$.deferred[0]: expected a table name"))
        #expect(error(text(#""tlaChildren": 1"#, #""processes""#)).hasPrefix("$.deferred: expected an array"))
    }

    @Test("problems are reported with their JSON path")
    func errors() {
        #expect(error(#"{"fleet": {"clusters": 1, "machinesPerCluster": 1}, "sed": 3}"#).hasPrefix("$.sed: unknown key"))
        #expect(error(#"{"fleet": {"clusters": 1, "machinesPerCluster": 1, "proxies": 2}}"#).hasPrefix("$.fleet.proxies: unknown key"))
        #expect(error(#"{"fleet": {"clusters": 1}}"#) == "$.fleet: missing required key 'machinesPerCluster'")
        #expect(error(#"{"fleet": {"clusters": 0, "machinesPerCluster": 1}}"#).hasPrefix("$.fleet.clusters: 0 is outside"))
        let fleet = #""fleet": {"clusters": 2, "machinesPerCluster": 3}"#
        #expect(error("{\(fleet), \"events\": [{\"at\": 1, \"kill\": \"edge:2.0\"}]}")
            == "$.events[0].kill: unknown node 'edge:2.0': the fleet has clusters 0…1")
        #expect(error("{\(fleet), \"events\": [{\"at\": 1, \"kill\": \"edge:0.0\"}, {\"at\": 2, \"query\": \"SELECT 1\", \"node\": \"sql:1\"}]}")
            == "$.events[1].node: unknown node 'sql:1': the fleet has SQL nodes 0…0")
        #expect(error("{\(fleet), \"events\": [{\"at\": 2, \"query\": \"SELECT 1\", \"node\": \"tla:0\"}]}")
            == "$.events[0].node: 'tla:0' is not a SQL node; queries go to sql:<i>")
        #expect(error("{\(fleet), \"events\": [{\"at\": 2, \"kill\": \"edge:0.0\", \"heal\": [\"tla:0\"]}]}")
            .hasPrefix("$.events[0]: several actions (kill, heal)"))
        #expect(error("{\(fleet), \"events\": [{\"at\": 2, \"kill\": \"edge:0.0\", \"colour\": 1}]}")
            .hasPrefix("$.events[0].colour: unknown key"))
        #expect(error("{\(fleet), \"events\": [{\"kill\": \"edge:0.0\"}]}") == "$.events[0]: missing required key 'at'")
        #expect(error("{\(fleet), \"prewarm\": [\"9x\"]}").hasPrefix("$.prewarm[0]: invalid table name"))
        #expect(error("{\(fleet), \"workload\": \"web\"}").hasPrefix("$.workload: unknown workload 'web'"))
        #expect(error("{\(fleet), \"events\": [{\"at\": 1, \"partition\": []}]}").hasPrefix("$.events[0].partition: expected a non-empty array"))
        #expect(error("{\(fleet), ").hasPrefix("malformed JSON"))
        let sqlError = error("{\(fleet), \"events\": [{\"at\": 2, \"query\": \"SELEC 1\", \"node\": \"sql:0\"}]}") {
            (sql: String) throws(QueryError) in
            if !sql.hasPrefix("SELECT") { throw QueryError(.syntaxError, "unexpected 'SELEC'", at: SourceLocation(line: 1, column: 1, offset: 0)) }
        }
        #expect(sqlError == "$.events[0].query: syntaxError: unexpected 'SELEC' at 1:1")
    }

    @Test("node names of every tier are recognised")
    func nodeNames() throws {
        let fleet = FleetShape(clusters: 2, machinesPerCluster: 3, proxiesPerCluster: 2, aggregators: 2, childrenPerAggregator: 1, sqlNodes: 2)
        #expect(try fleet.kind(of: "edge:1.2") == .edge(cluster: 1, machine: 2))
        #expect(try fleet.kind(of: "proxy:0.1") == .proxy(cluster: 0, index: 1))
        #expect(try fleet.kind(of: "tla:1") == .aggregator(1))
        #expect(try fleet.kind(of: "tla-child:1.0") == .child(aggregator: 1, index: 0))
        #expect(try fleet.kind(of: "sql:1") == .sql(1))
        for bad in ["edge:1", "edge:a.b", "edge:1.3", "proxy:0.2", "tla:2", "tla-child:0.1", "sql:-1", "node:1", "sql"] {
            #expect(throws: QueryError.self, "\(bad)") { try fleet.kind(of: bad) }
        }
    }

    @Test("JSON lines are written compactly and escaped")
    func jsonOutput() throws {
        let value = JSONValue.object([
            ("at", .number(100)), ("node", .string("sql:0")), ("rows", .array([.array([.integer(3), .string("a\"b\n")])])),
            ("ok", .bool(true)), ("x", .null),
        ])
        #expect(value.serialized == #"{"at": 100.0, "node": "sql:0", "rows": [[3, "a\"b\n"]], "ok": true, "x": null}"#)
        #expect(try JSONValue.parse(#"{"b": [1, 2.5, "x", true, null]}"#)
            == .object([("b", .array([.integer(1), .number(2.5), .string("x"), .bool(true), .null]))]))
    }
}
