import Testing

@testable import QueryCore

/// Silence does not stack across tiers: a machine silent for `dropAfter` vanishes, whichever tier
/// notices (found with `query-sim --seeds 6481 --faults mix,correlated,ondemand,shapes,partitioned`:
/// a cluster's only proxy died while one of its machines had been silent for 38 s, and the TLA kept
/// the cluster's last table, that machine's rows included, for another `dropAfter`; and seed 3852,
/// a machine restarted long after its last update answered a proxy's one-table resync and died
/// again, and the reply kept it alive at the proxy with its other tables' rows 78 s old).
@Suite struct SilenceStackingTests {
    static let schedule = GenerationSchedule(interval: .seconds(10))
    static let dropAfter: Duration = .seconds(40)
    static let table = Fixtures.processes

    // MARK: Proxy: only a machine's regular updates hear it

    func update(_ number: UInt64, _ origin: NodeID, version: UInt64, at time: Instant) -> Message {
        let entry = TableEntry(
            table: Self.table,
            copies: [
                OriginCopy(
                    origin: origin, copy: .full(version: version, segment: Fixtures.rows(origin, count: 2)), publishedAt: time)
            ],
            replacesScope: true,
            completeness: TableCompleteness(machinesContributing: 1, machinesKnown: 1, oldestPublish: time, newestPublish: time)
        )
        return .update(GenerationUpdate(generation: Self.schedule.generation(number), entries: [entry]))
    }

