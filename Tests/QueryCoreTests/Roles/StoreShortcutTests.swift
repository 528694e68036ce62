import Testing

@testable import QueryCore

/// Shortcuts a receiving ``TableStore`` takes on every entry, each held to the plain path: the
/// forward probe for an origin's slot (``TableStore/Stored/slotAfterLastFound(_:)``) to the lookup
/// by name, and a store that stops keeping history while none of its receivers is served
/// (``TableStore/keepHistory(_:)``) to one that always keeps it.
@Suite struct StoreShortcutTests {
    @Test func forwardProbesFindTheSlotALookupByNameFinds() throws {
        let schema = try Schema([("k", .integer)], key: ["k"])
        let rows = try Segment(schema: schema, rows: [[.integer(1)]])
        for seed in testSeeds(60, salt: 2301) {
            var rng = SeededRandom(seed: seed)
            var table = Table(name: "t", schema: schema)
            let origins = (0..<40).map { NodeID("edge:0.\($0)") }
            for origin in origins.shuffled(using: &rng) where rng.chance(0.8) {
                try table.replace(origin: origin, version: 1, segment: rows, publishedAt: .seconds(0))
            }
            var stored = TableStore.Stored(table: table)
            stored.coverSlots()
            for step in 0..<60 {
                if rng.chance(0.1), let slot = stored.table.slot(of: rng.pick(origins)) {
                    _ = stored.remove(slot: slot)
                    stored.compactIfSparse()
                }
                // An entry's origins: a sorted subset (as senders list them), now and then shuffled,
                // with names never held among them.
                var listed = origins.filter { _ in rng.chance(0.7) } + [NodeID("edge:9.\(step)")]
                listed.sort()
                if rng.chance(0.2) { listed.shuffle(using: &rng) }
                for origin in listed {
                    let expected = stored.table.slot(of: origin)
                    #expect(stored.knownSlot(of: origin, scope: "proxy:0.0", sender: nil) == expected, replay(seed))
                }
            }
        }
    }

    /// A churning origin's rows: values change, rows come and go.
    private static func churned(_ rows: [[Value]], nextKey: inout Int64, using rng: inout SeededRandom) -> [[Value]] {
        var result: [[Value]] = []
        for row in rows where !rng.chance(0.1) {
            var row = row
            if rng.chance(0.3) { row[1] = .text(rng.chance(0.5) ? "S" : "R") }
            if rng.chance(0.3) { row[2] = .integer(Int64.random(in: 0...1000, using: &rng)) }
            result.append(row)
        }
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            nextKey += 1
            result.append([.integer(nextKey), .text("S"), .integer(0)])
        }
        return result
    }

    @Test func aStoreThatStopsKeepingHistoryHoldsTheSameRowsAndSendsCopiesThatApply() throws {
        let keyed = try Schema([("k", .integer), ("state", .text), ("n", .integer)], key: ["k"])
        let keyless = try Schema([("k", .integer), ("state", .text), ("n", .integer)])
        for seed in testSeeds(40, salt: 2302) {
            var rng = SeededRandom(seed: seed)
            let schema = rng.chance(0.7) ? keyed : keyless
            let table: TableName = "processes"
            let origins = (0..<5).map { NodeID("edge:0.\($0)") }
            var current: [NodeID: (version: Version, rows: [[Value]])] = [:]
            var byVersion: [NodeID: [Version: [[Value]]]] = [:]
            var nextKey: Int64 = 0
            var always = TableStore(keepsHistory: true)
            var toggled = TableStore(keepsHistory: true)
            for step in 1...40 {
                if rng.chance(0.2) { toggled.keepHistory(rng.chance(0.5)) }
                var copies: [OriginCopy] = []
                for origin in origins where rng.chance(0.7) {
                    let old = current[origin]
                    let rows = old.map { Self.churned($0.rows, nextKey: &nextKey, using: &rng) }
                        ?? (0..<4).map { _ in
                            nextKey += 1
                            return [.integer(nextKey), .text("S"), .integer(0)]
                        }
                    let version = Version(step)
                    let segment = try Segment(schema: schema, rows: rows)
                    let from = try old.map { (version: $0.version, segment: try Segment(schema: schema, rows: $0.rows)) }
                    let copy = try TableCopy.make(from: from, to: (version, segment))
                    copies.append(OriginCopy(origin: origin, copy: copy, publishedAt: .seconds(Double(step))))
                    current[origin] = (version, rows)
                    byVersion[origin, default: [:]][version] = rows
                }
                let entry = TableEntry(table: table, copies: copies, completeness: TableCompleteness())
                _ = always.apply(entry, scope: "proxy:0.0", now: .seconds(Double(step)))
                _ = toggled.apply(entry, scope: "proxy:0.0", now: .seconds(Double(step)))
                for origin in origins {
                    let expected = always[table]?.table.slices[origin]
                    let held = toggled[table]?.table.slices[origin]
                    #expect(held?.version == expected?.version, "step \(step), \(replay(seed))")
                    #expect(held?.segment.exactRows == expected?.segment.exactRows, "step \(step), \(replay(seed))")
                    if !toggled.keepsHistory, let slot = toggled[table]?.table.slot(of: origin) {
                        let kept = toggled[table]?.record(at: slot)?.kept
                        #expect(
                            kept?.history.last == nil && kept?.replacingDelta == nil,
                            "kept while not keeping: \(replay(seed))")
                    }
                    // Whatever copy it makes for a receiver at an older version brings it to the current rows.
                    guard let now = current[origin], let versions = byVersion[origin] else { continue }
                    for (acked, rows) in versions where acked < now.version && acked + 3 >= now.version {
                        guard let copy = toggled.copy(of: table, origin: origin, acked: acked) else {
                            Issue.record("no copy for an older version: \(replay(seed))")
                            continue
                        }
                        let base = try Segment(schema: schema, rows: rows)
                        let result = try base.applying(copy, heldVersion: acked)
                        // Compared as multisets (a keyless delta may leave the rows in another order).
                        let expected = now.rows.map { $0.map(ExactValue.init) }.sorted(by: Self.before)
                        #expect(result.exactRows.sorted(by: Self.before) == expected, "step \(step), \(replay(seed))")
                    }
                }
            }
        }
    }

    private static func before(_ a: [ExactValue], _ b: [ExactValue]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}

extension StoreShortcutTests {
    /// The delete-schema check an applied delta makes, held to comparing with the assembled
    /// ``Schema/deleteSchema``: for random schemas and candidates (the delete schema, the schema
    /// itself, another schema's delete schema, the key columns in another order or another key).
    @Test func theDeleteSchemaCheckAgreesWithTheAssembledDeleteSchema() throws {
        var matched = 0
        for seed in testSeeds(300, salt: 2303) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let other = RandomData.schema(using: &rng)
            var candidates = [schema.deleteSchema, schema, other, other.deleteSchema]
            let names = schema.columns.map(\.name)
            let shuffledKey = schema.keyColumns.map { names[$0] }.shuffled(using: &rng)
            candidates.append(try Schema(schema.columns.map { ($0.name, $0.type) }, key: shuffledKey).deleteSchema)
            candidates.append(try Schema(schema.columns.map { ($0.name, $0.type) }, key: [names[0]]).deleteSchema)
            for candidate in candidates {
                let expected = candidate == schema.deleteSchema
                #expect(schema.isDeleteSchema(candidate) == expected, replay(seed))
                if expected { matched += 1 }
            }
        }
        #expect(matched > 300)
    }
}
