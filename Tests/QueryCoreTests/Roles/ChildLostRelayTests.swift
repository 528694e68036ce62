import Testing

@testable import QueryCore

/// Relays from a TLA to its child that never arrive: each combine request says which generation
/// of each cluster's updates the TLA relayed (`CombineRequest.relayed`), and a child that still has
/// not received one of those by the next combine request asks for the cluster's tables in full
/// (`query-sim --seeds 1235 --faults mix,correlated,ondemand,shapes,partitioned`: three relays in a
/// row lost, the child handed back a dropped machine's rows for three generations).
@Suite struct ChildLostRelayTests {
    let schedule = GenerationSchedule(interval: .seconds(10))
    let tla: NodeID = "tla:0"
    let cluster: NodeID = "cluster:0"
    let edge: NodeID = "edge:0.0"

    func deferral(_ number: UInt64, full: Bool) -> RoleInput {
        let rows = Fixtures.rows(edge, count: 3, bump: Int64(number))
        let copy: TableCopy =
            full
            ? .full(version: Version(number), segment: rows)
            : try! TableCopy.make(
                from: (Version(number - 1), Fixtures.rows(edge, count: 3, bump: Int64(number - 1))),
                to: (Version(number), rows))
        let entry = TableEntry(
            table: Fixtures.processes, copies: [OriginCopy(origin: edge, copy: copy, publishedAt: schedule.generation(number).time)],
            replacesScope: full, completeness: TableCompleteness(machinesContributing: 1, machinesKnown: 1, clustersContributing: 1, clustersKnown: 1))
        return .received(
            .deferral(Deferral(generation: schedule.generation(number), cluster: cluster, proxy: "proxy:0.0", entries: [entry])),
            from: tla)
    }

    func combine(_ number: UInt64, relayed: UInt64) -> RoleInput {
        .received(
            .combine(
                CombineRequest(
                    generation: schedule.generation(number), droppedClusters: [], tables: [Fixtures.processes],
                    relayed: [RelayedGeneration(cluster: cluster, generation: relayed)])),
            from: tla)
    }

    static func fullResyncs(_ actions: [RoleAction]) -> [ResyncRequest] {
        actions.compactMap { action in
            if case .send(.resync(let request), _) = action, request.origins.isEmpty { return request }
            return nil
        }
    }

    @Test func aRelayStillMissingAtTheNextCombineIsAskedForInFull() {
        var child = AggregatorChild(id: "tla-child:0.0", configuration: .init(parent: tla, schedule: schedule))
        _ = child.handle(.started, now: .zero)
        var now = schedule.generation(1).time + .seconds(1)
        _ = child.handle(deferral(1, full: true), now: now)
        #expect(Self.fullResyncs(child.handle(combine(1, relayed: 1), now: now + .seconds(1))).isEmpty)
        // Generation 2's relay arrives; generation 3's is lost.
        now = schedule.generation(2).time + .seconds(1)
        _ = child.handle(deferral(2, full: false), now: now)
        #expect(Self.fullResyncs(child.handle(combine(2, relayed: 2), now: now + .seconds(1))).isEmpty)
        now = schedule.generation(3).time + .seconds(1)
        // The request that names generation 3 comes as soon as the TLA relayed it: not missing yet.
        #expect(Self.fullResyncs(child.handle(combine(3, relayed: 3), now: now + .seconds(1))).isEmpty)
        // A generation later it still has not arrived (nor has generation 4's): lost.
        now = schedule.generation(4).time + .seconds(1)
        let asked = Self.fullResyncs(child.handle(combine(4, relayed: 4), now: now + .seconds(1)))
        #expect(asked.map(\.table) == [Fixtures.processes])
        #expect(asked.first?.generation == 4)
    }

    @Test func relaysThatArrivedAreNotAskedFor() {
        var child = AggregatorChild(id: "tla-child:0.0", configuration: .init(parent: tla, schedule: schedule))
        _ = child.handle(.started, now: .zero)
        for number in UInt64(1)...6 {
            let now = schedule.generation(number).time + .seconds(1)
            _ = child.handle(deferral(number, full: number == 1), now: now)
            #expect(Self.fullResyncs(child.handle(combine(number, relayed: number), now: now + .seconds(1))).isEmpty)
        }
    }

    /// In a running tree, the TLA's combine requests name every cluster it relays to the child,
    /// with a generation no older than the request's by more than one; losing every relay to the
    /// child for a while makes the child ask for its table in full.
    @Test func aTLANamesWhatItRelayedAndAChildMissingItAsks() {
        let fleet = RedundancyTests.childFleet
        var pump = RedundancyTests.running(fleet)
        let combines = pump.sent.compactMap { sent -> CombineRequest? in
            if case .combine(let request) = sent.message { return request }
            return nil
        }
        #expect(!combines.isEmpty)
        if let last = combines.last {
            #expect(Set(last.relayed.map(\.cluster)) == Set((0..<fleet.clusters).map(fleet.cluster)))
            #expect(last.relayed.allSatisfy { $0.generation + 1 >= last.generation.number })
        }
        let before = pump.counter("query.full_resyncs", node: RedundancyTests.child)
        // Every relay to the child lost for three generations.
        pump.loses = { _, to, message in
            if to == RedundancyTests.child, case .deferral = message { return true }
            return false
        }
        pump.advance(to: pump.now + .seconds(30))
        #expect(pump.counter("query.full_resyncs", node: RedundancyTests.child) > before)
    }

    @Test func combineRequestsCarryTheRelayedGenerations() throws {
        let request = CombineRequest(
            generation: schedule.generation(7), droppedClusters: [], tables: [Fixtures.processes],
            relayed: [RelayedGeneration(cluster: "cluster:1", generation: 6), RelayedGeneration(cluster: "cluster:0", generation: 7)])
        guard case .combine(let decoded) = try Message.decode(Message.combine(request).encode()) else {
            Issue.record("not a combine request")
            return
        }
        #expect(decoded == request)
        #expect(decoded.relayed.map(\.cluster) == ["cluster:0", "cluster:1"])
        // Every truncation of the body is a typed error, never a trap.
        var writer = WireWriter()
        request.encode(into: &writer)
        for cut in 0..<writer.bytes.count {
            let bytes = Array(writer.bytes[..<cut])
            #expect(throws: QueryError.self) {
                var reader = WireReader(bytes)
                _ = try CombineRequest(from: &reader)
            }
        }
    }
}
