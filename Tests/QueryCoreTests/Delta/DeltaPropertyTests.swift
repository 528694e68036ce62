import Testing

@testable import QueryCore

@Suite struct DeltaPropertyTests {
    @Test func applyingTheDiffReproducesTheTarget() throws {
        for seed in testSeeds(400) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, using: &rng)
            let b = rng.chance(0.2) ? RandomData.segment(schema, using: &rng) : RandomData.edit(a, using: &rng)
            let (upserts, deletes) = try a.diff(to: b)
            #expect(upserts.schema == schema, replay(seed))
            #expect(deletes.schema == schema.deleteSchema, replay(seed))
            let copy = TableCopy.delta(base: 1, version: 2, upserts: upserts, deletes: deletes)
            let applied = try a.applying(copy, heldVersion: 1)
            #expect(applied.hasSameRows(as: b), replay(seed))
            #expect(applied.exactMultiset == b.exactMultiset, replay(seed))
            // Diffing a segment against itself finds nothing.
            let (none, noDeletes) = try b.diff(to: b)
            #expect(none.isEmpty && noDeletes.isEmpty, replay(seed))
        }
    }

    @Test func keylessDiffIsTheMultisetDifference() throws {
        for seed in testSeeds(200, salt: 1) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng, keyed: false)
            let a = RandomData.segment(schema, using: &rng)
            let b = RandomData.edit(a, using: &rng)
            let (upserts, deletes) = try a.diff(to: b)
            var expectedInserts = b.exactMultiset
            var expectedDeletes = a.exactMultiset
            for (row, count) in a.exactMultiset { expectedInserts[row, default: 0] -= count }
            for (row, count) in b.exactMultiset { expectedDeletes[row, default: 0] -= count }
            #expect(upserts.exactMultiset == expectedInserts.filter { $0.value > 0 }, replay(seed))
            #expect(deletes.exactMultiset == expectedDeletes.filter { $0.value > 0 }, replay(seed))
        }
    }

    @Test func keyedDiffCarriesOnlyChangedRows() throws {
        for seed in testSeeds(200, salt: 2) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng, keyed: true)
            let a = RandomData.segment(schema, using: &rng)
            let b = RandomData.edit(a, using: &rng)
            let (upserts, deletes) = try a.diff(to: b)
            let oldByKey = Dictionary(
                uniqueKeysWithValues: a.rows.map { (RandomData.exactKey($0, schema), $0.map(ExactValue.init)) }
            )
            let newByKey = Dictionary(
                uniqueKeysWithValues: b.rows.map { (RandomData.exactKey($0, schema), $0.map(ExactValue.init)) }
            )
            let expectedUpserts = Set(newByKey.filter { oldByKey[$0.key] != $0.value }.map(\.value))
            let expectedDeletes = Set(oldByKey.keys.filter { newByKey[$0] == nil })
            #expect(Set(upserts.exactRows) == expectedUpserts, replay(seed))
            #expect(upserts.rowCount == expectedUpserts.count, replay(seed))
            #expect(Set(deletes.exactRows) == expectedDeletes, replay(seed))
            #expect(deletes.rowCount == expectedDeletes.count, replay(seed))
        }
    }

    @Test func hasSameRowsAgreesWithTheReference() throws {
        for seed in testSeeds(300, salt: 3) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, maxRows: 8, using: &rng)
            let b =
                rng.chance(0.5)
                ? try Segment(schema: schema, rows: a.rows.shuffled(using: &rng)) : RandomData.edit(a, using: &rng)
            #expect(a.hasSameRows(as: b) == (a.exactMultiset == b.exactMultiset), replay(seed))
        }
    }

    @Test func makeChoosesFullOrDelta() throws {
        for seed in testSeeds(200, salt: 4) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, using: &rng)
            let b = RandomData.edit(a, using: &rng)
            let first = try TableCopy.make(from: nil, to: (1, a))
            #expect(first.isFull && first.version == 1, replay(seed))
            let second = try TableCopy.make(from: (1, a), to: (5, b))
            #expect(second.version == 5, replay(seed))
            if !second.isFull { #expect(second.base == 1, replay(seed)) }
            let applied = try a.applying(second, heldVersion: 1)
            #expect(applied.hasSameRows(as: b), replay(seed))
        }
    }
}
