import QueryCore
import QuerySim
import Testing

@Suite("Seed sweep")
struct SeedSweepTests {
    static let queries = ["SELECT count(*) FROM processes", "SELECT count(DISTINCT(machine_id)) FROM processes"]

    /// Runs one seed; every invariant must hold.
    func check(seed: UInt64, faults: FaultMix) throws {
        let result = try SeedRun(queries: Self.queries).run(seed: seed, faults: faults, evaluator: CountingEvaluator())
        let replay = "replay: swift run query-sim --seeds \(seed) --faults \(faults)"
        let script = "script: \(result.script.joined(separator: "; "))"
        // Every invariant must hold, eventual arrival included: rows of tables that no longer change
        // (`machines`, `software_versions`) come back after lost, duplicated or reordered messages
        // and after a TLA or TLA child restarts empty.
        if !result.violations.isEmpty {
            let shown = result.violations.prefix(5).map(\.description).joined(separator: "\n")
            Issue.record("seed \(seed) failed; \(replay)\n\(script)\n\(shown)")
        }
        #expect(result.answered > 0)
    }

    @Test("no faults", arguments: 1...2 as ClosedRange<UInt64>)
    func clean(seed: UInt64) throws { try check(seed: seed, faults: .none) }

    @Test("crashes", arguments: 1...3 as ClosedRange<UInt64>)
    func crashes(seed: UInt64) throws {
        try check(seed: seed, faults: FaultMix(crashes: true))
    }

    @Test("partitions", arguments: 1...3 as ClosedRange<UInt64>)
    func partitions(seed: UInt64) throws { try check(seed: seed, faults: FaultMix(partitions: true)) }

    @Test("lossy network", arguments: 1...3 as ClosedRange<UInt64>)
    func network(seed: UInt64) throws { try check(seed: seed, faults: FaultMix(network: true)) }

    /// Whole clusters cut off, every proxy of a cluster or a TLA with its children crashed, the SQL
    /// nodes cut off, a machine crashing twice: each seed draws one or two of these.
    @Test("correlated failures", arguments: 1...4 as ClosedRange<UInt64>)
    func correlated(seed: UInt64) throws { try check(seed: seed, faults: FaultMix(correlated: true)) }

    /// Tables requested on demand (what is prewarmed varies by seed), so interest lapses and
    /// returns at every tier, alone and with crashes and a lossy network.
    @Test("interest that comes and goes", arguments: 1...2 as ClosedRange<UInt64>)
    func onDemand(seed: UInt64) throws {
        try check(seed: seed, faults: FaultMix(onDemand: true))
        try check(seed: seed + 2, faults: FaultMix(crashes: true, network: true, onDemand: true))
    }

    /// Fleets of other shapes (a proxy or a TLA of its own per cluster, two children, both tables
    /// deferred, one cluster, one machine…), without faults and with every fault.
    @Test("other fleet shapes", arguments: 1...3 as ClosedRange<UInt64>)
    func shapes(seed: UInt64) throws {
        try check(seed: seed, faults: FaultMix(shapes: true))
        try check(
            seed: seed + 3,
            faults: FaultMix(
                crashes: true, partitions: true, network: true, skew: true, correlated: true, onDemand: true, shapes: true))
    }

    /// `shapes` draws the fleet from a stream of its own, over the whole documented range, and
    /// leaves the faults' timing as it was.
    @Test("shapes cover their ranges and keep the fault times")
    func shapeDraws() throws {
        var seen: [String: Set<Int>] = [:]
        var deferred: Set<[TableName]> = []
        for seed in 1...300 as ClosedRange<UInt64> {
            let (shape, tables) = SeedRun.drawShape(seed: seed)
            try shape.validate()
            seen["clusters", default: []].insert(shape.clusters)
            seen["machines", default: []].insert(shape.machinesPerCluster)
            seen["proxies", default: []].insert(shape.proxiesPerCluster)
            seen["aggregators", default: []].insert(shape.aggregators)
            seen["children", default: []].insert(shape.childrenPerAggregator)
            seen["sql", default: []].insert(shape.sqlNodes)
            if shape.childrenPerAggregator == 0 { #expect(tables.isEmpty) } else { deferred.insert(tables) }
        }
        #expect(seen["clusters"] == Set(1...5) && seen["machines"] == Set(1...6))
        #expect(seen["proxies"] == Set(1...3) && seen["aggregators"] == Set(1...3))
        #expect(seen["children"] == Set(0...2) && seen["sql"] == Set(1...3))
        #expect(deferred == [[], ["software_versions"], ["processes"], ["processes", "software_versions"]])
        // The same seed with and without `shapes`: the fleet differs, the faults come at the same times.
        let runner = SeedRun(queries: Self.queries)
        let plain = try runner.run(seed: 7, faults: .mix, evaluator: CountingEvaluator())
        var withShapes = FaultMix.mix
        withShapes.shapes = true
        let shaped = try runner.run(seed: 7, faults: withShapes, evaluator: CountingEvaluator())
        #expect(shaped.shape == SeedRun.drawShape(seed: 7).0)
        func times(_ script: [String]) -> [String] {
            script.map { line in line.split(separator: " ").filter { $0.hasSuffix("s") || $0.hasSuffix("s,") }.joined(separator: " ") }
        }
        #expect(times(plain.script) == times(shaped.script))
    }

    @Test("everything at once", arguments: 1...4 as ClosedRange<UInt64>)
    func mix(seed: UInt64) throws { try check(seed: seed, faults: .mix) }

    @Test("fault names parse, combine in any order and print back")
    func faultNames() {
        #expect(FaultMix(parsing: "mix") == .mix && FaultMix.mix.description == "mix")
        #expect(!FaultMix.mix.correlated)
        let both = FaultMix(parsing: "correlated,mix")
        #expect(both == FaultMix(parsing: "mix,correlated"))
        #expect(both?.crashes == true && both?.correlated == true)
        #expect(FaultMix(parsing: both!.description) == both)
        #expect(FaultMix(parsing: "crash, skew") == FaultMix(crashes: true, skew: true))
        #expect(FaultMix(parsing: "none") == FaultMix.none && FaultMix(parsing: "crash,quake") == nil)
        #expect(FaultMix(parsing: "mix,ondemand")?.description == "crash,partition,network,skew,ondemand")
        #expect(!FaultMix.mix.onDemand)
        #expect(!FaultMix.mix.shapes && FaultMix(parsing: "mix,shapes")?.shapes == true)
        #expect(FaultMix(parsing: "shapes,mix")?.description == "crash,partition,network,skew,shapes")
        #expect(FaultMix(parsing: "shapes") == FaultMix(shapes: true) && FaultMix.names.contains("shapes"))
    }

    @Test("a seed replays bit for bit")
    func replay() throws {
        let runner = SeedRun(queries: Self.queries)
        let a = try runner.run(seed: 5, faults: .mix, evaluator: CountingEvaluator())
        let b = try runner.run(seed: 5, faults: .mix, evaluator: CountingEvaluator())
        #expect(a.traceHash == b.traceHash)
        #expect(a.steps == b.steps && a.network == b.network)
        let c = try runner.run(seed: 6, faults: .mix, evaluator: CountingEvaluator())
        #expect(a.traceHash != c.traceHash)
    }
}
