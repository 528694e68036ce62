import Testing

@testable import QueryCore

/// A proxy holds back its machines' updates of a generation and applies them together when it sends
/// the generation (`TableStore.intake(_:role:into:fresh:)`): held to applying each update as it arrives.
@Suite struct ProxyBatchTests {
    static let table = Fixtures.processes
    static let other: TableName = "software_versions"
    let schedule = GenerationSchedule(interval: .seconds(10))

    /// The acknowledgements and resync requests among `actions`, each as text, in order.
    static func replies(_ actions: [RoleAction]) -> [String] {
        actions.compactMap { action -> String? in
            guard case .send(let message, let to) = action else { return nil }
            switch message {
            case .ack(let ack): return "ack \(to) g\(ack.generation) \(ack.tables)"
            case .resync(let request): return "resync \(to) g\(request.generation) \(request.table) \(request.origins)"
            default: return nil
            }
        }
    }

    /// Every origin's version and rows of every table.
    static func contents(_ store: TableStore) -> [String] {
        store.names.flatMap { name -> [String] in
            guard let table = store[name]?.table else { return [] }
            return table.sortedOrigins.map { origin in
                let slice = table.slices[origin]!
                return "\(name) \(origin) v\(slice.version) \(slice.segment.exactRows)"
            }
        }
    }

    /// Random updates from a few machines (full copies, deltas, deltas on a base not held, stale
    /// copies, duplicated updates, tables no longer listed), applied one by one to one store and held back and applied
    /// in batches of random length to another: the same rows, versions, acknowledgements and resync
    /// requests.
    @Test func aBatchAppliesAsTheUpdatesOneByOne() throws {
        let machines = (0..<6).map { NodeID("edge:0.\($0)") }
        for seed in testSeeds(24, salt: 9301) {
            var rng = SeededRandom(seed: seed)
            var single = TableStore(keepsHistory: true)
            var batched = TableStore(keepsHistory: true)
            var pending: [TableStore.PendingIntake] = []
            var singleSequences = SenderSequences()
            var batchedSequences = SenderSequences()
            var sequence: UInt64 = 0
            var last: (machine: NodeID, index: Int, entries: [TableEntry], sequence: UInt64)?
            var singleActions: [RoleAction] = []
            var batchedActions: [RoleAction] = []
            // What each machine last published per table (version and rows), to make deltas from.
            var published: [NodeID: [TableName: (Version, Segment)]] = [:]
            for generation in UInt64(1)...12 {
                for (index, machine) in machines.enumerated() where Int.random(in: 0..<10, using: &rng) < 8 {
                    var entries: [TableEntry] = []
                    for name in [Self.table, Self.other] where Int.random(in: 0..<10, using: &rng) < 7 {
                        let previous = published[machine]?[name]
                        let version = (previous?.0 ?? 0) + Version.random(in: 1...2, using: &rng)
                        // Eight rows of which one changes (and now and then one comes or goes): deltas.
                        let count = Int.random(in: 0..<5, using: &rng) == 0 ? 7 : 8
                        let changed = Int.random(in: 0..<count, using: &rng)
                        let rows = try Segment(
                            schema: Fixtures.schema,
                            rows: (0..<count).map { i in
                                [.text(machine.rawValue), .text("p\(i)"), .integer(i == changed ? Int64(generation) : Int64(i) * 100)]
                            })
                        var copy: TableCopy
                        switch Int.random(in: 0..<10, using: &rng) {
                        case 0: copy = .full(version: version, segment: rows)
                        case 1 where previous != nil:
                            // On a base the receivers never held: a resync is asked for.
                            copy = try TableCopy.make(from: (previous!.0 + 100, previous!.1), to: (version + 200, rows))
                        case 2 where previous != nil:
                            // Stale: an older version again.
                            copy = .full(version: previous!.0, segment: previous!.1)
                        default: copy = try TableCopy.make(from: previous, to: (version, rows))
                        }
                        published[machine, default: [:]][name] = (copy.version, rows)
                        entries.append(
                            TableEntry(
                                table: name, copies: [OriginCopy(origin: machine, copy: copy, publishedAt: .zero)],
                                completeness: TableCompleteness()))
                    }
                    sequence += 1
                    var update = (machine: machine, index: index, entries: entries, sequence: sequence)
                    // Now and then the previous update again (duplicated): skipped by its sequence number.
                    if let previous = last, Int.random(in: 0..<8, using: &rng) == 0 { update = previous }
                    last = update
                    let expected: [TableName] = Int.random(in: 0..<5, using: &rng) == 0 ? [Self.table, Self.other] : []
                    let now = schedule.generation(generation).time + .milliseconds(Int64(index))
                    let fresh = singleSequences.fresh(
                        update.entries, sequence: update.sequence, from: update.machine, index: update.index, now: now,
                        forgetAfter: .seconds(180))
                    _ = single.intake(
                        fresh.entries, generation: generation, from: update.machine, scope: update.machine,
                        keepReports: false, sender: update.index, role: "proxy", now: now, into: &singleActions)
                    for name in expected
                    where !update.entries.contains(where: { $0.table == name }) && single.holds(name, origin: update.machine) {
                        _ = single.apply(
                            TableEntry(table: name, copies: [], removed: [update.machine], completeness: TableCompleteness()),
                            scope: update.machine, now: now)
                    }
                    pending.append(
                        TableStore.PendingIntake(
                            entries: update.entries, sequence: update.sequence, generation: generation, peer: update.machine,
                            sender: update.index, arrived: now, expected: expected))
                    if Int.random(in: 0..<4, using: &rng) == 0 {
                        batched.intake(pending, role: "proxy", into: &batchedActions) { update in
                            batchedSequences.fresh(
                                update.entries, sequence: update.sequence, from: update.peer, index: update.sender,
                                now: update.arrived, forgetAfter: .seconds(180))
                        }
                        pending.removeAll()
                    }
                }
            }
            batched.intake(pending, role: "proxy", into: &batchedActions) { update in
                batchedSequences.fresh(
                    update.entries, sequence: update.sequence, from: update.peer, index: update.sender,
                    now: update.arrived, forgetAfter: .seconds(180))
            }
            #expect(Self.contents(batched) == Self.contents(single), replay(seed))
            #expect(Self.replies(batchedActions) == Self.replies(singleActions), replay(seed))
            #expect(!Self.replies(singleActions).filter { $0.hasPrefix("resync") }.isEmpty, replay(seed))
        }
    }

