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
        #expect(segment.exactRows == [[ExactValue(1), ExactValue(.boolean(true))], [ExactValue(2), ExactValue(.boolean(true))]])
        expectError(.invalidArgument) { try Segment(schema: schema, columns: [Column.empty(.integer)]) }
        expectError(.typeMismatch) { try Segment(schema: schema, columns: [Column.empty(.integer), Column.empty(.text)]) }
    }

    @Test func identifiersRejectBadInput() {
        expectError(.invalidArgument) { try NodeID(validating: "") }
        expectError(.invalidArgument) { try NodeID(validating: String(repeating: "x", count: 256)) }
        expectError(.invalidArgument) { try TableName(validating: "1abc") }
        expectError(.invalidArgument) { try TableName(validating: "a b") }
    }
}
