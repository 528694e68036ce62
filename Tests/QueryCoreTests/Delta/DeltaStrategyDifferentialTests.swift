import Testing

@testable import QueryCore

/// The linear (small-segment) and hashed paths of keyed diff and apply, and the in-place and
/// general paths of gathering, driven with the same random inputs: their results must be
/// identical, row for row and in order, and so must their errors.
@Suite struct DeltaStrategyDifferentialTests {
    /// A random keyed (mostly) schema; key columns are sometimes nullable, sometimes text.
    static func schema(using rng: inout SeededRandom) -> Schema {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0..<8:
            // Like `processes`: one integer key without nulls (the typed integer-key paths).
            let others = RandomData.schema(using: &rng, keyed: false).columns
            let id = ColumnDefinition("id", .integer, nullable: false)
            let at = Int.random(in: 0...others.count, using: &rng)
            var columns = others
            columns.insert(id, at: at)
            return try! Schema(columns, key: ["id"])
        case 8..<17: return RandomData.schema(using: &rng, keyed: true)
        default: return RandomData.schema(using: &rng, keyed: false)
        }
    }

    /// Rows with keys drawn from a domain wide enough for `count` distinct keys, plus (sometimes)
    /// repeated keys.
    static func segment(_ schema: Schema, count: Int, duplicates: Bool, using rng: inout SeededRandom) -> Segment {
        var rows: [[Value]] = []
        var keys = Set<[ExactValue]>()
        let domain = max(8, count * 3)
        var attempts = 0
        while rows.count < count && attempts < count * 6 {
            attempts += 1
            let row = schema.columns.map { RandomData.value($0, using: &rng, domain: domain) }
            if schema.isKeyed, !keys.insert(RandomData.exactKey(row, schema)).inserted { continue }
            rows.append(row)
        }
        if duplicates, !rows.isEmpty {
            // A row repeating an existing key with other values, at a random place.
            var copy = rng.pick(rows)
            for c in copy.indices where !schema.keyColumns.contains(c) && rng.chance(0.5) {
                copy[c] = RandomData.value(schema.columns[c], using: &rng, domain: domain)
            }
            rows.insert(copy, at: Int.random(in: 0...rows.count, using: &rng))
        }
        return try! Segment(schema: schema, rows: rows)
    }

    /// Sizes 0–200, skewed to the small sizes the linear paths take.
    static func size(using rng: inout SeededRandom) -> Int {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<6: Int.random(in: 0...40, using: &rng)
        case 6..<9: Int.random(in: 0...100, using: &rng)
        default: Int.random(in: 0...200, using: &rng)
        }
    }

    /// `body`'s result, or the error it threw.
    static func outcome<R>(_ body: () throws(QueryError) -> R) -> Result<R, QueryError> {
        do { return .success(try body()) } catch { return .failure(error) }
    }

    /// Whether two outcomes agree: the same rows in the same order (exactly), or the same error.
    static func same(_ a: Result<Segment, QueryError>, _ b: Result<Segment, QueryError>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): x.schema == y.schema && x.exactRows == y.exactRows
        case (.failure(let x), .failure(let y)): x.code == y.code && x.message == y.message
        default: false
        }
    }

    @Test func everyDiffMatchingAgrees() throws {
        var linearRuns = 0
        var duplicates = 0
        for seed in testSeeds(500, salt: 11) {
            var rng = SeededRandom(seed: seed)
            let schema = Self.schema(using: &rng)
            let a = Self.segment(schema, count: Self.size(using: &rng), duplicates: rng.chance(0.1), using: &rng)
            let b: Segment
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: b = Self.segment(schema, count: Self.size(using: &rng), duplicates: rng.chance(0.2), using: &rng)
            case 1: b = Self.segment(Self.schema(using: &rng), count: 3, duplicates: false, using: &rng)  // mismatch
            case 2: b = a
            default: b = RandomData.edit(a, using: &rng)
            }
            let linear = Self.outcome { () throws(QueryError) in try a.diff(to: b, strategy: .linear) }
            let hashed = Self.outcome { () throws(QueryError) in try a.diff(to: b, strategy: .hashed) }
            let integerKeys = Self.outcome { () throws(QueryError) in try a.diff(to: b, strategy: .integerKeys) }
            let automatic = Self.outcome { () throws(QueryError) in try a.diff(to: b) }
            for other in [hashed, integerKeys, automatic] {
                #expect(Self.same(linear.map(\.upserts), other.map(\.upserts)), replay(seed))
                #expect(Self.same(linear.map(\.deletes), other.map(\.deletes)), replay(seed))
            }
            if case .failure(let error) = linear, error.code == .invalidArgument { duplicates += 1 }
            if case .success(let (upserts, deletes)) = linear {
                linearRuns += 1
                // And the diff applies back to the target on both apply paths.
                let copy = TableCopy.delta(base: 1, version: 2, upserts: upserts, deletes: deletes)
                if upserts.rowCount + deletes.rowCount <= 64 {
                    let applied = try a.applying(copy, heldVersion: 1, strategy: .linear)
                    #expect(applied.exactMultiset == b.exactMultiset, replay(seed))
                }
                #expect(try a.applying(copy, heldVersion: 1, strategy: .hashed).exactMultiset == b.exactMultiset, replay(seed))
            }
        }
        // The inputs reach both outcomes.
        #expect(linearRuns > 300)
        #expect(duplicates > 20)
    }

    @Test func linearAndHashedAppliesAgree() throws {
        for seed in testSeeds(600, salt: 12) {
            var rng = SeededRandom(seed: seed)
            var schema = Self.schema(using: &rng)
            if !schema.isKeyed { schema = RandomData.schema(using: &rng, keyed: true) }
            let held = Self.segment(schema, count: Self.size(using: &rng), duplicates: rng.chance(0.1), using: &rng)
            // Deltas: valid ones (from a diff), and random ones that may repeat keys, delete keys
            // that are not held, or upsert and delete one key.
            var upserts: Segment
            var deletes: Segment
            let target = RandomData.edit(held, using: &rng)
            if rng.chance(0.5), let (u, d) = try? held.diff(to: target) {
                (upserts, deletes) = (u, d)
            } else {
                let heldRows = held.rows
                var upsertRows = Self.segment(schema, count: Int.random(in: 0...8, using: &rng), duplicates: rng.chance(0.1), using: &rng).rows
                for _ in 0..<Int.random(in: 0...3, using: &rng) where !heldRows.isEmpty {
                    var row = rng.pick(heldRows)
                    for c in row.indices where !schema.keyColumns.contains(c) && rng.chance(0.5) {
                        row[c] = RandomData.value(schema.columns[c], using: &rng)
                    }
                    upsertRows.append(row)
                }
                var deleteRows = (0..<Int.random(in: 0...4, using: &rng)).compactMap { _ in
                    heldRows.isEmpty ? nil : schema.keyColumns.map { rng.pick(heldRows)[$0] }
                }
                if rng.chance(0.2) { deleteRows.append(schema.keyColumns.map { RandomData.value(schema.columns[$0], using: &rng) }) }
                if rng.chance(0.1), let row = upsertRows.first { deleteRows.append(schema.keyColumns.map { row[$0] }) }
                upserts = try Segment(schema: schema, rows: upsertRows)
                deletes = try Segment(schema: schema.deleteSchema, rows: deleteRows)
            }
            guard upserts.rowCount + deletes.rowCount <= 64 else { continue }
            let copy = TableCopy.delta(base: 1, version: 2, upserts: upserts, deletes: deletes)
            let linear = Self.outcome { () throws(QueryError) in try held.applying(copy, heldVersion: 1, strategy: .linear) }
            let hashed = Self.outcome { () throws(QueryError) in try held.applying(copy, heldVersion: 1, strategy: .hashed) }
            let automatic = Self.outcome { () throws(QueryError) in try held.applying(copy, heldVersion: 1) }
            #expect(Self.same(linear, hashed), replay(seed))
            #expect(Self.same(linear, automatic), replay(seed))
            // A delta of another schema is refused the same way.
            if rng.chance(0.1) {
                let other = RandomData.schema(using: &rng, keyed: true)
                let foreign = TableCopy.delta(base: 1, version: 2, upserts: .empty(other), deletes: .empty(other.deleteSchema))
                let l = Self.outcome { () throws(QueryError) in try held.applying(foreign, heldVersion: 1, strategy: .linear) }
                let h = Self.outcome { () throws(QueryError) in try held.applying(foreign, heldVersion: 1, strategy: .hashed) }
                #expect(Self.same(l, h), replay(seed))
            }
        }
    }

    /// Gathering with picks that keep every row in place (the patched path) or not (the general
    /// path) gives the rows the picks name.
    @Test func gatheringMatchesTheReference() throws {
        for seed in testSeeds(400, salt: 13) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, maxRows: 60, using: &rng)
            let b = RandomData.segment(schema, maxRows: 20, using: &rng)
            var picks: [Int32] = (0..<Int32(a.rowCount)).map { $0 }
            if !b.isEmpty {
                for k in picks.indices where rng.chance(0.2) { picks[k] = ~Int32(Int.random(in: 0..<b.rowCount, using: &rng)) }
            }
            if rng.chance(0.4) {
                picks.shuffle(using: &rng)
                if rng.chance(0.5), !picks.isEmpty { picks.removeLast() }
            }
            let gathered = a.gathering(picks, other: b)
            let aRows = a.exactRows
            let bRows = b.exactRows
            let expected = picks.map { $0 >= 0 ? aRows[Int($0)] : bRows[Int(~$0)] }
            #expect(gathered.exactRows == expected, replay(seed))
            #expect(gathered.rowCount == picks.count, replay(seed))
            // Null bitmaps are dropped when no row is null.
            for column in gathered.columns where column.nulls != nil {
                #expect(column.nulls!.nullCount > 0, replay(seed))
            }
        }
    }
}

