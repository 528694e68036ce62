import Testing

@testable import QueryCore

/// The edge finds each receiver's tables among its published ones by a remembered index
/// (``EdgeLink/publishedIndex(at:in:layout:)``), looked up by name again only after a table was
/// published for the first time (``PublishedTables/layout``), and reads a table's copy in place
/// (``PublishedTables/Published/copy(of:acked:)``). These tests hold both to the lookups they
/// replace; `EdgeAgentDifferentialTests` holds the whole edge to the reference edge.
@Suite struct EdgeLookupCacheTests {
    static let names: [TableName] = ["m", "a_rather_long_table_name", "c", "processes", "b", "software_versions", "z"]
    static let schema = try! Schema([("pid", .integer), ("rss", .integer)], key: ["pid"])

    static func rows(_ rng: inout SeededRandom) -> Segment {
        var rows: [[Value]] = []
        for pid in 0..<5 where rng.chance(0.7) {
            rows.append([.integer(Int64(pid)), .integer(Int64.random(in: 0...2, using: &rng))])
        }
        return try! Segment(schema: schema, rows: rows)
    }

    /// Random publishes (new names land anywhere in the sorted order, shifting the others),
    /// requests naming published and unpublished tables, in any order: every remembered index is
    /// the index a lookup by name finds.
    @Test func rememberedIndicesFollowNewTables() {
        for seed in testSeeds(150, salt: 311) {
            var rng = SeededRandom(seed: seed)
            var published = PublishedTables()
            var now = Instant.zero + .seconds(1)
            var links = [EdgeLink(now: now), EdgeLink(now: now)]
            var layouts: Set<Int> = [published.layout]
            for step in 0..<60 {
                now = now + .milliseconds(Int64.random(in: 1...3_000, using: &rng))
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<4:
                    let before = published.tables.count
                    _ = published.publish(rng.pick(Self.names), segment: Self.rows(&rng), now: now)
                    if published.tables.count != before {
                        #expect(
                            !layouts.contains(published.layout),
                            "a new table must change the layout \(replay(seed))"
                        )
                    }
                    layouts.insert(published.layout)
                case 4..<7:
                    let request = TableRequest(
                        tables: Self.names.filter { _ in rng.chance(0.4) },
                        lease: .seconds(60),
                        reset: rng.chance(0.1)
                    )
                    links[Int.random(in: 0...1, using: &rng)].record(request, now: now)
                default:
                    break
                }
                for l in links.indices {
                    for j in links[l].tables.indices {
                        let remembered = links[l].publishedIndex(at: j, in: published, layout: published.layout)
                        let looked = published.index(of: links[l].tables[j].name)
                        #expect(
                            remembered == looked,
                            "step \(step) link \(l) table \(links[l].tables[j].name) \(replay(seed))"
                        )
                    }
                }
            }
        }
    }

    /// The copy read in place through a pointer is the copy the table's own method makes, for
    /// every acknowledged version: the current one's predecessors, older kept ones, unknown ones
    /// and none.
    @Test func copyReadInPlaceIsTheTablesCopy() {
        for seed in testSeeds(150, salt: 312) {
            var rng = SeededRandom(seed: seed)
            var published = PublishedTables()
            var now = Instant.zero + .seconds(1)
            var versions: [Version] = []
            for step in 0..<25 {
                now = now + .milliseconds(Int64.random(in: 1...3_000, using: &rng))
                _ = published.publish("t", segment: Self.rows(&rng), now: now)
                guard let table = published["t"] else { continue }
                if versions.last != table.version { versions.append(table.version) }
                for acked in versions.map(Optional.some) + [nil, 1] where acked != table.version {
                    let direct = Self.describe(table.copy(acked: acked))
                    let inPlace = published.tables.withUnsafeBufferPointer {
                        Self.describe(PublishedTables.Published.copy(of: $0.baseAddress!, acked: acked))
                    }
                    #expect(direct == inPlace, "step \(step) acked \(String(describing: acked)) \(replay(seed))")
                    // And the copy brings a receiver holding `acked` to the current rows.
                    #expect(
                        Self.rows(of: table.copy(acked: acked), over: acked.flatMap { Self.held($0, table) })
                            == table.segment.rows.sorted(by: Self.before),
                        "step \(step) \(replay(seed))"
                    )
                }
            }
        }
    }

    static func describe(_ copy: TableCopy) -> String {
        switch copy {
        case .full(let version, let segment): "full \(version) \(segment.rows)"
        case .delta(let base, let version, let upserts, let deletes):
            "delta \(base)->\(version) +\(upserts.rows) -\(deletes.rows)"
        }
    }

    /// The rows of version `version` of `table`, if kept (the current one or an older one).
    static func held(_ version: Version, _ table: PublishedTables.Published) -> Segment? {
        if version == table.version { return table.segment }
        return table.previous.last { $0.version == version }?.segment
    }

    static func before(_ a: [Value], _ b: [Value]) -> Bool { "\(a)" < "\(b)" }

    /// The rows a receiver holding `base` (if any) has after applying `copy`, sorted.
    static func rows(of copy: TableCopy, over base: Segment?) -> [[Value]] {
        switch copy {
        case .full(_, let segment):
            return segment.rows.sorted(by: before)
        case .delta(_, _, let upserts, let deletes):
            guard let base else { return [] }
            let deleted = Set(deletes.rows.map { "\($0[0])" })
            let upserted = Set(upserts.rows.map { "\($0[0])" })
            let kept = base.rows.filter { !deleted.contains("\($0[0])") && !upserted.contains("\($0[0])") }
            return (kept + upserts.rows).sorted(by: before)
        }
    }
}
