public import QueryCore

/// A mutable SQL database: local tables and views created with SQL, plus external QueryCore
/// ``Table``s registered by the host (for example a SQL node's snapshot), all queryable together.
///
/// Local tables follow SQLite's per-value typing: each column has the affinity of its declared type,
/// applied on insert. `CREATE INDEX` is accepted and has no effect on results.
///
/// ```swift
/// let db = SQLDatabase()
/// try db.execute("CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x')")
/// let result = try db.query("SELECT b, count(*) FROM t GROUP BY b")
/// ```
///
/// Not thread-safe: use one database per task, or guard it.
public final class SQLDatabase {
    struct LocalTable {
        var name: String
        var columns: [ColumnSpec]
        var affinities: [Affinity]
        var uniqueKeys: [[Int]]
        var rows: [[Value]]
    }

    struct View {
        var name: String
        var text: String
        var select: Select
    }

    private var tables: [String: LocalTable] = [:]
    private var views: [String: View] = [:]
    private var external: [String: Table] = [:]
    private var indexes: [String: String] = [:]
    private var viewCache: [String: Relation] = [:]
    private var externalCache: [String: Relation] = [:]
    private var viewsInProgress = Set<String>()
    /// Bumped by every change; cached view results are dropped when it changes.
    public private(set) var version: UInt64 = 0

    /// The most rows one statement may process before it fails with `.limitExceeded`.
    public var workBudget: Int

    /// Creates an empty database.
    public init(workBudget: Int = 200_000_000) {
        self.workBudget = workBudget
    }

    /// Registers (or replaces) an external table; it is read-only to SQL.
    public func register(_ table: Table) {
        external[table.name.rawValue] = table
        externalCache[table.name.rawValue] = nil
        changed()
    }

    /// Removes an external table.
    public func unregister(_ name: TableName) {
        external[name.rawValue] = nil
        externalCache[name.rawValue] = nil
        changed()
    }

    /// The names of local tables, external tables and views.
    public var names: [String] { Array(tables.keys) + Array(external.keys) + Array(views.keys) }

    /// A local table's rows as a QueryCore ``Table`` (one origin, `local`), with `.any` columns.
    public func localTable(_ name: String) -> Table? {
        guard let local = tables[name.lowercased()],
            let tableName = try? TableName(validating: local.name),
            let schema = try? Schema(local.columns.map { ColumnDefinition($0.name, .any) })
        else { return nil }
        var table = Table(name: tableName, schema: schema)
        guard let segment = try? Segment(schema: schema, rows: local.rows) else { return nil }
        _ = try? table.replace(origin: NodeID("local"), version: version + 1, segment: segment, publishedAt: Instant(nanosecondsSinceEpoch: 0))
        return table
    }

    private func changed() {
        version &+= 1
        viewCache = [:]
    }

    // MARK: - Statements

    /// Runs every `;`-separated statement of `sql` in order, stopping at the first error (earlier
    /// statements stay applied). Queries are run and their rows discarded.
    public func execute(_ sql: String) throws(QueryError) {
        for statement in try Parser.parseStatements(sql) {
            try run(statement)
        }
    }

    /// Runs one query and returns its rows.
    ///
    /// - Throws: ``QueryError``: `.syntaxError`, `.unknownTable`, `.unknownColumn`, … at
    ///   prepare time (with a location), `.runtimeError` (for example integer overflow in `sum()`)
    ///   or `.limitExceeded` (work budget) while running.
    public func query(_ sql: String) throws(QueryError) -> QueryResult {
        let statement = try Parser.parseStatement(sql)
        guard case .select(let select) = statement else {
            throw QueryError(.semanticError, "query() needs a SELECT statement; use execute() for other statements")
        }
        let plan = try prepare(select)
        return try run(plan)
    }

    /// Runs one parsed query and returns its rows.
    public func query(_ select: Select) throws(QueryError) -> QueryResult {
        try run(try prepare(select))
    }

    /// Compiles a select (names bound, errors found) without running it.
    func prepare(_ select: Select) throws(QueryError) -> SelectPlan {
        try Compiler(provider: self).compileSelect(select, parent: nil)
    }

    /// Runs a compiled select.
    func run(_ plan: SelectPlan) throws(QueryError) -> QueryResult {
        let rows = try plan.execute(outer: nil, context: ExecutionContext(budget: workBudget), maxRows: nil)
        return QueryResult(columns: plan.columns, rows: rows)
    }

