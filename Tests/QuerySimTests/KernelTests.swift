import QueryCore
import QuerySim
import Testing

@Suite("Simulation kernel")
struct KernelTests {
    /// A small mixed scenario: ping-pong plus tickers over a faulty network.
    func chaoticRun(seed: UInt64) -> Simulation {
        let network = NetworkConditions(
            latency: .exponential(minimum: .milliseconds(2), mean: .milliseconds(30)),
            loss: 0.05, duplication: 0.05, reordering: 0.2)
        let sim = Simulation(seed: seed, network: network)
        try! sim.addNode("a") { PingPong(id: $0, peer: "b", serve: true, limit: 500) }
        try! sim.addNode("b") { PingPong(id: $0, peer: "a", serve: false, limit: 500) }
        try! sim.addNode("t", skew: .milliseconds(250)) { Ticker(id: $0, peer: "r", period: .milliseconds(700)) }
        try! sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.schedule(at: .seconds(3)) { $0.crash("t") }
        sim.schedule(at: .seconds(5)) { $0.restart("t") }
        sim.schedule(at: .seconds(6)) { $0.partition(["r"]) }
        sim.schedule(at: .seconds(8)) { $0.heal(["r"]) }
        sim.run(until: .seconds(12))
        return sim
    }

    @Test("same seed gives the same trace hash and statistics", arguments: [1, 2, 42] as [UInt64])
    func determinism(seed: UInt64) {
        let first = chaoticRun(seed: seed)
        let second = chaoticRun(seed: seed)
        #expect(first.traceHash == second.traceHash, "replay: chaoticRun(seed: \(seed))")
        #expect(first.statistics == second.statistics)
        #expect(first.stepsProcessed == second.stepsProcessed)
        #expect(first.stepsProcessed > 20)
    }

    @Test("different seeds give different traces")
    func seedsDiffer() {
        let hashes = Set((1...5).map { chaoticRun(seed: $0).traceHash.value })
        #expect(hashes.count == 5)
    }

    @Test("ties break by scheduling order")
    func ties() {
        let sim = Simulation(seed: 1)
        var order: [Int] = []
        for k in 0..<50 { sim.schedule(at: .seconds(1)) { _ in order.append(k) } }
        sim.schedule(at: .milliseconds(500)) { _ in order.append(-1) }
        sim.run(until: .seconds(2))
        #expect(order == [-1] + Array(0..<50))
        #expect(sim.now == .seconds(2))
    }

    @Test("a clean network delivers everything in per-link FIFO order")
    func fifo() throws {
        let sim = Simulation(seed: 9, network: NetworkConditions(latency: .uniform(min: .milliseconds(1), max: .seconds(1))))
        try sim.addNode("s") { Sender(id: $0, peer: "r", count: 200) }
        try sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.runUntilIdle()
        let r = try #require(sim.typedRole("r", as: Receiver.self))
        #expect(r.received == Array(1...200))
        #expect(sim.statistics.sent == 200 && sim.statistics.delivered == 200)
    }

    @Test("reordering breaks FIFO for some messages but loses none")
    func reordering() throws {
        let sim = Simulation(seed: 9, network: NetworkConditions(reordering: 0.3))
        try sim.addNode("s") { Sender(id: $0, peer: "r", count: 200) }
        try sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.runUntilIdle()
        let r = try #require(sim.typedRole("r", as: Receiver.self))
        #expect(r.received != Array(1...200))
        #expect(r.received.sorted() == Array(1...200))
        #expect(sim.statistics.reordered > 20 && sim.statistics.reordered < 100)
    }

    @Test("loss drops about the configured fraction")
    func loss() throws {
        let sim = Simulation(seed: 3, network: NetworkConditions(loss: 0.25))
        try sim.addNode("s") { Sender(id: $0, peer: "r", count: 2000) }
        try sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.runUntilIdle()
        let r = try #require(sim.typedRole("r", as: Receiver.self))
        #expect(sim.statistics.lost + r.received.count == 2000)
        #expect((400...600).contains(sim.statistics.lost))
        #expect(r.received == r.received.sorted())  // survivors stay in order
    }

    @Test("duplication delivers extra copies")
    func duplication() throws {
        let sim = Simulation(seed: 3, network: NetworkConditions(duplication: 1))
        try sim.addNode("s") { Sender(id: $0, peer: "r", count: 100) }
        try sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.runUntilIdle()
        let r = try #require(sim.typedRole("r", as: Receiver.self))
        #expect(r.received.count == 200)
        #expect(Set(r.received).count == 100)
        #expect(sim.statistics.duplicated == 100)
    }