/// The delete schema and empty columns a schema computes once.
@Suite struct SchemaDerivedPartsTests {
    @Test func deleteSchemaIsTheKeyColumnsInKeyOrder() throws {
        for seed in testSeeds(200, salt: 14) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let expected =
                schema.isKeyed
                ? try Schema(schema.keyColumns.map { schema.columns[$0] }, key: schema.keyColumns.map { schema.columns[$0].name })
                : schema
            #expect(schema.deleteSchema == expected, replay(seed))
            #expect(schema.deleteSchema.hashValue == expected.hashValue, replay(seed))
            #expect(schema.deleteSchema.deleteSchema == expected, replay(seed))
            let empty = Segment.empty(schema)
            #expect(empty.rowCount == 0 && empty.columns.map(\.type) == schema.columns.map(\.type), replay(seed))
            let emptyDeletes = Segment.empty(schema.deleteSchema)
            #expect(emptyDeletes.columns.map(\.type) == expected.columns.map(\.type), replay(seed))
        }
        // Key columns out of column order: the delete schema is not the schema itself.
        let swapped = try Schema([("a", .integer), ("b", .text)], key: ["b", "a"])
        #expect(swapped.deleteSchema.columnNames == ["b", "a"])
        #expect(swapped.deleteSchema != swapped)
        #expect(swapped.deleteSchema.keyColumns == [0, 1])
    }
}
