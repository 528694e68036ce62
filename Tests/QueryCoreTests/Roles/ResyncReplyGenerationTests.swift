import Testing

@testable import QueryCore

/// A TLA answers a SQL node's full resync with the table as it holds it now, so the reply is
/// labelled with the newest generation it sent, not the older one the SQL node asked as of (found
/// with `query-sim --seeds 578,860 --faults mix,correlated,ondemand,shapes`: a sole TLA restarted,
/// or every SQL node cut off, for several generations). Labelled with the old generation, current
/// rows passed for as old as the tables the SQL node still held from before the fault, and a query
/// joining them was answered at once, spanning 90–130 s of publish times, instead of waiting for
/// the lagging table.
@Suite struct ResyncReplyGenerationTests {
    typealias Fleet = Fixtures.Fleet

    func replies(_ pump: Pump, after index: Int, from tla: NodeID, to sql: NodeID) -> [GenerationUpdate] {
        pump.sent[index...].compactMap { sent in
            guard sent.from == tla, sent.to == sql, case .update(let update) = sent.message else { return nil }
            return update
        }
    }

    @Test func aResyncAsOfAnOldGenerationIsAnsweredAsOfTheNewestSent() throws {
        let fleet = Fleet()
        var pump = fleet.build()
        pump.run(seconds: 95)
        let sent = pump.role(fleet.tla(0), as: Aggregator.self).sentGeneration
        #expect(sent == 10)
        let before = pump.sent.count
        let resync = ResyncRequest(generation: 3, table: Fixtures.processes, origins: [])
        pump.deliver(fleet.tla(0), .received(.resync(resync), from: fleet.sql))
        let reply = try #require(replies(pump, after: before, from: fleet.tla(0), to: fleet.sql).first)
        #expect(reply.generation.number == sent)
        let entry = try #require(reply.entries.first)
        #expect(entry.table == Fixtures.processes && entry.replacesScope && entry.copies.count == 4)
        // The SQL node takes it as of that generation, and acknowledges it (so the next regular
        // update sends only what changed).
        pump.run(seconds: 10)
        let node = pump.role(fleet.sql, as: QueryNode.self)
        #expect(node.generation(of: Fixtures.processes)?.number == 11)
        #expect(node.snapshot.table(Fixtures.processes)?.rowCount == 12)
    }

    /// A SQL node ahead of the TLA (it heard another TLA, or a skewed clock) keeps its generation.
    @Test func aResyncAsOfANewerGenerationKeepsIt() throws {
        let fleet = Fleet()
        var pump = fleet.build()
        pump.run(seconds: 95)
        let before = pump.sent.count
        let resync = ResyncRequest(generation: 12, table: Fixtures.processes, origins: [])
        pump.deliver(fleet.tla(0), .received(.resync(resync), from: fleet.sql))
        let reply = try #require(replies(pump, after: before, from: fleet.tla(0), to: fleet.sql).first)
        #expect(reply.generation.number == 12)
    }
}
