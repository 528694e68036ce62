public import QueryCore
import Foundation

/// A scripted simulation: a fleet, its settings, a workload and timed events (queries and faults),
/// read from a JSON file by `query-sim --scenario FILE.json`.
///
/// ```
/// {"seed": 7,
///  "fleet": {"clusters": 3, "machinesPerCluster": 4, "proxiesPerCluster": 2, "aggregators": 2, "sqlNodes": 1},
///  "interval": 10, "dropAfter": 180, "workload": "processes", "prewarm": ["processes"],
///  "events": [
///    {"at": 100, "query": "SELECT count(DISTINCT machine_id) FROM processes", "node": "sql:0"},
///    {"at": 110, "kill": "edge:1.2"}, {"at": 420, "restart": "edge:1.2"},
///    {"at": 520, "partition": ["tla:0"]}, {"at": 700, "heal": ["tla:0"]},
///    {"at": 530, "loss": 0.05}]}
/// ```
///
/// Times are virtual seconds. The fleet may be partitioned (see ``FleetPartitioning``; TLAs,
/// clusters and SQL nodes by 0-based index):
///
/// ```
/// "fleet": {"clusters": 3, "machinesPerCluster": 2, "aggregators": 2, "sqlNodes": 2,
///   "subnetworks": [{"tla": 1, "clusters": [0, 1]}],
///   "aggregatorSets": [{"name": "ops", "tlas": [0], "sqlNodes": [0]}, {"name": "dev", "tlas": [1], "sqlNodes": [1]}],
///   "tablePartitions": [{"name": "inventory", "tables": ["machines"], "tlas": [1], "sqlNodes": [1]}]}
/// ```
///
/// `subnetworks`: a listed TLA sees only those clusters (the others see all). `aggregatorSets`:
/// each `name`, `tlas`, `sqlNodes`; a SQL node lists only its set's TLAs, and a TLA answers only
/// its set's SQL nodes (a node in at most one set). `tablePartitions`: each `name`, `tables` (at
/// most one partition per table), `tlas` (optional) and `sqlNodes` (at least one; redirects send
/// clients to them, in order); a node in a partition redirects questions about other partitions'
/// tables, and a query sent to it is followed to its answer (at most 3 redirects).
///
/// Optional keys: `fleet.tlaChildren`, `deferred` (tables the TLAs hand
/// to their children; needs `fleet.tlaChildren` ≥ 1), `queryTimeout` (default 4 intervals),
/// `idleExpiry`,
/// `processesPerMachine`, `churn`, `until` (when the run ends; default 2 intervals plus the query
/// timeout after the last event), `network` (`latency` {`min`, `max`} in seconds, `loss`,
/// `duplication`, `reordering`), and events `duplication`, `reordering` (set the fraction from then
/// on), `skew` ({`node`, `seconds`}).
///
/// Everything is checked before the run starts, and a problem is reported with its JSON path:
/// malformed JSON (with line and column), unknown or duplicate keys, partitioning entries naming
/// TLAs, clusters or SQL nodes outside the fleet, listed twice, in two sets or with two subnetworks, `null` values, wrong types,
/// fractional counts, numbers out of range, node names that are not exactly a node of the fleet,
/// `prewarm` or `deferred` tables the workload does not publish (or listed twice), `dropAfter` not
/// longer than `interval`, `until` before an event, and events that contradict the ones before
/// them in time order (same time: file order): killing a node that is down, restarting one that
/// is up, healing one that is not partitioned, a node listed twice. Fleets and runs too big to
/// simulate in a minute or two are refused (see ``limits``). Queries naming unknown tables or
/// columns, or sent to a node that is down or cut off, are not errors: they are answered from
/// what the node has or fail cleanly (after `queryTimeout`), each with a line saying why.
public struct Scenario: Sendable {
    /// One timed event.
    public struct Event: Sendable {
        /// What happens.
        public enum Action: Sendable, Hashable {
            /// Submit a SQL query to a SQL node.
            case query(sql: String, node: NodeID)
            /// Crash a node (its state is lost).
            case kill(NodeID)
            /// Restart a crashed node.
            case restart(NodeID)
            /// Isolate these nodes from the rest.
            case partition([NodeID])
            /// Reconnect these nodes.
            case heal([NodeID])
            /// Set the network loss fraction.
            case loss(Double)
            /// Set the network duplication fraction.
            case duplication(Double)
            /// Set the network reordering fraction.
            case reordering(Double)
            /// Set a node's clock skew.
            case skew(NodeID, Duration)
        }

