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

    static let fleet = #""fleet": {"clusters": 2, "machinesPerCluster": 3}"#

    /// The error of a scenario with the small fleet and these events.
    func eventsError(_ events: String, _ more: String = "") -> String {
        error("{\(Self.fleet)\(more), \"events\": [\(events)]}")
    }

    @Test("malformed JSON says where: line, column and what was expected")
    func malformedJSON() {
        #expect(error("{\"fleet\": {\"clusters\": 1,\n \"machinesPerCluster\": 1,}}")
            == "malformed JSON at line 2, column 26: trailing comma before '}'")
        #expect(error("") == "malformed JSON at line 1, column 1: the file is empty; expected a JSON object")
        #expect(error("{\(Self.fleet)} x") == "malformed JSON at line 1, column 53: unexpected 'x' after the end of the JSON value")
        #expect(error("{\(Self.fleet) /* why */}") == "malformed JSON at line 1, column 52: unexpected '/' (comments are not allowed in JSON); expected ',' or '}'")
        #expect(error("// scenario\n{\(Self.fleet)}") == "malformed JSON at line 1, column 1: comments are not allowed in JSON")
        #expect(error("{\(Self.fleet), \"seed\": 07}").hasSuffix("numbers must not have leading zeros"))
        #expect(error("{\(Self.fleet), \"workload\": 'processes'}").hasSuffix("strings must be in double quotes"))
        #expect(error("{\(Self.fleet), \"workload\": \"proc") == "malformed JSON at line 1, column 65: unterminated string")
        #expect(error("{\(Self.fleet), ") == "malformed JSON at line 1, column 53: unexpected end of the file; expected a key in double quotes")
    }

    @Test("duplicate keys are refused with their path, wherever they are")
    func duplicateKeys() {
        #expect(error("{\(Self.fleet), \"seed\": 1, \"seed\": 2}") == "$.seed: duplicate key 'seed'")
        #expect(eventsError(#"{"at": 1, "kill": "edge:0.0", "kill": "edge:0.1"}"#) == "$.events[0].kill: duplicate key 'kill'")
    }

    @Test("deep nesting is refused without exhausting the stack; huge numbers are refused with their path")
    func depthAndNumbers() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(error(deep).hasSuffix("nested deeper than 64 levels"))
        #expect(error("{\(Self.fleet), \"interval\": 1e400}") == "$.interval: the number 1e400 is too large")
        #expect(error("{\(Self.fleet), \"interval\": 1e-400}") == "$.interval: 0 is outside 0.001…86400")
        #expect(try JSONValue.parse(#"[-0, 12, 1.5e2, 9223372036854775807, 9223372036854775808]"#)
            == .array([.integer(0), .integer(12), .number(150), .integer(.max), .number(9_223_372_036_854_775_808)]))
        #expect(try JSONValue.parse(#" "\u00e9\ud83d\ude00\n\/" "#) == .string("é😀\n/"))
        #expect(try JSONValue.parse("\u{FEFF}[true]") == .array([.bool(true)]))
        #expect(error(#"["\ud83d"]"#).hasSuffix("unpaired surrogate \\uD83D in a string"))
        // Keys keep file order, so the first unknown key reported is the first in the file.
        #expect(try JSONValue.parse(#"{"b": 1, "a": 2}"#) == .object([("b", .integer(1)), ("a", .integer(2))]))
        #expect(error("{\(Self.fleet), \"zz\": 1, \"aa\": 2}").hasPrefix("$.zz: unknown key"))
    }

    @Test("numbers: whole counts, ranges and null are explained with the path")
    func numbers() {
        #expect(error(#"{"fleet": {"clusters": 2.5, "machinesPerCluster": 1}}"#) == "$.fleet.clusters: expected a whole number, found 2.5")
        #expect(error(#"{"fleet": {"clusters": 2.0, "machinesPerCluster": 1}}"#) == "no error")
        #expect(error("{\(Self.fleet), \"seed\": 18446744073709551616}").hasPrefix("$.seed: 1.8446744073709552e+19 is outside 0…"))
        #expect(error("{\(Self.fleet), \"seed\": null}") == "$.seed: null is not allowed; leave the key out to use its default")
        #expect(eventsError(#"{"at": 1, "kill": null}"#) == "$.events[0].kill: expected a value, found null")
        #expect(eventsError(#"{"at": -1, "kill": "edge:0.0"}"#) == "$.events[0].at: -1 is outside 0…100000000")
        #expect(eventsError(#"{"at": 1, "loss": 1.5}"#) == "$.events[0].loss: 1.5 is outside 0…1")
        #expect(eventsError(#"{"at": 1, "heal": []}"#) == "$.events[0].heal: expected a non-empty array of node names, found an empty array")
    }

    @Test("a node name must be written exactly as the fleet names it")
    func canonicalNodeNames() {
        // Before: accepted, then the kill silently did nothing (no node 'edge:00.01' exists).
        #expect(eventsError(#"{"at": 5, "kill": "edge:00.01"}"#) == "$.events[0].kill: unknown node 'edge:00.01'; did you mean 'edge:0.1'?")
        #expect(eventsError(#"{"at": 5, "query": "SELECT 1", "node": "sql:00"}"#) == "$.events[0].node: unknown node 'sql:00'; did you mean 'sql:0'?")
    }

    @Test("kills, restarts, partitions and heals must make sense in time order")
    func eventSequence() {
        #expect(eventsError(#"{"at": 50, "restart": "edge:0.0"}"#)
            == "$.events[0].restart: 'edge:0.0' is up at 50 (never killed); only a killed node can be restarted")
        #expect(eventsError(#"{"at": 50, "kill": "tla:0"}, {"at": 60, "kill": "tla:0"}"#)
            == "$.events[1].kill: 'tla:0' is already down (killed by $.events[0] at 50); restart it first")
        // Sorted by time: the restart at 50 comes before the kill at 60.
        #expect(eventsError(#"{"at": 60, "kill": "edge:0.0"}, {"at": 50, "restart": "edge:0.0"}"#)
            == "$.events[1].restart: 'edge:0.0' is up at 50 (never killed); only a killed node can be restarted")
        #expect(eventsError(#"{"at": 50, "kill": "edge:0.0"}, {"at": 60, "restart": "edge:0.0"}, {"at": 70, "restart": "edge:0.0"}"#)
            == "$.events[2].restart: 'edge:0.0' is up at 70 (restarted by $.events[1] at 60); only a killed node can be restarted")
        // Same time: file order.
        #expect(eventsError(#"{"at": 50, "kill": "edge:0.0"}, {"at": 50, "restart": "edge:0.0"}"#) == "no error")
        #expect(eventsError(#"{"at": 50, "restart": "edge:0.0"}, {"at": 50, "kill": "edge:0.0"}"#).hasPrefix("$.events[0].restart: 'edge:0.0' is up"))
        #expect(eventsError(#"{"at": 50, "heal": ["tla:0"]}"#) == "$.events[0].heal[0]: 'tla:0' is not partitioned at 50 (never partitioned)")
        #expect(eventsError(#"{"at": 40, "partition": ["tla:0", "tla:1"]}, {"at": 50, "heal": ["tla:1"]}, {"at": 60, "heal": ["tla:0", "tla:1"]}"#)
            == "$.events[2].heal[1]: 'tla:1' is not partitioned at 60 (healed by $.events[1] at 50)")
        #expect(eventsError(#"{"at": 40, "partition": ["tla:0", "sql:0", "tla:0"]}"#) == "$.events[0].partition[2]: 'tla:0' is listed twice")
        #expect(eventsError(#"{"at": 40, "partition": ["tla:0"]}, {"at": 50, "heal": ["tla:0", "tla:0"]}"#)
            == "$.events[1].heal[1]: 'tla:0' is listed twice")
    }

    @Test("the run may not end before an event; tables must be the workload's; dropAfter must exceed the interval")
    func settings() {
        #expect(eventsError(#"{"at": 100, "query": "SELECT 1", "node": "sql:0"}"#, #", "until": 50"#)
            .hasPrefix("$.until: the run would end at 50, before $.events[0] at 100"))
        #expect(error("{\(Self.fleet), \"prewarm\": [\"process\"]}")
            == "$.prewarm[0]: the workload publishes no table 'process'; its tables are clusters, machines, processes, software_versions")
        #expect(error("{\(Self.fleet), \"prewarm\": [\"processes\", \"processes\"]}") == "$.prewarm[1]: 'processes' is listed twice")
        #expect(error("{\(Self.fleet), \"dropAfter\": 10}").hasPrefix("$.dropAfter: 10 must be longer than the interval (10)"))
        #expect(error("{\(Self.fleet), \"deferred\": [\"processes\"]}").hasPrefix("$.deferred: tables can only be deferred to TLA children"))
        #expect(error(#"{"fleet": {"clusters": 1, "machinesPerCluster": 1, "tlaChildren": 1}, "deferred": ["machine"]}"#)
            .hasPrefix("$.deferred[0]: the workload publishes no table 'machine'"))
    }

    @Test("fleets and runs too big to simulate are refused before they start, naming what to change")
    func limits() {
        #expect(error(#"{"fleet": {"clusters": 100000, "machinesPerCluster": 100}}"#)
            .hasPrefix("$.fleet: 10000000 machines × 25 processes each is 250000000 rows; a simulated fleet may hold at most 1000000"))
        #expect(error(#"{"fleet": {"clusters": 1000, "machinesPerCluster": 30}}"#)
            .hasPrefix("$.fleet: a generation of this fleet is"))
        #expect(eventsError(#"{"at": 100000000, "kill": "edge:0.0"}"#).hasPrefix("$.events[0].at: 10000007 generations (until 100000060 s"))
        #expect(error("{\(Self.fleet), \"until\": 1000, \"interval\": 0.001}").hasPrefix("$.until: 1000001 generations"))
        #expect(error("{\(Self.fleet), \"until\": 10, \"interval\": 0.001}") == "no error")
        let many = Array(repeating: #"{"at": 1, "loss": 0}"#, count: 100_001).joined(separator: ", ")
        #expect(eventsError(many) == "$.events: 100001 events; at most 100000 are allowed")
    }
}

