import Testing

@testable import QueryCore

/// The in-place apply's position-by-position writes (``Column/gatherInPlace(_:_:_:)``) on deltas
/// shaped like the collection tree's: a few held rows replaced (values of the same or another
/// byte length, nulls appearing and disappearing), rows deleted at the start, middle or end, rows
/// inserted, applied generation after generation to rows held once or shared. Every step must give
/// what the gathering apply gives (rows, order, inserted upserts, byte size, errors) and leave
/// every other holder of the rows untouched.
extension InPlaceApplyDifferentialTests {
    /// A value of `column` other than `value`: another byte length or the same, or null toggled.
    static func changed(_ value: Value, _ column: ColumnDefinition, using rng: inout SeededRandom) -> Value {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0 where column.nullable:
            if case .null = value { return RandomData.value(column, using: &rng) }
            return .null
        case 1:
            // Same byte length (as `state` flipping between "S" and "R").
            if case .text(let s) = value {
                return .text(String(repeating: rng.chance(0.5) ? "R" : "S", count: s.utf8.count))
            }
        default: break
        }
        return RandomData.value(column, using: &rng)
    }

    /// Up to `limit` held rows (by position, each at most once: recorded in `touched`) with some of
    /// their non-key cells ``changed(_:_:using:)``.
    static func replacements(
        of rows: [[Value]], _ schema: Schema, upTo limit: Int, touching touched: inout Set<Int>,
        using rng: inout SeededRandom
    ) -> [[Value]] {
        var result: [[Value]] = []
        for _ in 0..<Int.random(in: 0...limit, using: &rng) {
            let i = Int.random(in: 0..<rows.count, using: &rng)
            guard touched.insert(i).inserted else { continue }
            var row = rows[i]
            for c in row.indices where !schema.keyColumns.contains(c) && rng.chance(0.4) {
                row[c] = changed(row[c], schema.columns[c], using: &rng)
            }
            result.append(row)
        }
        return result
    }

    /// A small delta for `held`: replacements, deletes at the start, middle or end, inserts, and
    /// now and then a malformed one (a key upserted twice, a delete of a row not held, a key both
    /// upserted and deleted).
    static func smallDelta(for held: Segment, using rng: inout SeededRandom) throws -> (upserts: Segment, deletes: Segment) {
        let schema = held.schema
        let rows = held.rows
        let keyOf: ([Value]) -> [Value] = { row in schema.isKeyed ? schema.keyColumns.map { row[$0] } : row }
        var heldKeys = Set(rows.map { keyOf($0).map(ExactValue.init) })
        var upserts: [[Value]] = []
        var deletes: [[Value]] = []
        var touched = Set<Int>()
        if schema.isKeyed, !rows.isEmpty {
            upserts = replacements(of: rows, schema, upTo: 3, touching: &touched, using: &rng)
        }
        if !rows.isEmpty, rng.chance(0.4) {
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                let at = rng.pick([0, rows.count / 2, rows.count - 1, Int.random(in: 0..<rows.count, using: &rng)])
                if touched.insert(at).inserted || !schema.isKeyed { deletes.append(keyOf(rows[at])) }
            }
        }
        if rng.chance(0.4) {
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let row = RandomData.row(schema, using: &rng, domain: 1000)
                if schema.isKeyed {
                    guard heldKeys.insert(keyOf(row).map(ExactValue.init)).inserted else { continue }
                }
                upserts.append(row)
            }
        }
        switch Int.random(in: 0..<25, using: &rng) {
        case 0 where !upserts.isEmpty: upserts.append(rng.pick(upserts))
        case 1: deletes.append(keyOf(RandomData.row(schema, using: &rng, domain: 1000)))
        case 2 where !upserts.isEmpty: deletes.append(keyOf(rng.pick(upserts)))
        default: break
        }
        if rng.chance(0.3) { upserts.shuffle(using: &rng) }
        return (try Segment(schema: schema, rows: upserts), try Segment(schema: schema.deleteSchema, rows: deletes))
    }

    @Test func smallDeltasInPlaceMatchTheGatheringApply() throws {
        var applied = 0
        var refused = 0
        var unique = 0
        for seed in testSeeds(300, salt: 54) {
            var rng = SeededRandom(seed: seed)
            let schema = Strategies.schema(using: &rng)
            var expected = Strategies.segment(schema, count: Int.random(in: 0...40, using: &rng), duplicates: false, using: &rng)
            // Held once (written in place) or shared with a copy that must not change.
            var segment = rng.chance(0.5) ? RandomData.copy(expected) : expected
            for step in 0..<6 {
                let (upserts, deletes) = try Self.smallDelta(for: expected, using: &rng)
                let strategy: DeltaStrategy = rng.chance(0.7) ? .automatic : .hashed
                let gathered = Strategies.outcome { () throws(QueryError) in
                    try expected.applyingDelta(upserts: upserts, deletes: deletes, strategy: strategy)
                }
                let before = segment.exactRows
                let shared: Segment? = rng.chance(0.3) ? segment : nil
                let outcome = Strategies.outcome { () throws(QueryError) in
                    try segment.applyDeltaInPlace(upserts: upserts, deletes: deletes, strategy: strategy)
                }
                #expect(Strategies.same(gathered, outcome.map { _ in segment }), "step \(step), \(replay(seed))")
                if let shared { #expect(shared.exactRows == before, "step \(step), \(replay(seed))") } else { unique += 1 }
                switch (gathered, outcome) {
                case (.success(let result), .success(let inserted)):
                    applied += 1
                    #expect(segment.byteSize == result.byteSize, "step \(step), \(replay(seed))")
                    for column in segment.columns {
                        #expect(column.count == result.rowCount, "step \(step), \(replay(seed))")
                        if let nulls = column.nulls { #expect(nulls.nullCount > 0 && nulls.count == column.count, replay(seed)) }
                    }
                    if schema.isKeyed {
                        let keys = Set(expected.exactRows.map { row in schema.keyColumns.map { row[$0] } })
                        for (u, row) in upserts.exactRows.enumerated() {
                            #expect(inserted.contains(u) == !keys.contains(schema.keyColumns.map { row[$0] }), replay(seed))
                        }
                    }
                    expected = result
                case (.failure, .failure):
                    refused += 1
                    #expect(segment.exactRows == before, "step \(step), \(replay(seed))")
                default:
                    break  // recorded by `same` above
                }
            }
        }
        #expect(applied > 1000)
        #expect(refused > 40)
        #expect(unique > 800)
    }

    /// Only the columns whose values change are written: the others keep their buffers, held
    /// once or shared.
    @Test func unchangedColumnsKeepTheirBuffers() throws {
        let schema = try Schema(
            [("pid", .integer), ("name", .text), ("state", .text), ("rss", .integer), ("cpu", .real)], key: ["pid"])
        let rows: [[Value]] = (0..<25).map { (i: Int) -> [Value] in
            [.integer(Int64(i)), .text("proc\(i)"), .text(i % 2 == 0 ? "S" : "R"), .integer(Int64(i) * 1000), .real(Double(i))]
        }
        for shared in [false, true] {
            var segment = RandomData.copy(try Segment(schema: schema, rows: rows))
            let copy: Segment? = shared ? segment : nil
            let before = segment.columns.map(Self.address)
            // Row 3's state changes length, row 9's rss changes; name and cpu do not change.
            let upserts = try Segment(schema: schema, rows: [
                [.integer(3), .text("proc3"), .text("Sleeping"), .integer(3000), .real(3)],
                [.integer(9), .text("proc9"), .text("R"), .integer(1), .real(9)],
            ])
            _ = try segment.applyDeltaInPlace(upserts: upserts, deletes: .empty(schema.deleteSchema))
            let after = segment.columns.map(Self.address)
            #expect(after[0] == before[0] && after[1] == before[1] && after[4] == before[4])
            #expect((after[3] == before[3]) == !shared)
            #expect(segment.row(3)[2] == .text("Sleeping") && segment.row(9)[3] == .integer(1))
            #expect(segment.row(4) == rows[4])
            if let copy { #expect(copy.rows == rows) }
        }
    }

    static func address(_ column: Column) -> UnsafeRawPointer? {
        switch column.storage {
        case .integer(let values): values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        case .real(let values): values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        case .boolean(let values): values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        case .any(let values): values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        case .text(let text): text.bytes.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
    }
}
