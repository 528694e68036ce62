import Testing

@testable import QueryCore

/// Failover (proxies at the TLA, TLAs at the SQL node), partitions with redirects, deferral to
/// children and the combined TLA/SQL node.
@Suite struct RedundancyTests {
    func count(_ pump: Pump, _ node: NodeID, _ id: UInt64) throws -> [[Value]]? {
        try pump.answer(node, id)?.get().result.rows
    }

    @Test func theTLAFailsOverToTheClustersSecondProxy() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build()
        pump.run(seconds: 25)
        #expect(pump.role(fleet.tla(0), as: Aggregator.self).activeProxy(of: fleet.cluster(0)) == fleet.proxy(0, 0))
        pump.crash(fleet.proxy(0, 0))
        pump.advance(to: .seconds(45))
        #expect(pump.role(fleet.tla(0), as: Aggregator.self).activeProxy(of: fleet.cluster(0)) == fleet.proxy(0, 1))
        #expect(pump.counter("query.failovers", node: fleet.tla(0)) == 1)
        // Data keeps flowing through the new proxy, changes included.
        pump.publish(fleet.edge(0, 1), Fixtures.processes, Fixtures.rows(fleet.edge(0, 1), count: 5))
        pump.run(seconds: 10)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(14)]])
        let answer = try #require(pump.answer(fleet.sql, 1)).get()
        #expect(answer.completeness.tables.first?.clustersContributing == 2)
        #expect(answer.completeness.tables.first?.dropped.isEmpty == true)
    }

    /// Seed 575 (`query-sim --seeds 401-700 --faults mix`): a cluster's proxies are cut off from
    /// the TLA until it drops the cluster; then only the one it does not listen to gets through,
    /// as a standby. Its heartbeats carry no rows: the cluster must not return on them with the
    /// rows held from before its drop (served beside fresh ones), only with its active proxy's state.
    @Test func aDroppedClusterReturnsWithItsActiveProxysRowsNotOnAStandbysHeartbeat() throws {
        var fleet = Fixtures.Fleet()
        // The TLA drops a silent cluster well before the proxies' interest from it lapses (30 s).
        fleet.tlaDropAfter = .seconds(15)
        // And keeps listening to the proxy it listens to (no failover in this test).
        fleet.tlaFailoverAfter = .seconds(1_000)
        var pump = fleet.build()
        pump.run(seconds: 25)
        let tla = fleet.tla(0)
        let proxies: Set<NodeID> = [fleet.proxy(0, 0), fleet.proxy(0, 1)]
        pump.loses = { from, to, _ in (proxies.contains(from) && to == tla) || (from == tla && proxies.contains(to)) }
        pump.publish(fleet.edge(0, 0), Fixtures.processes, Fixtures.rows(fleet.edge(0, 0), count: 5))
        pump.advance(to: .seconds(45))
        #expect(pump.role(tla, as: Aggregator.self).droppedClusters.map(\.node) == [fleet.cluster(0)])
        // Only the proxy the TLA does not listen to gets through again: it is asked as a standby.
        let active = fleet.proxy(0, 0)
        #expect(pump.role(tla, as: Aggregator.self).activeProxy(of: fleet.cluster(0)) == active)
        pump.loses = { from, to, _ in (from == active && to == tla) || (from == tla && to == active) }
        // Cluster 0 held 6 rows before its drop and has 8 now; cluster 1 has 6. Every answer counts
        // cluster 0 as gone (6) or as it is now (14), never its old rows (12).
        var counts: [Value] = []
        func ask(for seconds: Int) throws {
            for _ in 0..<seconds {
                pump.run(seconds: 1)
                let id = UInt64(counts.count + 1)
                pump.query(fleet.sql, id, "SELECT count(*) FROM processes")
                counts.append(try #require(try count(pump, fleet.sql, id))[0][0])
            }
        }
        try ask(for: 30)
        #expect(Set(counts) == [.integer(6)], "old rows served: \(counts)")
        // The active proxy gets through again: the cluster returns with its rows as they are now.
        pump.loses = nil
        try ask(for: 30)
        #expect(!counts.contains(.integer(12)), "old rows served: \(counts)")
        #expect(counts.last == .integer(14))
    }

    @Test func pinningKeepsTheTLAOnItsProxies() {
        let fleet = Fixtures.Fleet()
        var configuration = fleet.tlaConfiguration()
        configuration.pinnedProxies = [fleet.proxy(0, 1), fleet.proxy(1, 1)]
        let tla = Aggregator(id: "tla:0", configuration: configuration)
        #expect(tla.activeProxy(of: fleet.cluster(0)) == fleet.proxy(0, 1))
        #expect(tla.activeProxy(of: fleet.cluster(1)) == fleet.proxy(1, 1))
    }

    @Test func theSQLNodeFailsOverToItsNextTLA() throws {
        var fleet = Fixtures.Fleet()
        fleet.tlas = 2
        var pump = fleet.build()
        pump.run(seconds: 25)
        #expect(pump.role(fleet.sql, as: QueryNode.self).activeAggregator == fleet.tla(0))
        pump.crash(fleet.tla(0))
        pump.advance(to: .seconds(45))
        #expect(pump.role(fleet.sql, as: QueryNode.self).activeAggregator == fleet.tla(1))
        #expect(pump.counter("query.failovers", node: fleet.sql) == 1)
        pump.publish(fleet.edge(1, 0), Fixtures.processes, Fixtures.rows(fleet.edge(1, 0), count: 1))
        pump.run(seconds: 10)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(10)]])
    }

    @Test func theSQLNodeFailsOverAtOnceWhenItsTLAsConnectionDrops() throws {
        var fleet = Fixtures.Fleet()
        fleet.tlas = 2
        var pump = fleet.build()
        pump.run(seconds: 25)
        #expect(pump.role(fleet.sql, as: QueryNode.self).activeAggregator == fleet.tla(0))
        let before = pump.sent.count
        pump.deliver(fleet.sql, .peerDown(fleet.tla(0)))
        #expect(pump.role(fleet.sql, as: QueryNode.self).activeAggregator == fleet.tla(1))
        #expect(pump.counter("query.failovers", node: fleet.sql) == 1)
        // The new TLA is asked at once for everything (a reset), not at the next refresh.
        let reset = pump.sent[before...].contains { sent in
            if case .request(let r) = sent.message { sent.to == fleet.tla(1) && r.reset && !r.standby } else { false }
        }
        #expect(reset)
        // A standby's connection dropping changes nothing.
        pump.deliver(fleet.sql, .peerDown(fleet.tla(0)))
        #expect(pump.role(fleet.sql, as: QueryNode.self).activeAggregator == fleet.tla(1))
        pump.run(seconds: 20)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(12)]])
    }

    @Test func aQueryAboutAnotherPartitionsTableIsRedirected() throws {
        var configuration = QueryNode.Configuration(
            aggregators: ["tla:0"],
            schedule: GenerationSchedule(interval: .seconds(10))
        )
        configuration.servedTables = [Fixtures.processes]
        configuration.partitions = [TablePartition(name: "inventory", tables: ["machines"], nodes: ["sql:7", "sql:8"])]
        var node = QueryNode(id: "sql:0", configuration: configuration, evaluator: TinyEvaluator())
        _ = node.handle(.started, now: .zero)
        let actions = node.handle(.query(QueryRequest(id: QueryID(3), sql: "SELECT * FROM machines")), now: .seconds(1))
        let redirect = actions.compactMap { if case .redirect(let id, let r) = $0 { (id, r) } else { nil } }.first
        #expect(redirect?.0 == QueryID(3))
        #expect(redirect?.1.partition == "inventory")
        #expect(redirect?.1.nodes == ["sql:7", "sql:8"])
        #expect(redirect?.1.tables == ["machines"])
        // A remote client gets the same redirect as a response message.
        let remote = node.handle(
            .received(
                .query(RemoteQuery(QueryRequest(id: QueryID(4), sql: "SELECT * FROM machines"))),
                from: "client:1"
            ),
            now: .seconds(2)
        )
        let response = remote.compactMap { if case .send(.queryResponse(let r), "client:1") = $0 { r } else { nil } }
            .first
        guard case .redirect(let r)? = response?.outcome else {
            Issue.record("expected a redirect response")
            return
        }
        #expect(r.queryID == QueryID(4) && r.partition == "inventory")
    }

    @Test func aTLAThatDoesNotServeATableRedirectsTheSQLNode() throws {
        var fleet = Fixtures.Fleet()
        fleet.prewarm = []
        var pump = fleet.build()
        var configuration = fleet.tlaConfiguration()
        configuration.servedTables = ["machines"]
        configuration.partitions = [TablePartition(name: "procs", tables: [Fixtures.processes], nodes: ["sql:5"])]
        pump.restart(Aggregator(id: fleet.tla(0), configuration: configuration))
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        let redirect = try #require(pump.redirects.last)
        #expect(
            redirect.id == QueryID(1) && redirect.redirect.partition == "procs" && redirect.redirect.nodes == ["sql:5"]
        )
        #expect(pump.role(fleet.sql, as: QueryNode.self).waitingQueries.isEmpty)
    }

    /// The child that `childFleet` defers `processes` to.
    static let child: NodeID = "tla-child:0.0"

    /// A fleet whose `processes` table is deferred to one child.
    static var childFleet: Fixtures.Fleet {
        var fleet = Fixtures.Fleet()
        fleet.deferred = [Fixtures.processes: child]
        return fleet
    }

    /// `fleet` built and run for two generations.
    static func running(_ fleet: Fixtures.Fleet) -> Pump {
        var pump = fleet.build()
        pump.run(seconds: 25)
        return pump
    }

    @Test func aRestartedChildGetsBackTheRowsTheTLAAcknowledgedForIt() throws {
        let (fleet, child) = (Self.childFleet, Self.child)
        var pump = Self.running(fleet)
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 12)
        // The child crashes and comes back empty; only one machine's rows change afterwards, so the
        // proxies send deltas for that origin alone.
        pump.crash(child)
        pump.run(seconds: 5)
        pump.restart(AggregatorChild(id: child, configuration: .init(parent: fleet.tla(0), schedule: fleet.schedule)))
        pump.publish(fleet.edge(0, 0), Fixtures.processes, Fixtures.rows(fleet.edge(0, 0), count: 4))
        pump.run(seconds: 40)
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 13)
        #expect(pump.counter("query.full_resyncs", node: child) >= 1)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(13)]])
        let answer = try #require(pump.answer(fleet.sql, 1)).get()
        #expect(answer.completeness.tables.first?.machinesContributing == 4)
    }

    @Test func aSilentChildIsDroppedAndItsTablesVanishUntilItReturns() throws {
        var fleet = Self.childFleet
        fleet.tlaChildDropAfter = .seconds(20)
        let child = Self.child
        var pump = Self.running(fleet)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(12)]])
        // The child dies: its last combined rows are served until `childDropAfter` (here two
        // intervals, 20 s; it answers every generation), then the TLA drops it and the table's
        // rows vanish, with the child named as dropped.
        pump.crash(child)
        pump.run(seconds: 9)
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 2) == [[.integer(12)]])
        pump.run(seconds: 30)
        pump.query(fleet.sql, 3, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 3) == [[.integer(0)]])
        let answer = try #require(pump.answer(fleet.sql, 3)).get()
        #expect(answer.completeness.tables.first.map { Array($0.dropped.keys) } == [child])
        #expect(answer.completeness.tables.first?.machinesContributing == 0)
        #expect(pump.counter("query.drops", node: fleet.tla(0)) >= 1)
        // It comes back (empty): it gets the full state and its rows return.
        pump.restart(AggregatorChild(id: child, configuration: .init(parent: fleet.tla(0), schedule: fleet.schedule)))
        pump.run(seconds: 40)
        pump.query(fleet.sql, 4, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 4) == [[.integer(12)]])
        #expect(try #require(pump.answer(fleet.sql, 4)).get().completeness.tables.first?.dropped.isEmpty == true)
    }

    @Test func aChildThatMissedARelayedUpdateGetsTheTableInFullAgain() throws {
        let (fleet, child) = (Self.childFleet, Self.child)
        var pump = Self.running(fleet)
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 12)
        // One machine's change reaches the TLA, but the deferral relaying it to the child is lost;
        // the TLA acknowledged it for the child, so the proxies never send that delta again.
        pump.loses = { _, to, message in
            if to == child, case .deferral(let d) = message, d.entries.contains(where: { !$0.copies.isEmpty }) {
                return true
            }
            return false
        }
        pump.publish(fleet.edge(0, 0), Fixtures.processes, Fixtures.rows(fleet.edge(0, 0), count: 5))
        pump.run(seconds: 10)
        pump.loses = nil
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 12)
        // The next relayed update shows the gap; the child asks for the table in full and catches up.
        pump.run(seconds: 40)
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 14)
        #expect(pump.counter("query.full_resyncs", node: child) >= 1)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(14)]])
    }

    @Test func aChildWhoseResyncAnswerIsLostAsksAgain() throws {
        let (fleet, child) = (Self.childFleet, Self.child)
        var pump = Self.running(fleet)
        // One machine of cluster 0 is cut off until both proxies drop it: its rows leave the child.
        pump.partitioned = [fleet.edge(0, 1)]
        pump.advance(to: .seconds(215))
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 9)
        // Cluster 1's relayed change of generation 22 is lost: its next deferral will show the gap
        // and the child will ask for the table in full, of every cluster.
        pump.loses = { _, to, message in
            if to == child, case .deferral(let d) = message, d.cluster == fleet.cluster(1), !d.entries[0].copies.isEmpty {
                return true
            }
            return false
        }
        pump.publish(fleet.edge(1, 0), Fixtures.processes, Fixtures.rows(fleet.edge(1, 0), count: 4))
        pump.advance(to: .seconds(225))
        // Generation 23: cluster 1 reports late (a silent machine holds it to the proxies' deadline);
        // meanwhile the dropped machine returns to cluster 0's proxies after they sent generation 23,
        // so only the answer to the child's resync carries its rows, and that answer is lost.
        pump.partitioned = [fleet.edge(0, 1), fleet.edge(1, 1)]
        pump.advance(to: .seconds(231))
        pump.partitioned = [fleet.edge(1, 1)]
        for i in 0..<2 {
            let request = TableRequest(tables: [Fixtures.processes], lease: .seconds(30), reset: false)
            pump.deliver(fleet.edge(0, 1), .received(.request(request), from: fleet.proxy(0, i)))
        }
        pump.deliver(fleet.edge(0, 1), .timerFired(EdgeAgent.generationTimer))
        pump.loses = { _, to, message in
            if to == child, case .deferral(let d) = message, d.cluster == fleet.cluster(0), d.entries[0].replacesScope {
                return true
            }
            return false
        }
        pump.advance(to: .seconds(233))
        #expect(pump.counter("query.full_resyncs", node: child) >= 1)
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 10)
        pump.loses = nil
        pump.partitioned = []
        // The TLA acknowledged the lost answer for the child; the child notices the missing answer
        // at cluster 0's next generation (24) and asks again at once, not after the retry interval.
        pump.advance(to: .seconds(245))
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 13)
        pump.run(seconds: 30)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(13)]])
    }

    @Test func aReconnectedChildGetsItsDeferredTablesInFullAtOnce() throws {
        let (fleet, child) = (Self.childFleet, Self.child)
        var pump = Self.running(fleet)
        // The child is cut off for a generation (it keeps its state): the relayed change of one
        // machine is lost, and the TLA acknowledged it for the child.
        pump.partitioned = [child]
        pump.publish(fleet.edge(0, 0), Fixtures.processes, Fixtures.rows(fleet.edge(0, 0), count: 5))
        pump.run(seconds: 10)
        pump.partitioned = []
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 12)
        pump.deliver(fleet.tla(0), .peerDown(child))
        let before = pump.sent.count
        pump.deliver(fleet.tla(0), .peerUp(child))
        // At once, not at the next generation: every cluster's table, in full, relayed to the child.
        let relayed = pump.sent[before...].compactMap { sent -> Deferral? in
            if sent.to == child, case .deferral(let deferral) = sent.message { return deferral }
            return nil
        }
        #expect(Set(relayed.map(\.cluster)) == [fleet.cluster(0), fleet.cluster(1)])
        #expect(relayed.allSatisfy { $0.entries.allSatisfy(\.replacesScope) })
        #expect(pump.role(child, as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 14)
        // Its next hand-back is a full one, and the SQL node sees every row.
        let handBack = pump.sent.count
        pump.run(seconds: 10)
        let combine = pump.sent[handBack...].first { sent in
            if sent.to == child, case .combine = sent.message { return true }
            return false
        }
        if case .combine(let request)? = combine?.message { #expect(request.reset) } else { Issue.record("no combine request") }
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(14)]])
    }

    @Test func deferredTablesAreCombinedByAChildAndHandedBack() throws {
        var fleet = Fixtures.Fleet()
        fleet.deferred = [Fixtures.processes: "tla-child:0.0"]
        var pump = fleet.build()
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(12)]])
        let answer = try #require(pump.answer(fleet.sql, 1)).get()
        #expect(answer.completeness.tables.first?.machinesContributing == 4)
        #expect(answer.completeness.tables.first?.clustersContributing == 2)
        #expect(pump.sent.contains { if case .deferral = $0.message { $0.to == "tla-child:0.0" } else { false } })
        #expect(pump.sent.contains { if case .combine = $0.message { $0.to == "tla-child:0.0" } else { false } })
        #expect(pump.role("tla-child:0.0", as: AggregatorChild.self).table(Fixtures.processes)?.rowCount == 12)
        // Changes flow through the child as deltas.
        pump.publish(fleet.edge(0, 0), Fixtures.processes, Fixtures.rows(fleet.edge(0, 0), count: 4))
        let before = pump.sent.count
        pump.run(seconds: 10)
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 2) == [[.integer(13)]])
        let fromChild = pump.sent[before...].compactMap { sent -> GenerationUpdate? in
            if sent.from == "tla-child:0.0", case .update(let update) = sent.message { return update }
            return nil
        }
        #expect(fromChild.flatMap { $0.entries.flatMap(\.copies) }.allSatisfy { !$0.copy.isFull })
        // A cluster dropped at the TLA is left out by the child too.
        pump.partitioned.formUnion([fleet.proxy(1, 0), fleet.proxy(1, 1)])
        pump.advance(to: .seconds(230))
        pump.query(fleet.sql, 3, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 3) == [[.integer(7)]])
    }

    @Test func theCombinedNodeCollectsAndAnswers() throws {
        let fleet = Fixtures.Fleet()
        var pump = Pump()
        for c in 0..<2 {
            for m in 0..<2 {
                pump.add(fleet.edgeRole(c, m))
                pump.publish(fleet.edge(c, m), Fixtures.processes, Fixtures.rows(fleet.edge(c, m), count: 2))
            }
            pump.add(fleet.proxyRole(c, 0))
            pump.add(fleet.proxyRole(c, 1))
        }
        var query = fleet.queryConfiguration()
        query.prewarm = []
        pump.add(
            AggregatorQueryNode(
                id: "tla-sql:0",
                aggregator: fleet.tlaConfiguration(),
                query: query,
                evaluator: TinyEvaluator()
            )
        )
        pump.run(seconds: 25)
        pump.query("tla-sql:0", 1, "SELECT count(*) FROM processes")
        #expect(pump.answer("tla-sql:0", 1) == nil)  // on demand: arrives next generation
        pump.run(seconds: 10)
        #expect(try count(pump, "tla-sql:0", 1) == [[.integer(8)]])
        // Nothing between the halves goes over the network.
        #expect(!pump.sent.contains { $0.from == "tla-sql:0" && $0.to == "tla-sql:0" })
    }

    @Test func aReconnectedReceiverGetsTheFullStateInTheNextGeneration() throws {
        let fleet = Fixtures.Fleet()
        var pump = Self.running(fleet)
        // Nothing changes: without a reconnect, the proxy and the TLA send empty deltas.
        pump.deliver(fleet.proxy(0, 0), .peerUp(fleet.tla(0)))
        pump.deliver(fleet.tla(0), .peerUp(fleet.sql))
        let before = pump.sent.count
        pump.run(seconds: 10)
        func updates(from: NodeID, to: NodeID) -> [GenerationUpdate] {
            pump.sent[before...].compactMap { sent in
                if sent.from == from, sent.to == to, case .update(let update) = sent.message { return update }
                return nil
            }
        }
        let fromProxy = try #require(updates(from: fleet.proxy(0, 0), to: fleet.tla(0)).first)
        #expect(fromProxy.entries.allSatisfy { $0.replacesScope })
        #expect(fromProxy.entries.first?.copies.count == 2)
        let fromTLA = try #require(updates(from: fleet.tla(0), to: fleet.sql).first)
        #expect(fromTLA.entries.allSatisfy { $0.replacesScope })
        #expect(fromTLA.entries.first?.copies.count == 4)
        // And deltas again afterwards.
        let after = pump.sent.count
        pump.run(seconds: 10)
        let deltasOnly = pump.sent[after...].allSatisfy { sent in
            if case .update(let update) = sent.message { return update.entries.allSatisfy { $0.copies.isEmpty } }
            return true
        }
        #expect(deltasOnly)
    }

    @Test func aRestartedProxyWhoseResetIsLostResetsAgain() throws {
        var fleet = Fixtures.Fleet()
        fleet.tlaFailoverAfter = .seconds(30)
        var pump = fleet.build()
        pump.run(seconds: 25)
        // The proxy restarts empty; its first request resetting what one edge believes it holds is
        // lost, so that edge keeps sending deltas against rows the old proxy acknowledged (none,
        // since its rows do not change).
        pump.crash(fleet.proxy(0, 0))
        pump.advance(to: .seconds(28))
        var lostOne = false
        pump.loses = { from, to, message in
            if !lostOne, from == fleet.proxy(0, 0), to == fleet.edge(0, 1), case .request(let r) = message, r.reset {
                lostOne = true
                return true
            }
            return false
        }
        pump.restart(fleet.proxyRole(0, 0))
        // The proxy asks again until the edge's full state arrived: it holds every machine's rows
        // one generation later, well before the edge would start over on its own when the old
        // proxy's interest lapses (and never, in a fleet whose interest changes keep it alive).
        pump.advance(to: .seconds(55))
        #expect(lostOne)
        #expect(pump.role(fleet.proxy(0, 0), as: ClusterProxy.self).table(Fixtures.processes)?.rowCount == 6)
    }

    @Test func aRestartedProxyWarmsUpThenReplacesWhatTheTLAHeld() throws {
        var fleet = Fixtures.Fleet()
        fleet.tlaFailoverAfter = .seconds(30)
        var pump = fleet.build()
        pump.run(seconds: 25)
        pump.crash(fleet.proxy(0, 0))
        pump.advance(to: .seconds(28))
        let before = pump.sent.count
        pump.restart(fleet.proxyRole(0, 0))
        pump.advance(to: .seconds(55))
        // The edges were told to start over (reset) once the TLA's interest reached the new proxy,
        // and no more once their full state arrived.
        let resets = pump.sent[before...].filter { sent in
            if case .request(let request) = sent.message { return sent.from == fleet.proxy(0, 0) && request.reset }
            return false
        }
        #expect(Set(resets.map(\.to)) == [fleet.edge(0, 0), fleet.edge(0, 1)])
        #expect(resets.allSatisfy { $0.at <= .seconds(30) })
        // Nothing was sent to the TLA before the proxy knew every machine's full state.
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        let toTLA = pump.sent[before...].compactMap { sent -> GenerationUpdate? in
            if sent.from == fleet.proxy(0, 0), sent.to == fleet.tla(0), case .update(let update) = sent.message {
                return update
            }
            return nil
        }
        let first = try #require(toTLA.first?.entries.first)
        #expect(toTLA.first?.generation.number == 5)
        #expect(first.replacesScope)
        #expect(first.copies.count == 2 && first.copies.allSatisfy(\.copy.isFull))
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, fleet.sql, 1) == [[.integer(12)]])
        #expect(pump.counter("query.failovers") == 0)
    }
}
