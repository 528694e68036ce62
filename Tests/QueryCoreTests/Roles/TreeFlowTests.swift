import Testing

@testable import QueryCore

/// Edge → proxy → TLA → SQL node over a few generations, wired by the in-test ``Pump``.
@Suite struct TreeFlowTests {
    func count(_ pump: Pump, _ id: UInt64) throws -> Int64? {
        let answer = try #require(pump.answer("sql:0", id)).get()
        guard case .integer(let n) = answer.result.rows.first?.first else { return nil }
        return n
    }

    @Test func deltasFlowUpTheTreeAndAnswersSayHowComplete() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build(rowsPerMachine: 3)
        pump.run(seconds: 25)  // generation 2 starts at t=10: edges send; by δ2 the TLA has sent
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try count(pump, 1) == 12)
        let first = try #require(pump.answer(fleet.sql, 1)).get()
        #expect(first.generation.number == 3)
        let figures = try #require(first.completeness.tables.first)
        #expect(figures.table == Fixtures.processes)
        #expect(figures.machinesContributing == 4 && figures.machinesKnown == 4)
        #expect(figures.clustersContributing == 2 && figures.clustersKnown == 2)
        #expect(figures.dropped.isEmpty)
        #expect(first.completeness.oldestPublish == .zero && first.completeness.newestPublish == .zero)

        // One machine changes one row; the next generation carries a delta at every tier.
        let changed = fleet.edge(1, 0)
        pump.publish(changed, Fixtures.processes, Fixtures.rows(changed, count: 4))
        let before = pump.sent.count
        pump.run(seconds: 10)
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        #expect(try count(pump, 2) == 13)
        let updates = pump.sent[before...].compactMap { sent -> GenerationUpdate? in
            if case .update(let update) = sent.message { return update }
            return nil
        }
        let copies = updates.flatMap { $0.entries.flatMap(\.copies) }
        #expect(!copies.isEmpty)
        #expect(copies.allSatisfy { $0.origin == changed && !$0.copy.isFull })
        // Unchanged machines send no copies at all.
        // The edge → both proxies, the active proxy → the TLA (the standby proxy only heartbeats), TLA → SQL node.
        #expect(updates.filter { !$0.entries.flatMap(\.copies).isEmpty }.count == 4)
        #expect(pump.counter("query.rows_merged") > 0)
        #expect(pump.counter("query.bytes_out") > 0)
    }

    @Test func aMachinesVersionOnlyGrowsWhenItsRowsChange() {
        var edge = EdgeAgent(id: "edge:0.0", configuration: .init(schedule: GenerationSchedule(interval: .seconds(10))))
        _ = edge.handle(.publish(Fixtures.processes, Fixtures.rows("edge:0.0", count: 2)), now: .seconds(1))
        let v1 = edge.version(of: Fixtures.processes)
        _ = edge.handle(.publish(Fixtures.processes, Fixtures.rows("edge:0.0", count: 2)), now: .seconds(2))
        #expect(edge.version(of: Fixtures.processes) == v1)
        _ = edge.handle(.publish(Fixtures.processes, Fixtures.rows("edge:0.0", count: 3)), now: .seconds(3))
        let v2 = edge.version(of: Fixtures.processes)
        #expect(v2 != nil && v1 != nil && v2! > v1!)
        // A restarted edge (state lost) still publishes a newer version: versions derive from time.
        var restarted = EdgeAgent(
            id: "edge:0.0",
            configuration: .init(schedule: GenerationSchedule(interval: .seconds(10)))
        )
        _ = restarted.handle(.publish(Fixtures.processes, Fixtures.rows("edge:0.0", count: 1)), now: .seconds(4))
        #expect(restarted.version(of: Fixtures.processes)! > v2!)
    }
}

/// The same inputs give the same messages, in the same order (no dictionary order leaks out).
@Suite struct DeterminismTests {
    func trace() -> [String] {
        var fleet = Fixtures.Fleet()
        fleet.tlas = 2
        fleet.deferred = [:]
        var pump = fleet.build(rowsPerMachine: 4)
        pump.run(seconds: 25)
        pump.partitioned.insert(fleet.edge(1, 1))
        pump.crash(fleet.proxy(0, 0))
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.query(fleet.sql, 2, "SELECT count(*) FROM nothing")
        pump.run(seconds: 220)
        return pump.sent.map { sent in
            let kind: String
            switch sent.message {
            case .update(let update):
                kind = "update g\(update.generation.number) "
                    + update.entries.map { "\($0.table):\($0.copies.map(\.origin.rawValue))-\($0.removed)" }.joined()
            case .request(let request): kind = "request \(request.tables) \(request.reset) \(request.standby)"
            case .ack(let ack): kind = "ack \(ack.generation) \(ack.tables)"
            default: kind = "\(sent.message)".prefix(40).description
            }
            return "\(sent.at) \(sent.from)→\(sent.to) \(kind)"
        }
    }

    @Test func twoRunsSendTheSameMessages() {
        let first = trace(), second = trace()
        #expect(first.count == second.count)
        #expect(first == second)
    }
}