    private func run(_ statement: Statement) throws(QueryError) {
        switch statement {
        case .select(let select):
            _ = try run(try prepare(select))
        case .createTable(let create):
            let key = create.name.lowercased()
            if tables[key] != nil || views[key] != nil || external[key] != nil {
                if create.ifNotExists { return }
                throw QueryError(.alreadyExists, "table '\(create.name)' already exists", at: create.location)
            }
            var seen = Set<String>()
            for column in create.columns where !seen.insert(column.name.lowercased()).inserted {
                throw QueryError(.invalidSchema, "duplicate column name '\(column.name)' in table '\(create.name)'", at: create.location)
            }
            tables[key] = LocalTable(
                name: create.name, columns: create.columns, affinities: create.columns.map { Affinity(declaredType: $0.declaredType) },
                uniqueKeys: create.uniqueKeys, rows: [])
            changed()
        case .createView(let name, let ifNotExists, let select, let text, let location):
            let key = name.lowercased()
            if tables[key] != nil || views[key] != nil || external[key] != nil {
                if ifNotExists { return }
                throw QueryError(.alreadyExists, "view '\(name)' already exists", at: location)
            }
            // Check that the view compiles now.
            _ = try prepare(select)
            views[key] = View(name: name, text: text, select: select)
            changed()
        case .createIndex(let name, let table, let ifNotExists, let location):
            let key = name.lowercased()
            guard tables[table.lowercased()] != nil else {
                throw nameError(.unknownTable, "unknown table '\(table)'", location, NameSuggestion.hint(for: table, in: Array(tables.keys)))
            }
            if indexes[key] != nil {
                if ifNotExists { return }
                throw QueryError(.alreadyExists, "index '\(name)' already exists", at: location)
            }
            indexes[key] = table.lowercased()
        case .drop(let kind, let name, let ifExists, let location):
            let key = name.lowercased()
            switch kind {
            case "TABLE":
                if tables.removeValue(forKey: key) != nil {
                    indexes = indexes.filter { $0.value != key }
                    changed()
                } else if !ifExists {
                    throw nameError(.unknownTable, "no such table '\(name)'", location, NameSuggestion.hint(for: name, in: Array(tables.keys)))
                }
            case "VIEW":
                if views.removeValue(forKey: key) != nil {
                    changed()
                } else if !ifExists {
                    throw nameError(.unknownTable, "no such view '\(name)'", location, NameSuggestion.hint(for: name, in: Array(views.keys)))
                }
            default:
                if indexes.removeValue(forKey: key) == nil && !ifExists {
                    throw QueryError(.unknownTable, "no such index '\(name)' at \(location)", at: location)
                }
            }
        case .insert(let insert):
            try runInsert(insert)
        case .delete(let table, let whereClause, let location):
            let key = try writableTable(table, location)
            let matches = try matchingRows(key, whereClause)
            tables[key]!.rows = tables[key]!.rows.enumerated().filter { !matches.contains($0.offset) }.map(\.element)
            changed()
        case .update(let table, let assignments, let whereClause, let location):
            let key = try writableTable(table, location)
            let local = tables[key]!
            let matches = try matchingRows(key, whereClause)
            let (scope, compiler) = tableScope(local)
            var targets: [(Int, Eval)] = []
            for a in assignments {
                guard let c = local.columns.firstIndex(where: { $0.name.lowercased() == a.column.lowercased() }) else {
                    throw nameError(
                        .unknownColumn, "unknown column '\(a.column)'", location, NameSuggestion.hint(for: a.column, in: local.columns.map(\.name)))
                }
                targets.append((c, try compiler.compile(a.value, scope).eval))
            }
            let frame = Frame(row: [], outer: nil, context: ExecutionContext(budget: workBudget))
            var rows = local.rows
            for r in matches.sorted() {
                frame.row = local.rows[r]
                var row = rows[r]
                for (c, e) in targets { row[c] = local.affinities[c].apply(try e(frame)) }
                rows[r] = row
            }
            tables[key]!.rows = rows
            changed()
        }
    }

    private func writableTable(_ name: String, _ location: SourceLocation) throws(QueryError) -> String {
        let key = name.lowercased()
        if views[key] != nil { throw QueryError(.semanticError, "cannot modify '\(name)' because it is a view", at: location) }
        if external[key] != nil { throw QueryError(.permissionDenied, "table '\(name)' is read-only (an external table)", at: location) }
        guard tables[key] != nil else {
            throw nameError(.unknownTable, "unknown table '\(name)'", location, NameSuggestion.hint(for: name, in: Array(tables.keys)))
        }
        return key
    }

