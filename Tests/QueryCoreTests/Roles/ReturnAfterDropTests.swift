import Testing

@testable import QueryCore

/// A dropped cluster or child comes back only with its current state, never with rows held from
/// before its drop (found with `query-sim --seeds 1001-1600 --faults mix,correlated`: seed 1556, a
/// cluster returning on a one-table resync reply while its other tables were still as before its
/// drop; seeds 1076 and 1516, a cut-off child's first hand-back after it was heard again serving
/// rows whose removal it had missed).
@Suite struct ReturnAfterDropTests {
    typealias Fleet = Fixtures.Fleet
    static let other: TableName = "other"

    func count(_ pump: inout Pump, _ node: NodeID, _ id: UInt64, _ sql: String) throws -> Value {
        pump.query(node, id, sql)
        return try #require(try pump.answer(node, id)?.get().result.rows.first?.first)
    }

    // MARK: Collector

    @Test func aReturningSourceStaysDroppedUntilItsFullStateArrived() {
        var collector = Fixtures.tlaCollector(of: ["cluster:0"])
        var actions: [RoleAction] = []
        collector.heard("cluster:0", now: .seconds(1), into: &actions)
        collector.reported("cluster:0", generation: 1, inFull: ["a", "b"], wanted: ["a", "b"])
        #expect(collector.isSynced("cluster:0"))
        collector.checkSilence(now: .seconds(40), into: &actions)
        #expect(collector.isDropped("cluster:0"))
        // Heard again: still dropped, and no longer synced (so the role asks for its full state).
        collector.heard("cluster:0", now: .seconds(50), into: &actions)
        #expect(collector.isDropped("cluster:0"))
        #expect(!collector.isSynced("cluster:0"))
        collector.reported("cluster:0", generation: 5, inFull: ["a"], wanted: ["a", "b"])
        #expect(!collector.finishReturn("cluster:0", into: &actions))
        #expect(collector.droppedSince("cluster:0") == .seconds(40))
        // Silence checks leave a returning source alone (it is dropped already).
        collector.checkSilence(now: .seconds(95), into: &actions)
        #expect(collector.droppedSince("cluster:0") == .seconds(40))
        collector.reported("cluster:0", generation: 6, inFull: ["b"], wanted: ["a", "b"])
        actions.removeAll()
        #expect(collector.finishReturn("cluster:0", into: &actions))
        #expect(!collector.isDropped("cluster:0"))
        #expect(actions.contains { if case .log(let r) = $0 { r.message == "cluster returned" } else { false } })
        // Without the setting a source returns as soon as it is heard.
        var plain = Collector(
            configuration: .init(
                tier: .proxy, schedule: GenerationSchedule(interval: .seconds(10)), dropAfter: .seconds(30),
                deadlineTimer: TimerID("t"), role: "proxy", noun: "machine", warmUpWaitsForSilentSources: true),
            sources: ["edge:0"])
        plain.start(now: .zero)
        plain.checkSilence(now: .seconds(40), into: &actions)
        plain.heard("edge:0", now: .seconds(50), into: &actions)
        #expect(!plain.isDropped("edge:0"))
    }

    // MARK: TLA

    /// A fleet publishing `processes` (3 rows per machine) and `other` (2 rows per machine), whose
    /// TLA drops a cluster after 15 s and does not fail over, run for two generations.
    static func twoTableFleet() -> (Fleet, Pump) {
        var fleet = Fleet()
        fleet.prewarm = [Fixtures.processes, other]
        fleet.tlaDropAfter = .seconds(15)
        fleet.tlaFailoverAfter = .seconds(1_000)
        var pump = fleet.build()
        for edge in fleet.edges { pump.publish(edge, other, Fixtures.rows(edge, count: 2)) }
        pump.run(seconds: 25)
        return (fleet, pump)
    }

