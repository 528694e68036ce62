import Synchronization
import Testing

@testable import QueryCore

/// Faults around TLA children found by seed sweeps beyond the default range (`query-sim --seeds
/// 101-400`), each reduced to a role-level scenario: stale rows a restarted or cut-off child must
/// not serve, a SQL node whose deferred table's updates stop arriving, and a SQL node's reset that
/// must end although deferred tables come in a second update.
@Suite struct ChildFaultTests {
    typealias Fleet = Fixtures.Fleet
    static let child = RedundancyTests.child

    /// Records the updates a node receives (the pump's loss hook sees every message).
    final class UpdateLog: Sendable {
        private let updates = Mutex<[GenerationUpdate]>([])
        var all: [GenerationUpdate] { updates.withLock { $0 } }
        func append(_ update: GenerationUpdate) { updates.withLock { $0.append(update) } }
        func removeAll() { updates.withLock { $0.removeAll() } }
    }

    /// A counter the pump's loss hook can change.
    final class Counter: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func add(_ n: Int) { count.withLock { $0 += n } }
    }

    func rows(_ pump: Pump, _ node: NodeID, _ id: UInt64) throws -> [[Value]]? {
        try pump.answer(node, id)?.get().result.rows
    }

    /// Seed 241 (`--faults crash`): the child dies, a machine is dropped by its proxies meanwhile
    /// (the removal relayed to the dead child is lost), and the child comes back empty. Its first
    /// hand-back must make the TLA let go of the rows it held from the child, not serve them again
    /// with the dropped machine among them.
    @Test func aRestartedChildsFirstHandBackDoesNotBringBackStaleRows() throws {
        let fleet = RedundancyTests.childFleet
        var pump = RedundancyTests.running(fleet)
        pump.crash(Self.child)
        pump.crash(fleet.edge(0, 0))
        // Past `dropAfter` (180 s): the proxies drop the machine, the TLA drops the child.
        pump.advance(to: .seconds(230))
        // The child restarts empty; nothing reaches it yet but the TLA's combine requests, so its
        // hand-back carries no rows.
        pump.loses = { _, to, message in
            if to == Self.child, case .deferral = message { return true }
            return false
        }
        pump.restart(AggregatorChild(id: Self.child, configuration: .init(parent: fleet.tla(0), schedule: fleet.schedule)))
        pump.run(seconds: 20)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes WHERE machine_id = 'edge:0.0'")
        #expect(try rows(pump, fleet.sql, 1) == [[.integer(0)]])
        // Once relays flow again the child catches up, without the dropped machine.
        pump.loses = nil
        pump.run(seconds: 40)
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        #expect(try rows(pump, fleet.sql, 2) == [[.integer(9)]])
    }

    /// Seed 215: a child that hears nothing of a cluster for `dropAfter` (here: every relay of
    /// cluster 0 to it is lost) leaves that cluster out and reports it dropped, like its TLA would;
    /// a restarted TLA cannot tell how old the child's rows of that cluster are.
    @Test func aChildDropsAClusterItHasNotHeardForDropAfter() throws {
        let fleet = RedundancyTests.childFleet
        var pump = RedundancyTests.running(fleet)
        pump.loses = { _, to, message in
            if to == Self.child, case .deferral(let d) = message, d.cluster == fleet.cluster(0) { return true }
            return false
        }
        pump.advance(to: .seconds(150))
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try rows(pump, fleet.sql, 1) == [[.integer(12)]])
        pump.advance(to: .seconds(240))
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        #expect(try rows(pump, fleet.sql, 2) == [[.integer(6)]])
        let figures = try #require(pump.answer(fleet.sql, 2)).get().completeness.tables.first
        #expect(figures.map { Array($0.dropped.keys) } == [fleet.cluster(0)])
        // Relays flow again: the cluster returns.
        pump.loses = nil
        pump.run(seconds: 40)
        pump.query(fleet.sql, 3, "SELECT count(*) FROM processes")
        #expect(try rows(pump, fleet.sql, 3) == [[.integer(12)]])
    }

    /// Seed 366: the second update of a generation (the one carrying the deferred table) is lost
    /// several generations in a row. The SQL node notices the table lagging the others and asks
    /// the TLA to resend it in full, so a machine dropped meanwhile leaves its snapshot.
    @Test func aSQLNodeAsksForADeferredTableWhoseUpdatesStopArriving() throws {
        let fleet = RedundancyTests.childFleet
        var pump = RedundancyTests.running(fleet)
        // Every update carrying just the deferred table is lost, except the one answering each
        // resync the SQL node asks for (it follows the request at once).
        let resyncs = Counter(), unanswered = Counter()
        pump.loses = { from, to, message in
            if from == fleet.sql, case .resync = message {
                resyncs.add(1)
                unanswered.add(1)
            }
            guard to == fleet.sql, case .update(let u) = message, u.entries.map(\.table) == [Fixtures.processes] else {
                return false
            }
            guard unanswered.value > 0 else { return true }
            unanswered.add(-1)
            return false
        }
        pump.crash(fleet.edge(1, 1))
        pump.advance(to: .seconds(260))
        #expect(resyncs.value >= 1)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes WHERE machine_id = 'edge:1.1'")
        #expect(try rows(pump, fleet.sql, 1) == [[.integer(0)]])
    }

    /// With a child, deferred tables come in a second update of each generation; the SQL node's
    /// reset after its start must still end, or every later update is a full copy.
    @Test func aSQLNodesResetEndsWhenDeferredTablesArriveInASecondUpdate() throws {
        var fleet = RedundancyTests.childFleet
        fleet.prewarm = [Fixtures.processes, "other"]
        var pump = fleet.build()
        let log = UpdateLog()
        pump.loses = { _, to, message in
            if to == fleet.sql, case .update(let u) = message { log.append(u) }
            return false
        }
        pump.run(seconds: 45)
        log.removeAll()
        pump.run(seconds: 30)
        let entries = log.all.flatMap(\.entries).filter { $0.table == Fixtures.processes }
        #expect(!entries.isEmpty)
        #expect(entries.allSatisfy { !$0.replacesScope }, "\(entries.map(\.replacesScope))")
    }
}
