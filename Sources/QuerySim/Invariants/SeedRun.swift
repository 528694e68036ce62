public import QueryCore

/// One seeded, randomised run of a small fleet with faults, checked by an ``InvariantChecker``:
/// what `query-sim --seeds` runs per seed and what the test suite's seed sweep runs.
///
/// Everything (fleet shape, fault times and targets, queries) is drawn from the seed, so
/// `query-sim --seeds N --faults MIX` replays a failure exactly.
public struct SeedRun {
    /// The outcome of one run.
    public struct Result: Sendable {
        /// The seed.
        public var seed: UInt64
        /// The fault mix.
        public var faults: FaultMix
        /// The fleet that was simulated.
        public var shape: FleetShape
        /// The trace hash (equal for equal seeds).
        public var traceHash: TraceHash
        /// Broken invariants.
        public var violations: [InvariantChecker.Violation]
        /// Queries answered with rows.
        public var answered: Int
        /// Queries that failed cleanly.
        public var failed: Int
        /// The faults injected, as text (for reports).
        public var script: [String]
        /// The largest publish-time spread of an answer.
        public var maxSpread: Duration
        /// Steps processed.
        public var steps: Int
        /// Network statistics.
        public var network: NetworkStatistics
        /// Captured logs (filled only when the run failed).
        public var logs: String
        /// The tables prewarmed (the others were requested on demand).
        public var prewarm: [TableName] = []
        /// The tables the TLAs defer to their children.
        public var deferredTables: [TableName] = []
        /// How the fleet was partitioned (empty unless `partitioned`).
        public var partitioning = FleetPartitioning()

        /// Whether every invariant held.
        public var passed: Bool { violations.isEmpty }
    }

    /// Queries the run asks; each must be answered or fail cleanly.
    public var queries: [String]
    /// Virtual seconds of the fault phase.
    public var faultPhase: Double = 240
    /// Generation interval in seconds.
    public var interval: Double = 10
    /// Drop-after in seconds (shorter than the paper's, so drops happen within a run).
    public var dropAfter: Double = 40
    /// Log lines kept per node, and how many of the latest (over all nodes) a failing run reports.
    public var logLines = 60

    /// Creates a runner that asks `queries`.
    public init(queries: [String]) { self.queries = queries }

    /// The queries the built-in `processes` workload supports with the SQL engine.
    public static let standardQueries = [
        "SELECT count(*) FROM processes",
        "SELECT count(DISTINCT machine_id) FROM processes",
        "SELECT p.process_name, sv.version, avg(p.rss) avg_memory FROM processes p, software_versions sv WHERE p.machine_id = sv.machine_id AND p.uid=5000 GROUP BY 1,2 HAVING avg_memory > 100*1000000;",
        "SELECT cluster, count(*) FROM machines GROUP BY cluster ORDER BY cluster",
        "SELECT version, count(*) FROM software_versions GROUP BY 1 ORDER BY 1",
    ]

