import Testing

@testable import QueryCore

/// The replacements-only apply (``Segment/replaceCells(_:from:)``: every upsert replaces a held
/// row, cells written where they lie) held to the gathering apply: on random keyed rows of every
/// column type, with cells changed to values of the same and of another byte length, nulls
/// appearing and disappearing, rows upserted unchanged, and the rows shared with another holder,
/// the columns must equal the gathered ones bit for bit with the same byte size, and the other
/// holder must never see a change.
extension InPlaceApplyDifferentialTests {
    @Test func replacementsWrittenInPlaceMatchTheGatheringApply() throws {
        var replaced = 0
        var unchanged = 0
        var shared = 0
        for seed in testSeeds(300, salt: 5150) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng, keyed: true)
            var expected = Strategies.segment(
                schema, count: Int.random(in: 1...40, using: &rng), duplicates: false, using: &rng)
            var segment = rng.chance(0.5) ? RandomData.copy(expected) : expected
            for step in 0..<6 {
                let rows = expected.rows
                guard !rows.isEmpty else { break }
                var touched = Set<Int>()
                var upserts = Self.replacements(of: rows, schema, upTo: 6, touching: &touched, using: &rng)
                if upserts.isEmpty || rng.chance(0.15) {
                    // A row upserted as it is held: nothing to write.
                    let i = Int.random(in: 0..<rows.count, using: &rng)
                    if touched.insert(i).inserted { upserts.append(rows[i]) }
                }
                upserts.shuffle(using: &rng)
                let upsertSegment = try Segment(schema: schema, rows: upserts)
                let deleteSegment = try Segment(schema: schema.deleteSchema, rows: [])
                let result = try expected.applyingDelta(upserts: upsertSegment, deletes: deleteSegment)
                let before = segment.exactRows
                let holder: Segment? = rng.chance(0.3) ? segment : nil
                if holder != nil { shared += 1 }
                // Through the direct apply, as a receiver takes it (the replacements-only path is
                // the one for deltas without inserts or deletes).
                let inserted = segment.applyDeltaDirectly(upserts: upsertSegment, deletes: deleteSegment)
                if schema.keyColumns.count == 1, upserts.count <= Segment.directDeltaRows {
                    #expect(inserted == InsertedRows(), "step \(step), \(replay(seed))")
                } else if inserted == nil {
                    _ = try segment.applyDeltaInPlace(upserts: upsertSegment, deletes: deleteSegment)
                }
                #expect(segment.rowCount == result.rowCount, "step \(step), \(replay(seed))")
                #expect(segment.byteSize == result.byteSize, "step \(step), \(replay(seed))")
                for c in schema.columns.indices {
                    #expect(
                        Self.sameBits(segment.columns[c], result.columns[c]),
                        "column \(c), step \(step), \(replay(seed))")
                }
                if result.exactRows == before { unchanged += 1 } else { replaced += 1 }
                if let holder { #expect(holder.exactRows == before, "step \(step), \(replay(seed))") }
                expected = result
            }
        }
        #expect(replaced > 600)
        #expect(unchanged > 20)
        #expect(shared > 200)
    }

    /// Called on its own with the targets worked out by key: the rows afterwards are those of the
    /// gathering apply.
    @Test func replaceCellsWritesOnlyReplacedRows() throws {
        for seed in testSeeds(200, salt: 5151) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng, keyed: true)
            let held = Strategies.segment(
                schema, count: Int.random(in: 1...30, using: &rng), duplicates: false, using: &rng)
            let rows = held.rows
            var touched = Set<Int>()
            let replacements = Self.replacements(of: rows, schema, upTo: 8, touching: &touched, using: &rng)
            guard !replacements.isEmpty else { continue }
            let upserts = try Segment(schema: schema, rows: replacements)
            var targets = Segment.UpsertTargets()
            targets.count = replacements.count
            let keyOf: ([Value]) -> [ExactValue] = { row in schema.keyColumns.map { ExactValue(row[$0]) } }
            for (u, row) in replacements.enumerated() {
                let t = rows.firstIndex { keyOf($0) == keyOf(row) }!
                targets.rows[u] = Int32(t)
            }
            var segment = held
            let taken = segment.replaceCells(targets, from: upserts)
            #expect(taken, replay(seed))
            let noDeletes = try Segment(schema: schema.deleteSchema, rows: [])
            let result = try held.applyingDelta(upserts: upserts, deletes: noDeletes)
            #expect(segment.byteSize == result.byteSize, replay(seed))
            for c in schema.columns.indices {
                #expect(Self.sameBits(segment.columns[c], result.columns[c]), "column \(c), \(replay(seed))")
            }
        }
    }
}
