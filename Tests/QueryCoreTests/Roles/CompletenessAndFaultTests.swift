import Testing

@testable import QueryCore

/// Completeness waits, drop-after-silence and return, the version rule and resync, at the roles.
@Suite struct CompletenessAndFaultTests {
    let schedule = GenerationSchedule(interval: .seconds(10))
    let table = Fixtures.processes

    func update(_ number: UInt64, _ origin: NodeID, _ copy: TableCopy, at time: Instant = .zero) -> Message {
        let entry = TableEntry(
            table: table,
            copies: [OriginCopy(origin: origin, copy: copy, publishedAt: time)],
            replacesScope: true,
            completeness: TableCompleteness(
                machinesContributing: 1,
                machinesKnown: 1,
                oldestPublish: time,
                newestPublish: time
            )
        )
        return .update(GenerationUpdate(generation: schedule.generation(number), entries: [entry]))
    }

    func updatesSent(_ actions: [RoleAction], to peer: NodeID) -> [GenerationUpdate] {
        actions.compactMap { action in
            if case .send(.update(let update), let to) = action, to == peer { return update }
            return nil
        }
    }

    func proxy(machines: [NodeID]) -> ClusterProxy {
        var proxy = ClusterProxy(
            id: "proxy:0.0",
            configuration: .init(cluster: "cluster:0", machines: machines, schedule: schedule)
        )
        _ = proxy.handle(.started, now: .zero)
        _ = proxy.handle(
            .received(.request(TableRequest(tables: [table], lease: .seconds(30))), from: "tla:0"),
            now: .zero
        )
        return proxy
    }

