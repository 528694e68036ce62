import QueryCore
import QuerySQL

/// The same rows twice: as an external QueryCore table named `name` (typed columns, the engine's
/// columnar fast paths) and as a local SQL table (the general row path), for differential tests.
func twinDatabases(table name: TableName, schema: Schema, rows: [[Value]]) throws -> (SQLDatabase, SQLDatabase) {
    try twinDatabases(tables: [(name, schema, rows)])
}

/// Several tables, each both external (columnar) in the first database and local (rows) in the second.
func twinDatabases(tables: [(name: TableName, schema: Schema, rows: [[Value]])]) throws -> (SQLDatabase, SQLDatabase) {
    let external = SQLDatabase()
    let local = SQLDatabase()
    for (name, schema, rows) in tables {
        var table = Table(name: name, schema: schema)
        try table.replace(
            origin: "edge:1", version: 1, segment: try Segment(schema: schema, rows: rows), publishedAt: .zero)
        external.register(table)
        let columns = schema.columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        try local.execute("CREATE TABLE \(name)(\(columns))")
        for row in rows {
            let literals = row.map { value -> String in
                if case .text(let s) = value { return "'\(s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''"))'" }
                return value.description
            }
            try local.execute("INSERT INTO \(name) VALUES (\(literals.joined(separator: ", ")))")
        }
    }
    return (external, local)
}
