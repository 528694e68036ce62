import Testing

@testable import QueryCore

/// A proxy every TLA takes for a standby applies what its machines send (to be ready for a
/// failover) but keeps no history to diff from: its rows are the active proxy's, and a TLA failing
/// over to it is served from then on as from any proxy.
@Suite struct StandbyProxyTests {
    @Test func aStandbyProxyHoldsTheActiveProxysRowsWithoutHistoryAndServesAfterAFailover() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build()
        pump.run(seconds: 25)
        for step in 0..<3 {
            // Rows change at every machine of cluster 0 (deltas reach both proxies).
            for m in 0..<fleet.machines {
                pump.publish(fleet.edge(0, m), Fixtures.processes, Fixtures.rows(fleet.edge(0, m), count: 3 + step + m))
            }
            pump.run(seconds: 10)
            let active = pump.role(fleet.proxy(0, 0), as: ClusterProxy.self)
            let standby = pump.role(fleet.proxy(0, 1), as: ClusterProxy.self)
            #expect(active.keepsHistory, "step \(step)")
            #expect(!standby.keepsHistory, "step \(step)")
            for m in 0..<fleet.machines {
                let origin = fleet.edge(0, m)
                let held = try #require(standby.table(Fixtures.processes)?.slices[origin], "step \(step)")
                let expected = try #require(active.table(Fixtures.processes)?.slices[origin], "step \(step)")
                #expect(held.version == expected.version, "step \(step)")
                #expect(held.segment.exactRows == expected.segment.exactRows, "step \(step)")
            }
        }
        pump.crash(fleet.proxy(0, 0))
        pump.advance(to: .seconds(75))
        #expect(pump.role(fleet.tla(0), as: Aggregator.self).activeProxy(of: fleet.cluster(0)) == fleet.proxy(0, 1))
        #expect(pump.role(fleet.proxy(0, 1), as: ClusterProxy.self).keepsHistory)
        // Changes keep flowing through it, as deltas against what the TLA acknowledged.
        pump.publish(fleet.edge(0, 1), Fixtures.processes, Fixtures.rows(fleet.edge(0, 1), count: 5))
        pump.run(seconds: 20)
        pump.publish(fleet.edge(0, 1), Fixtures.processes, Fixtures.rows(fleet.edge(0, 1), count: 6))
        pump.run(seconds: 10)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        let answer = try #require(pump.answer(fleet.sql, 1)).get()
        // Every machine's rows: cluster 0's as its new proxy holds them, cluster 1's as its proxy does.
        func rows(at proxy: NodeID, cluster c: Int) -> Int {
            let table = pump.role(proxy, as: ClusterProxy.self).table(Fixtures.processes)
            return (0..<fleet.machines).reduce(0) { $0 + (table?.slices[fleet.edge(c, $1)]?.segment.rowCount ?? 0) }
        }
        let expected = rows(at: fleet.proxy(0, 1), cluster: 0) + rows(at: fleet.proxy(1, 0), cluster: 1)
        #expect(answer.result.rows == [[.integer(Int64(expected))]])
        #expect(answer.completeness.tables.first?.clustersContributing == 2)
    }
}
