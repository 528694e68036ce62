import Testing

@testable import QueryCore

/// Sender sequence numbers on updates: a duplicated or reordered update never undoes a newer one.
@Suite struct UpdateSequenceTests {
    let schedule = GenerationSchedule(interval: .seconds(10))
    let cluster: NodeID = "cluster:0"
    let proxy: NodeID = "proxy:0.0"
    let edges: [NodeID] = ["edge:0.0", "edge:0.1"]

    func entry(_ origins: [NodeID], replacesScope: Bool) -> TableEntry {
        TableEntry(
            table: Fixtures.processes,
            copies: origins.map { origin in
                OriginCopy(origin: origin, copy: .full(version: 1, segment: Fixtures.rows(origin, count: 3)), publishedAt: .seconds(1))
            },
            replacesScope: replacesScope,
            completeness: TableCompleteness()
        )
    }

    /// The case a fault sweep found (`query-sim --seeds 1042 --faults mix`): a proxy's full resend
    /// (replacing its scope) of one machine, then a merge adding a second machine in the same
    /// generation; the network delivers the first again. Without sequences the duplicate removed
    /// the second machine's rows, which the proxy believed the TLA held, so they never came back.
    @Test func aDuplicatedScopeReplacementDoesNotRemoveNewerOrigins() {
        var tla = Aggregator(
            id: "tla:0",
            configuration: .init(
                clusters: [.init(cluster: cluster, proxies: [proxy])], schedule: schedule, prewarm: [Fixtures.processes]))
        _ = tla.handle(.started, now: .seconds(0))
        let generation = schedule.generation(1)
        let first = GenerationUpdate(generation: generation, entries: [entry([edges[0]], replacesScope: true)], sequence: 10)
        let second = GenerationUpdate(generation: generation, entries: [entry([edges[1]], replacesScope: false)], sequence: 11)
        _ = tla.handle(.received(.update(first), from: proxy), now: .seconds(10.1))
        _ = tla.handle(.received(.update(second), from: proxy), now: .seconds(10.2))
        #expect(tla.table(Fixtures.processes)?.version(of: edges[1]) == 1)
        let actions = tla.handle(.received(.update(first), from: proxy), now: .seconds(10.3))
        #expect(tla.table(Fixtures.processes)?.version(of: edges[0]) == 1)
        #expect(
            tla.table(Fixtures.processes)?.version(of: edges[1]) == 1,
            "the duplicate removed rows of a machine added by a newer update")
        // Skipped, counted, and not acknowledged again.
        #expect(!actions.contains { if case .send(.ack, _) = $0 { true } else { false } })
        #expect(
            actions.contains {
                if case .metric(let record) = $0 { record.label == "query.stale_rejections" && record.value == 1 } else { false }
            })

        // The same updates without sequence numbers (hand-built, `0`) are applied as they come:
        // the duplicate does remove the second machine, which is what the numbers prevent.
        var unsequenced = Aggregator(
            id: "tla:0",
            configuration: .init(
                clusters: [.init(cluster: cluster, proxies: [proxy])], schedule: schedule, prewarm: [Fixtures.processes]))
        _ = unsequenced.handle(.started, now: .seconds(0))
        for (update, at) in [(first, 10.1), (second, 10.2), (first, 10.3)] {
            var update = update
            update.sequence = 0
            _ = unsequenced.handle(.received(.update(update), from: proxy), now: .seconds(at))
        }
        #expect(unsequenced.table(Fixtures.processes)?.version(of: edges[1]) == nil)
    }

    @Test func freshEntriesArePerTableAndSenderAndForgottenAfterSilence() {
        var sequences = SenderSequences()
        let processes = entry([edges[0]], replacesScope: true)
        var machines = processes
        machines.table = "machines"
        let forget = Duration.seconds(180)
        var result = sequences.fresh([machines, processes], sequence: 5, from: proxy, now: .seconds(1), forgetAfter: forget)
        #expect(result.entries.map(\.table) == ["machines", "processes"] && result.skipped == 0)
        // A newer update for one table only; the older one for both comes after it.
        result = sequences.fresh([processes], sequence: 7, from: proxy, now: .seconds(2), forgetAfter: forget)
        #expect(result.skipped == 0)
        result = sequences.fresh([machines, processes], sequence: 6, from: proxy, now: .seconds(3), forgetAfter: forget)
        #expect(result.entries.map(\.table) == ["machines"] && result.skipped == 1)
        // An exact duplicate is skipped; another sender's numbers are its own.
        result = sequences.fresh([processes], sequence: 7, from: proxy, now: .seconds(4), forgetAfter: forget)
        #expect(result.entries.isEmpty && result.skipped == 1)
        result = sequences.fresh([processes], sequence: 1, from: "proxy:0.1", now: .seconds(4), forgetAfter: forget)
        #expect(result.skipped == 0)
        // Unstamped updates are always applied.
        result = sequences.fresh([processes], sequence: 0, from: proxy, now: .seconds(5), forgetAfter: forget)
        #expect(result.skipped == 0)
        // Nothing applied from the sender for `forgetAfter`: it may have restarted with a clock that
        // went backwards, so its smaller numbers count again.
        result = sequences.fresh([processes], sequence: 3, from: proxy, now: .seconds(100), forgetAfter: forget)
        #expect(result.skipped == 1)
        result = sequences.fresh([processes], sequence: 3, from: proxy, now: .seconds(183), forgetAfter: forget)
        #expect(result.skipped == 0)
    }

    /// Numbers grow with every update, within a step and across a restart that lost the counter.
    @Test func sequencerStampsGrowingNumbersAcrossRestarts() {
        var sequencer = UpdateSequencer()
        let update = GenerationUpdate(generation: schedule.generation(1), entries: [])
        var actions: [RoleAction] = [
            .send(.update(update), to: "tla:0"), .send(.heartbeat(Heartbeat(generation: 1)), to: "tla:1"),
            .send(.update(update), to: "tla:1"),
        ]
        sequencer.stamp(&actions, now: .seconds(10))
        let stamped = actions.compactMap { action -> UInt64? in
            if case .send(.update(let u), _) = action { u.sequence } else { nil }
        }
        #expect(stamped.count == 2 && stamped[0] < stamped[1])
        #expect(stamped[0] == UInt64(Instant.seconds(10).nanosecondsSinceEpoch))
        var restarted = UpdateSequencer()
        #expect(restarted.next(now: .seconds(11)) > stamped[1])
    }

    /// End to end: an edge's updates through a proxy to a TLA all carry increasing numbers.
    @Test func rolesStampWhatTheySend() {
        var pump = Pump()
        pump.add(EdgeAgent(id: edges[0], configuration: .init(schedule: schedule)))
        pump.add(
            ClusterProxy(
                id: proxy,
                configuration: .init(cluster: cluster, machines: [edges[0]], schedule: schedule, prewarm: [Fixtures.processes])))
        pump.add(
            Aggregator(
                id: "tla:0",
                configuration: .init(
                    clusters: [.init(cluster: cluster, proxies: [proxy])], schedule: schedule, prewarm: [Fixtures.processes])))
        for bump in 0..<4 {
            pump.publish(edges[0], Fixtures.processes, Fixtures.rows(edges[0], count: 3, bump: Int64(bump)))
            pump.run(seconds: 10)
        }
        for sender in [edges[0], proxy] {
            let numbers = pump.sent.compactMap { sent -> UInt64? in
                guard sent.from == sender, case .update(let update) = sent.message else { return nil }
                return update.sequence
            }
            #expect(numbers.count >= 3, "\(sender) sent \(numbers.count) updates")
            #expect(numbers.allSatisfy { $0 > 0 } && zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 })
        }
        #expect(pump.role("tla:0", as: Aggregator.self).table(Fixtures.processes)?.version(of: edges[0]) != nil)
    }
}