    func update(_ edge: NodeID, generation: UInt64, version: Version, rows: Int = 2) -> RoleInput {
        let copy = TableCopy.full(version: version, segment: Fixtures.rows(edge, count: rows, bump: Int64(version)))
        let entry = TableEntry(
            table: Self.table, copies: [OriginCopy(origin: edge, copy: copy, publishedAt: schedule.generation(generation).time)],
            completeness: TableCompleteness())
        return .received(.update(GenerationUpdate(generation: schedule.generation(generation), entries: [entry])), from: edge)
    }

    /// Until the last machine reports, the proxy acknowledges nothing (the updates are held back)
    /// while ``ClusterProxy/table(_:)`` shows them; the report that completes the generation sends it
    /// and acknowledges every machine, in the order their updates arrived; an update of a
    /// generation already sent is applied, and acknowledged, at once.
    @Test func aGenerationsUpdatesAreAppliedWhenItIsSent() {
        let edges: [NodeID] = ["edge:0.2", "edge:0.0", "edge:0.1"]
        var proxy = ClusterProxy(
            id: "proxy:0.0",
            configuration: .init(cluster: "cluster:0", machines: edges.sorted(), schedule: schedule, prewarm: [Self.table]))
        _ = proxy.handle(.started, now: schedule.generation(1).time)
        let arrival = schedule.generation(2).time + .milliseconds(5)
        for edge in edges.prefix(2) {
            let actions = proxy.handle(update(edge, generation: 2, version: 1), now: arrival)
            #expect(Self.replies(actions).isEmpty)
            #expect(proxy.table(Self.table)?.version(of: edge) == 1)
            #expect(proxy.appliedTable(Self.table)?.version(of: edge) == nil)
        }
        #expect(proxy.sentGeneration < 2)
        let last = proxy.handle(update(edges[2], generation: 2, version: 1), now: arrival)
        #expect(proxy.sentGeneration == 2)
        #expect(Self.replies(last) == edges.map { "ack \($0) g2 [processes]" })
        for edge in edges { #expect(proxy.appliedTable(Self.table)?.version(of: edge) == 1) }
        // Generation 2 is sent: a later copy of it is applied as it arrives.
        let late = proxy.handle(update(edges[0], generation: 2, version: 2, rows: 3), now: arrival + .milliseconds(50))
        #expect(Self.replies(late) == ["ack \(edges[0]) g2 [processes]"])
        #expect(proxy.appliedTable(Self.table)?.version(of: edges[0]) == 2)
        #expect(proxy.appliedTable(Self.table)?.slices[edges[0]]?.segment.rowCount == 3)
    }
}
