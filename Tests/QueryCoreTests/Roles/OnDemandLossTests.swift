import Testing

@testable import QueryCore

/// Tables asked for on demand while messages are lost: a lost request, a lost reply and a machine
/// that does not publish the table are told apart (`query-sim --scenario` runs with 5 % loss,
/// issue #4's fleet: a first answer said machines [11, 11] with twelve machines alive and asked).
@Suite struct OnDemandLossTests {
    static let schedule = GenerationSchedule(interval: .seconds(10))

    // MARK: Proxy: who has not answered a table asked for

    static let machines: TableName = "machines"
    static let edges: [NodeID] = ["edge:0.0", "edge:0.1"]

    /// An edge's entry of `table`: its rows in full (its first entry) or nothing changed.
    static func entry(_ table: TableName, from edge: NodeID, full: Bool) -> TableEntry {
        let copies = full
            ? [OriginCopy(origin: edge, copy: .full(version: 1, segment: Fixtures.rows(edge, count: 2)), publishedAt: .seconds(1))]
            : []
        return TableEntry(
            table: table, copies: copies, replacesScope: full,
            completeness: TableCompleteness(machinesContributing: 1, machinesKnown: 1))
    }

    static func edgeUpdate(_ number: UInt64, _ entries: [TableEntry], notPublished: [TableName] = []) -> Message {
        .update(GenerationUpdate(generation: schedule.generation(number), entries: entries, notPublished: notPublished))
    }

    /// The figures of `table` in the proxy's update to tla:0 among `actions`.
    static func figures(_ table: TableName, in actions: [RoleAction]) -> [Int]? {
        for case .send(.update(let update), "tla:0") in actions {
            if let entry = update.entries.first(where: { $0.table == table }) {
                return [entry.completeness.machinesContributing, entry.completeness.machinesKnown]
            }
        }
        return nil
    }

    static func asked(_ actions: [RoleAction]) -> [NodeID] {
        actions.compactMap { if case .send(.request(let r), let to) = $0, r.tables.contains(machines) { to } else { nil } }
    }