        /// When, in virtual seconds from the start.
        public var at: Double
        /// What.
        public var action: Action
        /// Where in the file (`$.events[3]`).
        public var path: String
    }

    /// The seed.
    public var seed: UInt64
    /// The fleet.
    public var fleet: FleetShape
    /// Seconds between generations.
    public var interval: Double
    /// Seconds of silence before a machine or cluster is dropped.
    public var dropAfter: Double
    /// Seconds before an unanswerable query fails. Default 4 intervals (the SQL node's own default
    /// is 2): a table requested on demand after a failover, or after its machines were dropped
    /// while nobody asked for it, can take three generations to arrive.
    public var queryTimeout: Double?
    /// Seconds of disuse before interest in a table expires (nil: the role's default).
    public var idleExpiry: Double?
    /// The workload's name (`processes`).
    public var workload: String
    /// Rows of `processes` per machine.
    public var processesPerMachine: Int
    /// Fraction of rows changed per generation.
    public var churn: Double
    /// Tables always requested.
    public var prewarm: [TableName]
    /// Tables the TLAs defer to their children (round-robin over each TLA's children).
    public var deferred: [TableName] = []
    /// Network conditions at the start.
    public var network: NetworkConditions
    /// When the run ends (seconds).
    public var until: Double
    /// The events, sorted by time (stable).
    public var events: [Event]
    /// Subnetworks, aggregator sets and table partitions (`fleet.subnetworks`,
    /// `fleet.aggregatorSets`, `fleet.tablePartitions`; default none).
    public var partitioning = FleetPartitioning()

