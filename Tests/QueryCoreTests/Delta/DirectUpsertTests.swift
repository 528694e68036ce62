import Testing

@testable import QueryCore

/// The direct apply of small keyed deltas (``Segment/applyDeltaDirectly(upserts:deletes:)``: replaced
/// cells overwritten, deleted rows closed up, new keys appended, no picks) held to the gathering
/// apply: on random rows of every column type, with nulls appearing and disappearing, text of the
/// same and of other byte lengths, deletes at the start, middle or end, new keys, cells left as they
/// are, and malformed deltas (a key upserted or deleted twice, a key both upserted and deleted, a
/// deleted key not held, a key held twice), the columns must equal the gathered ones bit for bit (placeholders under nulls, text
/// bytes and offsets), with the same byte size and inserted upserts; a delta it declines must leave
/// the rows untouched, and every other holder of the rows must never see a change.
extension InPlaceApplyDifferentialTests {
    /// A small delta for `held`: replacements of held keys, deletes now and then, new keys now and
    /// then, and now and then a malformed one.
    static func directDelta(for held: Segment, using rng: inout SeededRandom) throws -> (upserts: Segment, deletes: Segment) {
        let schema = held.schema
        let rows = held.rows
        let keyOf: ([Value]) -> [Value] = { row in schema.keyColumns.map { row[$0] } }
        var upserts: [[Value]] = []
        var deletes: [[Value]] = []
        var touched = Set<Int>()
        if !rows.isEmpty {
            upserts = replacements(of: rows, schema, upTo: 4, touching: &touched, using: &rng)
            if rng.chance(0.35) {
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let at = rng.pick([0, rows.count / 2, rows.count - 1, Int.random(in: 0..<rows.count, using: &rng)])
                    if touched.insert(at).inserted { deletes.append(keyOf(rows[at])) }
                }
            }
        }
        if upserts.isEmpty || rng.chance(0.3) {
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                upserts.append(RandomData.row(schema, using: &rng, domain: 1000))
            }
        }
        switch Int.random(in: 0..<30, using: &rng) {
        case 0: upserts.append(upserts[0])
        case 1: deletes.append(keyOf(RandomData.row(schema, using: &rng, domain: 1000)))
        case 2: deletes.append(keyOf(upserts[0]))
        case 3 where !deletes.isEmpty: deletes.append(deletes[0])
        default: break
        }
        upserts.shuffle(using: &rng)
        deletes.shuffle(using: &rng)
        return (try Segment(schema: schema, rows: upserts), try Segment(schema: schema.deleteSchema, rows: deletes))
    }

    /// Whether two columns hold the same bits: values (under nulls too), text bytes and offsets,
    /// null flags, and no bitmap when no row is null.
    static func sameBits(_ a: Column, _ b: Column) -> Bool {
        guard a.count == b.count, (a.nulls == nil) == (b.nulls == nil) else { return false }
        for r in 0..<a.count where a.isNull(r) != b.isNull(r) { return false }
        switch (a.storage, b.storage) {
        case (.integer(let x), .integer(let y)): return x == y
        case (.real(let x), .real(let y)): return x.map(\.bitPattern) == y.map(\.bitPattern)
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.any(let x), .any(let y)): return x.count == y.count && zip(x, y).allSatisfy { RowIdentity.identical($0, $1) }
        case (.text(let x), .text(let y)): return x.bytes == y.bytes && x.offsets == y.offsets
        default: return false
        }
    }

    @Test func directUpsertsMatchTheGatheringApply() throws {
        var direct = 0
        var deleting = 0
        var inserting = 0
        var declined = 0
        var refused = 0
        for seed in testSeeds(400, salt: 57) {
            var rng = SeededRandom(seed: seed)
            var schema = Strategies.schema(using: &rng)
            if !schema.isKeyed { schema = RandomData.schema(using: &rng, keyed: true) }
            var expected = Strategies.segment(
                schema, count: Int.random(in: 0...40, using: &rng), duplicates: rng.chance(0.05), using: &rng)
            // Held once (written in place) or shared with a copy that must not change.
            var segment = rng.chance(0.5) ? RandomData.copy(expected) : expected
            for step in 0..<6 {
                let (upserts, deletes) = try Self.directDelta(for: expected, using: &rng)
                let gathered = Strategies.outcome { () throws(QueryError) in
                    try expected.applyingDelta(upserts: upserts, deletes: deletes, strategy: rng.chance(0.5) ? .hashed : .linear)
                }
                let before = segment.exactRows
                let shared: Segment? = rng.chance(0.3) ? segment : nil
                if let inserted = segment.applyDeltaDirectly(upserts: upserts, deletes: deletes) {
                    direct += 1
                    if !deletes.isEmpty { deleting += 1 }
                    guard case .success(let result) = gathered else {
                        Issue.record("the direct apply took a delta the gathering apply refuses: step \(step), \(replay(seed))")
                        break
                    }
                    #expect(segment.rowCount == result.rowCount, "step \(step), \(replay(seed))")
                    #expect(segment.byteSize == result.byteSize, "step \(step), \(replay(seed))")
                    for c in schema.columns.indices {
                        #expect(Self.sameBits(segment.columns[c], result.columns[c]), "column \(c), step \(step), \(replay(seed))")
                    }
                    let keys = Set(expected.exactRows.map { row in schema.keyColumns.map { row[$0] } })
                    for (u, row) in upserts.exactRows.enumerated() {
                        let isNew = !keys.contains(schema.keyColumns.map { row[$0] })
                        #expect(inserted.contains(u) == isNew, "step \(step), \(replay(seed))")
                        if isNew { inserting += 1 }
                    }
                } else {
                    declined += 1
                    #expect(segment.exactRows == before, "declined but changed: step \(step), \(replay(seed))")
                    // The general path applies it (or refuses it) as the gathering apply does.
                    let outcome = Strategies.outcome { () throws(QueryError) in
                        try segment.applyDeltaInPlace(upserts: upserts, deletes: deletes)
                    }
                    #expect(Strategies.same(gathered, outcome.map { _ in segment }), "step \(step), \(replay(seed))")
                    if case .failure = outcome { refused += 1 }
                }
                if let shared { #expect(shared.exactRows == before, "step \(step), \(replay(seed))") }
                if case .success(let result) = gathered { expected = result }
                // Both sides carry on from the same rows (after a refused delta: unchanged).
                #expect(segment.exactRows == expected.exactRows, "step \(step), \(replay(seed))")
            }
        }
        #expect(direct > 1000)
        #expect(deleting > 200)
        #expect(inserting > 300)
        #expect(declined > 50)
        #expect(refused > 20)
    }
}
