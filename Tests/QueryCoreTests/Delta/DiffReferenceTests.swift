import Testing

@testable import QueryCore

/// The diff's fast paths (columns whose arrays are bitwise equal are skipped when the matched rows
/// kept their positions; arrays allocated through specialised code) and the publisher's
/// whole-segment prefilter, held to straightforward references over exact values: the same rows
/// in the same order, the same errors.
@Suite struct DiffReferenceTests {
    typealias Rows = [[ExactValue]]

    /// The keyed diff by the book: a key held twice on either side is an error (`nil`); upserts
    /// are the new rows (in order) whose key is not old or whose values changed; deletes are the
    /// keys of the old rows (in order) whose key is not new.
    static func referenceKeyedDiff(_ old: Segment, _ new: Segment) -> (upserts: Rows, deletes: Rows)? {
        let key = old.schema.keyColumns
        func keyOf(_ row: [ExactValue]) -> [ExactValue] { key.map { row[$0] } }
        let oldRows = old.exactRows
        let newRows = new.exactRows
        var oldByKey: [[ExactValue]: [ExactValue]] = [:]
        for row in oldRows {
            guard oldByKey.updateValue(row, forKey: keyOf(row)) == nil else { return nil }
        }
        var newKeys = Set<[ExactValue]>()
        for row in newRows {
            guard newKeys.insert(keyOf(row)).inserted else { return nil }
        }
        let upserts = newRows.filter { oldByKey[keyOf($0)] != $0 }
        let deletes = oldRows.filter { !newKeys.contains(keyOf($0)) }.map(keyOf)
        return (upserts, deletes)
    }

    /// The keyless diff by the book: each new row (in order) takes the first untaken identical old
    /// row, or is an upsert; the old rows left untaken (in order) are the deletes.
    static func referenceKeylessDiff(_ old: Segment, _ new: Segment) -> (upserts: Rows, deletes: Rows) {
        let oldRows = old.exactRows
        var taken = [Bool](repeating: false, count: oldRows.count)
        var upserts: Rows = []
        for row in new.exactRows {
            if let i = oldRows.indices.first(where: { !taken[$0] && oldRows[$0] == row }) {
                taken[i] = true
            } else {
                upserts.append(row)
            }
        }
        return (upserts, oldRows.indices.filter { !taken[$0] }.map { oldRows[$0] })
    }

    /// The value a null row holds in a column's array (what a changed null looks like bitwise).
    static func placeholder(_ type: ColumnType) -> Value {
        switch type {
        case .integer: .integer(0)
        case .real: .real(0)
        case .text: .text("")
        case .boolean: .boolean(false)
        case .any: .integer(0)
        }
    }

