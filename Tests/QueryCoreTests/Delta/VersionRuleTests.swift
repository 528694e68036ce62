import Testing

@testable import QueryCore

@Suite struct VersionRuleTests {
    /// Delivers a random mix of full copies and deltas of one origin's history in a random order
    /// (with duplicates) and checks the version rule after every step.
    @Test func randomOrderingsOfCopies() throws {
        for seed in testSeeds(150, salt: 10) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let origins: [NodeID] = ["edge:a.1", "edge:a.2", "edge:b.1"]
            var histories: [NodeID: [Segment]] = [:]
            var copies: [(NodeID, TableCopy)] = []
            for origin in origins {
                var history = [RandomData.segment(schema, maxRows: 12, using: &rng)]
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    history.append(RandomData.edit(history.last!, using: &rng))
                }
                histories[origin] = history
                for version in history.indices {
                    let v = Version(version + 1)
                    if version == 0 || rng.chance(0.3) {
                        copies.append((origin, .full(version: v, segment: history[version])))
                    }
                    if version > 0 {
                        let (upserts, deletes) = try history[version - 1].diff(to: history[version])
                        copies.append((origin, .delta(base: v - 1, version: v, upserts: upserts, deletes: deletes)))
                    }
                }
            }
            copies += (0..<4).map { _ in rng.pick(copies) }  // duplicates
            copies.shuffle(using: &rng)

            var table = Table(name: "t", schema: schema)
            var stale = 0
            for (origin, copy) in copies {
                let before = table.version(of: origin)
                let outcome = try table.apply(copy, origin: origin, publishedAt: .zero)
                let after = table.version(of: origin)
                switch outcome {
                case .applied:
                    #expect(after == copy.version, replay(seed))
                    #expect(before.map { $0 < copy.version } ?? true, replay(seed))
                case .rejectedStale(let held):
                    stale += 1
                    #expect(held == before && after == before && copy.version <= held, replay(seed))
                case .needsResync(let held):
                    #expect(held == before && after == before && !copy.isFull, replay(seed))
                    #expect(copy.base != before, replay(seed))
                }
                // Whatever is held is exactly that version's rows.
                if let after, let slice = table.slices[origin] {
                    #expect(slice.segment.hasSameRows(as: histories[origin]![Int(after) - 1]), replay(seed))
                }
            }
            #expect(table.staleRejections == stale, replay(seed))
            // Replaying everything in order afterwards brings every origin to its newest version.
            for (origin, copy) in copies.sorted(by: { $0.1.version < $1.1.version }) {
                _ = try table.apply(copy, origin: origin, publishedAt: .zero)
            }
            for origin in origins {
                let history = histories[origin]!
                #expect(table.version(of: origin) == Version(history.count), replay(seed))
                #expect(table.slices[origin]!.segment.hasSameRows(as: history.last!), replay(seed))
            }
        }
    }
}
