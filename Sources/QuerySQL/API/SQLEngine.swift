public import QueryCore
import Synchronization

/// The SQL engine as QueryCore's ``QueryEvaluator``: runs read-only queries against a
/// ``TableCatalog`` (a SQL node's newest snapshot).
///
/// Views named by the catalog are computed at most once per catalog version and reused by every
/// query (and every thread) that names them; tables are converted for execution once per version.
public struct SQLEngine: QueryEvaluator {
    /// The most rows one query may process before it fails with `.limitExceeded`.
    public var workBudget: Int
    private let cache = EngineCache()

    /// Creates an engine.
    public init(workBudget: Int = 200_000_000) {
        self.workBudget = workBudget
    }

    public func tablesReferenced(by sql: String, catalog: any TableCatalog) throws(QueryError) -> Set<TableName> {
        let statement = try Parser.parseStatement(sql)
        guard case .select(let select) = statement else {
            throw QueryError(.unsupported, "only SELECT statements run against a snapshot")
        }
        var tables = Set<TableName>()
        var visiting = Set<String>()
        try SQLEngine.collectTables(select, catalog, &tables, &visiting)
        return tables
    }

    public func evaluate(_ sql: String, in catalog: any TableCatalog) throws(QueryError) -> QueryResult {
        let statement = try Parser.parseStatement(sql)
        guard case .select(let select) = statement else {
            throw QueryError(.unsupported, "only SELECT statements run against a snapshot; use SQLDatabase for local tables")
        }
        let provider = CatalogProvider(catalog: catalog, cache: cache, workBudget: workBudget)
        let plan = try Compiler(provider: provider).compileSelect(select, parent: nil)
        let rows = try plan.execute(outer: nil, context: ExecutionContext(budget: workBudget), maxRows: nil)
        return QueryResult(columns: plan.columns, rows: rows)
    }

    // MARK: - Table references

    static func collectTables(
        _ select: Select, _ catalog: any TableCatalog, _ tables: inout Set<TableName>, _ visiting: inout Set<String>
    ) throws(QueryError) {
        for core in [select.core] + select.compounds.map(\.core) {
            if let from = core.from { try collectTables(from, catalog, &tables, &visiting) }
            var expressions: [Expression] = core.items.compactMap {
                if case .expression(let e, _, _) = $0 { return e }
                return nil
            }
            expressions += [core.whereClause, core.having].compactMap { $0 } + core.groupBy
            for e in expressions { try collectTables(e, catalog, &tables, &visiting) }
        }
        for term in select.orderBy { try collectTables(term.expression, catalog, &tables, &visiting) }
    }

    static func collectTables(
        _ item: FromItem, _ catalog: any TableCatalog, _ tables: inout Set<TableName>, _ visiting: inout Set<String>
    ) throws(QueryError) {
        switch item {
        case .table(let name, _, let location):
            let tableName = try TableName(validating: name)
            if let definition = catalog.viewDefinition(tableName) {
                guard visiting.insert(tableName.rawValue).inserted else {
                    throw QueryError(.semanticError, "view '\(name)' refers to itself", at: location)
                }
                defer { visiting.remove(tableName.rawValue) }
                guard case .select(let view) = try Parser.parseStatement(definition) else {
                    throw QueryError(.semanticError, "view '\(name)' is not a SELECT", at: location)
                }
                try collectTables(view, catalog, &tables, &visiting)
            } else {
                tables.insert(tableName)
            }
        case .subquery(let select, _, _):
            try collectTables(select, catalog, &tables, &visiting)
        case .join(let left, _, let right, let on, _, _):
            try collectTables(left, catalog, &tables, &visiting)
            try collectTables(right, catalog, &tables, &visiting)
            if let on { try collectTables(on, catalog, &tables, &visiting) }
        }
    }

