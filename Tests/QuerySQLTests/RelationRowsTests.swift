import QueryCore
import Testing

@testable import QuerySQL

/// A relation over a QueryCore table builds rows of values only as they are read: a selective
/// query builds the rows it selects; the whole table is built once, on first use of `rows`.
@Suite struct RelationRowsTests {
    func table(rows: Int, seed: UInt64) throws -> (Table, [[Value]]) {
        var rng = SplitMix64(seed: seed)
        let schema = try Schema([("id", .integer), ("cpu", .real), ("name", .text)])
        var values: [[Value]] = []
        for i in 0..<rows {
            let cpu: Value = rng.next() % 7 == 0 ? .null : .real(Double(rng.next() % 400) / 100)
            values.append([.integer(Int64(i)), cpu, .text("p\(rng.next() % 13)")])
        }
        var table = Table(name: "p", schema: schema)
        try table.replace(origin: "edge:0.0", version: 1, segment: Segment(schema: schema, rows: values), publishedAt: .zero)
        return (table, values)
    }

    @Test func rowsAreBuiltOnlyAsRead() throws {
        let (table, values) = try table(rows: 300, seed: 11)
        let relation = Relation(table: table)
        #expect(relation.rowCount == 300)
        #expect(relation.row(17) == values[17])
        #expect(relation.rows(at: [299, 0, 5]) == [values[299], values[0], values[5]])
        #expect(!relation.hasBuiltRows)
        #expect(relation.rows == values)
        #expect(relation.hasBuiltRows)
        // Once built, the same rows are served from them.
        #expect(relation.row(17) == values[17])
        #expect(relation.rows(at: [3, 2]) == [values[3], values[2]])
    }
}
