import QueryCore
import QuerySQL

/// The same rows twice: as an external QueryCore table named `name` (typed columns, the engine's
/// columnar fast paths) and as a local SQL table (the general row path), for differential tests.
func twinDatabases(table name: TableName, schema: Schema, rows: [[Value]]) throws -> (SQLDatabase, SQLDatabase) {
    var table = Table(name: name, schema: schema)
    try table.replace(
        origin: "edge:1", version: 1, segment: try Segment(schema: schema, rows: rows), publishedAt: .zero)
    let external = SQLDatabase()
    external.register(table)
    let local = SQLDatabase()
    let columns = schema.columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
    try local.execute("CREATE TABLE \(name)(\(columns))")
    for row in rows {
        let literals = row.map { value -> String in
            if case .text(let s) = value { return "'\(s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''"))'" }
            return value.description
        }
        try local.execute("INSERT INTO \(name) VALUES (\(literals.joined(separator: ", ")))")
    }
    return (external, local)
}