    /// Seed 1556: a cluster dropped by the TLA is heard again through an update carrying one table
    /// in full (a resync reply). Its other table, held from before the drop, is stale: the cluster
    /// stays dropped until every table came in full.
    @Test func aDroppedClusterReturnsOnlyOnceEveryTableCameInFull() throws {
        let (fleet, running) = Self.twoTableFleet()
        var pump = running
        let sqlCount = "SELECT count(*) FROM other"
        #expect(try count(&pump, fleet.sql, 1, sqlCount) == .integer(8))
        let tla = fleet.tla(0)
        let proxies: Set<NodeID> = [fleet.proxy(0, 0), fleet.proxy(0, 1)]
        pump.loses = { from, to, _ in (proxies.contains(from) && to == tla) || (from == tla && proxies.contains(to)) }
        // While cut off, a machine of cluster 0 publishes a third `other` row.
        pump.publish(fleet.edge(0, 0), Self.other, Fixtures.rows(fleet.edge(0, 0), count: 3))
        pump.advance(to: .seconds(45))
        #expect(pump.role(tla, as: Aggregator.self).droppedClusters.map(\.node) == [fleet.cluster(0)])
        #expect(try count(&pump, fleet.sql, 2, sqlCount) == .integer(4))
        // The active proxy's reply to a resync of `processes` alone gets through.
        let active = try #require(pump.role(tla, as: Aggregator.self).activeProxy(of: fleet.cluster(0)))
        let copies = (0..<fleet.machines).map { m in
            OriginCopy(
                origin: fleet.edge(0, m), copy: .full(version: 1_000, segment: Fixtures.rows(fleet.edge(0, m), count: 3)),
                publishedAt: pump.now)
        }
        let reply = GenerationUpdate(
            generation: fleet.schedule.generation(4),
            entries: [
                TableEntry(
                    table: Fixtures.processes, copies: copies, replacesScope: true,
                    completeness: TableCompleteness(
                        machinesContributing: 2, machinesKnown: 2, clustersContributing: 1, clustersKnown: 1,
                        oldestPublish: pump.now, newestPublish: pump.now))
            ],
            sequence: 1 << 50)
        pump.deliver(tla, .received(.update(reply), from: active))
        #expect(pump.role(tla, as: Aggregator.self).droppedClusters.map(\.node) == [fleet.cluster(0)])
        // Cluster 0's `other` rows from before the drop (4) are not served beside cluster 1's (4).
        pump.run(seconds: 12)
        #expect(try count(&pump, fleet.sql, 3, sqlCount) == .integer(4))
        // Everything gets through again: the TLA asks the proxy for its full state, and the
        // cluster returns with its rows as they are now (5).
        pump.loses = nil
        var counts: [Value] = []
        for id in 4..<40 {
            pump.run(seconds: 1)
            counts.append(try count(&pump, fleet.sql, UInt64(id), sqlCount))
        }
        #expect(!counts.contains(.integer(8)), "old rows served: \(counts)")
        #expect(counts.last == .integer(9), "\(counts)")
        #expect(pump.role(tla, as: Aggregator.self).droppedClusters.isEmpty)
    }

    /// Seed 21 (`mix,correlated`): only replies to resyncs of one table get through from a cluster
    /// (its regular updates are lost). They do not keep the cluster alive: its other table's rows
    /// would be served ever older. It is dropped after `dropAfter` as if silent.
    @Test func aClusterHeardOnlyThroughOneTableResyncRepliesIsDropped() throws {
        let (fleet, running) = Self.twoTableFleet()
        var pump = running
        let tla = fleet.tla(0)
        let proxies: Set<NodeID> = [fleet.proxy(0, 0), fleet.proxy(0, 1)]
        pump.loses = { from, to, message in
            if proxies.contains(from), to == tla, case .update(let u) = message { return u.entries.count > 1 }
            return false
        }
        let active = try #require(pump.role(tla, as: Aggregator.self).activeProxy(of: fleet.cluster(0)))
        for step in 0..<8 {
            pump.run(seconds: 5)
            let copies = (0..<fleet.machines).map { m in
                OriginCopy(
                    origin: fleet.edge(0, m), copy: .full(version: 1_000 + UInt64(step), segment: Fixtures.rows(fleet.edge(0, m), count: 3)),
                    publishedAt: pump.now)
            }
            let reply = GenerationUpdate(
                generation: fleet.schedule.generation(3 + UInt64(step) / 2),
                entries: [TableEntry(table: Fixtures.processes, copies: copies, completeness: TableCompleteness())],
                sequence: (1 << 50) + UInt64(step))
            pump.deliver(tla, .received(.update(reply), from: active))
        }
        #expect(pump.role(tla, as: Aggregator.self).droppedClusters.map(\.node) == [fleet.cluster(0)])
        #expect(try count(&pump, fleet.sql, 1, "SELECT count(*) FROM other") == .integer(4))
    }