    /// Parses and validates a scenario.
    ///
    /// - Parameters:
    ///   - text: The JSON text.
    ///   - checkSQL: Validates each query's SQL (for example by parsing it); its error is reported
    ///     with the query's JSON path.
    /// - Throws: ``QueryError`` `.invalidArgument` naming the JSON path and the problem, for
    ///   malformed JSON, unknown or duplicate keys, wrong types, out-of-range numbers, bad node
    ///   names, bad SQL, events that contradict each other (restarting a node that is up, killing
    ///   one that is down, healing one that is not partitioned) and runs over ``limits``.
    public static func parse(
        _ text: String, checkSQL: ((String) throws(QueryError) -> Void)? = nil
    ) throws(QueryError) -> Scenario {
        let root = try JSONValue.parse(text)
        var top = try ObjectReader(root, path: "$")
        let seedValue = try top.optionalInteger("seed", in: 0...Int64.max) ?? 1
        var fleetReader = try ObjectReader(try top.required("fleet"), path: "$.fleet")
        let fleet = FleetShape(
            clusters: Int(try fleetReader.requiredInteger("clusters", in: 1...100_000)),
            machinesPerCluster: Int(try fleetReader.requiredInteger("machinesPerCluster", in: 1...100_000)),
            proxiesPerCluster: Int(try fleetReader.optionalInteger("proxiesPerCluster", in: 1...16) ?? 2),
            aggregators: Int(try fleetReader.optionalInteger("aggregators", in: 1...64) ?? 2),
            childrenPerAggregator: Int(try fleetReader.optionalInteger("tlaChildren", in: 0...64) ?? 0),
            sqlNodes: Int(try fleetReader.optionalInteger("sqlNodes", in: 1...64) ?? 1))
        let partitioning = try parsePartitioning(&fleetReader)
        try fleetReader.finish()
        do { try fleet.validate() } catch { throw QueryError(.invalidArgument, "$.fleet: \(error.message)") }
        // Indices are checked against the fleet here; the message names the entry's path.
        do { try partitioning.validate(fleet) } catch { throw QueryError(.invalidArgument, "$.fleet.\(error.message)") }

        let interval = try top.optionalNumber("interval", in: 0.001...86_400) ?? 10
        let dropAfter = try top.optionalNumber("dropAfter", in: 0.001...1e7) ?? 180
        guard dropAfter > interval else {
            throw QueryError(
                .invalidArgument,
                "$.dropAfter: \(ObjectReader.format(dropAfter)) must be longer than the interval (\(ObjectReader.format(interval))): "
                    + "machines publish once per interval and would be dropped between generations")
        }
        let queryTimeout = try top.optionalNumber("queryTimeout", in: 0.001...1e7) ?? 4 * interval
        let idleExpiry = try top.optionalNumber("idleExpiry", in: 0.001...1e7)
        let workload = try top.optionalString("workload") ?? "processes"
        guard workload == "processes" else {
            throw QueryError(.invalidArgument, "$.workload: unknown workload '\(workload)'; the built-in one is 'processes'")
        }
        let processesPerMachine = Int(try top.optionalInteger("processesPerMachine", in: 12...10_000) ?? 25)
        let churn = try top.optionalNumber("churn", in: 0...1) ?? 0.05
        let prewarm = try tableList(try top.optional("prewarm"), path: "$.prewarm")
        let deferredPath = "$.deferred"
        let deferred = try tableList(try top.optional("deferred"), path: deferredPath)
        if !deferred.isEmpty, fleet.childrenPerAggregator == 0 {
            throw QueryError(
                .invalidArgument, "\(deferredPath): tables can only be deferred to TLA children; set fleet.tlaChildren to 1 or more")
        }
        var network = NetworkConditions.clean
        if let value = try top.optional("network") {
            var reader = try ObjectReader(value, path: "$.network")
            if let latency = try reader.optional("latency") {
                var l = try ObjectReader(latency, path: "$.network.latency")
                let low = try l.requiredNumber("min", in: 0...3600)
                let high = try l.requiredNumber("max", in: low...3600)
                try l.finish()
                network.latency = .uniform(min: .nanoseconds(Int64(low * 1e9)), max: .nanoseconds(Int64(high * 1e9)))
            }
            network.loss = try reader.optionalNumber("loss", in: 0...1) ?? 0
            network.duplication = try reader.optionalNumber("duplication", in: 0...1) ?? 0
            network.reordering = try reader.optionalNumber("reordering", in: 0...1) ?? 0
            try reader.finish()
        }

        var events: [Event] = []
        if let list = try top.optional("events") {
            guard case .array(let items) = list else {
                throw QueryError(.invalidArgument, "$.events: expected an array, found \(list.typeName)")
            }
            guard items.count <= limits.events else {
                throw QueryError(.invalidArgument, "$.events: \(items.count) events; at most \(limits.events) are allowed")
            }
            for (k, item) in items.enumerated() {
                events.append(try parseEvent(item, path: "$.events[\(k)]", fleet: fleet, checkSQL: checkSQL))
            }
        }
        // Stable sort by time: events at the same time keep file order.
        let sorted = events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        let until: Double
        var untilPath = "$.until"
        if let given = try top.optionalNumber("until", in: 0...1e8) {
            if let late = sorted.last, late.at > given {
                throw QueryError(
                    .invalidArgument,
                    "$.until: the run would end at \(ObjectReader.format(given)), before \(late.path) at \(ObjectReader.format(late.at)); "
                        + "leave 'until' out to end 2 intervals plus the query timeout after the last event")
            }
            until = given
        } else {
            until = (sorted.last?.at ?? 0) + 2 * interval + queryTimeout
            if let last = sorted.last { untilPath = "\(last.path).at" }
        }
        try top.finish()
        let scenario = Scenario(
            seed: UInt64(seedValue), fleet: fleet, interval: interval, dropAfter: dropAfter, queryTimeout: queryTimeout,
            idleExpiry: idleExpiry, workload: workload, processesPerMachine: processesPerMachine, churn: churn,
            prewarm: prewarm, deferred: deferred, network: network, until: until, events: sorted,
            partitioning: partitioning)
        try scenario.checkSize(untilPath: untilPath)
        try checkSequence(sorted)
        return scenario
    }

