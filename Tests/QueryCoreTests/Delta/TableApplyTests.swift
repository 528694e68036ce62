import Testing

@testable import QueryCore

@Suite struct TableApplyTests {
    let schema = try! Schema(
        [ColumnDefinition("id", .integer, nullable: false), ColumnDefinition("v", .text)],
        key: ["id"]
    )

    func segment(_ rows: [[Value]]) -> Segment { try! Segment(schema: schema, rows: rows) }

    @Test func versionRuleAndResync() throws {
        var table = Table(name: "t", schema: schema)
        let v1 = segment([[1, "a"], [2, "b"]])
        let v2 = segment([[1, "a"], [2, "c"], [3, "d"]])
        let delta = try TableCopy.make(from: (1, v1), to: (2, v2))
        #expect(!delta.isFull)
        #expect(try table.apply(delta, origin: "e1", publishedAt: .zero) == .needsResync(held: nil))
        #expect(try table.apply(.full(version: 1, segment: v1), origin: "e1", publishedAt: .seconds(1)) == .applied)
        #expect(
            try table.apply(.full(version: 1, segment: v2), origin: "e1", publishedAt: .seconds(2))
                == .rejectedStale(held: 1)
        )
        #expect(table.staleRejections == 1)
        #expect(try table.apply(delta, origin: "e1", publishedAt: .seconds(3)) == .applied)
        #expect(table.slices["e1"]!.segment.hasSameRows(as: v2))
        #expect(table.slices["e1"]!.publishedAt == .seconds(3))
        #expect(try table.apply(delta, origin: "e1", publishedAt: .seconds(4)) == .rejectedStale(held: 2))
        let skip = TableCopy.delta(base: 5, version: 6, upserts: .empty(schema), deletes: .empty(schema.deleteSchema))
        #expect(try table.apply(skip, origin: "e1", publishedAt: .zero) == .needsResync(held: 2))
        #expect(table.staleRejections == 2)
        #expect(table.rowCount == 3)
    }

    @Test func emptyDeltaSharesTheSegment() throws {
        var table = Table(name: "t", schema: schema)
        let v1 = segment([[1, "a"]])
        try table.apply(.full(version: 1, segment: v1), origin: "e1", publishedAt: .zero)
        let delta = try TableCopy.make(from: (1, v1), to: (2, v1))
        #expect(delta.carriedRowCount == 0)
        #expect(try table.apply(delta, origin: "e1", publishedAt: .zero) == .applied)
        #expect(table.version(of: "e1") == 2)
    }

    @Test func applyAllIsAllOrNothing() throws {
        var table = Table(name: "machines", schema: schema)
        let a = segment([[1, "a"]])
        let b = segment([[1, "b"], [2, "x"]])
        try table.apply(.full(version: 3, segment: a), origin: "source", publishedAt: .zero)
        let delta = try TableCopy.make(from: (3, a), to: (4, b))
        let good: [(NodeID, TableCopy, Instant)] = [
            ("source", delta, .seconds(1)), ("other", .full(version: 1, segment: b), .seconds(1)),
        ]
        // One stale copy: nothing is applied, the stale copy is counted.
        let withStale = good + [("source", .full(version: 2, segment: b), .seconds(1))]
        #expect(try table.applyAll(withStale) == .rejectedStale(held: 4))
        #expect(table.version(of: "source") == 3 && table.version(of: "other") == nil)
        #expect(table.staleRejections == 1)
        // A delta on the wrong base: nothing is applied.
        let wrongBase = TableCopy.delta(
            base: 9,
            version: 10,
            upserts: .empty(schema),
            deletes: .empty(schema.deleteSchema)
        )
        #expect(try table.applyAll(good + [("third", wrongBase, .zero)]) == .needsResync(held: nil))
        #expect(table.version(of: "source") == 3 && table.rowCount == 1)
        // A schema mismatch: an error, and nothing is applied.
        let otherSchema = try Schema([("id", .integer)])
        let foreign = TableCopy.full(version: 1, segment: try Segment(schema: otherSchema, rows: [[1]]))
        #expect(throws: QueryError.self) { try table.applyAll(good + [("fourth", foreign, .zero)]) }
        #expect(table.version(of: "source") == 3 && table.version(of: "other") == nil)
        // All good: everything is applied, in order (a chain on one origin works).
        let delta2 = try TableCopy.make(from: (4, b), to: (5, a))
        #expect(try table.applyAll(good + [("source", delta2, .seconds(2))]) == .applied)
        #expect(table.version(of: "source") == 5 && table.version(of: "other") == 1)
        #expect(table.slices["source"]!.segment.hasSameRows(as: a))
    }

    @Test func tableUpdateChecksSchemas() throws {
        let a = segment([[1, "a"]])
        let other = try Schema([("id", .integer)])
        #expect(throws: QueryError.self) {
            try TableUpdate(
                table: "t",
                schema: other,
                entries: [.init(origin: "e1", publishedAt: .zero, copy: .full(version: 1, segment: a))]
            )
        }
        let update = try TableUpdate(
            table: "t",
            schema: schema,
            entries: [
                .init(origin: "e1", publishedAt: .zero, copy: .full(version: 1, segment: a)),
                .init(origin: "e2", publishedAt: .zero, copy: .full(version: 1, segment: a)),
            ]
        )
        var table = Table(name: "t", schema: schema)
        let (outcomes, errors) = table.apply(update)
        #expect(outcomes == [.applied, .applied] && errors.isEmpty)
        #expect(table.rowCount == 2)
    }
}
