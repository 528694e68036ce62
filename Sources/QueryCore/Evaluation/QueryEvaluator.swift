/// The rows a query returned: column names and rows of values, in the query's order.
public struct QueryResult: Sendable, Hashable {
    /// Result column names, in order.
    public var columns: [String]
    /// Result rows; each has `columns.count` values.
    public var rows: [[Value]]

    /// Creates a result.
    public init(columns: [String], rows: [[Value]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// The tables and views a query can read: on a SQL node, the newest generation's snapshot.
public protocol TableCatalog: Sendable {
    /// Changes whenever any table or view changes; evaluators cache derived data (views,
    /// consolidated segments) per `(catalog identity, version)`.
    var version: UInt64 { get }
    /// The table called `name`, if held.
    func table(_ name: TableName) -> Table?
    /// The SQL text of the view called `name`, if one is defined.
    func viewDefinition(_ name: TableName) -> String?
    /// Names of the tables and views held, for "did you mean" suggestions (may be empty).
    var knownNames: [TableName] { get }
    /// A token that names this catalog's exact contents: equal tokens mean equal tables and views,
    /// so evaluators may reuse derived data (consolidated tables, views) across queries. `nil`
    /// (the default) means no such promise; class catalogs are then cached per
    /// `(object identity, version)`, value catalogs not at all.
    var contentToken: UInt64? { get }
    /// The store for data derived from the current version of table `name` (see
    /// ``DerivedTableData``), or `nil` (the default) if the catalog does not keep one: evaluators
    /// then fall back to ``contentToken``.
    func derivedData(for name: TableName) -> DerivedTableData?
}

extension TableCatalog {
    /// No names known: error messages carry no suggestion.
    public var knownNames: [TableName] { [] }
    /// No content token: see ``contentToken``.
    public var contentToken: UInt64? { nil }
    /// No per-table store: see ``derivedData(for:)``.
    public func derivedData(for name: TableName) -> DerivedTableData? { nil }
}

/// Evaluates SQL over a ``TableCatalog``; implemented by QuerySQL's engine.
///
/// QueryCore's roles depend only on this protocol, so they can ask which tables a statement needs
/// (to request them upstream) before any of them has arrived.
public protocol QueryEvaluator: Sendable {
    /// The base tables a statement reads (views expanded through `catalog`), so a SQL node can
    /// request the missing ones.
    ///
    /// - Throws: ``QueryError`` (`.syntaxError` with a location) if the statement does not parse.
    func tablesReferenced(by sql: String, catalog: any TableCatalog) throws(QueryError) -> Set<TableName>

    /// Runs a read-only statement against `catalog`.
    ///
    /// - Throws: ``QueryError`` describing what failed and where.
    func evaluate(_ sql: String, in catalog: any TableCatalog) throws(QueryError) -> QueryResult
}