    /// The largest scenario ``parse(_:checkSQL:)`` accepts, so that a run neither exhausts memory
    /// nor runs for hours. A generation's work is counted in units of about one row merged:
    /// rows held by the machines (machines × `processesPerMachine`), nodes, proxy–TLA links, and
    /// the per-message work that grows with the fleet (each message a proxy or TLA receives is
    /// checked against everything it holds: machines × (2 × machinesPerCluster × proxies +
    /// clusters × proxies × TLAs) / 30). Measured: about 6 µs of CPU per unit.
    public struct Limits: Sendable {
        /// Largest machines × processesPerMachine.
        public var rows: Int
        /// Largest work of one generation, in units.
        public var unitsPerGeneration: Int
        /// Largest work of the whole run: units per generation × generations (`until / interval`).
        public var units: Double
        /// Largest number of events.
        public var events: Int
        /// The work budget of one query (rows processed; give it to the SQL engine): a query over
        /// a cross product fails with `limitExceeded` instead of filling memory.
        public var queryWork: Int
    }

    /// The limits every scenario is checked against: a run within them needs at most about a
    /// minute of CPU and 2 GB (a fleet of 10,000 machines in 100 clusters runs about 35 generations).
    public static let limits = Limits(
        rows: 1_000_000, unitsPerGeneration: 2_000_000, units: 1e7, events: 100_000, queryWork: 20_000_000)

    /// The work of one generation of this scenario's fleet, in the units of ``Limits``.
    public var unitsPerGeneration: Int {
        let f = fleet
        let machines = f.machineCount
        let nodes = machines + f.clusters * f.proxiesPerCluster + f.aggregators * (1 + f.childrenPerAggregator) + f.sqlNodes
        let links = f.clusters * f.proxiesPerCluster * f.aggregators
        let perMessage = machines * (2 * f.machinesPerCluster * f.proxiesPerCluster + links) / 30
        return machines * processesPerMachine + nodes + links + perMessage
    }

    /// - Parameter untilPath: What set the end of the run: `$.until`, or the last event's `at`.
    private func checkSize(untilPath: String) throws(QueryError) {
        let limits = Scenario.limits
        let machines = fleet.machineCount
        let rows = machines * processesPerMachine
        guard rows <= limits.rows else {
            throw QueryError(
                .invalidArgument,
                "$.fleet: \(machines) machines × \(processesPerMachine) processes each is \(rows) rows; "
                    + "a simulated fleet may hold at most \(limits.rows) (use fewer machines or a smaller processesPerMachine)")
        }
        let units = unitsPerGeneration
        guard units <= limits.unitsPerGeneration else {
            throw QueryError(
                .invalidArgument,
                "$.fleet: a generation of this fleet is \(units) units of work (rows, nodes and the messages between them); "
                    + "at most \(limits.unitsPerGeneration) can be simulated (use fewer machines, clusters, proxies or TLAs)")
        }
        let generations = (until / interval).rounded(.up) + 1
        guard Double(units) * generations <= limits.units else {
            let most = max(0, ((limits.units / Double(units)).rounded(.down) - 1) * interval)
            throw QueryError(
                .invalidArgument,
                "\(untilPath): \(ObjectReader.format(generations)) generations (until \(ObjectReader.format(until)) s at an interval of "
                    + "\(ObjectReader.format(interval)) s) of this fleet (\(units) units of work each) is too long to simulate; "
                    + "with this fleet and interval a run may last at most \(ObjectReader.format(most.rounded(.down))) s "
                    + "(end earlier, or use a longer interval or a smaller fleet)")
        }
    }

