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

    /// A deferred table is held as its child last handed it back: a resync while the child's
    /// hand-backs are lost is answered as of that generation, not the newest sent (found with
    /// `query-sim --seeds 4392 --faults mix,correlated,ondemand,shapes,partitioned`: labelled newer,
    /// the child's older rows, with a machine dropped since, passed for current).
    @Test func aDeferredTableIsAnsweredAsOfItsLastHandBack() throws {
        var fleet = Fleet()
        let child: NodeID = "tla-child:0.0"
        fleet.deferred = [Fixtures.processes: child]
        var pump = fleet.build()
        pump.run(seconds: 95)
        let handBacks = pump.sent.compactMap { sent -> UInt64? in
            guard sent.from == child, case .update(let update) = sent.message, !update.entries.isEmpty else { return nil }
            return update.generation.number
        }
        let handed = try #require(handBacks.max())
        // The child's hand-backs are lost for three generations; the TLA goes on sending.
        pump.loses = { from, _, _ in from == child }
        pump.run(seconds: 30)
        let sent = pump.role(fleet.tla(0), as: Aggregator.self).sentGeneration
        #expect(sent >= handed + 3)
        let before = pump.sent.count
        pump.deliver(fleet.tla(0), .received(.resync(ResyncRequest(generation: 3, table: Fixtures.processes, origins: [])), from: fleet.sql))
        let reply = try #require(replies(pump, after: before, from: fleet.tla(0), to: fleet.sql).first)
        #expect(reply.generation.number == handed)
        #expect(reply.entries.first?.table == Fixtures.processes)
        // Asked as of the newest generation (its other tables' generation), likewise.
        let newer = pump.sent.count
        pump.deliver(fleet.tla(0), .received(.resync(ResyncRequest(generation: sent, table: Fixtures.processes, origins: [])), from: fleet.sql))
        let second = try #require(replies(pump, after: newer, from: fleet.tla(0), to: fleet.sql).first)
        #expect(second.generation.number == handed)
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
