import Testing

@testable import QueryCore

/// A TLA restarted while nothing is asked of it (found with `query-sim --seeds 259 --faults
/// mix,correlated,ondemand,shapes`: a fleet with one TLA and nothing prewarmed). The proxies still
/// hold the lease its earlier incarnation took and send it what changed since what that incarnation
/// acknowledged. Nothing wanted, those updates made every cluster count as synced (every wanted
/// table had come in full, vacuously), so when the SQL nodes asked again the TLA asked its proxies
/// without a reset: unchanged rows never came back and the TLA served the table without them for
/// good.
@Suite struct RestartWithoutInterestTests {
    typealias Fleet = Fixtures.Fleet

    @Test func aTLARestartedWithNothingWantedAsksForTheFullStateOnceATableIsWanted() throws {
        var fleet = Fleet()
        fleet.prewarm = []
        // One proxy per cluster (the TLA cannot fail over away from it while it wants nothing).
        var configuration = fleet.tlaConfiguration()
        configuration.pinnedProxies = Set((0..<fleet.clusters).map { fleet.proxy($0, 0) })
        var pump = fleet.build()
        pump.restart(Aggregator(id: fleet.tla(0), configuration: configuration))
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.run(seconds: 10)
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
        // Restarted just before a generation starts: the proxies' next updates reach it before the
        // SQL node asks it again. The rows do not change, so those updates carry no rows.
        pump.advance(to: .seconds(39))
        pump.crash(fleet.tla(0))
        pump.restart(Aggregator(id: fleet.tla(0), configuration: configuration))
        pump.run(seconds: 2)
        let restarted = pump.role(fleet.tla(0), as: Aggregator.self)
        #expect(restarted.table(Fixtures.processes)?.slices.isEmpty ?? true)
        // Nothing of the clusters' state is known yet: asked for a table, it asks them to reset.
        pump.run(seconds: 40)
        let tla = pump.role(fleet.tla(0), as: Aggregator.self)
        #expect(tla.table(Fixtures.processes)?.slices.count == 4)
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        pump.run(seconds: 10)
        #expect(try pump.answer(fleet.sql, 2)?.get().result.rows == [[.integer(12)]])
    }

    /// The bookkeeping itself: a source is synced only once some table was wanted and every wanted
    /// one came in full.
    @Test func aSourceIsNotSyncedByAnUpdateWhileNothingIsWanted() {
        var collector = Fixtures.tlaCollector(of: ["cluster:0"])
        var actions: [RoleAction] = []
        collector.heard("cluster:0", now: .seconds(1), into: &actions)
        collector.reported("cluster:0", generation: 1, inFull: [], wanted: [])
        #expect(!collector.isSynced("cluster:0"))
        collector.reported("cluster:0", generation: 2, inFull: ["a"], wanted: ["a"])
        #expect(collector.isSynced("cluster:0"))
    }
}