    /// Checks that kills, restarts, partitions and heals make sense in time order.
    private static func checkSequence(_ events: [Event]) throws(QueryError) {
        var killed: [NodeID: Event] = [:]
        var restarted: [NodeID: Event] = [:]
        var partitioned: [NodeID: Event] = [:]
        var healed: [NodeID: Event] = [:]
        func when(_ e: Event) -> String { "\(e.path) at \(ObjectReader.format(e.at))" }
        func unique(_ nodes: [NodeID], _ path: String) throws(QueryError) {
            var seen: Set<NodeID> = []
            for (k, node) in nodes.enumerated() where !seen.insert(node).inserted {
                throw QueryError(.invalidArgument, "\(path)[\(k)]: '\(node)' is listed twice")
            }
        }
        for event in events {
            switch event.action {
            case .kill(let node):
                if let earlier = killed[node] {
                    throw QueryError(
                        .invalidArgument, "\(event.path).kill: '\(node)' is already down (killed by \(when(earlier))); restart it first")
                }
                killed[node] = event
                restarted[node] = nil
            case .restart(let node):
                guard killed[node] != nil else {
                    let why = restarted[node].map { "restarted by \(when($0))" } ?? "never killed"
                    throw QueryError(
                        .invalidArgument,
                        "\(event.path).restart: '\(node)' is up at \(ObjectReader.format(event.at)) (\(why)); only a killed node can be restarted")
                }
                killed[node] = nil
                restarted[node] = event
            case .partition(let nodes):
                try unique(nodes, "\(event.path).partition")
                for node in nodes {
                    partitioned[node] = event
                    healed[node] = nil
                }
            case .heal(let nodes):
                try unique(nodes, "\(event.path).heal")
                for (k, node) in nodes.enumerated() where partitioned[node] == nil {
                    let why = healed[node].map { "healed by \(when($0))" } ?? "never partitioned"
                    throw QueryError(
                        .invalidArgument,
                        "\(event.path).heal[\(k)]: '\(node)' is not partitioned at \(ObjectReader.format(event.at)) (\(why))")
                }
                for node in nodes {
                    partitioned[node] = nil
                    healed[node] = event
                }
            case .query, .loss, .duplication, .reordering, .skew:
                break
            }
        }
    }

    /// Reads `subnetworks`, `aggregatorSets` and `tablePartitions` of the fleet object (their
    /// types; indices are checked by ``FleetPartitioning/validate(_:)`` once the fleet is known).
    private static func parsePartitioning(_ fleet: inout ObjectReader) throws(QueryError) -> FleetPartitioning {
        func array(_ value: JSONValue?, _ path: String) throws(QueryError) -> [JSONValue] {
            guard let value else { return [] }
            guard case .array(let items) = value else {
                throw QueryError(.invalidArgument, "\(path): expected an array, found \(value.typeName)")
            }
            return items
        }
        func indices(_ value: JSONValue?, _ path: String) throws(QueryError) -> [Int] {
            var result: [Int] = []
            for (k, item) in try array(value, path).enumerated() {
                result.append(Int(try ObjectReader.integer(item, path: "\(path)[\(k)]", in: 0...1_000_000)))
            }
            return result
        }
        func name(_ reader: inout ObjectReader) throws(QueryError) -> String {
            let name = try reader.required("name")
            guard case .string(let text) = name, !text.isEmpty else {
                let found = name == .string("") ? "an empty string" : name.typeName
                throw QueryError(.invalidArgument, "\(reader.path(of: "name")): expected a non-empty name, found \(found)")
            }
            return text
        }
        var result = FleetPartitioning()
        let subnetworksPath = fleet.path(of: "subnetworks")
        for (k, item) in try array(try fleet.optional("subnetworks"), subnetworksPath).enumerated() {
            var reader = try ObjectReader(item, path: "\(subnetworksPath)[\(k)]")
            let tla = Int(try reader.requiredInteger("tla", in: 0...1_000_000))
            let clusters = try indices(try reader.required("clusters"), reader.path(of: "clusters"))
            try reader.finish()
            result.subnetworks.append(.init(aggregator: tla, clusters: clusters))
        }
        let setsPath = fleet.path(of: "aggregatorSets")
        for (k, item) in try array(try fleet.optional("aggregatorSets"), setsPath).enumerated() {
            var reader = try ObjectReader(item, path: "\(setsPath)[\(k)]")
            let setName = try name(&reader)
            let tlas = try indices(try reader.required("tlas"), reader.path(of: "tlas"))
            let sqlNodes = try indices(try reader.required("sqlNodes"), reader.path(of: "sqlNodes"))
            try reader.finish()
            result.aggregatorSets.append(.init(name: setName, aggregators: tlas, sqlNodes: sqlNodes))
        }
        let partitionsPath = fleet.path(of: "tablePartitions")
        for (k, item) in try array(try fleet.optional("tablePartitions"), partitionsPath).enumerated() {
            var reader = try ObjectReader(item, path: "\(partitionsPath)[\(k)]")
            let partitionName = try name(&reader)
            let tables = try tableList(try reader.required("tables"), path: reader.path(of: "tables"))
            let tlas = try indices(try reader.optional("tlas"), reader.path(of: "tlas"))
            let sqlNodes = try indices(try reader.required("sqlNodes"), reader.path(of: "sqlNodes"))
            try reader.finish()
            result.tablePartitions.append(.init(name: partitionName, tables: tables, aggregators: tlas, sqlNodes: sqlNodes))
        }
        return result
    }