    @Test("a partition drops traffic across the cut until healed")
    func partition() throws {
        let sim = Simulation(seed: 5, network: NetworkConditions(latency: .constant(.milliseconds(10))))
        try sim.addNode("t") { Ticker(id: $0, peer: "r", period: .seconds(1)) }
        try sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.run(until: .milliseconds(3500))  // ticks 1, 2, 3 delivered
        sim.partition(["r"])
        #expect(!sim.canReach("t", "r"))
        sim.run(until: .milliseconds(6500))  // ticks 4, 5, 6 dropped
        sim.heal(["r"])
        sim.run(until: .milliseconds(8500))  // ticks 7, 8 delivered
        let r = try #require(sim.typedRole("r", as: Receiver.self))
        #expect(r.received == [1, 2, 3, 7, 8])
        #expect(sim.statistics.partitioned == 3)
    }

    /// The silence the invariants measure: a node cut off with others counts as heard when one of
    /// them rejoins (it may carry the node's data), or from its crash inside the group.
    @Test("silence of a cut-off group ends when a live member rejoins")
    func groupSilence() throws {
        let sim = Simulation(seed: 5)
        for id in ["m1", "m2", "p", "x"] as [NodeID] { try sim.addNode(id) { Receiver(id: $0) } }
        sim.startAll()
        sim.run(until: .seconds(10))
        sim.partition(["m1", "m2", "p"])
        #expect(sim.silentSince("m1") == .seconds(10) && sim.silentSince("x") == nil)
        sim.run(until: .seconds(20))
        sim.crash("m2")
        sim.run(until: .seconds(30))
        // `p` rejoins alone: `m1` (still cut off) was heard by it until now, `m2` until its crash.
        sim.heal(["p"])
        #expect(sim.silentSince("p") == nil)
        #expect(sim.silentSince("m1") == .seconds(30))
        #expect(sim.silentSince("m2") == .seconds(20))
        // A dead node rejoining carries nothing.
        sim.partition(["x", "m1"])
        sim.run(until: .seconds(40))
        sim.crash("x")
        sim.heal(["x"])
        #expect(sim.silentSince("m1") == .seconds(30))
    }

    @Test("an isolated group still reaches itself")
    func isolatedGroup() throws {
        let sim = Simulation(seed: 5)
        try sim.addNode("t") { Ticker(id: $0, peer: "r", period: .seconds(1)) }
        try sim.addNode("r") { Receiver(id: $0) }
        try sim.addNode("x") { Receiver(id: $0) }
        sim.startAll()
        sim.partition(["t", "r"])
        sim.run(until: .milliseconds(2500))
        #expect(sim.typedRole("r", as: Receiver.self)?.received == [1, 2])
        #expect(!sim.canReach("t", "x") && sim.canReach("t", "r"))
    }

    @Test("a crash loses state and timers; a restart re-creates the role")
    func crashRestart() throws {
        let sim = Simulation(seed: 5, network: NetworkConditions(latency: .constant(.milliseconds(10))))
        try sim.addNode("t") { Ticker(id: $0, peer: "r", period: .seconds(1)) }
        try sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.run(until: .milliseconds(2500))
        #expect(sim.typedRole("t", as: Ticker.self)?.ticks == 2)
        sim.crash("t")
        #expect(!sim.isUp("t") && sim.role(of: "t") == nil)
        sim.run(until: .milliseconds(5500))  // its timer must not fire while down
        sim.restart("t")
        let fresh = try #require(sim.typedRole("t", as: Ticker.self))
        #expect(fresh.ticks == 0 && fresh.startedAt == .milliseconds(5500))
        #expect(sim.incarnation(of: "t") == 2)
        sim.run(until: .milliseconds(7600))
        #expect(sim.typedRole("t", as: Ticker.self)?.fireTimes == [.milliseconds(6500), .milliseconds(7500)])
        #expect(sim.typedRole("r", as: Receiver.self)?.received == [1, 2, 1, 2])
    }

    @Test("messages to a crashed node are dropped")
    func deadNode() throws {
        let sim = Simulation(seed: 5, network: NetworkConditions(latency: .constant(.milliseconds(10))))
        try sim.addNode("t") { Ticker(id: $0, peer: "r", period: .seconds(1)) }
        try sim.addNode("r") { Receiver(id: $0) }
        sim.startAll()
        sim.crash("r")
        sim.run(until: .milliseconds(3500))
        #expect(sim.statistics.toDeadNode == 3 && sim.statistics.delivered == 0)
    }

