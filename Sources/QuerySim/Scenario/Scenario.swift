public import QueryCore

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
/// Times are virtual seconds. Optional keys: `fleet.tlaChildren`, `deferred` (tables the TLAs
/// defer to their children, round-robin; needs `fleet.tlaChildren`), `queryTimeout`, `idleExpiry`,
/// `processesPerMachine`, `churn`, `until` (when the run ends; default 2 intervals after the last
/// event), `network` (`latency` {`min`, `max`} in seconds, `loss`, `duplication`, `reordering`), and
/// events `duplication`, `reordering` (set the fraction from then on), `skew` ({`node`, `seconds`}).
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
    /// Seconds before an unanswerable query fails (nil: the role's default).
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

    /// Parses and validates a scenario.
    ///
    /// - Parameters:
    ///   - text: The JSON text.
    ///   - checkSQL: Validates each query's SQL (for example by parsing it); its error is reported
    ///     with the query's JSON path.
    /// - Throws: ``QueryError`` `.invalidArgument` naming the JSON path and the problem, for
    ///   malformed JSON, unknown keys, wrong types, bad node names or bad SQL.
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
        try fleetReader.finish()
        do { try fleet.validate() } catch { throw QueryError(.invalidArgument, "$.fleet: \(error.message)") }

        let interval = try top.optionalNumber("interval", in: 0.001...86_400) ?? 10
        let dropAfter = try top.optionalNumber("dropAfter", in: 0.001...1e7) ?? 180
        let queryTimeout = try top.optionalNumber("queryTimeout", in: 0.001...1e7)
        let idleExpiry = try top.optionalNumber("idleExpiry", in: 0.001...1e7)
        let workload = try top.optionalString("workload") ?? "processes"
        guard workload == "processes" else {
            throw QueryError(.invalidArgument, "$.workload: unknown workload '\(workload)'; the built-in one is 'processes'")
        }
        let processesPerMachine = Int(try top.optionalInteger("processesPerMachine", in: 12...10_000) ?? 25)
        let churn = try top.optionalNumber("churn", in: 0...1) ?? 0.05
        func tableNames(_ key: String) throws(QueryError) -> [TableName] {
            guard let list = try top.optional(key) else { return [] }
            guard case .array(let items) = list else {
                throw QueryError(.invalidArgument, "$.\(key): expected an array of table names, found \(list.typeName)")
            }
            var names: [TableName] = []
            for (k, item) in items.enumerated() {
                guard case .string(let name) = item else {
                    throw QueryError(.invalidArgument, "$.\(key)[\(k)]: expected a table name, found \(item.typeName)")
                }
                do { names.append(try TableName(validating: name)) } catch {
                    throw QueryError(.invalidArgument, "$.\(key)[\(k)]: \(error.message)")
                }
            }
            return names
        }
        let prewarm = try tableNames("prewarm")
        let deferred = try tableNames("deferred")
        if !deferred.isEmpty, fleet.childrenPerAggregator == 0 {
            throw QueryError(.invalidArgument, "$.deferred: tables are deferred to TLA children, and the fleet has none (set fleet.tlaChildren)")
        }
        if let twice = deferred.indices.first(where: { deferred[..<$0].contains(deferred[$0]) }) {
            throw QueryError(.invalidArgument, "$.deferred[\(twice)]: '\(deferred[twice])' is listed twice")
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
            for (k, item) in items.enumerated() {
                events.append(try parseEvent(item, path: "$.events[\(k)]", fleet: fleet, checkSQL: checkSQL))
            }
        }
        let lastEvent = events.map(\.at).max() ?? 0
        let until = try top.optionalNumber("until", in: 0...1e8) ?? (lastEvent + 2 * interval + queryTimeoutOrDefault(queryTimeout, interval))
        try top.finish()
        // Stable sort by time: events at the same time keep file order.
        let sorted = events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        return Scenario(
            seed: UInt64(seedValue), fleet: fleet, interval: interval, dropAfter: dropAfter, queryTimeout: queryTimeout,
            idleExpiry: idleExpiry, workload: workload, processesPerMachine: processesPerMachine, churn: churn,
            prewarm: prewarm, deferred: deferred, network: network, until: until, events: sorted)
    }

    private static func queryTimeoutOrDefault(_ timeout: Double?, _ interval: Double) -> Double {
        timeout ?? 4 * interval
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
        func node(_ key: String, _ value: JSONValue, _ path: String) throws(QueryError) -> NodeID {
            guard case .string(let name) = value else {
                throw QueryError(.invalidArgument, "\(path): expected a node name, found \(value.typeName)")
            }
            do { _ = try fleet.kind(of: name) } catch { throw QueryError(.invalidArgument, "\(path): \(error.message)") }
            return NodeID(name)
        }
        func nodes(_ key: String) throws(QueryError) -> [NodeID] {
            let value = try reader.required(key)
            guard case .array(let items) = value, !items.isEmpty else {
                throw QueryError(.invalidArgument, "\(path).\(key): expected a non-empty array of node names")
            }
            var result: [NodeID] = []
            for (k, item) in items.enumerated() { result.append(try node(key, item, "\(path).\(key)[\(k)]")) }
            return result
        }
        let action: Event.Action
        switch present[0] {
        case "query":
            guard case .string(let sql) = try reader.required("query") else {
                throw QueryError(.invalidArgument, "\(path).query: expected SQL text")
            }
            let target = try node("node", try reader.required("node"), "\(path).node")
            guard case .sql = try! fleet.kind(of: target.rawValue) else {
                throw QueryError(.invalidArgument, "\(path).node: '\(target)' is not a SQL node; queries go to sql:<i>")
            }
            if let checkSQL {
                do { try checkSQL(sql) } catch { throw QueryError(.invalidArgument, "\(path).query: \(error)") }
            }
            action = .query(sql: sql, node: target)
        case "kill": action = .kill(try node("kill", try reader.required("kill"), "\(path).kill"))
        case "restart": action = .restart(try node("restart", try reader.required("restart"), "\(path).restart"))
        case "partition": action = .partition(try nodes("partition"))
        case "heal": action = .heal(try nodes("heal"))
        case "loss": action = .loss(try reader.requiredNumber("loss", in: 0...1))
        case "duplication": action = .duplication(try reader.requiredNumber("duplication", in: 0...1))
        case "reordering": action = .reordering(try reader.requiredNumber("reordering", in: 0...1))
        default:
            var skew = try ObjectReader(try reader.required("skew"), path: "\(path).skew")
            let target = try node("node", try skew.required("node"), "\(path).skew.node")
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

    mutating func optional(_ key: String) throws(QueryError) -> JSONValue? {
        used.insert(key)
        guard let value = pairs.first(where: { $0.0 == key })?.1 else { return nil }
        if case .null = value { return nil }
        return value
    }

    mutating func required(_ key: String) throws(QueryError) -> JSONValue {
        guard let value = try optional(key) else {
            throw QueryError(.invalidArgument, "\(path): missing required key '\(key)'")
        }
        return value
    }

    mutating func optionalNumber(_ key: String, in range: ClosedRange<Double>) throws(QueryError) -> Double? {
        guard let value = try optional(key) else { return nil }
        let number: Double
        switch value {
        case .integer(let i): number = Double(i)
        case .number(let d): number = d
        default: throw QueryError(.invalidArgument, "\(path).\(key): expected a number, found \(value.typeName)")
        }
        guard range.contains(number) else {
            throw QueryError(.invalidArgument, "\(path).\(key): \(number) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    mutating func requiredNumber(_ key: String, in range: ClosedRange<Double>) throws(QueryError) -> Double {
        guard let number = try optionalNumber(key, in: range) else {
            throw QueryError(.invalidArgument, "\(path): missing required key '\(key)'")
        }
        return number
    }

    mutating func optionalInteger(_ key: String, in range: ClosedRange<Int64>) throws(QueryError) -> Int64? {
        guard let value = try optional(key) else { return nil }
        let number: Int64
        switch value {
        case .integer(let i): number = i
        case .number(let d) where d == d.rounded() && abs(d) < 9e18: number = Int64(d)
        default: throw QueryError(.invalidArgument, "\(path).\(key): expected an integer, found \(value.typeName)")
        }
        guard range.contains(number) else {
            throw QueryError(.invalidArgument, "\(path).\(key): \(number) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    mutating func requiredInteger(_ key: String, in range: ClosedRange<Int64>) throws(QueryError) -> Int64 {
        guard let number = try optionalInteger(key, in: range) else {
            throw QueryError(.invalidArgument, "\(path): missing required key '\(key)'")
        }
        return number
    }

    mutating func optionalString(_ key: String) throws(QueryError) -> String? {
        guard let value = try optional(key) else { return nil }
        guard case .string(let s) = value else {
            throw QueryError(.invalidArgument, "\(path).\(key): expected a string, found \(value.typeName)")
        }
        return s
    }

    /// Reports the first key that was never read.
    func finish() throws(QueryError) {
        if let unknown = pairs.first(where: { !used.contains($0.0) }) {
            let known = used.sorted().joined(separator: ", ")
            throw QueryError(.invalidArgument, "\(path).\(unknown.0): unknown key '\(unknown.0)' (known keys here: \(known))")
        }
    }
}
