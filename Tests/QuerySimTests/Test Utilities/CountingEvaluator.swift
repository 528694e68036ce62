import QueryCore

/// A deliberately tiny evaluator for fleet tests that must not depend on the SQL engine:
/// `SELECT count(*) FROM t` and `SELECT count(DISTINCT c) FROM t`, nothing else.
struct CountingEvaluator: QueryEvaluator {
    private func parse(_ sql: String) throws(QueryError) -> (table: TableName, distinct: String?) {
        let words = sql.split(whereSeparator: { $0 == " " || $0 == ";" }).map { String($0) }
        guard words.count == 4, words[0].uppercased() == "SELECT", words[2].uppercased() == "FROM",
            let table = try? TableName(validating: words[3])
        else { throw QueryError(.syntaxError, "test evaluator cannot parse '\(sql)'", at: SourceLocation(line: 1, column: 1, offset: 0)) }
        let head = words[1].lowercased()
        if head == "count(*)" { return (table, nil) }
        if head.hasPrefix("count(distinct("), head.hasSuffix("))") {
            return (table, String(head.dropFirst("count(distinct(".count).dropLast(2)))
        }
        throw QueryError(.syntaxError, "test evaluator cannot parse '\(sql)'")
    }

    func tablesReferenced(by sql: String, catalog: any TableCatalog) throws(QueryError) -> Set<TableName> {
        [try parse(sql).table]
    }

    func evaluate(_ sql: String, in catalog: any TableCatalog) throws(QueryError) -> QueryResult {
        let (name, distinct) = try parse(sql)
        guard let table = catalog.table(name) else { throw QueryError(.unknownTable, "no table \(name)") }
        let segment = table.consolidated()
        guard let column = distinct else {
            return QueryResult(columns: ["count(*)"], rows: [[.integer(Int64(segment.rowCount))]])
        }
        guard let index = table.schema.index(of: column) else { throw QueryError(.unknownColumn, "no column \(column)") }
        let values = Set((0..<segment.rowCount).map { segment.value(row: $0, column: index) })
        return QueryResult(columns: ["count"], rows: [[.integer(Int64(values.count))]])
    }
}