    /// A proxy of two machines serving `processes` to tla:0 since generation 2; at 25 s tla:0 asks
    /// for `machines` too.
    static func proxyAskedForMachines() -> (ClusterProxy, [RoleAction]) {
        var proxy = ClusterProxy(
            id: "proxy:0.0",
            configuration: .init(cluster: "cluster:0", machines: edges, schedule: schedule, prewarm: [Fixtures.processes]))
        _ = proxy.handle(.started, now: .zero)
        let request = TableRequest(tables: [Fixtures.processes], lease: .seconds(30), reset: true, standby: false)
        _ = proxy.handle(.received(.request(request), from: "tla:0"), now: .seconds(1))
        for number: UInt64 in 2...3 {
            let at = Instant.seconds(Double(number - 1) * 10)
            _ = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: at)
            for edge in edges {
                let update = edgeUpdate(number, [entry(Fixtures.processes, from: edge, full: number == 2)])
                _ = proxy.handle(.received(update, from: edge), now: at + .milliseconds(10))
            }
            _ = proxy.handle(.timerFired(ClusterProxy.deadlineTimer), now: at + .milliseconds(2_500))
        }
        let more = TableRequest(tables: [Fixtures.processes, machines], lease: .seconds(30), reset: false, standby: false)
        let actions = proxy.handle(.received(.request(more), from: "tla:0"), now: .seconds(25))
        return (proxy, actions)
    }

    /// edge:0.1's request for `machines` is lost: its next update carries `processes` only and does
    /// not say it lacks `machines`. It is known, not contributing ([1, 2], not a complete-looking
    /// [1, 1]), and asked again every generation although the interest did not change.
    @Test func aMachineWhoseRequestWasLostIsKnownAndAskedAgain() {
        var (proxy, forwarded) = Self.proxyAskedForMachines()
        #expect(Self.asked(forwarded) == Self.edges)
        // The periodic refresh would be quiet (the interest is unchanged and fresh): the machines
        // that owe the table are asked all the same.
        let refresh = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: .seconds(30))
        #expect(Self.asked(refresh) == Self.edges)
        _ = proxy.handle(
            .received(Self.edgeUpdate(4, [Self.entry(Fixtures.processes, from: "edge:0.0", full: false), Self.entry(Self.machines, from: "edge:0.0", full: true)]), from: "edge:0.0"),
            now: .milliseconds(30_010))
        let sent = proxy.handle(
            .received(Self.edgeUpdate(4, [Self.entry(Fixtures.processes, from: "edge:0.1", full: false)]), from: "edge:0.1"),
            now: .milliseconds(30_020))
        #expect(Self.figures(Self.machines, in: sent) == [1, 2])
        #expect(Self.figures(Fixtures.processes, in: sent) == [2, 2])
        let next = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: .seconds(40))
        #expect(Self.asked(next).contains("edge:0.1"))
        // Asked, it answers in full: complete.
        _ = proxy.handle(
            .received(Self.edgeUpdate(5, [Self.entry(Fixtures.processes, from: "edge:0.0", full: false), Self.entry(Self.machines, from: "edge:0.0", full: false)]), from: "edge:0.0"),
            now: .milliseconds(40_010))
        let complete = proxy.handle(
            .received(Self.edgeUpdate(5, [Self.entry(Fixtures.processes, from: "edge:0.1", full: false), Self.entry(Self.machines, from: "edge:0.1", full: true)]), from: "edge:0.1"),
            now: .milliseconds(40_020))
        #expect(Self.figures(Self.machines, in: complete) == [2, 2])
    }

    /// edge:0.1's reply (its whole update of generation 4) is lost: at the deadline it is known,
    /// not contributing.
    @Test func aMachineWhoseReplyWasLostIsKnown() {
        var (proxy, _) = Self.proxyAskedForMachines()
        _ = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: .seconds(30))
        _ = proxy.handle(
            .received(Self.edgeUpdate(4, [Self.entry(Fixtures.processes, from: "edge:0.0", full: false), Self.entry(Self.machines, from: "edge:0.0", full: true)]), from: "edge:0.0"),
            now: .milliseconds(30_010))
        let sent = proxy.handle(.timerFired(ClusterProxy.deadlineTimer), now: .milliseconds(32_500))
        #expect(Self.figures(Self.machines, in: sent) == [1, 2])
    }

    /// edge:0.1 says it does not publish `machines`: the answer is complete without it.
    @Test func aMachineThatDoesNotPublishTheTableIsNotCounted() {
        var (proxy, _) = Self.proxyAskedForMachines()
        _ = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: .seconds(30))
        _ = proxy.handle(
            .received(Self.edgeUpdate(4, [Self.entry(Fixtures.processes, from: "edge:0.0", full: false), Self.entry(Self.machines, from: "edge:0.0", full: true)]), from: "edge:0.0"),
            now: .milliseconds(30_010))
        let sent = proxy.handle(
            .received(Self.edgeUpdate(4, [Self.entry(Fixtures.processes, from: "edge:0.1", full: false)], notPublished: [Self.machines]), from: "edge:0.1"),
            now: .milliseconds(30_020))
        #expect(Self.figures(Self.machines, in: sent) == [1, 1])
    }

    /// edge:0.1 sent `machines` in full, then its interest lapsed (two requests lost): its next
    /// update carries `processes` only. Its rows of `machines` vanish, and it is known, not
    /// contributing, until asked again; had it said it no longer publishes the table, it would not
    /// be counted.
    @Test func aMachineWhoseInterestLapsedIsKnownAgain() {
        for saysNotPublished in [false, true] {
            var (proxy, _) = Self.proxyAskedForMachines()
            for number: UInt64 in 4...5 {
                let at = Instant.seconds(Double(number - 1) * 10)
                _ = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: at)
                for edge in Self.edges {
                    let entries = [Self.entry(Fixtures.processes, from: edge, full: false), Self.entry(Self.machines, from: edge, full: number == 4)]
                    _ = proxy.handle(.received(Self.edgeUpdate(number, entries), from: edge), now: at + .milliseconds(10))
                }
            }
            _ = proxy.handle(.timerFired(ClusterProxy.generationTimer), now: .seconds(50))
            _ = proxy.handle(
                .received(Self.edgeUpdate(6, [Self.entry(Fixtures.processes, from: "edge:0.0", full: false), Self.entry(Self.machines, from: "edge:0.0", full: false)]), from: "edge:0.0"),
                now: .milliseconds(50_010))
            let sent = proxy.handle(
                .received(
                    Self.edgeUpdate(6, [Self.entry(Fixtures.processes, from: "edge:0.1", full: false)], notPublished: saysNotPublished ? [Self.machines] : []),
                    from: "edge:0.1"),
                now: .milliseconds(50_020))
            #expect(Self.figures(Self.machines, in: sent) == (saysNotPublished ? [1, 1] : [1, 2]), "says not published: \(saysNotPublished)")
            #expect(proxy.table(Self.machines)?.slices["edge:0.1"] == nil)
        }
    }

    // MARK: Edge

    /// An edge asked for a table it does not publish says so in every update; a table it starts
    /// publishing leaves the list.
    @Test func anEdgeNamesTheTablesItIsAskedForButDoesNotPublish() {
        var edge = EdgeAgent(id: "edge:0.0", configuration: .init(schedule: Self.schedule))
        _ = edge.handle(.started, now: .zero)
        _ = edge.handle(.publish(Fixtures.processes, Fixtures.rows("edge:0.0", count: 2)), now: .seconds(1))
        let request = TableRequest(tables: [Fixtures.processes, Self.machines, "software_versions"], lease: .seconds(30), reset: false, standby: false)
        _ = edge.handle(.received(.request(request), from: "proxy:0.0"), now: .seconds(2))
        func update(_ actions: [RoleAction]) -> GenerationUpdate? {
            for case .send(.update(let u), "proxy:0.0") in actions { return u }
            return nil
        }
        let first = update(edge.handle(.timerFired(EdgeAgent.generationTimer), now: .seconds(10)))
        #expect(first?.entries.map(\.table) == [Fixtures.processes])
        #expect(first?.notPublished == [Self.machines, "software_versions"])
        _ = edge.handle(.publish(Self.machines, Fixtures.rows("edge:0.0", count: 1)), now: .seconds(15))
        let second = update(edge.handle(.timerFired(EdgeAgent.generationTimer), now: .seconds(20)))
        #expect(second?.entries.map(\.table) == [Self.machines, Fixtures.processes])
        #expect(second?.notPublished == ["software_versions"])
    }
}
