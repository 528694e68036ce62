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
