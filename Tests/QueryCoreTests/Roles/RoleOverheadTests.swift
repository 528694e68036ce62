import Testing

@testable import QueryCore

/// The receiving roles' per-message shortcuts held to the general path they replace: stamping
/// updates in place against copying each action out and back, and forwarding an origin's last
/// delta tested on the delta against the history's own test.
@Suite struct RoleOverheadTests {
    static let peers: [NodeID] = ["tla:0", "tla:1", "edge:0.0", "proxy:0.1"]

    /// A random action of every kind a role emits (updates among acks, requests, heartbeats,
    /// deferrals, metrics, logs and timers).
    static func action(_ rng: inout SeededRandom) -> RoleAction {
        let peer = rng.pick(peers)
        let generation = GenerationSchedule(interval: .seconds(10)).generation(UInt64.random(in: 1...9, using: &rng))
        switch Int.random(in: 0..<8, using: &rng) {
        case 0, 1:
            let entry = TableEntry(table: Fixtures.processes, copies: [], completeness: TableCompleteness())
            let entries = Array(repeating: entry, count: Int.random(in: 0...2, using: &rng))
            let sequence = rng.chance(0.3) ? UInt64.random(in: 1...1_000, using: &rng) : 0
            return .send(.update(GenerationUpdate(generation: generation, entries: entries, sequence: sequence)), to: peer)
        case 2: return .send(.ack(TableAck(generation: generation.number, tables: [Fixtures.processes])), to: peer)
        case 3: return .send(.heartbeat(Heartbeat(generation: generation.number)), to: peer)
        case 4:
            return .send(
                .deferral(
                    Deferral(generation: generation, cluster: "cluster:0", proxy: peer, entries: [], sequence: 7)), to: peer)
        case 5: return RoleMetrics.counter("query.bytes_in", Int.random(in: 0...100, using: &rng), role: "proxy")
        case 6: return .log(LogRecord(.debug, "x", metadata: ["peer": peer.rawValue]))
        default: return .setTimer(TimerID("t"), at: .seconds(Double(Int.random(in: 0...9, using: &rng))))
        }
    }

    /// What an action says, for comparison (``RoleAction`` is not `Equatable`).
    static func describe(_ action: RoleAction) -> String {
        switch action {
        case .send(let message, let peer):
            switch message {
            case .update(let update):
                "update \(update.generation.number) \(update.entries.map(\.table.rawValue)) #\(update.sequence) → \(peer)"
            case .deferral(let deferral): "deferral \(deferral.generation.number) #\(deferral.sequence) → \(peer)"
            default: "\(message) → \(peer)"
            }
        default: "\(action)"
        }
    }

    /// The stamping before it worked in place: each action copied out, tested, and written back.
    static func referenceStamp(_ actions: inout [RoleAction], from start: Int, now: Instant, last: inout UInt64) {
        var i = start
        while i < actions.endIndex {
            if case .send(.update(var update), let peer) = actions[i] {
                last = Swift.max(last &+ 1, UInt64(clamping: now.nanosecondsSinceEpoch))
                update.sequence = last
                actions[i] = .send(.update(update), to: peer)
            }
            i += 1
        }
    }

    @Test(arguments: testSeeds(60))
    func stampingInPlaceMatchesCopying(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var sequencer = UpdateSequencer()
        var last: UInt64 = 0
        for step in 0..<12 {
            let actions = (0..<Int.random(in: 0...10, using: &rng)).map { _ in Self.action(&rng) }
            let start = Int.random(in: 0...(actions.count + 1), using: &rng)
            // Clocks that stand still or jump: numbers must grow either way.
            let now = Instant.seconds(Double(step / 3))
            var stamped = actions
            var reference = actions
            sequencer.stamp(&stamped, from: start, now: now)
            Self.referenceStamp(&reference, from: start, now: now, last: &last)
            #expect(stamped.map(Self.describe) == reference.map(Self.describe), replay(seed))
            #expect(sequencer.last == last, replay(seed))
        }
    }

    /// A small keyed delta from `base` to `version`.
    static func delta(_ base: Version, _ version: Version) -> TableCopy {
        .delta(
            base: base, version: version, upserts: Fixtures.rows("edge:0.0", count: 1, bump: Int64(version)),
            deletes: Segment.empty(Fixtures.schema.deleteSchema))
    }

    /// The origin's kept history in one of the shapes a sender holds: nothing, a delta that
    /// replaced whole rows, rows kept whole, deltas applied in place (one or two), or a mix.
    static func kept(_ rng: inout SeededRandom) -> TableStore.Kept {
        var kept = TableStore.Kept()
        let v = { (rng: inout SeededRandom) in Version(UInt64.random(in: 1...4, using: &rng)) }
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: kept.history.push(.rows(version: v(&rng), segment: Fixtures.rows("edge:0.0", count: 2)))
            case 1: kept.history.push(.applied(delta: delta(v(&rng), v(&rng)), inserted: InsertedRows()))
            default: kept.history.removeAll()
            }
        }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: kept.replacingDelta = delta(v(&rng), v(&rng))
        case 1: kept.replacingDelta = .full(version: v(&rng), segment: Fixtures.rows("edge:0.0", count: 1))
        default: kept.replacingDelta = nil
        }
        return kept
    }

    @Test(arguments: testSeeds(40, salt: 4))
    func lastDeltaTestedOnTheDeltaMatchesTheHistory(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        for _ in 0..<50 {
            let kept = Self.kept(&rng)
            let base = Version(UInt64.random(in: 1...4, using: &rng))
            let version = Version(UInt64.random(in: 1...4, using: &rng))
            let fast = Downstream.delta(kept.lastDelta, leadingFrom: base, to: version)
            let general = kept.lastDeltaLeads(from: base, to: version) ? kept.lastDelta : nil
            #expect((fast == nil) == (general == nil), replay(seed))
            if let fast, let general {
                #expect(fast.base == general.base && fast.version == general.version, replay(seed))
                #expect(fast.rowsCarried == general.rowsCarried, replay(seed))
            }
        }
    }

    /// The tables a proxy or TLA asks upstream for, merged without sets, against the sets they
    /// were merged with before: prewarm tables and live (unexpired) interest of every receiver,
    /// sorted, each once.
    @Test(arguments: testSeeds(60, salt: 9))
    func wantedTablesMatchTheSetUnion(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let names: [TableName] = ["processes", "machines", "software_versions", "clusters", "a", "zz"]
        for _ in 0..<20 {
            var receivers: [NodeID: Downstream] = [:]
            for r in 0..<Int.random(in: 0...4, using: &rng) {
                var downstream = Downstream(now: .zero)
                for _ in 0..<Int.random(in: 0...3, using: &rng) {
                    let tables = (0..<Int.random(in: 0...3, using: &rng)).map { _ in rng.pick(names) }
                    let at = Instant.seconds(Double(Int.random(in: 0...20, using: &rng)))
                    downstream.record(TableRequest(tables: tables, lease: .seconds(10)), now: at)
                }
                receivers[NodeID("sql:\(r)")] = downstream
            }
            let prewarm = (0..<Int.random(in: 0...3, using: &rng)).map { _ in rng.pick(names) }
            let now = Instant.seconds(Double(Int.random(in: 0...30, using: &rng)))
            var reference = Set(prewarm)
            for downstream in receivers.values { reference.formUnion(downstream.liveTables(at: now)) }
            #expect(
                Downstream.wanted(prewarm: prewarm, receivers: receivers.values, at: now) == reference.sorted(),
                replay(seed))
        }
    }
}
