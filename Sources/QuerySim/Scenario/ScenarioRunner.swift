public import QueryCore

/// Runs a ``Scenario``: builds the fleet, schedules its events, runs to the end and reports one
/// JSON object per query, in the order the queries were scheduled.
public struct ScenarioRunner {
    /// The scenario.
    public let scenario: Scenario
    /// The SQL engine of the SQL nodes.
    public let evaluator: any QueryEvaluator

    /// Creates a runner.
    public init(scenario: Scenario, evaluator: any QueryEvaluator) {
        self.scenario = scenario
        self.evaluator = evaluator
    }

    /// What a run produced.
    public struct Report: Sendable {
        /// One JSON object per query.
        public var lines: [JSONValue]
        /// The trace hash of the run.
        public var traceHash: TraceHash
        /// Network statistics.
        public var network: NetworkStatistics
        /// Invariant violations found while running.
        public var violations: [InvariantChecker.Violation]
        /// The captured node logs, merged in time order (the latest ``run(logLines:observer:)``'s
        /// `logLines`; empty when none were asked for).
        public var logs: String = ""
    }

    /// The fleet configuration the scenario describes.
    public var fleetConfiguration: FleetConfiguration {
        let s = scenario
        func duration(_ seconds: Double) -> Duration { .nanoseconds(Int64((seconds * 1e9).rounded())) }
        return FleetConfiguration(
            shape: s.fleet, seed: s.seed, interval: duration(s.interval), dropAfter: duration(s.dropAfter),
            queryTimeout: s.queryTimeout.map(duration), idleExpiry: s.idleExpiry.map(duration), prewarm: s.prewarm,
            deferredTables: s.deferred, processesPerMachine: s.processesPerMachine, churn: s.churn, network: s.network,
            partitioning: s.partitioning)
    }

    /// Runs the scenario to its end.
    ///
    /// - Parameters:
    ///   - logLines: How many of the latest captured log lines to put in the report (0: none).
    ///   - observer: Called with every step the simulation takes (what a role was given and did).
    /// - Throws: ``QueryError`` if the fleet cannot be built.
    public func run(logLines: Int = 0, observer: ((SimulationStep) -> Void)? = nil) throws(QueryError) -> Report {
        let fleet = try Fleet(fleetConfiguration, evaluator: evaluator)
        if let observer { fleet.simulation.addObserver(observer) }
        let checker = InvariantChecker(fleet: fleet)
        // Scripted clock skews move publish times as far as the largest skew, like a fleet's maxSkew.
        let scriptedSkew = scenario.largestSkew
        checker.spreadLimit += scriptedSkew * 2
        checker.dropSlack += scriptedSkew * 2
        let sim = fleet.simulation
        fleet.start()
        var queries: [(at: Double, id: QueryID)] = []
        for event in scenario.events {
            let at = Instant.seconds(event.at)
            switch event.action {
            case .query(let sql, let node):
                queries.append((event.at, fleet.submit(sql, to: node, at: at)))
            case .kill(let node): sim.schedule(at: at) { $0.crash(node) }
            case .restart(let node): sim.schedule(at: at) { $0.restart(node) }
            case .partition(let nodes): sim.schedule(at: at) { $0.partition(nodes) }
            case .heal(let nodes): sim.schedule(at: at) { $0.heal(nodes) }
            case .loss(let p): sim.schedule(at: at) { $0.network.loss = p }
            case .duplication(let p): sim.schedule(at: at) { $0.network.duplication = p }
            case .reordering(let p): sim.schedule(at: at) { $0.network.reordering = p }
            case .skew(let node, let skew): sim.schedule(at: at) { $0.setSkew(skew, for: node) }
            }
        }
        fleet.run(until: .seconds(scenario.until))
        let lines = queries.map { ScenarioRunner.line(for: sim.query($0.id)!, at: $0.at) }
        return Report(
            lines: lines, traceHash: sim.traceHash, network: sim.statistics, violations: checker.violations,
            logs: logLines > 0 ? sim.formattedLogs(limit: logLines) : "")
    }

    /// The JSON line of one query.
    public static func line(for record: QueryRecord, at: Double) -> JSONValue {
        // The time as the file gave it (milliseconds would round 30.0004 to 30).
        let written: JSONValue = (at * 1000).rounded() / 1000 == at ? seconds(at) : .number(at)
        var pairs: [(String, JSONValue)] = [("at", written), ("node", .string(record.node.rawValue))]
        switch record.outcome {
        case .success(let answer)?:
            pairs.append(("columns", .array(answer.result.columns.map { .string($0) })))
            pairs.append(("rows", .array(answer.result.rows.map { .array($0.map(\.json)) })))
            pairs.append(("generation", .integer(Int64(answer.generation.number))))
            pairs.append(("completeness", completeness(answer.completeness)))
        case .failure(let error)?:
            pairs.append(("error", .string(error.description)))
        case nil:
            pairs.append(("error", .string("unavailable: no answer before the end of the run")))
        }
        if let answeredAt = record.answeredAt { pairs.append(("answeredAt", seconds(answeredAt.seconds))) }
        return .object(pairs)
    }

    /// The completeness report as JSON.
    public static func completeness(_ c: Completeness) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        pairs.append(("oldestPublish", c.oldestPublish.map { seconds($0.seconds) } ?? .null))
        pairs.append(("newestPublish", c.newestPublish.map { seconds($0.seconds) } ?? .null))
        if let old = c.oldestPublish, let new = c.newestPublish {
            pairs.append(("spread", seconds((new - old).secondsDouble)))
        }
        pairs.append((
            "tables",
            .array(c.tables.map { t in
                .object([
                    ("table", .string(t.table.rawValue)),
                    ("machines", .array([.integer(Int64(t.machinesContributing)), .integer(Int64(t.machinesKnown))])),
                    ("clusters", .array([.integer(Int64(t.clustersContributing)), .integer(Int64(t.clustersKnown))])),
                    ("dropped", .array(t.dropped.keys.sorted().map { node in
                        .object([("node", .string(node.rawValue)), ("since", seconds(t.dropped[node]!.seconds))])
                    })),
                ])
            })))
        return .object(pairs)
    }

    /// Seconds as JSON: an integer when whole, else rounded to milliseconds.
    static func seconds(_ s: Double) -> JSONValue {
        let ms = (s * 1000).rounded()
        if ms.truncatingRemainder(dividingBy: 1000) == 0, abs(ms) < 9e15 { return .integer(Int64(ms / 1000)) }
        return .number(ms / 1000)
    }
}