    /// A list of the workload's table names, each at most once.
    private static func tableList(_ value: JSONValue?, path: String) throws(QueryError) -> [TableName] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            throw QueryError(.invalidArgument, "\(path): expected an array of table names, found \(value.typeName)")
        }
        var tables: [TableName] = []
        for (k, item) in items.enumerated() {
            guard case .string(let name) = item else {
                throw QueryError(.invalidArgument, "\(path)[\(k)]: expected a table name, found \(item.typeName)")
            }
            let table: TableName
            do { table = try TableName(validating: name) } catch {
                throw QueryError(.invalidArgument, "\(path)[\(k)]: \(error.message)")
            }
            guard ProcessesWorkload.tableNames.contains(table) else {
                let known = ProcessesWorkload.tableNames.map(\.rawValue).joined(separator: ", ")
                throw QueryError(
                    .invalidArgument, "\(path)[\(k)]: the workload publishes no table '\(name)'; its tables are \(known)")
            }
            guard !tables.contains(table) else {
                throw QueryError(.invalidArgument, "\(path)[\(k)]: '\(name)' is listed twice")
            }
            tables.append(table)
        }
        return tables
    }

    private static func parseEvent(
        _ value: JSONValue, path: String, fleet: FleetShape, checkSQL: ((String) throws(QueryError) -> Void)?
    ) throws(QueryError) -> Event {
        var reader = try ObjectReader(value, path: path)
        let at = try reader.requiredNumber("at", in: 0...1e8)
        let kinds = ["query", "kill", "restart", "partition", "heal", "loss", "duplication", "reordering", "skew"]
        let present = kinds.filter { reader.has($0) }
        guard present.count == 1 else {
            let what = present.isEmpty ? "no action" : "several actions (\(present.joined(separator: ", ")))"
            throw QueryError(.invalidArgument, "\(path): \(what); an event needs exactly one of \(kinds.joined(separator: ", "))")
        }
        func node(_ value: JSONValue, _ path: String) throws(QueryError) -> (NodeID, FleetShape.NodeKind) {
            guard case .string(let name) = value else {
                throw QueryError(.invalidArgument, "\(path): expected a node name, found \(value.typeName)")
            }
            let kind: FleetShape.NodeKind
            do { kind = try fleet.kind(of: name) } catch { throw QueryError(.invalidArgument, "\(path): \(error.message)") }
            let canonical: NodeID
            switch kind {
            case .edge(let c, let m): canonical = FleetShape.edge(c, m)
            case .proxy(let c, let i): canonical = FleetShape.proxy(c, i)
            case .aggregator(let i): canonical = FleetShape.aggregator(i)
            case .child(let a, let i): canonical = FleetShape.child(a, i)
            case .sql(let i): canonical = FleetShape.sql(i)
            }
            guard canonical.rawValue == name else {
                throw QueryError(.invalidArgument, "\(path): unknown node '\(name)'; did you mean '\(canonical)'?")
            }
            return (canonical, kind)
        }
        func nodes(_ key: String) throws(QueryError) -> [NodeID] {
            let value = try reader.required(key)
            guard case .array(let items) = value, !items.isEmpty else {
                let found = value == .array([]) ? "an empty array" : value.typeName
                throw QueryError(.invalidArgument, "\(path).\(key): expected a non-empty array of node names, found \(found)")
            }
            var result: [NodeID] = []
            for (k, item) in items.enumerated() { result.append(try node(item, "\(path).\(key)[\(k)]").0) }
            return result
        }
        let action: Event.Action
        switch present[0] {
        case "query":
            let text = try reader.required("query")
            guard case .string(let sql) = text else {
                throw QueryError(.invalidArgument, "\(path).query: expected SQL text, found \(text.typeName)")
            }
            let (target, kind) = try node(try reader.required("node"), "\(path).node")
            guard case .sql = kind else {
                throw QueryError(.invalidArgument, "\(path).node: '\(target)' is not a SQL node; queries go to sql:<i>")
            }
            if let checkSQL {
                do { try checkSQL(sql) } catch { throw QueryError(.invalidArgument, "\(path).query: \(error)") }
            }
            action = .query(sql: sql, node: target)
        case "kill": action = .kill(try node(try reader.required("kill"), "\(path).kill").0)
        case "restart": action = .restart(try node(try reader.required("restart"), "\(path).restart").0)
        case "partition": action = .partition(try nodes("partition"))
        case "heal": action = .heal(try nodes("heal"))
        case "loss": action = .loss(try reader.requiredNumber("loss", in: 0...1))
        case "duplication": action = .duplication(try reader.requiredNumber("duplication", in: 0...1))
        case "reordering": action = .reordering(try reader.requiredNumber("reordering", in: 0...1))
        default:
            var skew = try ObjectReader(try reader.required("skew"), path: "\(path).skew")
            let target = try node(try skew.required("node"), "\(path).skew.node").0
            let seconds = try skew.requiredNumber("seconds", in: -86_400...86_400)
            try skew.finish()
            action = .skew(target, .nanoseconds(Int64(seconds * 1e9)))
        }
        try reader.finish()
        return Event(at: at, action: action, path: path)
    }
}

