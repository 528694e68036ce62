import Testing

@testable import QueryCore

/// The in-place apply (deltas written into the held rows' buffers) held to the gathering apply it
/// replaces on the hot path: on the same random rows and deltas — valid ones, and ones that repeat
/// keys, delete rows that are not held, upsert and delete one key, or have another schema — both
/// must give the same rows in the same order, or the same error, and leave every other holder of
/// the rows untouched.
@Suite struct InPlaceApplyDifferentialTests {
    typealias Strategies = DeltaStrategyDifferentialTests

    /// A random delta for `held`: a diff to an edit of it, or random upserts and deletes that may
    /// be malformed.
    static func delta(for held: Segment, using rng: inout SeededRandom) throws -> (upserts: Segment, deletes: Segment) {
        let schema = held.schema
        let target = RandomData.edit(held, using: &rng)
        if rng.chance(0.5), let (u, d) = try? held.diff(to: target) { return (u, d) }
        let heldRows = held.rows
        var upsertRows = Strategies.segment(
            schema, count: Int.random(in: 0...8, using: &rng), duplicates: rng.chance(0.1), using: &rng
        ).rows
        for _ in 0..<Int.random(in: 0...3, using: &rng) where !heldRows.isEmpty {
            var row = rng.pick(heldRows)
            for c in row.indices where !schema.keyColumns.contains(c) && rng.chance(0.5) {
                row[c] = RandomData.value(schema.columns[c], using: &rng)
            }
            upsertRows.append(row)
        }
        let keyOf: ([Value]) -> [Value] = { row in schema.isKeyed ? schema.keyColumns.map { row[$0] } : row }
        var deleteRows = (0..<Int.random(in: 0...4, using: &rng)).compactMap { _ in
            heldRows.isEmpty ? nil : keyOf(rng.pick(heldRows))
        }
        if rng.chance(0.2) { deleteRows.append(keyOf(RandomData.row(schema, using: &rng))) }
        if rng.chance(0.1), let row = upsertRows.first { deleteRows.append(keyOf(row)) }
        upsertRows.shuffle(using: &rng)
        return (try Segment(schema: schema, rows: upsertRows), try Segment(schema: schema.deleteSchema, rows: deleteRows))
    }

