import Testing

@testable import QueryCore

/// Lost updates, acknowledgements and resync replies between an edge and its proxy: every table
/// comes back, including tables that stop changing (no later change would repair them).
@Suite struct MessageLossTests {
    let schedule = GenerationSchedule(interval: .seconds(10))
    let machines: TableName = "machines"
    let edge: NodeID = "edge:0.0"
    let proxy: NodeID = "proxy:0.0"

    /// 40 process rows of which only the first changes with `bump` (so updates travel as deltas).
    func processes(_ bump: Int64) -> Segment {
        try! Segment(
            schema: Fixtures.schema,
            rows: (0..<40).map { i in
                [.text(edge.rawValue), .text("p\(i)"), .integer(i == 0 ? bump : Int64(i) * 100)]
            }
        )
    }

    func pump() -> Pump {
        var pump = Pump()
        pump.add(EdgeAgent(id: edge, configuration: .init(schedule: schedule)))
        pump.add(
            ClusterProxy(
                id: proxy,
                configuration: .init(
                    cluster: "cluster:0",
                    machines: [edge],
                    schedule: schedule,
                    prewarm: [Fixtures.processes, machines]
                )
            )
        )
        pump.publish(edge, machines, Fixtures.rows(edge, count: 1))
        pump.publish(edge, Fixtures.processes, processes(0))
        return pump
    }

    /// A resync reply carries only the resynced table; the proxy must not read the other tables'
    /// absence from it as "the edge stopped publishing them".
    @Test func aResyncReplyDoesNotRemoveTheOtherTables() {
        var pump = pump()
        pump.run(seconds: 25)
        let p: ClusterProxy = pump.role(proxy)
        #expect(p.table(machines)?.version(of: edge) != nil)
        // Lose the next acknowledgement of `processes`: the following delta is on a base the proxy
        // no longer holds, so the proxy asks for a resync of `processes` only.
        var lost = false
        pump.loses = { from, to, message in
            guard !lost, case .ack(let ack) = message, ack.tables.contains(Fixtures.processes) else { return false }
            lost = true
            return true
        }
        for bump in 1...4 {
            pump.publish(edge, Fixtures.processes, processes(Int64(bump)))
            pump.run(seconds: 10)
        }
        #expect(lost)
        #expect(pump.counter("query.resyncs", node: edge) >= 1)
        let after: ClusterProxy = pump.role(proxy)
        #expect(after.table(machines)?.version(of: edge) != nil, "machines rows lost after a resync")
        let published = pump.role(edge, as: EdgeAgent.self).version(of: Fixtures.processes)
        #expect(after.table(Fixtures.processes)?.version(of: edge) == published)
    }

    /// Seeded random loss of any message for a while, then a clean network: the proxy converges to
    /// exactly what the edge publishes, for the table that keeps changing and the one that does not.
    @Test(arguments: 1...12) func everyTableConvergesAfterRandomLoss(seed: UInt64) {
        var pump = pump()
        var random = SeededRandom(seed: seed)
        pump.loses = { _, _, _ in random.next() % 100 < 20 }
        for bump in 1...20 {
            pump.publish(edge, Fixtures.processes, processes(Int64(bump)))
            pump.run(seconds: 10)
        }
        pump.loses = nil
        pump.run(seconds: 40)
        let e: EdgeAgent = pump.role(edge)
        let p: ClusterProxy = pump.role(proxy)
        for table in [machines, Fixtures.processes] {
            #expect(
                p.table(table)?.version(of: edge) == e.version(of: table),
                "seed \(seed): \(table) diverged; replay with everyTableConvergesAfterRandomLoss(seed: \(seed))"
            )
        }
    }
}