    private func tableScope(_ local: LocalTable) -> (Scope, Compiler) {
        let scope = Scope(parent: nil)
        scope.sources = [
            Scope.Source(
                name: local.name.lowercased(), columns: local.columns.map(\.name), lowered: local.columns.map { $0.name.lowercased() },
                affinities: local.affinities)
        ]
        scope.useWideLayout()
        return (scope, Compiler(provider: self))
    }

    private func matchingRows(_ key: String, _ whereClause: Expression?) throws(QueryError) -> Set<Int> {
        let local = tables[key]!
        guard let whereClause else { return Set(local.rows.indices) }
        let (scope, compiler) = tableScope(local)
        let condition = try compiler.compile(whereClause, scope).eval
        let frame = Frame(row: [], outer: nil, context: ExecutionContext(budget: workBudget))
        var matches = Set<Int>()
        for (i, row) in local.rows.enumerated() {
            frame.row = row
            if SQLValue.truth(try condition(frame)) == true { matches.insert(i) }
        }
        return matches
    }

    private func runInsert(_ insert: Insert) throws(QueryError) {
        let key = try writableTable(insert.table, insert.location)
        var local = tables[key]!
        var targets = Array(local.columns.indices)
        if let names = insert.columns {
            targets = []
            for name in names {
                guard let c = local.columns.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) else {
                    throw nameError(
                        .unknownColumn, "table \(local.name) has no column named '\(name)'", insert.location,
                        NameSuggestion.hint(for: name, in: local.columns.map(\.name)))
                }
                targets.append(c)
            }
        }
        var sourceRows: [[Value]] = []
        if let values = insert.values {
            let compiler = Compiler(provider: self)
            let scope = Scope(parent: nil)
            let frame = Frame(row: [], outer: nil, context: ExecutionContext(budget: workBudget))
            for row in values {
                var out: [Value] = []
                for e in row { out.append(try compiler.compile(e, scope).eval(frame)) }
                sourceRows.append(out)
            }
        } else if let select = insert.select {
            sourceRows = try run(try prepare(select)).rows
        }
        var unique = local.uniqueKeys.map { key in Set(local.rows.map { row in HashKey(key.map { row[$0] }) }) }
        for values in sourceRows {
            guard values.count == targets.count else {
                throw QueryError(
                    .semanticError, "table \(local.name) has \(targets.count) columns but \(values.count) values were supplied",
                    at: insert.location)
            }
            var row = [Value](repeating: .null, count: local.columns.count)
            for (i, c) in targets.enumerated() { row[c] = local.affinities[c].apply(values[i]) }
            for (c, column) in local.columns.enumerated() where column.notNull && row[c].isNull {
                throw QueryError(.semanticError, "NOT NULL constraint failed: \(local.name).\(column.name)", at: insert.location)
            }
            for (k, keyColumns) in local.uniqueKeys.enumerated() {
                let keyValues = keyColumns.map { row[$0] }
                if keyValues.contains(where: \.isNull) { continue }
                if unique[k].contains(HashKey(keyValues)) {
                    guard insert.orReplace else {
                        let names = keyColumns.map { "\(local.name).\(local.columns[$0].name)" }.joined(separator: ", ")
                        throw QueryError(.semanticError, "UNIQUE constraint failed: \(names)", at: insert.location)
                    }
                    local.rows.removeAll { existing in keyColumns.map { existing[$0] } == keyValues }
                    unique = local.uniqueKeys.map { key in Set(local.rows.map { row in HashKey(key.map { row[$0] }) }) }
                }
            }
            for (k, keyColumns) in local.uniqueKeys.enumerated() { unique[k].insert(HashKey(keyColumns.map { row[$0] })) }
            local.rows.append(row)
        }
        tables[key] = local
        changed()
    }
}

extension SQLDatabase: RelationProvider {
    func relation(named name: String, at location: SourceLocation) throws(QueryError) -> Relation? {
        let key = name.lowercased()
        if let local = tables[key] {
            return Relation(name: local.name, columns: local.columns.map(\.name), affinities: local.affinities, rows: local.rows)
        }
        if let table = external[key] {
            if let cached = externalCache[key] { return cached }
            let relation = Relation(table: table)
            externalCache[key] = relation
            return relation
        }
        if let view = views[key] {
            if let cached = viewCache[key] { return cached }
            guard viewsInProgress.insert(key).inserted else {
                throw QueryError(.semanticError, "view '\(name)' refers to itself", at: location)
            }
            defer { viewsInProgress.remove(key) }
            let plan = try prepare(view.select)
            let result = try run(plan)
            let relation = Relation(name: view.name, columns: result.columns, affinities: plan.affinities, rows: result.rows)
            viewCache[key] = relation
            return relation
        }
        return nil
    }

    var relationNames: [String] { names }
}
