import Testing

@testable import QueryCore

/// A receiving store applies keyed deltas in place and keeps the deltas, not the older rows; a
/// receiver further behind gets those deltas composed into one. These tests hold the copies it
/// makes to the general path: whatever a receiver holding an older version gets must turn exactly
/// those rows into the current ones, as a diff from the older rows (``TableCopy/make(from:to:)``)
/// would.
@Suite struct TableStoreHistoryTests {
    @Test func copiesFromOlderVersionsReproduceTheCurrentRows() throws {
        var composed = 0
        var forwarded = 0
        var full = 0
        for seed in testSeeds(250, salt: 61) {
            var rng = SeededRandom(seed: seed)
            var schema = DeltaStrategyDifferentialTests.schema(using: &rng)
            if !schema.isKeyed { schema = RandomData.schema(using: &rng, keyed: true) }
            var store = TableStore(keepsHistory: true)
            let origin: NodeID = "edge:0.0"
            var rows = RandomData.segment(schema, using: &rng)
            var version: Version = 1
            var versions: [(Version, Segment)] = [(version, rows)]
            func send(_ copy: TableCopy) {
                let entry = TableEntry(
                    table: "t", copies: [OriginCopy(origin: origin, copy: copy, publishedAt: .seconds(Double(version)))],
                    completeness: TableCompleteness())
                let report = store.apply(entry, scope: "proxy:0.0", now: .seconds(Double(version)))
                #expect(report.applied == 1, replay(seed))
            }
            send(.full(version: version, segment: rows))
            for _ in 0..<12 {
                let next = RandomData.edit(rows, using: &rng)
                let copy = try TableCopy.make(from: (version, rows), to: (version + 1, next))
                version += 1
                rows = next
                send(rng.chance(0.1) ? .full(version: version, segment: rows) : copy)
                versions.append((version, rows))
                let held = try #require(store["t"]?.table.slices[origin], replay(seed))
                #expect(held.segment.exactRows == rows.exactRows || held.segment.exactMultiset == rows.exactMultiset, replay(seed))
                // Every older version a receiver might hold, and nothing.
                for (old, oldRows) in versions.dropLast().suffix(4) {
                    let copy = try #require(store.copy(of: "t", origin: origin, acked: old), replay(seed))
                    let applied = try oldRows.applying(copy, heldVersion: old)
                    #expect(applied.exactMultiset == held.segment.exactMultiset, replay(seed))
                    #expect(copy.version == version, replay(seed))
                    if copy.isFull {
                        full += 1
                    } else if old == version - 1 {
                        forwarded += 1
                    } else {
                        composed += 1
                    }
                }
                let none = store.copy(of: "t", origin: origin, acked: version)
                #expect(none == nil, replay(seed))
                let fresh = try #require(store.copy(of: "t", origin: origin, acked: nil), replay(seed))
                #expect(fresh.isFull, replay(seed))
            }
        }
        // Each kind of copy is reached.
        #expect(composed > 500)
        #expect(forwarded > 500)
        #expect(full > 500)
    }

    /// A composed delta carries what a diff from the older rows carries when the steps changed
    /// different keys, and a receiver ends with the rows in the sender's order.
    @Test func composedDeltaOfDisjointStepsIsTheDiff() throws {
        let schema = try Schema([("pid", .integer), ("rss", .integer), ("name", .text)], key: ["pid"])
        func rows(_ values: [(Int64, Int64, String)]) throws -> Segment {
            try Segment(schema: schema, rows: values.map { [.integer($0.0), .integer($0.1), .text($0.2)] })
        }
        let v1 = try rows([(1, 10, "a"), (2, 20, "b"), (3, 30, "c"), (4, 40, "d")])
        let v2 = try rows([(1, 11, "a"), (2, 20, "b"), (3, 30, "c"), (4, 40, "d"), (5, 50, "e")])
        let v3 = try rows([(1, 11, "a"), (3, 30, "c"), (4, 40, "d"), (5, 50, "e"), (6, 60, "f")])
        var store = TableStore(keepsHistory: true)
        let origin: NodeID = "edge:0.0"
        for (version, copy) in [
            (1, TableCopy.full(version: 1, segment: v1)),
            (2, try TableCopy.make(from: (1, v1), to: (2, v2))),
            (3, try TableCopy.make(from: (2, v2), to: (3, v3))),
        ] {
            let entry = TableEntry(
                table: "t", copies: [OriginCopy(origin: origin, copy: copy, publishedAt: .seconds(Double(version)))],
                completeness: TableCompleteness())
            _ = store.apply(entry, scope: "proxy:0.0", now: .seconds(Double(version)))
        }
        let copy = try #require(store.copy(of: "t", origin: origin, acked: 1))
        guard case .delta(1, 3, let upserts, let deletes) = copy else {
            Issue.record("expected a delta from 1 to 3, got \(copy)")
            return
        }
        #expect(upserts.exactRows == (try rows([(1, 11, "a"), (5, 50, "e"), (6, 60, "f")])).exactRows)
        #expect(deletes.rows == [[.integer(2)]])
        #expect(try v1.applying(copy, heldVersion: 1).exactRows == store["t"]!.table.slices[origin]!.segment.exactRows)
        // A key inserted and deleted again within the steps is not mentioned.
        let v4 = try rows([(1, 11, "a"), (3, 30, "c"), (4, 40, "d"), (5, 50, "e"), (7, 70, "g")])
        let entry = TableEntry(
            table: "t", copies: [OriginCopy(origin: origin, copy: try TableCopy.make(from: (3, v3), to: (4, v4)), publishedAt: .seconds(4))],
            completeness: TableCompleteness())
        _ = store.apply(entry, scope: "proxy:0.0", now: .seconds(4))
        let fromTwo = try #require(store.copy(of: "t", origin: origin, acked: 2))
        guard case .delta(2, 4, let u, let d) = fromTwo else {
            Issue.record("expected a delta from 2 to 4, got \(fromTwo)")
            return
        }
        #expect(u.exactRows == (try rows([(7, 70, "g")])).exactRows)
        #expect(d.rows == [[.integer(2)]])
    }
}
