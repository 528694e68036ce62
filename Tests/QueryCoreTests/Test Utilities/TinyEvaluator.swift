@testable import QueryCore

/// A test-only evaluator for a tiny fixed subset of SQL, enough to drive the roles:
///
///     SELECT * | count(*) | col[, col…] FROM name [WHERE col = literal]
///
/// `name` may be a view (its definition is evaluated recursively). Literals are integers or
/// single-quoted text. Anything else is a `.syntaxError`.
struct TinyEvaluator: QueryEvaluator {
    struct Statement {
        var columns: [String]  // ["*"], ["count(*)"] or names
        var table: TableName
        var filter: (column: String, value: Value)?
    }

    static func parse(_ sql: String) throws(QueryError) -> Statement {
        let tokens = sql.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" }).map(String.init)
        guard tokens.count >= 4, tokens[0].lowercased() == "select" else {
            throw QueryError(.syntaxError, "expected SELECT", at: SourceLocation(line: 1, column: 1, offset: 0))
        }
        guard let from = tokens.firstIndex(where: { $0.lowercased() == "from" }), from > 1, from + 1 < tokens.count
        else {
            throw QueryError(.syntaxError, "expected FROM")
        }
        let columns = tokens[1..<from].filter { $0 != "," }
        let table = try TableName(validating: tokens[from + 1])
        var filter: (String, Value)?
        let rest = Array(tokens[(from + 2)...])
        if !rest.isEmpty {
            guard rest.count == 4, rest[0].lowercased() == "where", rest[2] == "=" else {
                throw QueryError(.syntaxError, "expected WHERE col = literal")
            }
            let literal = rest[3]
            if literal.hasPrefix("'") && literal.hasSuffix("'") && literal.count >= 2 {
                filter = (rest[1], .text(String(literal.dropFirst().dropLast())))
            } else if let number = Int64(literal) {
                filter = (rest[1], .integer(number))
            } else {
                throw QueryError(.syntaxError, "bad literal \(literal)")
            }
        }
        return Statement(columns: columns, table: table, filter: filter)
    }

    func tablesReferenced(by sql: String, catalog: any TableCatalog) throws(QueryError) -> Set<TableName> {
        let statement = try Self.parse(sql)
        if let definition = catalog.viewDefinition(statement.table), catalog.table(statement.table) == nil {
            return try tablesReferenced(by: definition, catalog: catalog)
        }
        return [statement.table]
    }

    func evaluate(_ sql: String, in catalog: any TableCatalog) throws(QueryError) -> QueryResult {
        let statement = try Self.parse(sql)
        let source: (columns: [String], rows: [[Value]])
        if let table = catalog.table(statement.table) {
            source = (table.schema.columnNames, table.consolidated().rows)
        } else if let definition = catalog.viewDefinition(statement.table) {
            let inner = try evaluate(definition, in: catalog)
            source = (inner.columns, inner.rows)
        } else {
            throw QueryError(.unknownTable, "no such table: \(statement.table)")
        }
        var rows = source.rows
        if let filter = statement.filter {
            guard let index = source.columns.firstIndex(where: { $0.lowercased() == filter.column.lowercased() }) else {
                throw QueryError(.unknownColumn, "no such column: \(filter.column)")
            }
            rows = rows.filter { $0[index] == filter.value }
        }
        if statement.columns == ["count(*)"] {
            return QueryResult(columns: ["count(*)"], rows: [[.integer(Int64(rows.count))]])
        }
        if statement.columns == ["*"] {
            return QueryResult(columns: source.columns, rows: rows)
        }
        var indices: [Int] = []
        for name in statement.columns {
            guard let index = source.columns.firstIndex(where: { $0.lowercased() == name.lowercased() }) else {
                throw QueryError(.unknownColumn, "no such column: \(name)")
            }
            indices.append(index)
        }
        return QueryResult(
            columns: indices.map { source.columns[$0] },
            rows: rows.map { row in indices.map { row[$0] } }
        )
    }
}
