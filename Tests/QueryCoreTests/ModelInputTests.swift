import Testing

@testable import QueryCore

@Suite struct ModelInputTests {
    @Test func schemaConstructionRejectsBadInput() {
        expectError(.invalidSchema) { try Schema([ColumnDefinition]()) }
        expectError(.invalidSchema) { try Schema([("", .integer)]) }
        expectError(.invalidSchema) { try Schema([(String(repeating: "n", count: 256), .integer)]) }
        let duplicate = expectError(.invalidSchema) { try Schema([("Name", .integer), ("name", .text)]) }
        #expect(duplicate?.message.contains("columns 1 and 2") == true)
        expectError(.invalidSchema) { try Schema([("a", .integer)], key: ["b"]) }
        expectError(.invalidSchema) { try Schema([("a", .integer)], key: ["a", "A"]) }
        expectError(.invalidSchema) {
            try Schema((0...Schema.maximumColumns).map { ColumnDefinition("c\($0)", .integer) })
        }
    }

    @Test func rowAppendRejectsBadInputAndStaysUnchanged() throws {
        let schema = try Schema([ColumnDefinition("id", .integer, nullable: false), ColumnDefinition("flag", .boolean)])
        var builder = SegmentBuilder(schema: schema)
        try builder.append([1, true])
        expectError(.invalidArgument) { try builder.append([1]) }
        let mismatch = expectError(.typeMismatch) { try builder.append(["x", true]) }
        #expect(mismatch?.message.contains("row 2") == true && mismatch?.message.contains("'id'") == true)
        expectError(.typeMismatch) { try builder.append([.null, true]) }
        expectError(.typeMismatch) { try builder.append([2, 5]) }
        try builder.append([2, 1])
        let segment = builder.finish()
        #expect(segment.rowCount == 2)
        #expect(
            segment.exactRows == [
                [ExactValue(1), ExactValue(.boolean(true))], [ExactValue(2), ExactValue(.boolean(true))],
            ]
        )
        expectError(.invalidArgument) { try Segment(schema: schema, columns: [Column.empty(.integer)]) }
        expectError(.typeMismatch) {
            try Segment(schema: schema, columns: [Column.empty(.integer), Column.empty(.text)])
        }
    }

    @Test func identifiersRejectBadInput() {
        expectError(.invalidArgument) { try NodeID(validating: "") }
        expectError(.invalidArgument) { try NodeID(validating: String(repeating: "x", count: 256)) }
        expectError(.invalidArgument) { try TableName(validating: "1abc") }
        expectError(.invalidArgument) { try TableName(validating: "a b") }
    }
}

@Suite struct ConcatenationTests {
    @Test func concatenationKeepsEveryRowInOrder() throws {
        for seed in testSeeds(100, salt: 40) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let segments = (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                RandomData.segment(schema, maxRows: 10, using: &rng)
            }
            let joined = try Segment.concatenating(segments, schema: schema)
            #expect(joined.exactRows == segments.flatMap(\.exactRows), replay(seed))
            #expect(joined.rowCount == segments.reduce(0) { $0 + $1.rowCount }, replay(seed))
            // The result round-trips through the codec (offsets and bitmaps are well-formed).
            #expect(try Segment(wireBytes: joined.wireBytes()).exactRows == joined.exactRows, replay(seed))
        }
        // Slices of a gathered text column start past offset 0 in their own buffer.
        let schema = try Schema([("s", .text)])
        let a = try Segment(schema: schema, rows: [["x"], ["yy"], [.null]])
        let (upserts, _) = try Segment.empty(schema).diff(to: a)
        #expect(
            try Segment.concatenating([a, upserts, .empty(schema)], schema: schema).exactRows == a.exactRows
                + a.exactRows
        )
        expectError(.schemaMismatch) { try Segment.concatenating([a], schema: try Schema([("s", .integer)])) }
    }
}
