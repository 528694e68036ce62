import Testing

@testable import QueryCore

/// The edge's publish path decides "changed?" and "what to send" from one diff; these tests hold it
/// to the general path it replaced: ``Segment/hasSameRows(as:)`` for the first and
/// ``TableCopy/make(from:to:)`` for the second.
@Suite struct TableStorePublishTests {
    @Test func oneDiffAgreesWithTheGeneralPath() throws {
        for seed in testSeeds(300, salt: 41) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let first = RandomData.segment(schema, using: &rng)
            let second: Segment
            switch rng.next() % 4 {
            case 0: second = first  // unchanged
            case 1: second = RandomData.segment(schema, using: &rng)  // replaced (keys may repeat)
            default: second = RandomData.edit(first, using: &rng)
            }
            var store = TableStore(keepsHistory: true)
            let origin: NodeID = "edge:0.0"
            _ = try store.publish("t", origin: origin, segment: first, now: .seconds(1))
            let v1 = try #require(store["t"]?.table.version(of: origin), replay(seed))
            let changed = try store.publish("t", origin: origin, segment: second, now: .seconds(2))

            // "Changed?" is exactly "not the same rows".
            #expect(changed == !first.hasSameRows(as: second), replay(seed))
            guard changed else {
                #expect(store["t"]?.table.version(of: origin) == v1, replay(seed))
                continue
            }
            let v2 = try #require(store["t"]?.table.version(of: origin), replay(seed))
            #expect(v2 > v1, replay(seed))

            // What a receiver holding v1 gets: the general path's copy, and it reproduces `second`.
            let copy = try #require(store.copy(of: "t", origin: origin, acked: v1), replay(seed))
            let reference = try? TableCopy.make(from: (v1, first), to: (v2, second))
            #expect(copy.isFull == (reference?.isFull ?? true), replay(seed))
            let applied = try first.applying(copy, heldVersion: v1)
            #expect(applied.exactMultiset == second.exactMultiset, replay(seed))
            if case .delta(_, _, let upserts, let deletes)? = reference, case .delta(_, _, let u, let d) = copy {
                #expect(u.exactMultiset == upserts.exactMultiset, replay(seed))
                #expect(d.exactMultiset == deletes.exactMultiset, replay(seed))
            }
        }
    }
}