    /// Seeds 1076 and 1516: a child cut off from its TLA is dropped; relays it missed meanwhile (the
    /// TLA acknowledged them for it) leave its rows stale. Heard again, it stays dropped until every
    /// cluster has sent its tables in full and it has handed back what they brought (the TLA asks
    /// the proxies itself: the child's own requests may be lost).
    @Test func aReturningChildIsServedOnlyOnceItHasEveryClustersRowsAgain() throws {
        var fleet = RedundancyTests.childFleet
        fleet.tlaChildDropAfter = .seconds(20)
        let child = RedundancyTests.child
        var pump = RedundancyTests.running(fleet)
        let sqlCount = "SELECT count(*) FROM processes"
        #expect(try count(&pump, fleet.sql, 1, sqlCount) == .integer(12))
        let tla = fleet.tla(0)
        pump.loses = { from, to, _ in (from == child && to == tla) || (from == tla && to == child) }
        // A machine's rows change while the child is cut off (the relay carrying it is lost).
        pump.publish(fleet.edge(0, 0), Fixtures.processes, Fixtures.rows(fleet.edge(0, 0), count: 5))
        pump.run(seconds: 40)
        #expect(pump.role(tla, as: Aggregator.self).droppedChildren.map(\.node) == [child])
        // Heard again; the child's own requests for the table in full are lost for a while (so its
        // hand-backs still carry the machine's old rows).
        pump.loses = { from, _, message in
            if from == child, case .resync = message { return true }
            return false
        }
        var counts: [Value] = []
        for id in 2..<60 {
            if id == 30 { pump.loses = nil }
            pump.run(seconds: 1)
            counts.append(try count(&pump, fleet.sql, UInt64(id), sqlCount))
        }
        // The child's rows are gone while it is dropped (0) and come back current (14), never
        // with the machine's old rows (12).
        #expect(!counts.contains(.integer(12)), "stale rows served: \(counts)")
        #expect(counts.last == .integer(14))
        #expect(pump.role(tla, as: Aggregator.self).droppedChildren.isEmpty)
    }

    // MARK: Child