    @Test func inPlaceApplyMatchesTheGatheringApply() throws {
        var applied = 0
        var refused = 0
        var inserts = 0
        for seed in testSeeds(800, salt: 51) {
            var rng = SeededRandom(seed: seed)
            let schema = Strategies.schema(using: &rng)
            let held = Strategies.segment(
                schema, count: Strategies.size(using: &rng), duplicates: rng.chance(0.05), using: &rng)
            let (upserts, deletes) = try Self.delta(for: held, using: &rng)
            let strategy: DeltaStrategy = rng.chance(0.5) ? .automatic : (upserts.rowCount + deletes.rowCount <= 64 ? .linear : .hashed)
            let expected = Strategies.outcome { () throws(QueryError) in
                try held.applyingDelta(upserts: upserts, deletes: deletes, strategy: strategy)
            }
            let heldRows = held.exactRows
            // `other` shares the rows, as a sender's copy or a kept older version would.
            let other: Segment? = rng.chance(0.5) ? held : nil
            var segment = held
            let outcome = Strategies.outcome { () throws(QueryError) in
                try segment.applyDeltaInPlace(upserts: upserts, deletes: deletes, strategy: strategy)
            }
            let rows = outcome.map { _ in segment }
            #expect(Strategies.same(expected, rows), replay(seed))
            if case .success(let result) = expected {
                #expect(segment.byteSize == result.byteSize, replay(seed))
                #expect(segment.rowCount == result.rowCount, replay(seed))
                for column in segment.columns where column.nulls != nil {
                    #expect(column.nulls!.nullCount > 0, replay(seed))
                }
            }
            switch outcome {
            case .success(let inserted):
                applied += 1
                // An upsert is an insert exactly when its key was not held.
                if schema.isKeyed {
                    let heldKeys = Set(heldRows.map { row in schema.keyColumns.map { row[$0] } })
                    for (u, row) in upserts.exactRows.enumerated() {
                        let isNew = !heldKeys.contains(schema.keyColumns.map { row[$0] })
                        #expect(inserted.contains(u) == isNew, replay(seed))
                        if isNew { inserts += 1 }
                    }
                }
            case .failure:
                refused += 1
                #expect(segment.exactRows == heldRows, replay(seed))
            }
            // Nobody else's rows changed.
            #expect(held.exactRows == heldRows, replay(seed))
            if let other { #expect(other.exactRows == heldRows, replay(seed)) }
        }
        #expect(applied > 400)
        #expect(refused > 50)
        #expect(inserts > 100)
    }

    /// Gathering in place gives what gathering gives, for picks that can be written in place and
    /// for picks that cannot (which fall back to gathering).
    @Test func gatherInPlaceMatchesGathering() throws {
        var inPlace = 0
        for seed in testSeeds(600, salt: 52) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, maxRows: 60, using: &rng)
            let b = RandomData.segment(schema, maxRows: 20, using: &rng)
            var picks: [Int32] = []
            // Held rows in order, some skipped or replaced, then some appended.
            for i in 0..<a.rowCount {
                if rng.chance(0.15) { continue }
                if !b.isEmpty, rng.chance(0.2) {
                    picks.append(~Int32(Int.random(in: 0..<b.rowCount, using: &rng)))
                } else {
                    picks.append(Int32(i))
                }
            }
            if !b.isEmpty {
                for _ in 0..<Int.random(in: 0...4, using: &rng) { picks.append(~Int32(Int.random(in: 0..<b.rowCount, using: &rng))) }
            }
            if rng.chance(0.2) { picks.shuffle(using: &rng) }
            if rng.chance(0.1), picks.count > 1 { picks.insert(picks[0], at: 1) }
            let canInPlace = picks.withUnsafeBufferPointer { Segment.canGatherInPlace($0, rowCount: a.rowCount) }
            if canInPlace { inPlace += 1 }
            let expected = a.gathering(picks, other: b)
            let aRows = a.exactRows
            var segment = a
            if rng.chance(0.5) {
                // Held once: the buffers are written in place.
                segment = RandomData.copy(a)
            }
            picks.withUnsafeBufferPointer { segment.gatherInPlace($0, other: b) }
            #expect(segment.exactRows == expected.exactRows, replay(seed))
            #expect(segment.byteSize == expected.byteSize, replay(seed))
            #expect(a.exactRows == aRows, replay(seed))
            for column in segment.columns where column.nulls != nil {
                #expect(column.nulls!.nullCount > 0, replay(seed))
            }
        }
        #expect(inPlace > 300)
    }

    /// A delta applied to rows held once writes into their buffers: no new column is allocated.
    @Test func uniquelyHeldRowsAreWrittenInPlace() throws {
        let schema = try Schema(
            [("pid", .integer), ("rss", .integer), ("state", .text), ("cpu", .real)], key: ["pid"])
        let rows: [[Value]] = (0..<25).map { (i: Int) -> [Value] in
            let state: Value = .text(i % 2 == 0 ? "S" : "R")
            return [.integer(Int64(i)), .integer(Int64(i) * 1000), state, .real(Double(i))]
        }
        var segment = try Segment(schema: schema, rows: rows)
        segment = RandomData.copy(segment)
        func address(_ column: Column) -> UnsafeRawPointer? {
            switch column.storage {
            case .integer(let values): values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
            case .real(let values): values.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
            case .text(let text): text.bytes.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
            default: nil
            }
        }
        let before = segment.columns.map(address)
        let changed: [Value] = [.integer(7), .integer(1), .text("S"), .real(0.5)]
        let upserts = try Segment(schema: schema, rows: [changed])
        let inserted = try segment.applyDeltaInPlace(upserts: upserts, deletes: .empty(schema.deleteSchema))
        #expect(inserted == InsertedRows())
        #expect(segment.columns.map(address) == before)
        #expect(segment.row(7) == changed)
    }

    /// Applying through a table in place or by gathering leaves the same rows and outcomes.
    @Test func tableAppliesAgree() throws {
        for seed in testSeeds(100, salt: 53) {
            var rng = SeededRandom(seed: seed)
            let schema = Strategies.schema(using: &rng)
            var gathered = Table(name: "t", schema: schema)
            var inPlace = Table(name: "t", schema: schema)
            var versions: [NodeID: Version] = [:]
            let origins: [NodeID] = ["a", "b", "c"]
            for _ in 0..<20 {
                let origin = rng.pick(origins)
                let held = gathered.slices[origin]
                var copy: TableCopy
                let version = (versions[origin] ?? 0) + Version(Int.random(in: 0...2, using: &rng))
                if let held, rng.chance(0.85) {
                    let (u, d) = try Self.delta(for: held.segment, using: &rng)
                    let base = rng.chance(0.9) ? held.version : held.version &+ 1
                    copy = .delta(base: base, version: max(version, base &+ 1), upserts: u, deletes: d)
                } else {
                    copy = .full(version: version, segment: Strategies.segment(schema, count: Int.random(in: 0...30, using: &rng), duplicates: false, using: &rng))
                }
                if rng.chance(0.05) {
                    let other = RandomData.schema(using: &rng, keyed: true)
                    copy = .delta(base: held?.version ?? 0, version: version + 1, upserts: .empty(other), deletes: .empty(other.deleteSchema))
                }
                let a = Strategies.outcome { () throws(QueryError) in
                    try gathered.applyReporting(copy, origin: origin, publishedAt: .seconds(1), inPlace: false).outcome
                }
                let b = Strategies.outcome { () throws(QueryError) in
                    try inPlace.applyReporting(copy, origin: origin, publishedAt: .seconds(1), inPlace: true).outcome
                }
                switch (a, b) {
                case (.success(let x), .success(let y)): #expect(x == y, replay(seed))
                case (.failure(let x), .failure(let y)): #expect(x.code == y.code && x.message == y.message, replay(seed))
                default: Issue.record("outcomes differ: \(a) vs \(b), \(replay(seed))")
                }
                if case .success(.applied) = a { versions[origin] = copy.version }
                #expect(gathered.staleRejections == inPlace.staleRejections, replay(seed))
                for origin in origins {
                    #expect(gathered.slices[origin]?.version == inPlace.slices[origin]?.version, replay(seed))
                    #expect(gathered.slices[origin]?.segment.exactRows == inPlace.slices[origin]?.segment.exactRows, replay(seed))
                }
            }
        }
    }
}

extension RandomData {
    /// The same rows in buffers of their own (held by nobody else).
    static func copy(_ segment: Segment) -> Segment {
        try! Segment(schema: segment.schema, rows: segment.rows)
    }
}
