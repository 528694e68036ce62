import Testing

@testable import QueryCore

/// A sender remembers each copy it makes from an origin's kept history (``TableStore/MadeCopy``)
/// and gives it to the next receiver that acknowledged the same version. These tests hold that
/// path to the one that makes every copy afresh: same entries, same rows, for receivers that
/// acknowledge, lose acknowledgements and fall behind while the origins' rows change (by deltas
/// applied in place, full copies replacing rows, and origins removed and returning).
@Suite struct MadeCopyTests {
    static let table: TableName = "a"
    static let origins: [NodeID] = (0..<4).map { NodeID("edge:0.\($0)") }
    static let sender = NodeID("proxy:0.0")

    /// A copy in comparable form, rows included.
    static func describe(_ copy: OriginCopy) -> String {
        switch copy.copy {
        case .full(let version, let segment):
            return "\(copy.origin) full@\(version) \(segment.rows)"
        case .delta(let base, let version, let upserts, let deletes):
            return "\(copy.origin) delta \(base)->\(version) +\(upserts.rows) -\(deletes.rows)"
        }
    }

    static func describe(_ entry: TableEntry) -> String {
        "copies=\(entry.copies.map(describe)) removed=\(entry.removed) replaces=\(entry.replacesScope)"
    }

    /// New rows for an origin: usually a small change, sometimes most rows (a full copy), sometimes none.
    static func rows(_ origin: NodeID, _ rng: inout SeededRandom, bump: Int64) -> Segment {
        let count = rng.chance(0.1) ? Int.random(in: 0...1, using: &rng) : Int.random(in: 3...6, using: &rng)
        var rows = Fixtures.rows(origin, count: count, bump: 0).rows
        for i in rows.indices where rng.chance(rng.chance(0.2) ? 0.9 : 0.2) {
            rows[i][2] = .integer(Int64(i) * 100 + bump)
        }
        return try! Segment(schema: Fixtures.schema, rows: rows)
    }

    @Test func rememberedCopiesAreTheCopiesMadeAfresh() throws {
        var remembered = 0
        for seed in testSeeds(60, salt: 4242) {
            var rng = SeededRandom(seed: seed)
            var edges = TableStore(keepsHistory: true)
            var store = TableStore(keepsHistory: true)
            // The same tables, never given a remembered copy: the fresh path's sender.
            var shadow = TableStore(keepsHistory: true)
            var now = Instant.zero + .seconds(1)
            // Receiver r through the remembering path and through the plain one.
            var withMemo = (0..<3).map { _ in Downstream(now: now) }
            var plain = withMemo
            let request = TableRequest(tables: [Self.table], lease: .seconds(100_000), reset: false, standby: false)
            for r in 0..<3 {
                withMemo[r].record(request, now: now)
                plain[r].record(request, now: now)
            }
            var bump: Int64 = 0
            var generation: UInt64 = 0
            for step in 0..<60 {
                let context = "seed \(seed) step \(step)"
                now = now + .seconds(1)
                // Origins publish; the sender receives what they publish (a delta against what it
                // holds, or a full copy), or loses an origin now and then.
                for origin in Self.origins where rng.chance(0.5) {
                    bump += 1
                    if rng.chance(0.04) {
                        let entry = TableEntry(
                            table: Self.table, copies: [], removed: [origin], completeness: TableCompleteness())
                        _ = store.apply(entry, scope: Self.sender, now: now)
                        _ = shadow.apply(entry, scope: Self.sender, now: now)
                        continue
                    }
                    let changed = try edges.publish(
                        Self.table, origin: origin, segment: Self.rows(origin, &rng, bump: bump), now: now)
                    let held = store[Self.table]?.table.version(of: origin)
                    guard changed || held == nil,
                        let copy = edges.copy(of: Self.table, origin: origin, acked: held)
                    else { continue }
                    let entry = TableEntry(
                        table: Self.table, copies: [OriginCopy(origin: origin, copy: copy, publishedAt: now)],
                        completeness: TableCompleteness())
                    let report = store.apply(entry, scope: Self.sender, now: now)
                    _ = shadow.apply(entry, scope: Self.sender, now: now)
                    #expect(report.resync.isEmpty && report.refused.isEmpty, "\(context)")
                }
                generation += 1
                let slots = store.sortedSlots(of: Self.table)
                #expect(slots == shadow.sortedSlots(of: Self.table), "\(context)")
                for r in 0..<3 {
                    let a = withMemo[r].entry(
                        for: Self.table, slots: slots, store: &store, completeness: TableCompleteness(),
                        generation: generation)
                    let b = plain[r].entry(
                        for: Self.table, slots: slots, store: shadow, completeness: TableCompleteness(),
                        generation: generation)
                    #expect(Self.describe(a) == Self.describe(b), "\(context) receiver \(r)")
                    // Receivers acknowledge at different paces (some updates or acks are lost).
                    if rng.chance(0.7) {
                        withMemo[r].acknowledge(generation: generation, tables: [Self.table])
                        plain[r].acknowledge(generation: generation, tables: [Self.table])
                    }
                }
                remembered += store[Self.table]?.made.count { $0 != nil } ?? 0
            }
        }
        // The remembering path was exercised.
        #expect(remembered > 50)
    }