extension ScenarioParsingTests {
    @Test("partitioned fleets: subnetworks, aggregator sets and table partitions, with their paths in errors")
    func partitioning() throws {
        func text(_ keys: String) -> String {
            #"{"fleet": {"clusters": 3, "machinesPerCluster": 1, "aggregators": 2, "sqlNodes": 2, \#(keys)}}"#
        }
        let scenario = try Scenario.parse(
            text(
                #""subnetworks": [{"tla": 1, "clusters": [2, 0]}], "aggregatorSets": [{"name": "a", "tlas": [0], "sqlNodes": [0]}, {"name": "b", "tlas": [1], "sqlNodes": [1]}], "tablePartitions": [{"name": "inv", "tables": ["machines", "clusters"], "sqlNodes": [1]}]"#
            ))
        let p = scenario.partitioning
        #expect(p.subnetworks == [.init(aggregator: 1, clusters: [2, 0])])
        #expect(p.aggregatorSets.map(\.name) == ["a", "b"] && p.aggregatorSets[1].sqlNodes == [1])
        #expect(p.tablePartitions == [.init(name: "inv", tables: ["machines", "clusters"], aggregators: [], sqlNodes: [1])])
        #expect(ScenarioRunner(scenario: scenario, evaluator: CountingEvaluator()).fleetConfiguration.partitioning == p)
        #expect(try Scenario.parse(text(#""tlaChildren": 1"#)).partitioning.isEmpty)
        // Types, then indices against the fleet, each with its path.
        #expect(error(text(#""subnetworks": {}"#)).hasPrefix("$.fleet.subnetworks: expected an array, found"))
        #expect(error(text(#""subnetworks": [{"tla": 0}]"#)) == "$.fleet.subnetworks[0]: missing required key 'clusters'")
        #expect(error(text(#""subnetworks": [{"tla": 0, "clusters": [1.5]}]"#)).hasPrefix("$.fleet.subnetworks[0].clusters[0]: expected a whole number"))
        #expect(error(text(#""subnetworks": [{"tla": 0, "clusters": [3]}]"#)).hasPrefix("$.fleet.subnetworks[0].clusters[0]: cluster 3 is not in the fleet"))
        #expect(error(text(#""subnetworks": [{"tla": 2, "clusters": [0]}]"#)).hasPrefix("$.fleet.subnetworks[0].tla[0]: TLA 2 is not in the fleet"))
        #expect(error(text(#""subnetworks": [{"tla": 0, "clusters": [0], "colour": 1}]"#)).hasPrefix("$.fleet.subnetworks[0].colour: unknown key"))
        #expect(error(text(#""aggregatorSets": [{"name": "", "tlas": [0], "sqlNodes": [0]}]"#)).hasPrefix("$.fleet.aggregatorSets[0].name: expected a non-empty name"))
        #expect(
            error(text(#""aggregatorSets": [{"name": "a", "tlas": [0], "sqlNodes": [0]}, {"name": "b", "tlas": [1], "sqlNodes": [0]}]"#))
                .hasPrefix("$.fleet.aggregatorSets[1].sqlNodes[0]: sql:0 is already in aggregatorSets[0]"))
        #expect(
            error(text(#""aggregatorSets": [{"name": "a", "tlas": [0], "sqlNodes": [0]}, {"name": "a", "tlas": [1], "sqlNodes": [1]}]"#))
                .hasPrefix("$.fleet.aggregatorSets[1].name: the name 'a' is used twice"))
        #expect(error(text(#""tablePartitions": [{"name": "p", "tables": ["nosuch"], "sqlNodes": [0]}]"#)).hasPrefix("$.fleet.tablePartitions[0].tables[0]: the workload publishes no table"))
        #expect(error(text(#""tablePartitions": [{"name": "p", "tables": ["machines"], "sqlNodes": []}]"#)).hasPrefix("$.fleet.tablePartitions[0].sqlNodes: a partition needs at least one SQL node"))
        #expect(error(text(#""tablePartitions": [{"name": "p", "tables": ["machines"], "sqlNodes": [5]}]"#)).hasPrefix("$.fleet.tablePartitions[0].sqlNodes[0]: SQL node 5 is not in the fleet"))
        #expect(error(text(#""tablePartitions": [{"name": "p", "tables": ["machines"], "sqlNodes": [0]}, {"name": "q", "tables": ["machines"], "sqlNodes": [1]}]"#)).hasPrefix("$.fleet.tablePartitions[1].tables[0]: 'machines' is already served by tablePartitions[0]"))
        #expect(error(text(#""tablePartitions": null"#)).hasPrefix("$.fleet.tablePartitions: null is not allowed"))
    }

    @Test("the partitioned example scenario parses")
    func partitionedExample() throws {
        let path = URLPath.packageRoot() + "/Examples/scenarios/partitioned.json"
        let scenario = try Scenario.parse(try Scenario.readFile(path))
        #expect(scenario.partitioning.subnetworks.count == 2 && scenario.partitioning.tablePartitions.count == 2)
    }
}