    @Test func proxyWaitsForEveryMachineThenAtMostUntilItsSlot() {
        var proxy = proxy(machines: ["edge:0.0", "edge:0.1"])
        let a = Fixtures.rows("edge:0.0", count: 2), b = Fixtures.rows("edge:0.1", count: 3)
        // Generation 2: the proxy sends only once both machines have reported.
        var actions = proxy.handle(
            .received(update(2, "edge:0.0", .full(version: 1, segment: a)), from: "edge:0.0"),
            now: .seconds(10)
        )
        #expect(updatesSent(actions, to: "tla:0").isEmpty)
        actions = proxy.handle(
            .received(update(2, "edge:0.1", .full(version: 1, segment: b)), from: "edge:0.1"),
            now: .seconds(10.1)
        )
        let sent = updatesSent(actions, to: "tla:0")
        #expect(sent.count == 1 && sent[0].generation.number == 2)
        #expect(sent[0].entries[0].copies.count == 2)
        #expect(sent[0].entries[0].completeness.machinesContributing == 2)
        // Generation 3: one machine is silent; the proxy sends at its slot t + δ1 without it.
        _ = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: .seconds(20))
        actions = proxy.handle(
            .received(update(3, "edge:0.0", .full(version: 2, segment: a)), from: "edge:0.0"),
            now: .seconds(20)
        )
        #expect(updatesSent(actions, to: "tla:0").isEmpty)
        actions = proxy.handle(.timerFired(ClusterProxy.deadlineTimer), now: schedule.slot(.proxy, of: 3))
        let late = updatesSent(actions, to: "tla:0")
        #expect(late.count == 1 && late[0].generation.number == 3)
        // The silent machine is not dropped yet (silent 12.5 s < 180 s): its rows are still served.
        #expect(late[0].entries[0].completeness.machinesContributing == 2)
        #expect(proxy.droppedMachines.isEmpty)
    }

    @Test func olderCopiesAreNeverApplied() {
        var proxy = proxy(machines: ["edge:0.0"])
        let rows = Fixtures.rows("edge:0.0", count: 2)
        _ = proxy.handle(
            .received(update(2, "edge:0.0", .full(version: 5, segment: rows)), from: "edge:0.0"),
            now: .seconds(10)
        )
        let actions = proxy.handle(
            .received(
                update(2, "edge:0.0", .full(version: 3, segment: Fixtures.rows("edge:0.0", count: 7))),
                from: "edge:0.0"
            ),
            now: .seconds(11)
        )
        #expect(proxy.table(table)?.version(of: "edge:0.0") == 5)
        #expect(proxy.table(table)?.rowCount == 2)
        #expect(actions.contains { if case .metric(let m) = $0 { m.label == "query.stale_rejections" } else { false } })
    }

    @Test func aDeltaOnAnotherBaseIsResyncedWithAFullCopy() throws {
        let fleet = Fixtures.Fleet(clusters: 1, machines: 2)
        var pump = fleet.build(rowsPerMachine: 3)
        pump.run(seconds: 15)
        let edge = fleet.edge(0, 1), proxy = fleet.proxy(0, 0)
        let held = try #require(pump.role(proxy, as: ClusterProxy.self).table(table)?.version(of: edge))
        // A delta whose base the proxy does not hold arrives (say, after a lost update).
        let bogus = TableCopy.delta(
            base: held - 1,
            version: held + 1,
            upserts: Fixtures.rows(edge, count: 1, bump: 99),
            deletes: .empty(Fixtures.schema.deleteSchema)
        )
        let before = pump.sent.count
        pump.deliver(proxy, .received(update(2, edge, bogus), from: edge))
        let after = pump.sent[before...]
        #expect(
            after.contains {
                $0.from == proxy && $0.to == edge && { if case .resync = $0.message { true } else { false } }($0)
            }
        )
        // The edge answers at once with a full copy of what it holds; the proxy keeps the real rows.
        let reply = after.first { $0.from == edge && $0.to == proxy }
        if case .update(let update)? = reply?.message {
            #expect(update.entries.first?.copies.first?.copy.isFull == true)
        } else {
            Issue.record("no resync reply")
        }
        let table = try #require(pump.role(proxy, as: ClusterProxy.self).table(table))
        #expect(table.version(of: edge) == held)
        #expect(table.slices[edge]?.segment.rowCount == 3)
        #expect(pump.counter("query.resyncs") >= 2)
    }

    @Test func aSilentMachineIsDroppedAfterThreeMinutesAndReturns() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build(rowsPerMachine: 3)
        pump.run(seconds: 25)
        let silent = fleet.edge(0, 0)
        pump.partitioned.insert(silent)
        // Still served (stale) before dropAfter…
        pump.advance(to: .seconds(195))
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
        // …gone once it has been silent for 180 s (last heard at t=20, dropped at t=200).
        pump.advance(to: .seconds(205))
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        let dropped = try #require(pump.answer(fleet.sql, 2)).get()
        #expect(dropped.result.rows == [[.integer(9)]])
        let figures = try #require(dropped.completeness.tables.first)
        #expect(figures.machinesContributing == 3 && figures.machinesKnown == 4)
        #expect(figures.dropped == [silent: .seconds(200)])
        #expect(pump.counter("query.drops") == 2)  // both proxies of its cluster
        // It comes back: its rows return within a generation or two.
        pump.partitioned.remove(silent)
        pump.advance(to: .seconds(225))
        pump.query(fleet.sql, 3, "SELECT count(*) FROM processes")
        let back = try #require(pump.answer(fleet.sql, 3)).get()
        #expect(back.result.rows == [[.integer(12)]])
        #expect(back.completeness.tables.first?.dropped.isEmpty == true)
        #expect(pump.counter("query.returns") >= 1)
    }

    @Test func aSilentClusterIsDroppedAtTheTLA() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build(rowsPerMachine: 3)
        pump.run(seconds: 25)
        pump.partitioned.formUnion([fleet.proxy(1, 0), fleet.proxy(1, 1)])
        pump.advance(to: .seconds(215))
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        let answer = try #require(pump.answer(fleet.sql, 1)).get()
        #expect(answer.result.rows == [[.integer(6)]])
        let figures = try #require(answer.completeness.tables.first)
        #expect(figures.clustersContributing == 1 && figures.clustersKnown == 2)
        #expect(figures.dropped.keys.contains(fleet.cluster(1)))
        pump.partitioned.removeAll()
        pump.advance(to: .seconds(245))
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        #expect(try pump.answer(fleet.sql, 2)?.get().result.rows == [[.integer(12)]])
    }

    /// ``Fixtures/usedOnceOnDemand(idleExpiry:prewarm:configure:)`` with a TLA `dropAfter` of 60 s
    /// and `idleExpiry` 30 s; then, at t=35, cluster 1's proxies are cut off.
    func processesAskedOnceThenClusterOneCut(prewarm: [TableName]) throws -> (Fixtures.Fleet, Pump) {
        var (fleet, pump) = try Fixtures.usedOnceOnDemand(idleExpiry: .seconds(30), prewarm: prewarm) {
            $0.tlaDropAfter = .seconds(60)
        }
        pump.partitioned.formUnion([fleet.proxy(1, 0), fleet.proxy(1, 1)])
        return (fleet, pump)
    }

    /// A source asked for nothing sends nothing, and is not silent for that: while no table is
    /// wanted no proxy drops its machines and no TLA its clusters (nor fails over between proxies),
    /// so the first table wanted again comes in the next generation from every cluster. Silence
    /// kept while asked is not forgiven by a lapse of interest: it counts on when asking resumes.
    @Test func aSourceAskedForNothingIsNotDropped() throws {
        // Cluster 1 goes silent at t=35, 20 s before interest lapses at t=55; nothing is wanted
        // until t=300.
        var (fleet, pump) = try processesAskedOnceThenClusterOneCut(prewarm: [])
        pump.advance(to: .seconds(300))
        let tla = pump.role(fleet.tla(0), as: Aggregator.self)
        #expect(tla.droppedClusters.isEmpty, "\(tla.droppedClusters)")
        #expect(tla.activeProxy(of: fleet.cluster(0)) == fleet.proxy(0, 0))
        #expect(pump.role(fleet.proxy(0, 0), as: ClusterProxy.self).droppedMachines.isEmpty)
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        pump.run(seconds: 15)
        let answer = try #require(try pump.answer(fleet.sql, 2)?.get(), "not answered in the next generation")
        #expect(answer.result.rows == [[.integer(6)]])
        let figures = try #require(answer.completeness.tables.first)
        #expect(figures.clustersContributing == 1 && figures.clustersKnown == 2, "\(figures)")
        // Its silence while asked (from t=35 until the TLA's interest lease ran out) counts on from
        // t=300: it is dropped well before 60 s more have passed.
        pump.advance(to: .seconds(352))
        #expect(pump.role(fleet.tla(0), as: Aggregator.self).droppedClusters.map(\.node) == [fleet.cluster(1)])
    }

    /// A dropped cluster is named in the completeness of a table asked for after its drop, or let go
    /// and asked for again: the TLA does not ask a dropped cluster, so it has no figures of the
    /// table from it. Answers used to say every known cluster contributed, leaving it out.
    @Test func aClusterDroppedBeforeATableIsAskedForIsNamedAsDropped() throws {
        // Some table (one no machine publishes) is wanted all along, so the clusters are asked for
        // something and their silence counts while `processes` is let go (a cluster asked for
        // nothing is not silent: see `aSourceAskedForNothingIsNotDropped`). Cluster 1 goes silent
        // at t=35 and is dropped at the TLA by t=100; interest lapsed at t=55.
        var (fleet, pump) = try processesAskedOnceThenClusterOneCut(prewarm: ["uptime"])
        pump.advance(to: .seconds(120))
        for (id, sql) in [(2, "SELECT count(*) FROM processes"), (3, "SELECT count(*) FROM software")] {
            if sql.hasSuffix("software") {
                for m in 0..<fleet.machines {
                    pump.publish(fleet.edge(0, m), "software", Fixtures.rows(fleet.edge(0, m), count: 1))
                }
            }
            pump.query(fleet.sql, UInt64(id), sql)
            pump.run(seconds: 20)
            let answer = try pump.answer(fleet.sql, UInt64(id))?.get()
            #expect(answer?.result.rows == [[.integer(id == 2 ? 6 : 2)]])
            let figures = try #require(answer?.completeness.tables.first, "\(sql) was not answered")
            #expect(figures.clustersContributing == 1 && figures.clustersKnown == 2, "\(sql): \(figures)")
            #expect(figures.dropped.keys.contains(fleet.cluster(1)), "\(sql): \(figures)")
        }
        pump.partitioned.removeAll()
        pump.advance(to: .seconds(200))
        pump.query(fleet.sql, 4, "SELECT count(*) FROM processes")
        pump.run(seconds: 20)
        let back = try pump.answer(fleet.sql, 4)?.get()
        #expect(back?.result.rows == [[.integer(12)]])
        #expect(back?.completeness.tables.first?.dropped.isEmpty == true)
    }

    /// A machine dropped while its rows of a table were held is still named as dropped when every
    /// tier let the table go and it is asked for again (its proxies do not ask a dropped machine).
    @Test func aMachineDroppedBeforeItsTableWasLetGoIsNamedWhenItIsAskedForAgain() throws {
        var fleet = Fixtures.Fleet()
        fleet.prewarm = []
        fleet.idleExpiry = .seconds(30)
        var pump = fleet.build(rowsPerMachine: 3)
        pump.run(seconds: 25)
        // Used every 10 s until t=235; edge:1.1 goes silent at t=35 and is dropped after 180 s.
        var id: UInt64 = 0
        for t in stride(from: 25.0, through: 235, by: 10) {
            pump.advance(to: .seconds(t))
            if t == 35 { pump.partitioned.insert(fleet.edge(1, 1)) }
            id += 1
            pump.query(fleet.sql, id, "SELECT count(*) FROM processes")
        }
        pump.run(seconds: 1)
        let dropped = try #require(pump.answer(fleet.sql, id)?.get().completeness.tables.first)
        #expect(dropped.dropped.keys.contains(fleet.edge(1, 1)) && dropped.machinesKnown == 4, "\(dropped)")
        // Unused from t=235: every tier lets processes go; asked for again at t=400.
        pump.advance(to: .seconds(400))
        pump.query(fleet.sql, 100, "SELECT count(*) FROM processes")
        pump.run(seconds: 20)
        let answer = try pump.answer(fleet.sql, 100)?.get()
        #expect(answer?.result.rows == [[.integer(9)]])
        let figures = try #require(answer?.completeness.tables.first, "not answered")
        #expect(figures.machinesContributing == 3 && figures.machinesKnown == 4, "\(figures)")
        #expect(figures.dropped.keys.contains(fleet.edge(1, 1)), "\(figures)")
    }

    @Test func sourcedTablesApplyAllOrNothing() throws {
        let machines: TableName = "machines"
        let schema = try Schema([("machine_id", .text), ("cluster", .text)], key: ["machine_id"])
        var proxy = ClusterProxy(
            id: "proxy:0.0",
            configuration: .init(
                cluster: "cluster:0",
                machines: ["source:0"],
                schedule: schedule,
                sourcedTables: [machines]
            )
        )
        _ = proxy.handle(.started, now: .zero)
        let a = try Segment(schema: schema, rows: [[.text("m1"), .text("c0")]])
        let b = try Segment(schema: schema, rows: [[.text("m2"), .text("c0")]])
        func entry(_ copies: [OriginCopy]) -> Message {
            .update(
                GenerationUpdate(
                    generation: schedule.generation(2),
                    entries: [
                        TableEntry(
                            table: machines,
                            copies: copies,
                            replacesScope: true,
                            completeness: TableCompleteness()
                        )
                    ]
                )
            )
        }
        _ = proxy.handle(
            .received(
                entry([
                    OriginCopy(origin: "m1", copy: .full(version: 1, segment: a), publishedAt: .zero),
                    OriginCopy(origin: "m2", copy: .full(version: 1, segment: b), publishedAt: .zero),
                ]),
                from: "source:0"
            ),
            now: .seconds(10)
        )
        #expect(proxy.table(machines)?.rowCount == 2)
        // One good copy and one delta on a base the proxy does not hold: neither is applied.
        let bad = TableCopy.delta(base: 7, version: 9, upserts: b, deletes: .empty(schema.deleteSchema))
        let actions = proxy.handle(
            .received(
                entry([
                    OriginCopy(origin: "m1", copy: .full(version: 2, segment: b), publishedAt: .zero),
                    OriginCopy(origin: "m2", copy: bad, publishedAt: .zero),
                ]),
                from: "source:0"
            ),
            now: .seconds(20)
        )
        #expect(proxy.table(machines)?.version(of: "m1") == 1)
        #expect(proxy.table(machines)?.version(of: "m2") == 1)
        let resync = actions.compactMap { if case .send(.resync(let r), _) = $0 { r } else { nil } }
        #expect(resync.map(\.origins) == [["m1", "m2"]])
    }
}