    /// A copy made for a receiver that acknowledged an older version is not given to one that
    /// acknowledged a newer one: that receiver gets the delta from its own version.
    @Test func aRememberedCopyServesOnlyTheVersionItWasMadeFrom() throws {
        let origin = Self.origins[0]
        var store = TableStore(keepsHistory: true)
        var now = Instant.zero + .seconds(1)
        var ahead = Downstream(now: now)
        var behind = Downstream(now: now)
        let request = TableRequest(tables: [Self.table], lease: .seconds(600), reset: false, standby: false)
        ahead.record(request, now: now)
        behind.record(request, now: now)
        func entry(_ receiver: inout Downstream, _ generation: UInt64, _ store: inout TableStore) -> TableEntry {
            receiver.entry(
                for: Self.table, slots: store.sortedSlots(of: Self.table), store: &store, completeness: .init(),
                generation: generation)
        }
        // Six rows of which row `changed` has a new value (a small delta from the rows before).
        func rows(changing changed: Int) -> Segment {
            var rows = Fixtures.rows(origin, count: 6).rows
            rows[changed][2] = .integer(-Int64(changed))
            return try! Segment(schema: Fixtures.schema, rows: rows)
        }
        var versions: [Version] = []
        for g: UInt64 in 1...3 {
            now = now + .seconds(1)
            _ = try store.publish(Self.table, origin: origin, segment: rows(changing: Int(g)), now: now)
            versions.append(try #require(store[Self.table]?.table.version(of: origin)))
            _ = entry(&behind, g, &store)
            _ = entry(&ahead, g, &store)
            // The receiver behind loses its acknowledgement of generation 3.
            if g != 3 { behind.acknowledge(generation: g, tables: [Self.table]) }
            ahead.acknowledge(generation: g, tables: [Self.table])
        }
        now = now + .seconds(1)
        _ = try store.publish(Self.table, origin: origin, segment: rows(changing: 4), now: now)
        // Behind holds the second version (its copy is made: a diff from kept rows); ahead holds the
        // third (the delta published is forwarded).
        let late = entry(&behind, 4, &store)
        #expect(store[Self.table]!.made.contains { $0 != nil })
        let current = entry(&ahead, 4, &store)
        #expect(late.copies.first?.copy.base == versions[1])
        #expect(current.copies.first?.copy.base == versions[2])
    }

    /// A remembered copy is used only for the version it was made for: once the origin's rows
    /// change, the next receiver gets a copy to the new rows.
    @Test func aRememberedCopyIsForgottenWhenTheRowsChange() throws {
        let origin = Self.origins[0]
        var store = TableStore(keepsHistory: true)
        let now = Instant.zero + .seconds(1)
        _ = try store.publish(Self.table, origin: origin, segment: Fixtures.rows(origin, count: 4, bump: 0), now: now)
        var first = Downstream(now: now)
        var second = Downstream(now: now)
        let request = TableRequest(tables: [Self.table], lease: .seconds(600), reset: false, standby: false)
        first.record(request, now: now)
        second.record(request, now: now)
        for (g, receiver) in [(UInt64(1), 0), (1, 1)] {
            let slots = store.sortedSlots(of: Self.table)
            if receiver == 0 {
                _ = first.entry(for: Self.table, slots: slots, store: &store, completeness: .init(), generation: g)
                first.acknowledge(generation: g, tables: [Self.table])
            } else {
                _ = second.entry(for: Self.table, slots: slots, store: &store, completeness: .init(), generation: g)
                second.acknowledge(generation: g, tables: [Self.table])
            }
        }
        // Both hold version 1. The rows change: the first receiver's delta is made and remembered.
        _ = try store.publish(
            Self.table, origin: origin, segment: Fixtures.rows(origin, count: 4, bump: 7), now: now + .seconds(1))
        let slots = store.sortedSlots(of: Self.table)
        let made = first.entry(for: Self.table, slots: slots, store: &store, completeness: .init(), generation: 2)
        #expect(store[Self.table]!.made.contains { $0 != nil })
        // They change again before the second receiver's entry: it must get the newest rows.
        _ = try store.publish(
            Self.table, origin: origin, segment: Fixtures.rows(origin, count: 4, bump: 9), now: now + .seconds(2))
        #expect(!store[Self.table]!.made.contains { $0 != nil })
        let late = second.entry(for: Self.table, slots: slots, store: &store, completeness: .init(), generation: 2)
        let newest = try #require(store[Self.table]?.table.version(of: origin))
        #expect(made.copies.first?.copy.version != newest)
        #expect(late.copies.first?.copy.version == newest)
        let fresh = try #require(store.copy(of: Self.table, origin: origin, acked: late.copies.first?.copy.base))
        #expect(Self.describe(late.copies[0]) == Self.describe(OriginCopy(origin: origin, copy: fresh, publishedAt: now)))
    }
}
