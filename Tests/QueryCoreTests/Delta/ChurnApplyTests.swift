import Testing

@testable import QueryCore

/// The direct apply of churn deltas (processes that ended and processes that started in the same
/// generation, with replacements): the new keys' values fill the positions the deleted rows freed
/// before anything is appended or cut (``Segment/applyDeltaDirectly(upserts:deletes:)``). Held to
/// the gathering apply bit for bit, with as many, fewer and more new keys than deleted rows, on
/// rows held once or shared; rows held once and keeping their count are written in their own
/// buffers.
extension InPlaceApplyDifferentialTests {
    /// A churn delta for `held` (a keyed segment with rows): `deleted` held rows deleted, `inserted`
    /// new keys, and up to two replacements; `nil` if `held` has too few rows or no new key is found.
    static func churnDelta(
        for held: Segment, deleted: Int, inserted: Int, using rng: inout SeededRandom
    ) throws -> (upserts: Segment, deletes: Segment)? {
        let schema = held.schema
        let rows = held.rows
        guard rows.count > deleted else { return nil }
        let keyOf: ([Value]) -> [ExactValue] = { row in schema.keyColumns.map { ExactValue(row[$0]) } }
        var heldKeys = Set(rows.map(keyOf))
        var touched = Set<Int>()
        var upserts = replacements(of: rows, schema, upTo: 2, touching: &touched, using: &rng)
        var deletes: [[Value]] = []
        // Enough untouched rows to delete (the replacements took up to two).
        guard rows.count - touched.count >= deleted else { return nil }
        while deletes.count < deleted {
            let at = Int.random(in: 0..<rows.count, using: &rng)
            if touched.insert(at).inserted { deletes.append(schema.keyColumns.map { rows[at][$0] }) }
        }
        var tries = 0
        var added = 0
        while added < inserted {
            tries += 1
            if tries > 200 { return nil }
            let row = RandomData.row(schema, using: &rng, domain: 1_000_000)
            guard heldKeys.insert(keyOf(row)).inserted else { continue }
            upserts.append(row)
            added += 1
        }
        upserts.shuffle(using: &rng)
        deletes.shuffle(using: &rng)
        return (try Segment(schema: schema, rows: upserts), try Segment(schema: schema.deleteSchema, rows: deletes))
    }

    @Test func churnDeltasMatchTheGatheringApply() throws {
        var applied = 0
        var sameCount = 0
        var fewer = 0
        var more = 0
        var inPlace = 0
        for seed in testSeeds(300, salt: 91) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng, keyed: true)
            guard schema.keyColumns.count == 1 else { continue }
            var expected = Strategies.segment(
                schema, count: Int.random(in: 2...40, using: &rng), duplicates: false, using: &rng)
            var segment = rng.chance(0.5) ? RandomData.copy(expected) : expected
            for step in 0..<6 {
                let deleted = Int.random(in: 1...3, using: &rng)
                let inserted = rng.pick([deleted, deleted, max(0, deleted - 1), deleted + 1, 0])
                guard let (upserts, deletes) = try Self.churnDelta(
                    for: expected, deleted: deleted, inserted: inserted, using: &rng),
                    upserts.rowCount + deletes.rowCount <= Segment.directDeltaRows
                else { continue }
                let gathered = try expected.applyingDelta(upserts: upserts, deletes: deletes, strategy: .hashed)
                let shared: Segment? = rng.chance(0.3) ? segment : nil
                let before = segment.exactRows
                let addresses = segment.columns.map(Self.address)
                guard let result = segment.applyDeltaDirectly(upserts: upserts, deletes: deletes) else {
                    Issue.record("a well-formed churn delta was declined: step \(step), \(replay(seed))")
                    break
                }
                applied += 1
                if inserted == deleted { sameCount += 1 } else if inserted < deleted { fewer += 1 } else { more += 1 }
                #expect(segment.rowCount == gathered.rowCount, "step \(step), \(replay(seed))")
                #expect(segment.byteSize == gathered.byteSize, "step \(step), \(replay(seed))")
                for c in schema.columns.indices {
                    #expect(Self.sameBits(segment.columns[c], gathered.columns[c]), "column \(c), step \(step), \(replay(seed))")
                }
                let heldKeys = Set(expected.exactRows.map { row in schema.keyColumns.map { row[$0] } })
                for (u, row) in upserts.exactRows.enumerated() {
                    #expect(result.contains(u) == !heldKeys.contains(schema.keyColumns.map { row[$0] }), "step \(step), \(replay(seed))")
                }
                if let shared { #expect(shared.exactRows == before, "step \(step), \(replay(seed))") }
                // Held once and keeping its count: fixed-width columns are written in their own buffers.
                if shared == nil, step > 0, inserted == deleted {
                    for c in schema.columns.indices where schema.columns[c].type != .text {
                        if case .integer = segment.columns[c].storage, addresses[c] != nil {
                            #expect(Self.address(segment.columns[c]) == addresses[c], "column \(c), step \(step), \(replay(seed))")
                            inPlace += 1
                        }
                    }
                }
                expected = gathered
            }
        }
        #expect(applied > 800)
        #expect(sameCount > 300 && fewer > 100 && more > 100)
        #expect(inPlace > 100)
    }
}
