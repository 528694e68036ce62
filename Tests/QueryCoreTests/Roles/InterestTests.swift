import Testing

@testable import QueryCore

/// On-demand tables, query timeouts, interest expiry, prewarm and views at the SQL node.
@Suite struct InterestTests {
    @Test func prewarmedTablesArePresentBeforeAnyQuery() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build()
        pump.run(seconds: 15)
        let node = pump.role(fleet.sql, as: QueryNode.self)
        #expect(node.snapshot.table(Fixtures.processes)?.rowCount == 12)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
    }

    @Test func aMissingTableIsRequestedAndTheQueryAnsweredInAFutureGeneration() throws {
        var fleet = Fixtures.Fleet()
        fleet.prewarm = []
        var pump = fleet.build()
        pump.run(seconds: 25)
        #expect(pump.role(fleet.sql, as: QueryNode.self).snapshot.table(Fixtures.processes) == nil)
        let before = pump.sent.count
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(pump.answer(fleet.sql, 1) == nil)
        #expect(pump.role(fleet.sql, as: QueryNode.self).waitingQueries == [QueryID(1)])
        // Interest travels up at once, tier by tier…
        let requests = pump.sent[before...].filter { if case .request = $0.message { true } else { false } }
        #expect(requests.contains { $0.from == fleet.sql } && requests.contains { $0.to == fleet.edge(1, 1) })
        // …but no table data moves out of turn.
        #expect(!pump.sent[before...].contains { if case .update = $0.message { true } else { false } })
        pump.run(seconds: 10)
        let answered = try #require(pump.answers.last { $0.id == QueryID(1) })
        #expect(answered.at == .seconds(30))
        let answer = try answered.result.get()
        #expect(answer.result.rows == [[.integer(12)]])
        #expect(answer.generation.number == 4)  // asked in generation 3, answered from generation 4
    }

    @Test func aQueryForATableNobodyPublishesTimesOutWithAClearError() throws {
        var fleet = Fixtures.Fleet()
        fleet.queryTimeout = .seconds(20)
        var pump = fleet.build()
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM nothing_here")
        pump.run(seconds: 19)
        #expect(pump.answer(fleet.sql, 1) == nil)
        pump.run(seconds: 2)
        let failure = try #require(pump.answers.last { $0.id == QueryID(1) })
        #expect(failure.at == .seconds(45))
        guard case .failure(let error) = failure.result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.contains("'nothing_here'"))
        #expect(error.message.contains("tla:0"))
        #expect(error.message.contains("is any machine publishing them?"), "\(error.message)")
    }

    /// When no TLA was heard since the request, the timeout says so instead of suggesting that
    /// no machine publishes the table.
    @Test func aTimeoutWithEveryTLACutOffSaysSo() throws {
        var fleet = Fixtures.Fleet()
        fleet.tlas = 2
        fleet.queryTimeout = .seconds(20)
        var pump = fleet.build()
        pump.run(seconds: 25)
        pump.partitioned.formUnion([fleet.tla(0), fleet.tla(1)])
        pump.query(fleet.sql, 1, "SELECT count(*) FROM nothing_here")
        pump.run(seconds: 21)
        let failure = try #require(pump.answers.last { $0.id == QueryID(1) })
        guard case .failure(let error) = failure.result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.contains("no TLA has been heard since"), "\(error.message)")
        #expect(!error.message.contains("publishing"), "\(error.message)")
    }

    /// A fleet with two TLAs, nothing prewarmed and interest lapsing after 30 s, run to t=25.
    static func onDemandWithTwoTLAs() -> (Fixtures.Fleet, Pump) {
        var fleet = Fixtures.Fleet()
        fleet.prewarm = []
        fleet.tlas = 2
        fleet.idleExpiry = .seconds(30)
        var pump = fleet.build()
        pump.run(seconds: 25)
        return (fleet, pump)
    }

    /// A SQL node that wants nothing hears nothing from its TLA (no table, no update); that silence
    /// is no failure. It used to fail over between its TLAs every `failoverAfter` (a false failover
    /// counted and logged each time) until it wanted a table again.
    @Test func aSQLNodeThatWantsNothingKeepsItsTLA() throws {
        let (fleet, started) = Self.onDemandWithTwoTLAs()
        var pump = started
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(pump.role(fleet.sql, as: QueryNode.self).interestSince(Fixtures.processes) == .seconds(25))
        pump.run(seconds: 10)
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
        // Interest lapses after t=55; nothing is asked of either TLA for a long while.
        pump.advance(to: .seconds(200))
        var node = pump.role(fleet.sql, as: QueryNode.self)
        #expect(node.interest.isEmpty)
        #expect(node.interestSince(Fixtures.processes) == nil)
        #expect(node.activeAggregator == fleet.tla(0))
        #expect(pump.counter("query.failovers", node: fleet.sql) == 0)
        // Wanted again: the same TLA answers (its silence until now counted for nothing).
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        #expect(pump.role(fleet.sql, as: QueryNode.self).interestSince(Fixtures.processes) == .seconds(200))
        pump.run(seconds: 20)
        #expect(try pump.answer(fleet.sql, 2)?.get().result.rows == [[.integer(12)]])
        node = pump.role(fleet.sql, as: QueryNode.self)
        #expect(node.activeAggregator == fleet.tla(0))
        #expect(pump.counter("query.failovers", node: fleet.sql) == 0)
    }

    /// A table let go and wanted again never goes back in version. The SQL node fails over
    /// meanwhile to a TLA that missed a cluster's newer rows: it leaves that cluster's older rows
    /// out until the TLA has caught up. (Seed 383 of `mix,correlated,ondemand` served rows a
    /// generation older than those served before the table was let go.)
    @Test func aTableWantedAgainNeverGoesBackInVersion() throws {
        let (fleet, started) = Self.onDemandWithTwoTLAs()
        var pump = started
        // Used until t=55: both TLAs hold every machine's rows by then.
        for (n, t) in [25.0, 35, 45, 55].enumerated() {
            pump.advance(to: .seconds(t))
            pump.query(fleet.sql, UInt64(n + 1), "SELECT count(*) FROM processes")
        }
        pump.run(seconds: 1)
        #expect(try pump.answer(fleet.sql, 4)?.get().result.rows == [[.integer(12)]])
        func versions(_ pump: Pump) -> [NodeID: Version] {
            let table = pump.role(fleet.sql, as: QueryNode.self).snapshot.table(Fixtures.processes)
            var versions: [NodeID: Version] = [:]
            for m in 0..<fleet.machines {
                versions[fleet.edge(1, m)] = table?.slices[fleet.edge(1, m)]?.version
            }
            return versions
        }
        let before = versions(pump)
        // From t=56 tla:1 hears nothing from cluster 1's proxies, and cluster 1's machines change.
        let lagging: Set<NodeID> = [fleet.proxy(1, 0), fleet.proxy(1, 1)]
        pump.loses = { from, to, _ in to == fleet.tla(1) && lagging.contains(from) }
        for m in 0..<fleet.machines {
            pump.publish(fleet.edge(1, m), Fixtures.processes, Fixtures.rows(fleet.edge(1, m), count: 3, bump: 1))
        }
        pump.advance(to: .seconds(75))
        let served = versions(pump)
        for m in 0..<fleet.machines {
            let edge = fleet.edge(1, m)
            #expect(served[edge]! > before[edge]!, "tla:0 brought \(edge)'s newer rows")
        }
        // Unused since t=55: the SQL node lets the table go; then tla:0's connection drops.
        pump.advance(to: .seconds(100))
        #expect(pump.role(fleet.sql, as: QueryNode.self).snapshot.table(Fixtures.processes) == nil)
        pump.deliver(fleet.sql, .peerDown(fleet.tla(0)))
        pump.crash(fleet.tla(0))
        #expect(pump.role(fleet.sql, as: QueryNode.self).activeAggregator == fleet.tla(1))
        // Wanted again (and kept wanted), from tla:1, which holds cluster 1's older rows: those are
        // never served.
        for second in 0..<30 {
            if second % 10 == 0 { pump.query(fleet.sql, UInt64(10 + second), "SELECT count(*) FROM processes") }
            pump.run(seconds: 1)
            for (edge, version) in versions(pump) {
                #expect(version >= served[edge]!, "\(edge) went back from \(served[edge]!) to \(version) at \(pump.now)")
            }
        }
        #expect(try pump.answer(fleet.sql, 10)?.get().result.rows == [[.integer(6)]])
        #expect(pump.counter("query.stale_rejections", node: fleet.sql) > 0)
        // Once tla:1 hears cluster 1 again, its rows come back, at the version served before.
        pump.loses = nil
        for n in 0..<4 {
            pump.query(fleet.sql, UInt64(50 + n), "SELECT count(*) FROM processes")
            pump.run(seconds: 10)
        }
        #expect(versions(pump) == served)
        #expect(try pump.answer(fleet.sql, 53)?.get().result.rows == [[.integer(12)]])
    }

    @Test func unusedInterestExpiresAndTheTableStopsFlowing() throws {
        let (fleet, started) = try Fixtures.usedOnceOnDemand(idleExpiry: .seconds(30))
        var pump = started
        // Used again at t=45: the clock restarts.
        pump.advance(to: .seconds(45))
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        pump.advance(to: .seconds(70))
        #expect(pump.role(fleet.sql, as: QueryNode.self).interest == [Fixtures.processes])
        // Unused since t=45: gone after the SQL node's slot past t=75, and the TLA's lease lapses after that.
        pump.advance(to: .seconds(80))
        let node = pump.role(fleet.sql, as: QueryNode.self)
        #expect(node.interest.isEmpty)
        #expect(node.snapshot.table(Fixtures.processes) == nil)
        pump.advance(to: .seconds(160))
        let before = pump.sent.count
        pump.run(seconds: 20)
        let late = pump.sent[before...].filter { sent in
            if case .update(let update) = sent.message {
                return update.entries.contains { $0.table == Fixtures.processes }
            }
            return false
        }
        #expect(late.isEmpty)
    }

    /// A table whose interest lapsed at the SQL node while the TLA's lease on it had not is asked
    /// for again: the TLA still believes its deltas acknowledged, so the SQL node must ask for the
    /// table in full and answer only from that (it used to answer from deltas applied to nothing:
    /// no rows, while the completeness said every machine contributed).
    @Test func aTableUsedAgainRightAfterItsInterestLapsedComesBackInFull() throws {
        let (fleet, started) = try Fixtures.usedOnceOnDemand(idleExpiry: .seconds(30))
        var pump = started
        // Unused since t=25: forgotten at the SQL node's slot past t=55; the TLA's lease runs on.
        pump.advance(to: .seconds(62))
        #expect(pump.role(fleet.sql, as: QueryNode.self).snapshot.table(Fixtures.processes) == nil)
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        let resyncs = pump.sent.filter { sent in
            if case .resync(let request) = sent.message {
                return sent.from == fleet.sql && request.table == Fixtures.processes && request.origins.isEmpty
            }
            return false
        }
        #expect(!resyncs.isEmpty)
        pump.run(seconds: 30)
        let answered = try #require(pump.answers.last { $0.id == QueryID(2) })
        let answer = try answered.result.get()
        #expect(answer.result.rows == [[.integer(12)]])
        let figures = try #require(answer.completeness.tables.first)
        #expect(figures.machinesContributing == 4)
        #expect(pump.role(fleet.sql, as: QueryNode.self).snapshot.table(Fixtures.processes)?.slices.count == 4)
    }

    /// Interest that lapses at every tier and returns long after: each tier let go of the table,
    /// so the rows served again are the machines' current ones, confirmed afresh (they used to be
    /// the rows held from before, with their old publish times, until the next change).
    @Test func aTableWantedAgainAfterEveryTierLetItGoIsServedFresh() throws {
        let (fleet, started) = try Fixtures.usedOnceOnDemand(idleExpiry: .seconds(20))
        var pump = started
        // Unused: the interest lapses at the SQL node, then at the TLA, the proxies and the edges.
        pump.advance(to: .seconds(200))
        for c in 0..<fleet.clusters {
            #expect(pump.role(fleet.proxy(c, 0), as: ClusterProxy.self).table(Fixtures.processes) == nil)
        }
        #expect(pump.role(fleet.tla(0), as: Aggregator.self).table(Fixtures.processes) == nil)
        // Meanwhile one machine's rows changed.
        pump.publish(fleet.edge(0, 0), Fixtures.processes, Fixtures.rows(fleet.edge(0, 0), count: 5))
        pump.advance(to: .seconds(205))
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        pump.run(seconds: 40)
        let answer = try #require(pump.answers.last { $0.id == QueryID(2) }).result.get()
        #expect(answer.result.rows == [[.integer(14)]])
    }

    /// A machine whose entry confirms rows the proxy does not hold (it believes them acknowledged:
    /// the proxy let go of the table, say) is asked for them in full.
    @Test func aProxyAsksForRowsAMachineConfirmsButItDoesNotHold() throws {
        let schedule = GenerationSchedule(interval: .seconds(10))
        var proxy = ClusterProxy(
            id: "proxy:0.0",
            configuration: .init(cluster: "cluster:0", machines: ["edge:0.0", "edge:0.1"], schedule: schedule))
        _ = proxy.handle(.started, now: .zero)
        let rows = Fixtures.rows("edge:0.0", count: 2)
        func update(_ copies: [OriginCopy]) -> Message {
            .update(
                GenerationUpdate(
                    generation: schedule.generation(2),
                    entries: [TableEntry(table: Fixtures.processes, copies: copies, completeness: TableCompleteness())]))
        }
        _ = proxy.handle(
            .received(
                update([OriginCopy(origin: "edge:0.0", copy: .full(version: 1, segment: rows), publishedAt: .seconds(10))]),
                from: "edge:0.0"),
            now: .seconds(10))
        // edge:0.0 is held: its empty entry only confirms its rows.
        let quiet = proxy.handle(.received(update([]), from: "edge:0.0"), now: .seconds(11))
        #expect(!quiet.contains { if case .send(.resync, _) = $0 { true } else { false } })
        // edge:0.1 never sent its rows here.
        let actions = proxy.handle(.received(update([]), from: "edge:0.1"), now: .seconds(12))
        let resyncs = actions.compactMap { action -> (ResyncRequest, NodeID)? in
            if case .send(.resync(let request), let to) = action { (request, to) } else { nil }
        }
        #expect(resyncs.count == 1)
        #expect(resyncs.first?.1 == "edge:0.1")
        #expect(resyncs.first?.0.table == Fixtures.processes && resyncs.first?.0.origins == ["edge:0.1"])
    }

    @Test func viewsAreComputedOncePerGeneration() throws {
        let fleet = Fixtures.Fleet()
        let schedule = fleet.schedule
        var pump = fleet.build()
        // Replace the SQL node with one that has a view.
        var configuration = fleet.queryConfiguration()
        configuration.views = ["small": "SELECT * FROM processes WHERE rss = 100"]
        pump.restart(QueryNode(id: fleet.sql, configuration: configuration, evaluator: TinyEvaluator()))
        pump.advance(to: schedule.slot(.query, of: 2))
        pump.query(fleet.sql, 1, "SELECT count(*) FROM small")
        pump.query(fleet.sql, 2, "SELECT process_name FROM small")
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(4)]])
        #expect(try pump.answer(fleet.sql, 2)?.get().result.rows.count == 4)
        #expect(pump.counter("query.views_computed") == 1)
        pump.run(seconds: 10)
        pump.query(fleet.sql, 3, "SELECT count(*) FROM small")
        #expect(pump.counter("query.views_computed") == 2)
        // The completeness of a view's answer is that of its base table.
        #expect(try pump.answer(fleet.sql, 3)?.get().completeness.tables.map(\.table) == [Fixtures.processes])
    }

    @Test func badSQLFailsAtOnce() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build()
        pump.query(fleet.sql, 1, "DELETE everything")
        guard case .failure(let error)? = pump.answer(fleet.sql, 1) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .syntaxError)
    }
}