    static func collectTables(
        _ e: Expression, _ catalog: any TableCatalog, _ tables: inout Set<TableName>, _ visiting: inout Set<String>
    ) throws(QueryError) {
        var selects: [Select] = []
        e.walk { node in
            switch node {
            case .subquery(let s, _), .exists(let s, _, _), .inSelect(_, let s, _, _): selects.append(s)
            default: break
            }
        }
        for s in selects { try collectTables(s, catalog, &tables, &visiting) }
    }
}

/// Relations derived from a catalog, valid for one catalog version.
/// What a cached relation was derived from: a catalog's content token, or a class catalog's
/// identity and version.
enum CatalogCacheKey: Hashable {
    case content(UInt64)
    case object(ObjectIdentifier, version: UInt64)
}

final class EngineCache: Sendable {
    struct State {
        var key: CatalogCacheKey?
        var relations: [String: Relation] = [:]
    }

    let state = Mutex(State())

    func lookup(_ name: String, key: CatalogCacheKey?) -> Relation? {
        guard let key else { return nil }
        return state.withLock { s in
            guard s.key == key else { return nil }
            return s.relations[name]
        }
    }

    func store(_ relation: Relation, as name: String, key: CatalogCacheKey?) {
        guard let key else { return }
        state.withLock { s in
            if s.key != key { s = State(key: key, relations: [:]) }
            s.relations[name] = relation
        }
    }
}

final class CatalogProvider: RelationProvider {
    let catalog: any TableCatalog
    let cache: EngineCache
    let workBudget: Int
    let cacheKey: CatalogCacheKey?
    private var local: [String: Relation] = [:]
    private var inProgress = Set<String>()

    init(catalog: any TableCatalog, cache: EngineCache, workBudget: Int) {
        self.catalog = catalog
        self.cache = cache
        self.workBudget = workBudget
        // Cache across queries only when the catalog names its contents, or is an object with a
        // stable identity (then per version).
        if let token = catalog.contentToken {
            cacheKey = .content(token)
        } else if type(of: catalog) is AnyObject.Type {
            cacheKey = .object(ObjectIdentifier(catalog as AnyObject), version: catalog.version)
        } else {
            cacheKey = nil
        }
    }

    func relation(named name: String, at location: SourceLocation) throws(QueryError) -> Relation? {
        let key = name.lowercased()
        if let r = local[key] ?? cache.lookup(key, key: cacheKey) {
            local[key] = r
            return r
        }
        guard TableName.problem(in: name) == nil else { return nil }
        let tableName = TableName(unchecked: name)
        var relation: Relation?
        if let table = catalog.table(tableName) {
            if let derived = catalog.derivedData(for: tableName) {
                // Built once per table version and shared by every query over it (and released
                // with it): not kept in the engine's per-catalog cache.
                let shared = derived.value(Relation.self) { Relation(table: table) }
                local[key] = shared
                return shared
            }
            relation = Relation(table: table)
        } else if let definition = catalog.viewDefinition(tableName) {
            guard inProgress.insert(key).inserted else {
                throw QueryError(.semanticError, "view '\(name)' refers to itself", at: location)
            }
            defer { inProgress.remove(key) }
            let select: Select
            do throws(QueryError) {
                guard case .select(let s) = try Parser.parseStatement(definition) else {
                    throw QueryError(.semanticError, "view '\(name)' is not a SELECT", at: location)
                }
                select = s
            } catch {
                throw QueryError(error.code, "in view '\(name)': \(error.message)", at: location)
            }
            let plan = try Compiler(provider: self).compileSelect(select, parent: nil)
            let rows = try plan.execute(outer: nil, context: ExecutionContext(budget: workBudget), maxRows: nil)
            relation = Relation(name: key, columns: plan.columns, affinities: plan.affinities, rows: rows)
        }
        if let relation {
            local[key] = relation
            cache.store(relation, as: key, key: cacheKey)
        }
        return relation
    }

    var relationNames: [String] { catalog.knownNames.map(\.rawValue) }

}