    /// `segment` with some values changed where they are (rows keep their positions): nulls to and
    /// from placeholders, 0.0 and -0.0, NaN payloads, random values; sometimes a key column too,
    /// and sometimes a row dropped, added or moved.
    static func editInPlace(_ segment: Segment, using rng: inout SeededRandom) -> Segment {
        let schema = segment.schema
        var rows = segment.rows
        for r in rows.indices where rng.chance(0.15) {
            let c = Int.random(in: 0..<schema.count, using: &rng)
            if schema.keyColumns.contains(c) && !rng.chance(0.1) { continue }
            let column = schema.columns[c]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: rows[r][c] = column.nullable && rows[r][c] != .null ? .null : placeholder(column.type)
            case 1 where column.type == .real:
                rows[r][c] = .real(rng.pick([0.0, -0.0, .nan, -.nan, Double(nan: 7, signaling: false)]))
            default: rows[r][c] = RandomData.value(column, using: &rng)
            }
        }
        if !rows.isEmpty, rng.chance(0.1) { rows.remove(at: Int.random(in: 0..<rows.count, using: &rng)) }
        if rng.chance(0.1) { rows.append(RandomData.row(schema, using: &rng)) }
        if rows.count > 1, rng.chance(0.1) { rows.swapAt(0, rows.count - 1) }
        return try! Segment(schema: schema, rows: rows)
    }

    /// A random pair: a segment and an edit of it (mostly in place), or the same rows rebuilt.
    static func pair(_ seed: UInt64) -> (Segment, Segment) {
        var rng = SeededRandom(seed: seed)
        let schema = DeltaStrategyDifferentialTests.schema(using: &rng)
        let size = DeltaStrategyDifferentialTests.size(using: &rng)
        let a = DeltaStrategyDifferentialTests.segment(schema, count: size, duplicates: rng.chance(0.05), using: &rng)
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return (a, try! Segment(schema: schema, rows: a.rows))  // the same rows, new arrays
        case 1: return (a, RandomData.edit(a, using: &rng))
        default: return (a, editInPlace(a, using: &rng))
        }
    }

    @Test func diffAgreesWithTheReference() {
        var inPlaceChanges = 0
        var errors = 0
        for seed in testSeeds(600, salt: 31) {
            let (a, b) = Self.pair(seed)
            let result = DeltaStrategyDifferentialTests.outcome { () throws(QueryError) in try a.diff(to: b) }
            if a.schema.isKeyed {
                switch (result, Self.referenceKeyedDiff(a, b)) {
                case (.success(let (upserts, deletes)), let expected?):
                    #expect(upserts.exactRows == expected.upserts, replay(seed))
                    #expect(deletes.exactRows == expected.deletes, replay(seed))
                    #expect(upserts.schema == a.schema && deletes.schema == a.schema.deleteSchema, replay(seed))
                    if a.rowCount == b.rowCount, !expected.upserts.isEmpty, expected.deletes.isEmpty { inPlaceChanges += 1 }
                case (.failure(let error), nil):
                    #expect(error.code == .invalidArgument, replay(seed))
                    errors += 1
                default:
                    Issue.record("diff and reference disagree: \(result) \(replay(seed))")
                }
            } else {
                let expected = Self.referenceKeylessDiff(a, b)
                guard case .success(let (upserts, deletes)) = result else {
                    Issue.record("keyless diff failed: \(result) \(replay(seed))")
                    continue
                }
                #expect(upserts.exactRows == expected.upserts, replay(seed))
                #expect(deletes.exactRows == expected.deletes, replay(seed))
            }
        }
        // The inputs reach the paths: in-place changes (the column prefilter) and duplicate keys.
        #expect(inPlaceChanges > 150)
        #expect(errors > 10)
    }

    /// The prefilter never calls different rows identical, and calls rows built the same way
    /// identical unless a column holds values of any type.
    @Test func bitwiseIdenticalColumnsMeansIdenticalRows() {
        var identical = 0
        for seed in testSeeds(600, salt: 32) {
            let (a, b) = Self.pair(seed)
            let reference = a.schema == b.schema && a.exactRows == b.exactRows
            let fast = a.hasBitwiseIdenticalColumns(to: b)
            if fast { identical += 1 }
            #expect(!fast || reference, replay(seed))
            if reference, !a.schema.columns.contains(where: { $0.type == .any }) {
                #expect(fast, replay(seed))
            }
        }
        #expect(identical > 50)
    }

    /// Publishing rows identical to the current ones changes nothing but the confirmation time; any
    /// change makes a new version whose delta (when it is one) carries the reference diff.
    @Test func publishingSkipsOnlyIdenticalRows() {
        for seed in testSeeds(300, salt: 33) {
            let (a, b) = Self.pair(seed)
            var tables = PublishedTables()
            let first = tables.publish("t", segment: a, now: .seconds(1))
            #expect(first, replay(seed))
            let changed = tables.publish("t", segment: b, now: .seconds(2))
            // An empty diff (same keys, same values, any order) or, with a key held twice, the same
            // multiset: either way, the same rows as a multiset.
            let same = a.exactMultiset == b.exactMultiset
            #expect(changed == !same, replay(seed))
            let table = tables["t"]!
            #expect(table.confirmedAt == .seconds(2), replay(seed))
            #expect(table.version == (changed ? 2_000 : 1_000), replay(seed))
            #expect(table.segment.exactRows == (changed ? b : a).exactRows, replay(seed))
            if changed, a.schema.isKeyed, let expected = Self.referenceKeyedDiff(a, b),
                case .delta(_, _, let upserts, let deletes) = table.copy(acked: 1_000)
            {
                #expect(upserts.exactRows == expected.upserts && deletes.exactRows == expected.deletes, replay(seed))
            }
        }
    }
}
