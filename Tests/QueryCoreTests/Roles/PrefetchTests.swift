import Testing

@testable import QueryCore

/// ``TableStore/Prefetcher`` reads the addresses of column arrays from the bytes of slices and
/// copies in place, and only hints the CPU: the rows a store ends up with are those a plain
/// ``Table`` gets from the same copies (in debug builds every raw read is also checked against the
/// safe one). Entries long enough for both passes to run ahead, copies of another schema (read
/// before they are refused), deltas for origins not held, and a proxy-style sender hint.
@Suite struct PrefetchTests {
    static let table: TableName = "t"
    /// Another schema, with fewer columns than the table's.
    static let narrow = try! Schema([("process_name", .text)], key: ["process_name"])

    @Test(arguments: [false, true]) func aStoreAppliesLongEntriesAsATableDoes(keepsHistory: Bool) throws {
        for seed in testSeeds(4, salt: 73) {
            var rng = SeededRandom(seed: seed)
            var store = TableStore(keepsHistory: keepsHistory)
            var reference = Table(name: Self.table, schema: Fixtures.schema)
            let origins = (0..<60).map { NodeID("edge:0.\($0)") }
            var held: [NodeID: (version: Version, segment: Segment)] = [:]
            for generation in 1...6 {
                var copies: [OriginCopy] = []
                for origin in origins where generation == 1 || rng.chance(0.7) {
                    let version = Version(generation)
                    let segment = Fixtures.rows(origin, count: Int.random(in: 1...4, using: &rng), bump: Int64(rng.next() % 5))
                    let copy: TableCopy
                    if rng.chance(0.05) {
                        // Another schema: refused by both, after the prefetcher read its arrays.
                        copy = .full(version: version, segment: Fixtures.narrowRows(count: 3, schema: Self.narrow))
                    } else if rng.chance(0.05), held[origin] != nil {
                        // A delta from a base the receiver does not hold: a resync.
                        copy = .delta(base: 999, version: version, upserts: segment, deletes: Segment.empty(Fixtures.schema.deleteSchema))
                    } else {
                        copy = try TableCopy.make(from: held[origin], to: (version, segment))
                        held[origin] = (version, segment)
                    }
                    copies.append(OriginCopy(origin: origin, copy: copy, publishedAt: .zero))
                }
                let entry = TableEntry(table: Self.table, copies: copies, completeness: TableCompleteness())
                let report = store.apply(entry, scope: "proxy:0.0", now: .zero + .seconds(Int64(generation)))
                var resyncs: [NodeID] = []
                var refused = 0
                for copy in copies {
                    do {
                        if case .needsResync = try reference.apply(copy.copy, origin: copy.origin, publishedAt: .zero) {
                            resyncs.append(copy.origin)
                        }
                    } catch {
                        refused += 1
                    }
                }
                let context = "generation \(generation) \(replay(seed))"
                #expect(report.resync == resyncs, "\(context)")
                #expect(report.refused.count == refused, "\(context)")
                let stored = try #require(store[Self.table]?.table, "\(context)")
                #expect(stored.sortedOrigins == reference.sortedOrigins, "\(context)")
                for origin in reference.sortedOrigins {
                    #expect(stored.slices[origin]?.version == reference.slices[origin]?.version, "\(context) \(origin)")
                    #expect(stored.slices[origin]?.segment.exactRows == reference.slices[origin]?.segment.exactRows, "\(context) \(origin)")
                }
            }
        }
    }

    /// The layout check passes on this compiler: were it to fail, the prefetcher would switch itself
    /// off (the applies unchanged, only slower), and this test says so.
    @Test func theRawReadsAreCheckedAndOnForThisBuild() {
        #expect(TableStore.RawLayout.isVerified)
    }

    /// A proxy applies one machine's entry at a time, its slot found through the sender's hint; the
    /// prefetch ahead of it (see ``TableStore/intake(_:role:into:fresh:)``) reads the same slot.
    @Test func aSendersOwnOriginIsFetchedThroughItsHint() throws {
        var store = TableStore(keepsHistory: true)
        let machines = (0..<8).map { NodeID("edge:0.\($0)") }
        for generation in 1...3 {
            for (index, machine) in machines.enumerated() {
                let segment = Fixtures.rows(machine, count: 3, bump: Int64(generation))
                let previous = generation == 1 ? nil : (Version(generation - 1), Fixtures.rows(machine, count: 3, bump: Int64(generation - 1)))
                let copy = try TableCopy.make(from: previous, to: (Version(generation), segment))
                let entry = TableEntry(table: Self.table, copies: [OriginCopy(origin: machine, copy: copy, publishedAt: .zero)], completeness: TableCompleteness())
                store.prefetch([entry], scope: machine, sender: index, buffers: false)
                store.prefetch([entry], scope: machine, sender: index, buffers: true)
                let report = store.apply(entry, scope: machine, now: .zero + .seconds(Int64(generation)), sender: index)
                #expect(report.applied == 1 && report.resync.isEmpty)
                #expect(store[Self.table]?.table.slices[machine]?.segment.exactRows == segment.exactRows)
            }
        }
    }
}

extension Fixtures {
    /// `count` rows of a one-column schema.
    static func narrowRows(count: Int, schema: Schema) -> Segment {
        try! Segment(schema: schema, rows: (0..<count).map { [.text("q\($0)")] })
    }
}