/// Reads an object's keys, remembering which were used so unknown ones can be reported.
struct ObjectReader {
    let path: String
    private var pairs: [(String, JSONValue)]
    private var used: Set<String> = []

    init(_ value: JSONValue, path: String) throws(QueryError) {
        guard case .object(let pairs) = value else {
            throw QueryError(.invalidArgument, "\(path): expected an object, found \(value.typeName)")
        }
        self.pairs = pairs
        self.path = path
    }

    func has(_ key: String) -> Bool { pairs.contains { $0.0 == key } }

    /// The path of `key` in this object.
    func path(of key: String) -> String { JSONParser.path(path, key: key) }

    /// The value of `key`, or nil if absent; `null` is refused (leave the key out instead).
    mutating func optional(_ key: String) throws(QueryError) -> JSONValue? {
        used.insert(key)
        guard let value = pairs.first(where: { $0.0 == key })?.1 else { return nil }
        if case .null = value {
            throw QueryError(.invalidArgument, "\(path(of: key)): null is not allowed; leave the key out to use its default")
        }
        return value
    }

    mutating func required(_ key: String) throws(QueryError) -> JSONValue {
        used.insert(key)
        guard let value = pairs.first(where: { $0.0 == key })?.1 else {
            throw QueryError(.invalidArgument, "\(path): missing required key '\(key)'")
        }
        if case .null = value { throw QueryError(.invalidArgument, "\(path(of: key)): expected a value, found null") }
        return value
    }

