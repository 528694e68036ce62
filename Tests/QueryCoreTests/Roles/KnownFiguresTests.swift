import Testing

@testable import QueryCore

/// Completeness never claims fewer machines or clusters known than a tier knows of: a table asked
/// for again counts the sources that have not sent it yet as known (found with the scenario
/// `Examples/scenarios/sole-tla-restart.json`, one TLA with `processes` deferred to a child: a
/// query of `processes` asked for again was answered from one machine, its completeness saying 1 of
/// 1 machines in 1 of 1 clusters of a fleet of 9 machines in 3 clusters).
@Suite struct KnownFiguresTests {
    typealias Fleet = Fixtures.Fleet

    /// The child knows only the clusters relayed to it; the TLA counts every cluster it sees.
    @Test func aDeferredTableCountsTheClustersItsChildHasNotHeard() throws {
        var fleet = Fleet()
        fleet.deferred = [Fixtures.processes: "tla-child:0.0"]
        var pump = fleet.build()
        // Cluster 1 never reaches the TLA.
        pump.partitioned = [fleet.proxy(1, 0), fleet.proxy(1, 1)]
        pump.run(seconds: 35)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.run(seconds: 10)
        let answer = try #require(try pump.answer(fleet.sql, 1)?.get())
        #expect(answer.result.rows == [[.integer(6)]])
        let figures = try #require(answer.completeness.tables.first)
        #expect(figures.machinesContributing == 2 && figures.clustersContributing == 1)
        #expect(figures.clustersKnown == 2)
    }

    /// A proxy asked for a table again counts the machines that have not resent it as known.
    @Test func aTableAskedForAgainCountsTheMachinesThatHaveNotResentIt() throws {
        var (fleet, pump) = try Fixtures.usedOnceOnDemand(idleExpiry: .seconds(15))
        // Interest lapses at every tier, and every tier lets the table go.
        pump.run(seconds: 95)
        #expect(pump.role(fleet.proxy(0, 0), as: ClusterProxy.self).table(Fixtures.processes) == nil)
        // Asked for again; one machine's rows do not get through.
        let silent = fleet.edge(0, 1)
        pump.loses = { from, _, message in
            guard from == silent, case .update(let update) = message else { return false }
            return update.entries.contains { $0.table == Fixtures.processes }
        }
        let before = pump.sent.count
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        pump.run(seconds: 15)
        let entries = pump.sent[before...].flatMap { sent -> [TableEntry] in
            guard sent.from.rawValue.hasPrefix("proxy:0."), case .update(let update) = sent.message else { return [] }
            return update.entries.filter { $0.table == Fixtures.processes }
        }
        #expect(entries.contains { $0.completeness.machinesContributing == 1 })
        for entry in entries {
            #expect(entry.completeness.machinesContributing <= 1)
            #expect(entry.completeness.machinesKnown == 2)
        }
        let answer = try #require(try pump.answer(fleet.sql, 2)?.get())
        #expect(answer.result.rows == [[.integer(9)]])
        let figures = try #require(answer.completeness.tables.first)
        #expect(figures.machinesContributing == 3 && figures.machinesKnown == 4)
    }
}

extension KnownFiguresTests {
    /// A table only some machines publish, asked for again: a machine whose regular update does not
    /// list it does not owe it, so the figures do not count it as known for good.
    @Test func aMachineThatDoesNotPublishATableAskedForAgainStopsCountingAsKnown() throws {
        var fleet = Fleet()
        fleet.idleExpiry = .seconds(15)
        let other: TableName = "other"
        var pump = fleet.build()
        pump.publish(fleet.edge(0, 0), other, Fixtures.rows(fleet.edge(0, 0), count: 2))
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM other")
        pump.run(seconds: 10)
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(2)]])
        pump.run(seconds: 95)
        #expect(pump.role(fleet.proxy(0, 0), as: ClusterProxy.self).table(other) == nil)
        let before = pump.sent.count
        pump.query(fleet.sql, 2, "SELECT count(*) FROM other")
        pump.run(seconds: 30)
        let entries = pump.sent[before...].flatMap { sent -> [TableEntry] in
            guard sent.from.rawValue.hasPrefix("proxy:0."), sent.to == fleet.tla(0), case .update(let update) = sent.message
            else { return [] }
            return update.entries.filter { $0.table == other }
        }
        let last = try #require(entries.last)
        #expect(last.completeness.machinesContributing == 1 && last.completeness.machinesKnown == 1)
    }

    /// A machine dropped while `processes` was not wanted (another table was, so its silence
    /// counted) is named as dropped in the figures of `processes` asked for again, not left out of
    /// them. (A machine asked for nothing at all is not dropped: see
    /// `CompletenessAndFaultTests.aSourceAskedForNothingIsNotDropped`.)
    @Test func aMachineDroppedWhileItsTableWasNotWantedIsNamedWhenItIsAskedForAgain() throws {
        // `uptime` is wanted all along (no machine publishes it).
        var (fleet, pump) = try Fixtures.usedOnceOnDemand(idleExpiry: .seconds(15), prewarm: ["uptime"])
        // Edge 0.1 falls silent once `processes` is let go, and is dropped for it meanwhile.
        let silent = fleet.edge(0, 1)
        pump.loses = { from, _, message in
            guard from == silent, case .update = message else { return false }
            return true
        }
        pump.run(seconds: 300)
        #expect(pump.role(fleet.proxy(0, 0), as: ClusterProxy.self).droppedMachines.map(\.node) == [silent])
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        pump.run(seconds: 20)
        let answer = try #require(try pump.answer(fleet.sql, 2)?.get())
        let figures = try #require(answer.completeness.tables.first)
        #expect(answer.result.rows == [[.integer(9)]])
        #expect(figures.machinesContributing == 3 && figures.machinesKnown == 4, "\(figures)")
        #expect(figures.dropped.keys.sorted() == [silent], "\(figures)")
    }
}