    /// A child forgets a cluster's rows when the cluster is dropped: if the cluster's full state is
    /// lost on its way to the child when the cluster returns, nothing from before the drop is
    /// handed back (the child asks for the table in full instead).
    @Test func aChildForgetsTheRowsOfADroppedCluster() {
        let schedule = GenerationSchedule(interval: .seconds(10))
        let tla: NodeID = "tla:0"
        var child = AggregatorChild(id: "tla-child:0.0", configuration: .init(parent: tla, schedule: schedule))
        func relay(_ cluster: Int, generation: UInt64, full: Bool, sequence: UInt64) -> RoleInput {
            childRelay(cluster, generation: generation, full: full, sequence: sequence, schedule: schedule, from: tla)
        }
        func combine(_ generation: UInt64, dropped: [DroppedNode]) -> [RoleAction] {
            let request = CombineRequest(
                generation: schedule.generation(generation), droppedClusters: dropped, tables: [Fixtures.processes])
            return child.handle(.received(.combine(request), from: tla), now: .seconds(Double(generation) * 10 + 5))
        }
        _ = child.handle(relay(0, generation: 1, full: true, sequence: 1), now: .seconds(12))
        _ = child.handle(relay(1, generation: 1, full: true, sequence: 1), now: .seconds(12))
        _ = combine(1, dropped: [])
        #expect(child.table(Fixtures.processes)?.rowCount == 8)
        _ = combine(2, dropped: [DroppedNode(node: "cluster:0", since: .seconds(20))])
        #expect(child.table(Fixtures.processes)?.slices["edge:0.0"] == nil)
        #expect(child.table(Fixtures.processes)?.rowCount == 4)
        // The cluster returns, but its next relay is a delta (its full state was lost): nothing of
        // it is handed back, and the child asks for the table in full.
        let asked = child.handle(relay(0, generation: 3, full: false, sequence: 2), now: .seconds(32))
        #expect(asked.contains { if case .send(.resync(let r), to: tla) = $0 { r.table == Fixtures.processes && r.origins.isEmpty } else { false } })
        let handBack = combine(3, dropped: [])
        let origins = handBack.flatMap { action -> [NodeID] in
            if case .send(.update(let u), to: tla) = action { u.entries.flatMap { $0.copies.map(\.origin) } } else { [] }
        }
        #expect(!origins.contains("edge:0.0") && !origins.contains("edge:0.1"), "\(origins)")
        #expect(child.table(Fixtures.processes)?.rowCount == 4)
    }
}

/// A child's relay gaps are per table (`query-sim --seeds 1233 --faults
/// mix,correlated,ondemand,shapes,partitioned` before the fix): a cluster's update carrying a
/// returned machine's `software_versions` rows was lost, but the proxy's answer to a resync of
/// `processes` was relayed in the same generation, so the cluster's next update showed no gap and
/// the unchanging table never got the machine's rows back.
@Suite("Child relay gaps")
struct ChildRelayGapTests {
    @Test func aResyncAnswerForOneTableDoesNotHideALostUpdateOfAnother() {
        let schedule = GenerationSchedule(interval: .seconds(10))
        let tla: NodeID = "tla:0"
        let versions: TableName = "software_versions"
        var child = AggregatorChild(id: "tla-child:0.0", configuration: .init(parent: tla, schedule: schedule))
        let origins: [NodeID] = ["edge:0.0", "edge:0.1"]
        func entry(_ table: TableName, full: Bool) -> TableEntry {
            TableEntry(
                table: table,
                copies: full
                    ? origins.map { OriginCopy(origin: $0, copy: .full(version: 1, segment: Fixtures.rows($0, count: 2)), publishedAt: .seconds(1)) }
                    : [],
                replacesScope: full,
                completeness: TableCompleteness(machinesContributing: 2, machinesKnown: 2, clustersContributing: 1, clustersKnown: 1))
        }
        func relay(_ generation: UInt64, _ entries: [TableEntry], sequence: UInt64) -> [RoleAction] {
            let deferral = Deferral(
                generation: schedule.generation(generation), cluster: "cluster:0", proxy: "proxy:0.0", entries: entries,
                sequence: sequence)
            return child.handle(.received(.deferral(deferral), from: tla), now: .seconds(Double(generation) * 10 + 2))
        }
        func resyncs(_ actions: [RoleAction]) -> [TableName] {
            actions.compactMap { if case .send(.resync(let r), to: tla) = $0, r.origins.isEmpty { r.table } else { nil } }
        }
        // Both tables arrive in full.
        #expect(resyncs(relay(1, [entry(Fixtures.processes, full: true), entry(versions, full: true)], sequence: 1)).isEmpty)
        // Generation 2: the answer to a resync of `processes` arrives; the cluster's update is lost.
        #expect(resyncs(relay(2, [entry(Fixtures.processes, full: true)], sequence: 3)).isEmpty)
        // Generation 3: deltas of both tables. `software_versions` was last relayed in generation 1.
        let asked = resyncs(relay(3, [entry(Fixtures.processes, full: false), entry(versions, full: false)], sequence: 4))
        #expect(asked == [versions], "\(asked)")
    }
}