    @Test("clock skew: the role sees skewed time and timers fire at the matching virtual time")
    func skew() throws {
        let sim = Simulation(seed: 5, network: NetworkConditions(latency: .constant(.milliseconds(10))))
        try sim.addNode("t", skew: .seconds(100)) { Ticker(id: $0, peer: "r", period: .seconds(1)) }
        try sim.addNode("r", skew: .seconds(-3)) { Receiver(id: $0) }
        sim.startAll()
        sim.run(until: .milliseconds(2500))
        let t = try #require(sim.typedRole("t", as: Ticker.self))
        #expect(t.startedAt == .seconds(100))
        #expect(t.fireTimes == [.seconds(101), .seconds(102)])
        let r = try #require(sim.typedRole("r", as: Receiver.self))
        let expected: [Instant] = [.milliseconds(-1990), .milliseconds(-990)]
        #expect(r.times == expected)
    }

    @Test("a cancelled timer never fires")
    func cancelTimer() throws {
        let sim = Simulation(seed: 5, network: NetworkConditions(latency: .constant(.milliseconds(10))))
        try sim.addNode("t") { Ticker(id: $0, peer: nil, period: .seconds(100)) }
        sim.startAll()
        sim.inject(.received(.heartbeat(Heartbeat(generation: 0)), from: "t"), to: "t", at: .seconds(1))
        sim.run(until: .seconds(10))
        #expect(sim.typedRole("t", as: Ticker.self)?.ticks == 0)
    }

    @Test("queries are answered, failed by the role, or failed cleanly by a crash")
    func queries() throws {
        let sim = Simulation(seed: 5)
        try sim.addNode("sql:0") { Answerer(id: $0, delay: .seconds(2)) }
        sim.startAll()
        let ok = sim.submitQuery("SELECT 1", to: "sql:0", at: .seconds(1))
        let bad = sim.submitQuery("FAIL", to: "sql:0", at: .seconds(1))
        let lost = sim.submitQuery("SELECT 2", to: "sql:0", at: .seconds(4))
        let down = sim.submitQuery("SELECT 3", to: "sql:0", at: .seconds(6))
        let unknown = sim.submitQuery("SELECT 4", to: "sql:9")
        sim.schedule(at: .seconds(5)) { $0.crash("sql:0") }
        sim.run(until: .seconds(10))
        let rows = try sim.query(ok)?.outcome?.get().result.rows
        #expect(rows == [[.text("sql:0")]])
        #expect(sim.query(ok)?.answeredAt == .seconds(3))
        #expect(throws: QueryError.self) { try sim.query(bad)?.outcome?.get() }
        for id in [lost, down, unknown] {
            guard case .failure(let error)? = sim.query(id)?.outcome else {
                Issue.record("query \(id) not failed")
                continue
            }
            let expected: QueryError.Code = id == unknown ? .invalidArgument : .unavailable
            #expect(error.code == expected)
        }
        #expect(sim.queries.allSatisfy { $0.isAnswered })
        #expect(sim.shellViolations.isEmpty)
    }

    @Test("logs and metrics are captured per node")
    func observations() throws {
        let sim = Simulation(configuration: SimulationConfiguration(seed: 1, logCapacity: 10))
        try sim.addNode("a") { PingPong(id: $0, peer: "b", serve: true, limit: 40) }
        try sim.addNode("b") { PingPong(id: $0, peer: "a", serve: false, limit: 40) }
        var steps = 0
        sim.addObserver { _ in steps += 1 }
        sim.startAll()
        sim.runUntilIdle()
        #expect(sim.logs(of: "a").count == 10)
        #expect(sim.logs(of: "b").last?.record.metadata["n"] == "39")
        #expect(sim.metricTotal("test.pings") == 40)
        #expect(sim.metrics(of: "a").first?.aggregate.value == 20)
        #expect(sim.formattedLogs(limit: 3).split(separator: "\n").count == 3)
        #expect(steps == 42)
    }

    @Test("the random generator is reproducible and well spread")
    func random() {
        var a = SimulationRandom(seed: 7), b = SimulationRandom(seed: 7)
        let xs = (0..<100).map { _ in a.next() }
        #expect(xs == (0..<100).map { _ in b.next() })
        var c = SimulationRandom(seed: 7, stream: "network"), d = SimulationRandom(seed: 7, stream: "workload")
        #expect(c.next() != d.next())
        var e = SimulationRandom(seed: 11)
        let mean = (0..<10_000).map { _ in e.nextUnit() }.reduce(0, +) / 10_000
        #expect(abs(mean - 0.5) < 0.02)
        var f = SimulationRandom(seed: 11)
        let samples = (0..<5000).map { _ in
            LatencyDistribution.exponential(minimum: .milliseconds(1), mean: .milliseconds(10)).sample(using: &f).secondsDouble
        }
        let m = samples.reduce(0, +) / 5000
        #expect(abs(m - 0.011) < 0.001)
        #expect(samples.min()! >= 0.001)
    }
}
