import ArgumentParser
import QueryCore
import QuerySQL
import QuerySim

/// `query-bench tree`: the whole collection tree in QuerySim — by default 60,000 machines in
/// 1,000 clusters (2 proxies each), 2 TLAs and 2 SQL nodes, ~25 `processes` rows per machine with
/// 5% churn — measuring the CPU spent inside the roles per generation (thread CPU time around
/// every role invocation, less the cost of reading that clock; the simulator, the network and the
/// workload generator are excluded).
struct TreeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "A simulated fleet (default 60,000 machines in 1,000 clusters): role CPU, rows merged, bytes per generation."
    )

    @Option(help: "Clusters.")
    var clusters = 1_000

    @Option(help: "Machines per cluster.")
    var machinesPerCluster = 60

    @Option(help: "Proxies per cluster.")
    var proxies = 2

    @Option(help: "Top-level aggregators.")
    var aggregators = 2

    @Option(help: "SQL nodes.")
    var sqlNodes = 2

    @Option(help: "Rows of `processes` per machine.")
    var rows = 25

    @Option(help: "Fraction of rows changed per generation.")
    var churn = 0.05

    @Option(help: "Network latency range in milliseconds, MIN-MAX (uniform).")
    var latencyMs = "1-20"

    @Option(help: "Generations to run before measuring (data arrives in full during these).")
    var warmup = 4

    @Option(help: "Generations measured.")
    var generations = 3

    @Option(help: "Seed.")
    var seed: UInt64 = 1

    @Option(help: "Queries per generation at one SQL node, over two more generations, for the query figures (0: none).")
    var queries = 40

    @Option(help: "Run with the malloc heap on transparent huge pages (glibc.malloc.hugetlb=1): on or off.")
    var hugePages = "on"

    mutating func run() throws {
        let bounds = latencyMs.split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] >= 0, bounds[0] <= bounds[1] else {
            throw ValidationError("--latency-ms takes MIN-MAX in whole milliseconds, e.g. 1-20; got '\(latencyMs)'")
        }
        let latencyRange = (min: bounds[0], max: bounds[1])
        guard hugePages == "on" || hugePages == "off" else {
            throw ValidationError("--huge-pages takes on or off; got '\(hugePages)'")
        }
        // Runs this benchmark again with the tunable set (it takes effect only at process start).
        if hugePages == "on" { HugePageHeap.restartWithHugePages() }
        let shape = FleetShape(
            clusters: clusters, machinesPerCluster: machinesPerCluster, proxiesPerCluster: proxies,
            aggregators: aggregators, sqlNodes: sqlNodes)
        let interval = Duration.seconds(120)
        let configuration = FleetConfiguration(
            shape: shape, seed: seed, interval: interval, dropAfter: .seconds(180),
            prewarm: ["processes", "software_versions", "machines"], processesPerMachine: rows, churn: churn,
            network: NetworkConditions(latency: .uniform(min: .milliseconds(latencyRange.min), max: .milliseconds(latencyRange.max))),
            trace: .off, logCapacity: 8)
        let fleet = try Fleet(configuration, evaluator: SQLEngine())
        let sim = fleet.simulation
        fleet.start()

        // Warm-up: interest propagates and the first (full) copies flow.
        let schedule = configuration.schedule
        func end(of generation: UInt64) -> Instant { schedule.generation(generation + 1).time - .seconds(1) }
        fleet.run(until: end(of: UInt64(warmup)))

        sim.roleClock = Bench.threadCPUSeconds
        sim.resetRoleTimes()
        let mergedBefore = sim.metricTotal("query.rows_merged")
        let bytesBefore = sim.statistics.bytesSent
        let messagesBefore = sim.statistics.delivered
        for g in 1...generations { fleet.run(until: end(of: UInt64(warmup + g))) }
        sim.roleClock = nil
        let n = Double(generations)
        // Each timed step also pays for reading the thread clock (a system call, microseconds on a
        // loaded virtual machine): that cost, measured on empty steps, is taken out per step.
        let overhead = Self.clockOverheadPerStep()
        var roleSeconds: [String: Double] = [:]
        for (tier, seconds) in sim.roleSeconds {
            roleSeconds[tier] = max(0, seconds - overhead * Double(sim.roleSteps[tier] ?? 0))
        }
        let raw = sim.roleSeconds.values.reduce(0, +)
        let cpu = roleSeconds.values.reduce(0, +)
        let merged = sim.metricTotal("query.rows_merged") - mergedBefore
        let wire = Double(sim.statistics.bytesSent - bytesBefore)
        let messages = Double(sim.statistics.delivered - messagesBefore)

        // Data latency (not timed): each SQL node answers a query late in two more generations; the
        // answer's completeness says how old the oldest row it used is.
        var probes: [QueryID] = []
        for g in 1...2 {
            let number = UInt64(warmup + generations + g)
            for s in 0..<sqlNodes {
                probes.append(fleet.submit("SELECT count(*) FROM processes", to: FleetShape.sql(s), at: end(of: number) - .seconds(2)))
            }
            fleet.run(until: end(of: number))
        }

        // What a generation would cost if every hop carried full copies: every machine's tables,
        // encoded as on the wire, once per proxy, once per TLA and once per SQL node.
        var fullBytes = 0
        var workload = ProcessesWorkload(
            configuration: .init(seed: seed, clusters: clusters, machinesPerCluster: machinesPerCluster, processesPerMachine: rows, churn: churn))
        var totalRows = 0
        for c in 0..<clusters {
            for m in 0..<machinesPerCluster {
                let tables = workload.tables(cluster: c, machine: m, generation: UInt64(warmup + generations), now: sim.now)
                let entries = tables.map { table, segment in
                    totalRows += segment.rowCount
                    return TableEntry(
                        table: table,
                        copies: [OriginCopy(origin: FleetShape.edge(c, m), copy: .full(version: 1, segment: segment), publishedAt: sim.now)],
                        completeness: TableCompleteness())
                }
                let update = GenerationUpdate(generation: schedule.generation(1), entries: entries)
                fullBytes += Message.update(update).encode().count
            }
        }
        let hops = proxies + aggregators + sqlNodes

        Bench.emit("tree.machines", Double(shape.machineCount), "machines")
        Bench.emit("tree.huge_pages", HugePageHeap.isActive ? 1 : 0, "bool")
        Bench.emit("tree.rows", Double(totalRows), "rows")
        Bench.emit("tree.cpu_s_per_generation", cpu / n, "s")
        for tier in roleSeconds.keys.sorted() {
            Bench.emit("tree.cpu_s_per_generation.\(tier)", roleSeconds[tier]! / n, "s")
        }
        Bench.emit("tree.cpu_s_per_generation_with_clock_reads", raw / n, "s")
        Bench.emit("tree.clock_read_ns_per_step", overhead * 1e9, "ns")
        Bench.emit("tree.role_steps_per_generation", Double(sim.roleSteps.values.reduce(0, +)) / n, "steps")
        Bench.emit("tree.rows_merged_per_generation", merged / n, "rows")
        Bench.emit("tree.rows_merged_s", cpu > 0 ? merged / cpu : 0, "rows/s")
        Bench.emit("tree.full_bytes_per_generation", Double(fullBytes * hops), "bytes")
        Bench.emit("tree.wire_bytes_per_generation", wire / n, "bytes")
        Bench.emit("tree.messages_per_generation", messages / n, "messages")
        var latencies: [Double] = []
        for id in probes {
            guard let record = sim.query(id), case .success(let answer)? = record.outcome,
                let oldest = answer.completeness.oldestPublish, let answered = record.answeredAt
            else { continue }
            latencies.append((answered - oldest).secondsDouble / interval.secondsDouble)
        }
        Bench.emit("tree.probe_queries_answered", Double(latencies.count), "queries")
        let latency = latencies.isEmpty ? 0 : latencies.reduce(0, +) / Double(latencies.count)
        Bench.emit("tree.data_latency_generations", latency, "generations")

        if queries > 0 {
            let load = Self.queryLoad(
                fleet: fleet, queries: queries, after: UInt64(warmup + generations + 2), end: end, overhead: overhead)
            Bench.emit("tree.sql_queries_per_cpu_s", load.perSecond, "queries/s")
            Bench.emit("tree.sql_query_ms", load.milliseconds, "ms")
            Bench.emit("tree.sql_queries_answered", Double(load.answered), "queries")
        }
    }

    /// Monitoring queries a SQL node answers over the fleet's snapshot, in turn.
    static let queryMix = [
        "SELECT count(*) FROM processes WHERE uid = 5000 AND rss > 200000000",
        """
        SELECT p.process_name, sv.version, avg(p.rss) avg_memory
        FROM processes p, software_versions sv
        WHERE p.machine_id = sv.machine_id AND p.uid=5000
        GROUP BY 1,2 HAVING avg_memory > 100*1000000
        """,
        "SELECT process_name, count(*), sum(rss), max(cpu) FROM processes GROUP BY process_name",
        "SELECT count(DISTINCT machine_id) FROM processes WHERE rss > 400000000",
    ]

    /// The cost of answering queries at one SQL node (`sql:0`): in each of two generations after
    /// `after`, once the generation has arrived, `queries` queries from ``queryMix`` go to the node
    /// at once and the node's CPU time is measured (the first query of a generation pays for
    /// whatever the node derives from the new tables; the others share it).
    static func queryLoad(
        fleet: Fleet, queries: Int, after: UInt64, end: (UInt64) -> Instant, overhead: Double
    ) -> (perSecond: Double, milliseconds: Double, answered: Int) {
        let sim = fleet.simulation
        var ids: [QueryID] = []
        var seconds = 0.0
        for g in 1...2 {
            let at = end(after + UInt64(g)) - .seconds(2)
            fleet.run(until: at - .milliseconds(1))
            sim.roleClock = Bench.threadCPUSeconds
            sim.resetRoleTimes()
            for q in 0..<queries {
                ids.append(fleet.submit(queryMix[q % queryMix.count], to: FleetShape.sql(0), at: at))
            }
            fleet.run(until: end(after + UInt64(g)))
            sim.roleClock = nil
            seconds += max(0, (sim.roleSeconds["sql"] ?? 0) - overhead * Double(sim.roleSteps["sql"] ?? 0))
        }
        let answered = ids.filter { id in
            if case .success? = sim.query(id)?.outcome { true } else { false }
        }.count
        guard answered > 0, seconds > 0 else { return (0, 0, answered) }
        return (Double(answered) / seconds, seconds * 1000 / Double(answered), answered)
    }

    /// The thread CPU time one timed step spends reading the clock, measured as the simulation
    /// times a step (two reads around the step) with nothing in between: the median of 11 rounds
    /// of 10,000 empty steps.
    static func clockOverheadPerStep() -> Double {
        let clock: () -> Double = Bench.threadCPUSeconds
        var rounds: [Double] = []
        for _ in 0..<11 {
            var total = 0.0
            for _ in 0..<10_000 {
                let start = clock()
                total += clock() - start
            }
            rounds.append(total / 10_000)
        }
        rounds.sort()
        return rounds[rounds.count / 2]
    }
}
