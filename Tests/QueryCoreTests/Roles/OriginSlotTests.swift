import Testing

@testable import QueryCore

/// A ``Table`` gives each origin a dense slot that ``TableStore`` and ``Downstream`` index their
/// bookkeeping by; these tests hold the slots to the origins they stand for: stable while origins
/// come and go, reassigned only by a compaction (which changes the layout), and a sender whose
/// slots were reassigned still brings every receiver to exactly its rows.
@Suite struct OriginSlotTests {
    static let table: TableName = "t"

    @Test func anOriginKeepsItsSlotWhileItComesAndGoes() throws {
        var table = Table(name: Self.table, schema: Fixtures.schema)
        for (i, origin) in (["a", "b", "c"] as [NodeID]).enumerated() {
            try table.replace(origin: origin, version: 1, segment: Fixtures.rows(origin, count: 1), publishedAt: .zero)
            #expect(table.slot(of: origin) == i)
        }
        let layout = table.slotLayout
        #expect(table.removeOrigin("b") != nil)
        #expect(table.slot(of: "b") == 1)
        #expect(table.slices["b"] == nil && table.slices.count == 2 && table.sortedOrigins == ["a", "c"])
        try table.replace(origin: "b", version: 2, segment: Fixtures.rows("b", count: 2), publishedAt: .zero)
        #expect(table.slot(of: "b") == 1 && table.slotLayout == layout)
        #expect(table.slices["b"]?.version == 2 && table.rowCount == 4)
    }

    @Test func manyDepartedOriginsAreCompactedIntoANewLayout() throws {
        var table = Table(name: Self.table, schema: Fixtures.schema)
        let origins = (0..<200).map { NodeID("edge:\($0)") }
        for origin in origins {
            try table.replace(origin: origin, version: 1, segment: Fixtures.rows(origin, count: 1), publishedAt: .zero)
        }
        let before = table.slotLayout
        let kept = origins.filter { $0.rawValue.hasSuffix("7") }
        for origin in origins where !kept.contains(origin) { table.removeOrigin(origin) }
        #expect(table.slotLayout != before)
        #expect(table.slotCount < origins.count)
        #expect(table.sortedOrigins == kept.sorted())
        for origin in kept {
            let slot = try #require(table.slot(of: origin))
            #expect(table.origin(at: slot) == origin)
            #expect(table.slice(at: slot)?.segment.exactRows == Fixtures.rows(origin, count: 1).exactRows)
        }
        #expect(table.slot(of: origins[0]) == nil)
    }

    /// A sender whose origins churn (so its slots are compacted now and then) sends entries over a
    /// lossy link; after every entry that arrives and applies, the receiver holds exactly the
    /// sender's rows, whatever was lost before.
    @Test func aReceiverConvergesAcrossSlotCompactions() throws {
        var compactions = 0
        for seed in testSeeds(12, salt: 91) {
            var rng = SeededRandom(seed: seed)
            var now = Instant.zero + .seconds(1)
            var sender = TableStore(keepsHistory: true)
            var receiver = TableStore(keepsHistory: false)
            var downstream = Downstream(now: now)
            let pool = (0..<160).map { NodeID("edge:\($0)") }
            var bump: [NodeID: Int64] = [:]
            var layout: UInt64?
            for generation in UInt64(1)...50 {
                let context = "generation \(generation) \(replay(seed))"
                // Versions follow the clock: an origin that returns comes back newer than it left.
                now = now + .seconds(1)
                // Origins appear, change and (in bursts) depart.
                for origin in pool where rng.chance(0.15) {
                    bump[origin, default: 0] += 1
                    _ = try sender.publish(
                        Self.table, origin: origin,
                        segment: Fixtures.rows(origin, count: Int.random(in: 1...3, using: &rng), bump: bump[origin]!),
                        now: now)
                }
                let departing = rng.chance(0.2) ? 0.6 : 0.03
                for origin in pool where rng.chance(departing) { sender.removeOrigin(origin) }
                if let current = sender[Self.table]?.table.slotLayout {
                    if let layout, layout != current { compactions += 1 }
                    layout = current
                }
                let entry = downstream.entry(
                    for: Self.table, slots: sender.sortedSlots(of: Self.table), store: sender,
                    completeness: TableCompleteness(), generation: generation)
                guard rng.chance(0.85) else { continue }  // the update is lost
                let report = receiver.apply(entry, scope: "proxy", now: now)
                #expect(report.refused.isEmpty, "\(context)")
                if !report.resync.isEmpty {
                    let request = ResyncRequest(generation: generation, table: Self.table, origins: report.resync)
                    downstream.resync(request, generation: generation, store: sender)
                    let reply = downstream.entry(
                        for: Self.table, slots: sender.sortedSlots(of: Self.table), store: sender,
                        completeness: TableCompleteness(), generation: generation, merge: true)
                    let second = receiver.apply(reply, scope: "proxy", now: now)
                    #expect(second.resync.isEmpty && second.refused.isEmpty, "\(context)")
                }
                if rng.chance(0.8) { downstream.acknowledge(generation: generation, tables: [Self.table]) }
                let held = sender[Self.table]?.table
                let got = receiver[Self.table]?.table
                #expect(got?.sortedOrigins ?? [] == held?.sortedOrigins ?? [], "\(context)")
                for origin in held?.sortedOrigins ?? [] {
                    #expect(
                        got?.slices[origin]?.segment.exactRows == held?.slices[origin]?.segment.exactRows,
                        "\(origin) \(context)")
                    #expect(got?.slices[origin]?.version == held?.slices[origin]?.version, "\(origin) \(context)")
                }
            }
        }
        // The property is only worth something if slots were actually reassigned under it.
        #expect(compactions > 20, "\(compactions) compactions")
    }
}