    /// Runs one seed.
    public func run(seed: UInt64, faults: FaultMix, evaluator: any QueryEvaluator) throws(QueryError) -> Result {
        var random = SimulationRandom(seed: seed, stream: "seed-run")
        func pick(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        var shape = FleetShape(
            clusters: pick(2...4), machinesPerCluster: pick(2...5), proxiesPerCluster: 2, aggregators: 2,
            childrenPerAggregator: pick(0...1), sqlNodes: pick(1...2))
        var deferred: [TableName] = shape.childrenPerAggregator > 0 ? ["software_versions"] : []
        // With `shapes`, the fleet is drawn from a stream of its own (the draws above are still
        // made, so the faults and queries drawn from `random` stay as they were where the fleet
        // allows: a target is drawn from the lists of this fleet's nodes).
        if faults.shapes { (shape, deferred) = Self.drawShape(seed: seed) }
        // With `partitioned`, subnetworks, aggregator sets and table partitions are drawn from a
        // stream of their own, over at least two SQL nodes (so a partition's tables have somewhere
        // to be redirected to).
        var partitioning = FleetPartitioning()
        if faults.partitioned {
            shape.sqlNodes = max(shape.sqlNodes, 2)
            partitioning = Self.drawPartitioning(seed: seed, shape: shape)
        }
        // With `ondemand`, what is prewarmed varies by seed, drawn from a stream of its own (the
        // fleet, faults and queries drawn from `random` stay as they were): a table left out is
        // requested on demand, and its interest lapses and returns as the queries using it come and go.
        let prewarmable: [TableName] = ["machines", "processes", "software_versions"]
        var prewarm = prewarmable
        if faults.onDemand {
            var interestRandom = SimulationRandom(seed: seed, stream: "seed-run.prewarm")
            switch interestRandom.next() % 3 {
            case 0: break
            case 1: prewarm = []
            default: prewarm = prewarmable.filter { _ in interestRandom.next() % 2 == 0 }
            }
        }
        let intervalD = Duration.nanoseconds(Int64(interval * 1e9))
        let configuration = FleetConfiguration(
            shape: shape, seed: seed, interval: intervalD, dropAfter: .nanoseconds(Int64(dropAfter * 1e9)),
            prewarm: prewarm,
            deferredTables: deferred,
            network: NetworkConditions(latency: .exponential(minimum: .milliseconds(1), mean: .milliseconds(15))),
            maxSkew: faults.skew ? .seconds(2) : .zero, logCapacity: max(200, logLines), partitioning: partitioning)
        let fleet = try Fleet(configuration, evaluator: evaluator)
        let checker = InvariantChecker(fleet: fleet)
        let sim = fleet.simulation
        var script: [String] = []
        fleet.start()

        // Candidate targets.
        var edges: [NodeID] = [], proxies: [NodeID] = [], upper: [NodeID] = []
        for c in 0..<shape.clusters {
            for m in 0..<shape.machinesPerCluster { edges.append(FleetShape.edge(c, m)) }
            for p in 0..<shape.proxiesPerCluster { proxies.append(FleetShape.proxy(c, p)) }
        }
        for a in 0..<shape.aggregators {
            upper.append(FleetShape.aggregator(a))
            for j in 0..<shape.childrenPerAggregator { upper.append(FleetShape.child(a, j)) }
        }
        let sqlNodes = (0..<shape.sqlNodes).map { FleetShape.sql($0) }
        let all = edges + proxies + upper + sqlNodes

        func at(_ seconds: Double) -> Instant { .seconds(seconds) }
        func draw(_ list: [NodeID]) -> NodeID { list[Int(random.next() % UInt64(list.count))] }
        func time(_ low: Double, _ high: Double) -> Double { ((low + random.nextUnit() * (high - low)) * 10).rounded() / 10 }
        let start = 3 * interval, end = start + faultPhase

        if faults.crashes {
            for _ in 0..<pick(2...5) {
                let pool = [edges, edges, proxies, upper, sqlNodes][pick(0...4)]
                let node = draw(pool)
                let down = time(start, end - 20)
                let up = min(down + time(5, dropAfter * 2.5), end)
                script.append("\(format3(down))s kill \(node), \(format3(up))s restart")
                sim.schedule(at: at(down)) { $0.crash(node) }
                sim.schedule(at: at(up)) { $0.restart(node) }
            }
        }
        if faults.partitions {
            for _ in 0..<pick(1...3) {
                let node = draw(all)
                let cut = time(start, end - 20)
                let heal = min(cut + time(5, dropAfter * 2), end)
                script.append("\(format3(cut))s partition [\(node)], \(format3(heal))s heal")
                sim.schedule(at: at(cut)) { $0.partition([node]) }
                sim.schedule(at: at(heal)) { $0.heal([node]) }
            }
        }
        if faults.network {
            for _ in 0..<pick(1...3) {
                let from = time(start, end - 20)
                let to = min(from + time(5, 60), end)
                let loss = Double(pick(1...20)) / 100, duplication = Double(pick(0...10)) / 100
                let reordering = Double(pick(0...30)) / 100
                script.append("\(format3(from))s…\(format3(to))s loss \(loss) duplication \(duplication) reordering \(reordering)")
                sim.schedule(at: at(from)) {
                    $0.network.loss = loss
                    $0.network.duplication = duplication
                    $0.network.reordering = reordering
                }
                sim.schedule(at: at(to)) {
                    $0.network.loss = 0
                    $0.network.duplication = 0
                    $0.network.reordering = 0
                }
            }
        }
        if faults.correlated {
            for _ in 0..<pick(1...2) {
                let from = time(start, end - 20)
                let to = min(from + time(5, dropAfter * 2.5), end)
                let c = pick(0...(shape.clusters - 1))
                let clusterProxies = (0..<shape.proxiesPerCluster).map { FleetShape.proxy(c, $0) }
                switch pick(0...4) {
                case 0:
                    // A whole cluster (its machines and proxies) cut off from the rest.
                    let group = (0..<shape.machinesPerCluster).map { FleetShape.edge(c, $0) } + clusterProxies
                    script.append("\(format3(from))s partition cluster \(c) \(group), \(format3(to))s heal")
                    sim.schedule(at: at(from)) { $0.partition(group) }
                    sim.schedule(at: at(to)) { $0.heal(group) }
                case 1:
                    // Every proxy of a cluster crashed at once.
                    script.append("\(format3(from))s kill \(clusterProxies), \(format3(to))s restart")
                    sim.schedule(at: at(from)) { sim in for node in clusterProxies { sim.crash(node) } }
                    sim.schedule(at: at(to)) { sim in for node in clusterProxies { sim.restart(node) } }
                case 2:
                    // A TLA crashed together with its children.
                    let a = pick(0...(shape.aggregators - 1))
                    let group = [FleetShape.aggregator(a)] + (0..<shape.childrenPerAggregator).map { FleetShape.child(a, $0) }
                    script.append("\(format3(from))s kill \(group), \(format3(to))s restart")
                    sim.schedule(at: at(from)) { sim in for node in group { sim.crash(node) } }
                    sim.schedule(at: at(to)) { sim in for node in group { sim.restart(node) } }
                case 3:
                    // The SQL nodes cut off from every TLA for a while.
                    script.append("\(format3(from))s partition \(sqlNodes), \(format3(to))s heal")
                    sim.schedule(at: at(from)) { $0.partition(sqlNodes) }
                    sim.schedule(at: at(to)) { $0.heal(sqlNodes) }
                default:
                    // A machine that crashes, comes back briefly and crashes again.
                    let node = draw(edges)
                    let back = min(from + time(5, dropAfter * 1.5), end - 10)
                    let again = min(back + time(1, 3 * interval), end - 5)
                    let up = min(again + time(5, dropAfter * 2), end)
                    script.append(
                        "\(format3(from))s kill \(node), \(format3(back))s restart, \(format3(again))s kill, \(format3(up))s restart")
                    sim.schedule(at: at(from)) { $0.crash(node) }
                    sim.schedule(at: at(back)) { $0.restart(node) }
                    sim.schedule(at: at(again)) { $0.crash(node) }
                    sim.schedule(at: at(up)) { $0.restart(node) }
                }
            }
        }
        // Queries throughout, at random SQL nodes.
        var t = start
        while t < end + 6 * interval {
            t += time(5, 20)
            fleet.submit(queries[pick(0...(queries.count - 1))], to: draw(sqlNodes), at: at(t))
        }
        // With `partitioned`, more queries, each sent to a SQL node that does not serve one of its
        // tables where there is one (it must redirect the client), from a stream of their own.
        if faults.partitioned {
            var extra = SimulationRandom(seed: seed, stream: "seed-run.partitioned.queries")
            let names = ProcessesWorkload.tableNames
            for _ in 0..<8 {
                let sql = queries[Int(extra.next() % UInt64(queries.count))]
                let tables = names.filter { sql.contains($0.rawValue) }
                let foreign = (0..<shape.sqlNodes).filter { s in
                    guard let served = partitioning.servedTables(by: FleetShape.sql(s), all: names) else { return false }
                    return !tables.allSatisfy(served.contains)
                }
                let pool = foreign.isEmpty ? Array(0..<shape.sqlNodes) : foreign
                let node = FleetShape.sql(pool[Int(extra.next() % UInt64(pool.count))])
                let when = ((start + extra.nextUnit() * (end + 4 * interval - start)) * 10).rounded() / 10
                fleet.submit(sql, to: node, at: at(when))
            }
        }
        // Quiet phase: everything repaired at `end`.
        sim.schedule(at: at(end)) { sim in
            sim.healAll()
            sim.network.loss = 0
            sim.network.duplication = 0
            sim.network.reordering = 0
            for node in all where !sim.isUp(node) { sim.restart(node) }
        }
        let finish = end + checker.dropSlack.secondsDouble + 4 * interval
        fleet.run(until: at(finish))
        checker.finish(quietSince: at(end))

        let answered = sim.queries.filter { if case .success? = $0.outcome { true } else { false } }.count
        let failed = sim.queries.filter { if case .failure? = $0.outcome { true } else { false } }.count
        return Result(
            seed: seed, faults: faults, shape: shape, traceHash: sim.traceHash, violations: checker.violations,
            answered: answered, failed: failed, script: script, maxSpread: checker.maxSpread,
            steps: sim.stepsProcessed, network: sim.statistics,
            logs: checker.violations.isEmpty ? "" : sim.formattedLogs(limit: logLines), prewarm: prewarm,
            deferredTables: deferred, partitioning: partitioning)
    }

    /// The partitioning of a `partitioned` seed, drawn from the stream `seed-run.partitioned`: one
    /// or more of
    ///
    /// - subnetworks: each TLA (but one, a mega TLA, half the time when there are several) sees a
    ///   random non-empty subset of the clusters;
    /// - aggregator sets: the TLAs and SQL nodes split into two sets (one set holding all of them
    ///   when there is a single TLA);
    /// - table partitions: `processes` with `software_versions` (queries join them), and/or
    ///   `machines` (with `clusters` half the time); each partition gets some SQL nodes (every
    ///   partition at least one), and each TLA serves every table, the partitions of the SQL
    ///   nodes that may list it, or a random few. Every SQL node of a partition keeps a TLA serving
    ///   its tables (the others it lists are standbys that redirect some of its tables).
    public static func drawPartitioning(seed: UInt64, shape: FleetShape) -> FleetPartitioning {
        var random = SimulationRandom(seed: seed, stream: "seed-run.partitioned")
        func pick(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        func chance() -> Bool { random.next() % 2 == 0 }
        func shuffled(_ list: [Int]) -> [Int] {
            var list = list
            for i in stride(from: list.count - 1, to: 0, by: -1) { list.swapAt(i, pick(0...i)) }
            return list
        }
        let kinds = pick(1...7)  // bits: subnetworks, sets, partitions
        var result = FleetPartitioning()
        if kinds & 1 != 0 {
            let mega = shape.aggregators > 1 && chance() ? pick(0...(shape.aggregators - 1)) : -1
            for a in 0..<shape.aggregators where a != mega {
                var clusters = (0..<shape.clusters).filter { _ in chance() }
                if clusters.isEmpty { clusters = [pick(0...(shape.clusters - 1))] }
                result.subnetworks.append(.init(aggregator: a, clusters: clusters))
            }
        }
        if kinds & 2 != 0 {
            if shape.aggregators < 2 {
                result.aggregatorSets = [.init(name: "all", aggregators: [0], sqlNodes: Array(0..<shape.sqlNodes))]
            } else {
                let tlas = shuffled(Array(0..<shape.aggregators)), sqls = shuffled(Array(0..<shape.sqlNodes))
                let t = pick(1...(tlas.count - 1)), q = pick(1...(sqls.count - 1))
                result.aggregatorSets = [
                    .init(name: "red", aggregators: Array(tlas[..<t]).sorted(), sqlNodes: Array(sqls[..<q]).sorted()),
                    .init(name: "blue", aggregators: Array(tlas[t...]).sorted(), sqlNodes: Array(sqls[q...]).sorted()),
                ]
            }
        }
        if kinds & 4 != 0 {
            var partitions: [FleetPartitioning.Partition] = []
            let procs: [TableName] = ["processes", "software_versions"]
            let inventory: [TableName] = chance() ? ["machines", "clusters"] : ["machines"]
            switch pick(0...2) {
            case 0: partitions = [.init(name: "procs", tables: procs, aggregators: [], sqlNodes: [])]
            case 1: partitions = [.init(name: "inventory", tables: inventory, aggregators: [], sqlNodes: [])]
            default:
                partitions = [
                    .init(name: "procs", tables: procs, aggregators: [], sqlNodes: []),
                    .init(name: "inventory", tables: inventory, aggregators: [], sqlNodes: []),
                ]
            }
            // Each SQL node: one partition or none (serving everything); every partition gets one.
            for s in shuffled(Array(0..<shape.sqlNodes)) {
                if let empty = partitions.firstIndex(where: \.sqlNodes.isEmpty) {
                    partitions[empty].sqlNodes.append(s)
                } else if chance() {
                    partitions[pick(0...(partitions.count - 1))].sqlNodes.append(s)
                }
            }
            for k in partitions.indices { partitions[k].sqlNodes.sort() }
            // Each TLA: every table, the partitions of the SQL nodes that may list it, or some of
            // the partitions (a SQL node may then list TLAs not serving its tables, as standbys).
            for a in 0..<shape.aggregators {
                let tla = FleetShape.aggregator(a)
                let set = result.aggregatorSet(of: tla)
                switch pick(0...2) {
                case 0: break
                case 1:
                    for k in partitions.indices
                    where partitions[k].sqlNodes.contains(where: { set?.members.contains(FleetShape.sql($0)) ?? true }) {
                        partitions[k].aggregators.append(a)
                    }
                default:
                    for k in partitions.indices where chance() { partitions[k].aggregators.append(a) }
                }
            }
            result.tablePartitions = partitions
            // Every SQL node of a partition keeps a TLA serving all its tables (or the TLA would
            // redirect it to its own partition): if none does, its first TLA serves everything. A SQL
            // node in no partition may be left with TLAs that redirect it elsewhere.
            let names = ProcessesWorkload.tableNames
            for s in 0..<shape.sqlNodes {
                let node = FleetShape.sql(s)
                guard let served = result.servedTables(by: node, all: names) else { continue }
                var listed = (0..<shape.aggregators).map { ($0 + s) % shape.aggregators }
                if let set = result.aggregatorSet(of: node) {
                    listed = listed.filter { set.members.contains(FleetShape.aggregator($0)) }
                }
                let serving = listed.contains { a in
                    result.servedTables(by: FleetShape.aggregator(a), all: names).map { served.isSubset(of: $0) } ?? true
                }
                if !serving, let first = listed.first {
                    for k in result.tablePartitions.indices { result.tablePartitions[k].aggregators.removeAll { $0 == first } }
                }
            }
        }
        return result
    }

    /// The fleet of a `shapes` seed and the tables its TLAs defer to their children, drawn from the
    /// stream `seed-run.shape`: 1–5 clusters of 1–6 machines, 1–3 proxies per cluster, 1–3 TLAs with
    /// 0–2 children each, 1–3 SQL nodes; with children, no table, `software_versions`, `processes`
    /// or both deferred (round-robin over each TLA's children, so two children get one each).
    public static func drawShape(seed: UInt64) -> (FleetShape, deferred: [TableName]) {
        var random = SimulationRandom(seed: seed, stream: "seed-run.shape")
        func pick(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        let shape = FleetShape(
            clusters: pick(1...5), machinesPerCluster: pick(1...6), proxiesPerCluster: pick(1...3),
            aggregators: pick(1...3), childrenPerAggregator: pick(0...2), sqlNodes: pick(1...3))
        let choices: [[TableName]] = [[], ["software_versions"], ["processes"], ["processes", "software_versions"]]
        let deferred = choices[pick(0...(choices.count - 1))]
        return (shape, shape.childrenPerAggregator > 0 ? deferred : [])
    }
}