    mutating func optionalNumber(_ key: String, in range: ClosedRange<Double>) throws(QueryError) -> Double? {
        guard let value = try optional(key) else { return nil }
        return try ObjectReader.number(value, path: path(of: key), in: range)
    }

    static func number(_ value: JSONValue, path: String, in range: ClosedRange<Double>) throws(QueryError) -> Double {
        let number: Double
        switch value {
        case .integer(let i): number = Double(i)
        case .number(let d): number = d
        default: throw QueryError(.invalidArgument, "\(path): expected a number, found \(value.typeName)")
        }
        guard range.contains(number) else {
            throw QueryError(
                .invalidArgument, "\(path): \(format(number)) is outside \(format(range.lowerBound))…\(format(range.upperBound))")
        }
        return number
    }

    mutating func requiredNumber(_ key: String, in range: ClosedRange<Double>) throws(QueryError) -> Double {
        try ObjectReader.number(try required(key), path: path(of: key), in: range)
    }

    mutating func optionalInteger(_ key: String, in range: ClosedRange<Int64>) throws(QueryError) -> Int64? {
        guard let value = try optional(key) else { return nil }
        return try ObjectReader.integer(value, path: path(of: key), in: range)
    }

    static func integer(_ value: JSONValue, path: String, in range: ClosedRange<Int64>) throws(QueryError) -> Int64 {
        let number: Int64
        switch value {
        case .integer(let i): number = i
        case .number(let d) where d == d.rounded():
            guard d >= Double(range.lowerBound), d <= Double(range.upperBound), let exact = Int64(exactly: d) else {
                throw QueryError(.invalidArgument, "\(path): \(format(d)) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            number = exact
        case .number(let d):
            throw QueryError(.invalidArgument, "\(path): expected a whole number, found \(format(d))")
        default: throw QueryError(.invalidArgument, "\(path): expected a whole number, found \(value.typeName)")
        }
        guard range.contains(number) else {
            throw QueryError(.invalidArgument, "\(path): \(number) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    mutating func requiredInteger(_ key: String, in range: ClosedRange<Int64>) throws(QueryError) -> Int64 {
        try ObjectReader.integer(try required(key), path: path(of: key), in: range)
    }

    mutating func optionalString(_ key: String) throws(QueryError) -> String? {
        guard let value = try optional(key) else { return nil }
        guard case .string(let s) = value else {
            throw QueryError(.invalidArgument, "\(path(of: key)): expected a string, found \(value.typeName)")
        }
        return s
    }

    /// Reports the first key (in file order) that was never read.
    func finish() throws(QueryError) {
        if let unknown = pairs.first(where: { !used.contains($0.0) }) {
            let known = used.sorted().joined(separator: ", ")
            throw QueryError(.invalidArgument, "\(path(of: unknown.0)): unknown key '\(unknown.0)' (known keys here: \(known))")
        }
    }

    /// A number for a message: `12`, `0.5`, `1e+20`.
    static func format(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }
}

extension Scenario {
    /// The largest clock skew a `skew` event sets (zero if none).
    public var largestSkew: Duration {
        var largest = Duration.zero
        for event in events {
            if case .skew(_, let skew) = event.action { largest = max(largest, skew < .zero ? .zero - skew : skew) }
        }
        return largest
    }
}

extension Scenario {
    /// Reads a scenario file's text.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` saying why the file cannot be used: it does not
    ///   exist, is a directory, cannot be read, or is not UTF-8 text (with the line and column of
    ///   the first bad byte).
    public static func readFile(_ path: String) throws(QueryError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw QueryError(.invalidArgument, "no such file")
        }
        guard !isDirectory.boolValue else { throw QueryError(.invalidArgument, "is a directory, not a scenario file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw QueryError(.invalidArgument, "cannot be read (permissions?)")
        }
        let bytes = [UInt8](data)
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0, line = 1, column = 1
        decoding: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                break decoding
            case .error:
                throw QueryError(
                    .invalidArgument,
                    "is not UTF-8 text: byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) at line \(line), column \(column)")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
