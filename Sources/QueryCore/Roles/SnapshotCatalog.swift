import Synchronization

/// The tables and views a SQL node answers from: the newest generation's tables, configured views
/// (as SQL text) and views already computed for this generation (as tables).
///
/// Every change to ``tables``, ``views`` or ``version`` gives the catalog a fresh, process-wide
/// unique ``contentToken``; copies share it until one of them changes. Evaluators use it to keep
/// consolidated tables and computed views across the queries of one generation.
public struct SnapshotCatalog: TableCatalog {
    /// Tables by name.
    public var tables: [TableName: Table] { didSet { contentToken = SnapshotCatalog.freshToken() } }
    /// View definitions by name (views not yet computed for this version).
    public var views: [TableName: String] { didSet { contentToken = SnapshotCatalog.freshToken() } }
    /// Changes whenever a table changes (once per applied update).
    public var version: UInt64 { didSet { contentToken = SnapshotCatalog.freshToken() } }
    /// Names these exact contents (see ``TableCatalog/contentToken``).
    public private(set) var contentToken: UInt64?

    private static let tokens = Atomic<UInt64>(0)

    private static func freshToken() -> UInt64 {
        tokens.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Creates a catalog.
    public init(tables: [TableName: Table] = [:], views: [TableName: String] = [:], version: UInt64 = 0) {
        self.tables = tables
        self.views = views
        self.version = version
        self.contentToken = SnapshotCatalog.freshToken()
    }

    public func table(_ name: TableName) -> Table? { tables[name] }

    public func viewDefinition(_ name: TableName) -> String? { views[name] }
}