    /// Seed 3852: a machine that only answers resyncs (replies labelled with a generation it already
    /// reported) after its last regular update is dropped `dropAfter` after that update.
    @Test func aResyncReplyDoesNotKeepAMachineAlive() {
        var proxy = ClusterProxy(
            id: "proxy:0.0",
            configuration: .init(
                cluster: "cluster:0", machines: ["edge:0.0", "edge:0.1"], schedule: Self.schedule, dropAfter: Self.dropAfter))
        _ = proxy.handle(.started, now: .zero)
        let request = Message.request(TableRequest(tables: [Self.table], lease: .seconds(30)))
        for number in UInt64(2)...7 {
            let start = Self.schedule.generation(number).time
            _ = proxy.handle(.received(request, from: "tla:0"), now: start)
            _ = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: start)
            _ = proxy.handle(.received(update(number, "edge:0.0", version: number, at: start), from: "edge:0.0"), now: start)
            if number == 2 {
                _ = proxy.handle(.received(update(2, "edge:0.1", version: 2, at: start), from: "edge:0.1"), now: start)
            } else if number >= 4 {
                // Replies to a resync of generation 2, half a generation later: not a regular update.
                _ = proxy.handle(
                    .received(update(2, "edge:0.1", version: 100 + number, at: start), from: "edge:0.1"),
                    now: start + .seconds(5))
            }
            _ = proxy.handle(.timerFired(ClusterProxy.deadlineTimer), now: Self.schedule.slot(.proxy, of: number))
        }
        // Last heard at t=10 (generation 2): dropped at t=50.
        #expect(proxy.droppedMachines.map(\.node) == ["edge:0.1"])
        #expect(proxy.droppedMachines.first?.since == .seconds(50))
    }

    // MARK: TLA: a silent cluster's machines age out as its proxy would have dropped them

    /// Two clusters of two machines publishing 3 rows each, `proxies` proxies per cluster, one TLA
    /// (with `processes` deferred to a child if `deferred`) and one SQL node; `dropAfter` 40 s at
    /// every tier.
    static func tree(proxies: Int = 1, deferred: Bool = false) -> Pump {
        var pump = Pump()
        let child: NodeID = "tla-child:0"
        for c in 0..<2 {
            let machines = (0..<2).map { NodeID("edge:\(c).\($0)") }
            for machine in machines {
                pump.add(EdgeAgent(id: machine, configuration: .init(schedule: schedule)))
                pump.publish(machine, table, Fixtures.rows(machine, count: 3))
            }
            for p in 0..<proxies {
                pump.add(
                    ClusterProxy(
                        id: NodeID("proxy:\(c).\(p)"),
                        configuration: .init(
                            cluster: NodeID("cluster:\(c)"), machines: machines, schedule: schedule, dropAfter: dropAfter)))
            }
        }
        let clusters = (0..<2).map { c in
            Aggregator.ClusterSource(cluster: NodeID("cluster:\(c)"), proxies: (0..<proxies).map { NodeID("proxy:\(c).\($0)") })
        }
        pump.add(
            Aggregator(
                id: "tla:0",
                configuration: .init(
                    clusters: clusters, schedule: schedule, dropAfter: dropAfter, deferred: deferred ? [table: child] : [:])))
        if deferred {
            pump.add(AggregatorChild(id: child, configuration: .init(parent: "tla:0", schedule: schedule, dropAfter: dropAfter)))
        }
        pump.add(
            QueryNode(
                id: "sql:0", configuration: .init(aggregators: ["tla:0"], schedule: schedule, prewarm: [table]),
                evaluator: TinyEvaluator()))
        return pump
    }

    static let machines: [NodeID] = ["edge:0.0", "edge:0.1", "edge:1.0", "edge:1.1"]

    /// Runs `pump` to `end` seconds, every machine that is up publishing its rows again a second
    /// before each generation (as a workload does: a machine's rows are confirmed when it publishes).
    func advance(_ pump: inout Pump, to end: Double) {
        var next = (pump.now.seconds / 10).rounded(.down) * 10 + 9
        if next <= pump.now.seconds { next += 10 }
        while next <= end {
            pump.advance(to: .seconds(next))
            for machine in Self.machines { pump.publish(machine, Self.table, Fixtures.rows(machine, count: 3)) }
            next += 10
        }
        pump.advance(to: .seconds(end))
    }

    func count(_ pump: inout Pump, _ id: UInt64) throws -> (Value, QueryAnswer) {
        pump.query("sql:0", id, "SELECT count(*) FROM processes")
        let answer = try #require(try pump.answer("sql:0", id)?.get())
        return (try #require(answer.result.rows.first?.first), answer)
    }

    /// Seed 6481: edge:0.1 dies at t=25 (last heard at t=20); cluster 0's only proxy dies at t=55,
    /// before dropping it (at t=60). The TLA, which keeps the silent cluster until t≈92, ages
    /// edge:0.1 out at t=60 as the proxy would have: its rows vanish at the SQL node (a removal),
    /// the figures name it dropped, and the answer's publish times no longer reach back to t=20.
    @Test(arguments: [false, true]) func aSilentClustersSilentMachineVanishesWhenItsProxyWouldHaveDroppedIt(
        deferred: Bool
    ) throws {
        var pump = Self.tree(deferred: deferred)
        advance(&pump, to: 25)
        #expect(try count(&pump, 1).0 == .integer(12))
        pump.crash("edge:0.1")
        advance(&pump, to: 55)
        #expect(try count(&pump, 2).0 == .integer(12))  // silent 35 s: still served
        pump.crash("proxy:0.0")
        advance(&pump, to: 75)
        #expect(pump.role("tla:0", as: Aggregator.self).droppedClusters.isEmpty)  // the cluster is kept
        let (rows, answer) = try count(&pump, 3)
        #expect(rows == .integer(9))
        let figures = try #require(answer.completeness.tables.first)
        #expect(figures.machinesContributing == 3 && figures.machinesKnown == 4)
        #expect(figures.clustersContributing == 2)
        let since = try #require(figures.dropped["edge:0.1"])
        #expect(since >= .seconds(60) && since < .seconds(61))
        #expect(try #require(answer.completeness.oldestPublish) >= .seconds(45), "\(answer.completeness)")
        // The cluster as a whole still drops by the cluster rule (last heard t≈52.5, + 40 s).
        advance(&pump, to: 105)
        #expect(pump.role("tla:0", as: Aggregator.self).droppedClusters.map(\.node) == ["cluster:0"])
        #expect(try count(&pump, 4).0 == .integer(6))
    }

    /// With a second proxy, the TLA fails over; the silent machine's rows neither come back before
    /// it reports again nor stay away after it does, and the other machine's rows are never lost.
    @Test func failoverNeitherLosesNorResurrectsRows() throws {
        var pump = Self.tree(proxies: 2)
        advance(&pump, to: 25)
        pump.crash("edge:0.1")
        advance(&pump, to: 55)
        pump.crash("proxy:0.0")
        for (id, time) in [(UInt64(1), 68.0), (2, 75.0), (3, 85.0), (4, 95.0)] {
            advance(&pump, to: time)
            #expect(try count(&pump, id).0 == .integer(9), "at \(time)")
        }
        #expect(pump.role("tla:0", as: Aggregator.self).activeProxy(of: "cluster:0") == "proxy:0.1")
        pump.restart(EdgeAgent(id: "edge:0.1", configuration: .init(schedule: Self.schedule)))
        advance(&pump, to: 125)
        #expect(try count(&pump, 5).0 == .integer(12))
    }

    /// The CombineRequest names the aged-out machine, and a child given one leaves its rows out.
    @Test func theTLATellsItsChildWhichMachinesAgedOut() {
        var pump = Self.tree(deferred: true)
        advance(&pump, to: 25)
        pump.crash("edge:0.1")
        advance(&pump, to: 55)
        pump.crash("proxy:0.0")
        advance(&pump, to: 75)
        let combines = pump.sent.compactMap { sent -> CombineRequest? in
            if case .combine(let request) = sent.message, sent.at > .seconds(65) { return request }
            return nil
        }
        #expect(!combines.isEmpty)
        #expect(combines.allSatisfy { $0.droppedMachines.map(\.node) == ["edge:0.1"] && $0.droppedClusters.isEmpty })
    }

    // MARK: Figures

    @Test func agingOutKeepsTheFiguresHonest() {
        let figures = TableCompleteness(
            machinesContributing: 3, machinesKnown: 4, clustersContributing: 1, clustersKnown: 1,
            dropped: [DroppedNode(node: "m9", since: .seconds(5))], oldestPublish: .seconds(10), newestPublish: .seconds(55),
            silent: [
                SilentMachine(node: "m1", silence: .seconds(30), confirmedAt: .seconds(10)),
                SilentMachine(node: "m2", silence: .seconds(15), confirmedAt: .seconds(30)),
            ],
            heardOldestPublish: .seconds(50))
        #expect(figures.agingOut([:]) == figures)
        #expect(figures.agingOut(["m3": .seconds(60)]) == figures)  // not listed: not affected
        let one = figures.agingOut(["m1": .seconds(60)])
        #expect(one.machinesContributing == 2 && one.machinesKnown == 4 && one.clustersContributing == 1)
        #expect(one.dropped == [DroppedNode(node: "m1", since: .seconds(60)), DroppedNode(node: "m9", since: .seconds(5))])
        #expect(one.oldestPublish == .seconds(30) && one.newestPublish == .seconds(55))
        #expect(one.silent.map(\.node) == ["m2"])
        let both = figures.agingOut(["m1": .seconds(60), "m2": .seconds(70)])
        #expect(both.machinesContributing == 1 && both.oldestPublish == .seconds(50) && both.newestPublish == .seconds(55))
        // Every contributing machine listed and aged out: the cluster contributes nothing.
        let all = TableCompleteness(
            machinesContributing: 1, machinesKnown: 1, clustersContributing: 1, clustersKnown: 1,
            oldestPublish: .seconds(10), newestPublish: .seconds(10),
            silent: [SilentMachine(node: "m1", silence: .seconds(30), confirmedAt: .seconds(10))])
        let gone = all.agingOut(["m1": .seconds(60)])
        #expect(gone.machinesContributing == 0 && gone.clustersContributing == 0 && gone.clustersKnown == 1)
        #expect(gone.oldestPublish == nil && gone.newestPublish == nil)
        // A TLA's sum carries no silent machines.
        var sum = TableCompleteness()
        sum.add(figures)
        #expect(sum.silent.isEmpty && sum.heardOldestPublish == nil && sum.machinesContributing == 3)
    }

    // MARK: Wire

    static let figures = TableCompleteness(
        machinesContributing: 2, machinesKnown: 3, clustersContributing: 1, clustersKnown: 1,
        oldestPublish: .seconds(10), newestPublish: .seconds(40),
        silent: [SilentMachine(node: "edge:0.1", silence: .milliseconds(31_500), confirmedAt: .seconds(10))],
        heardOldestPublish: .seconds(38))

    @Test func silentMachinesAndAgedOutMachinesRoundTrip() throws {
        let entry = TableEntry(table: Self.table, copies: [], completeness: Self.figures)
        let update = Message.update(GenerationUpdate(generation: Self.schedule.generation(5), entries: [entry], sequence: 3))
        guard case .update(let decoded) = try Message.decode(update.encode()) else {
            Issue.record("not an update")
            return
        }
        #expect(decoded.entries.first?.completeness == Self.figures)
        let combine = CombineRequest(
            generation: Self.schedule.generation(5), droppedClusters: [], tables: [Self.table],
            droppedMachines: [
                DroppedNode(node: "edge:0.1", since: .seconds(60)), DroppedNode(node: "edge:0.0", since: .seconds(61)),
            ])
        guard case .combine(let request) = try Message.decode(Message.combine(combine).encode()) else {
            Issue.record("not a combine request")
            return
        }
        #expect(request == combine)
        #expect(request.droppedMachines.map(\.node) == ["edge:0.0", "edge:0.1"])
    }

    @Test func badSilentMachinesAreTypedErrors() {
        // A negative silence.
        var writer = WireWriter()
        NodeID("edge:0.1").encode(into: &writer)
        Duration.seconds(-3).encode(into: &writer)
        writer.writeOptional(Instant.seconds(1))
        let negative = writer.bytes
        expectError(.decodingFailed) {
            var reader = WireReader(negative)
            return try SilentMachine(from: &reader)
        }
        // Every truncation of figures listing a silent machine, and a silent-machine count larger
        // than the bytes left.
        var full = WireWriter()
        Self.figures.encode(into: &full)
        for cut in 0..<full.bytes.count {
            let bytes = Array(full.bytes[..<cut])
            expectError(.decodingFailed, "cut at \(cut)") {
                var reader = WireReader(bytes)
                let figures = try TableCompleteness(from: &reader)
                try reader.expectEnd()
                return figures
            }
        }
        var huge = WireWriter()
        TableCompleteness(machinesContributing: 1).encode(into: &huge)
        var bytes = huge.bytes
        // The silent list's count is the second byte from the end (then the absent heard-oldest byte).
        bytes[bytes.count - 2] = 0x7F
        expectError(.decodingFailed) {
            var reader = WireReader(bytes)
            return try TableCompleteness(from: &reader)
        }
    }
}