/// A child answering a resync leaves out the clusters it has not heard for `dropAfter`, as its
/// next hand-back would (`query-sim --seeds 1365 --faults mix,correlated,ondemand,shapes` before
/// the fix): a TLA cut off from everything sent its child no combine request for a minute and a
/// half, and the child answered the resync of a table wanted again after the heal with rows it had
/// not heard of since before the cut, which the SQL node joined with fresh rows.
@Suite("Child resync answers")
struct ChildResyncAnswerTests {
    @Test func aResyncAnswerLeavesOutClustersSilentForDropAfter() {
        let schedule = GenerationSchedule(interval: .seconds(10))
        let tla: NodeID = "tla:0"
        var child = AggregatorChild(
            id: "tla-child:0.0", configuration: .init(parent: tla, schedule: schedule, dropAfter: .seconds(40)))
        func relay(_ cluster: Int, generation: UInt64, sequence: UInt64) -> RoleInput {
            childRelay(cluster, generation: generation, full: true, sequence: sequence, schedule: schedule, from: tla)
        }
        _ = child.handle(relay(0, generation: 1, sequence: 1), now: .seconds(12))
        _ = child.handle(relay(1, generation: 1, sequence: 1), now: .seconds(12))
        let request = CombineRequest(generation: schedule.generation(1), droppedClusters: [], tables: [Fixtures.processes])
        _ = child.handle(.received(.combine(request), from: tla), now: .seconds(15))
        // Cluster 1 keeps being relayed; cluster 0 falls silent. No combine request comes.
        for g in 2...6 as ClosedRange<UInt64> { _ = child.handle(relay(1, generation: g, sequence: g), now: .seconds(Double(g) * 10 + 2)) }
        let reply = child.handle(
            .received(.resync(ResyncRequest(generation: 6, table: Fixtures.processes, origins: [])), from: tla),
            now: .seconds(63))
        let entries = reply.flatMap { action -> [TableEntry] in
            if case .send(.update(let u), to: tla) = action { u.entries } else { [] }
        }
        let origins = entries.flatMap { $0.copies.map(\.origin) }
        #expect(!origins.isEmpty && origins.allSatisfy { $0.rawValue.hasPrefix("edge:1.") }, "\(origins)")
        #expect(entries.first?.completeness.dropped.contains { $0.node == "cluster:0" } == true, "\(String(describing: entries.first?.completeness))")
        #expect(child.table(Fixtures.processes)?.slices["edge:0.0"] == nil)
    }
}

/// A TLA's relay to its child of cluster `cluster`'s `processes` for `generation`: its two machines'
/// rows in full (replacing the cluster), or (`full` false) an entry that changes nothing.
private func childRelay(
    _ cluster: Int, generation: UInt64, full: Bool, sequence: UInt64, schedule: GenerationSchedule, from tla: NodeID
) -> RoleInput {
    let origins = (0..<2).map { NodeID("edge:\(cluster).\($0)") }
    let entry = TableEntry(
        table: Fixtures.processes,
        copies: full
            ? origins.map { OriginCopy(origin: $0, copy: .full(version: 1, segment: Fixtures.rows($0, count: 2)), publishedAt: .seconds(1)) }
            : [],
        replacesScope: full,
        completeness: TableCompleteness(machinesContributing: 2, machinesKnown: 2, clustersContributing: 1, clustersKnown: 1))
    let deferral = Deferral(
        generation: schedule.generation(generation), cluster: NodeID("cluster:\(cluster)"),
        proxy: NodeID("proxy:\(cluster).0"), entries: [entry], sequence: sequence)
    return .received(.deferral(deferral), from: tla)
}
