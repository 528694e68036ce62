import Synchronization

/// The tables and views a SQL node answers from: the newest generation's tables, configured views
/// (as SQL text) and views already computed for this generation (as tables).
///
/// Every change to ``tables``, ``views`` or ``version`` gives the catalog a fresh, process-wide
/// unique ``contentToken``; copies share it until one of them changes. Evaluators use it to keep
/// consolidated tables and computed views across the queries of one generation.
///
/// Each table also carries a ``DerivedTableData`` for its current version (``derivedData(for:)``),
/// so what an evaluator derives from a table (its rows consolidated for scanning) is shared by every
/// query until *that* table changes, whatever else changes. Setting ``tables`` as a whole starts
/// every table over; ``setTable(_:named:derived:)`` and ``removeTable(_:)`` change one.
public struct SnapshotCatalog: TableCatalog {
    /// Tables by name.
    public var tables: [TableName: Table] {
        get { storage }
        set {
            storage = newValue
            // Which tables changed is unknown: every table starts over.
            derived = newValue.mapValues { _ in DerivedTableData() }
            contentToken = SnapshotCatalog.freshToken()
        }
    }
    /// View definitions by name (views not yet computed for this version).
    public var views: [TableName: String] { didSet { contentToken = SnapshotCatalog.freshToken() } }
    /// Changes whenever a table changes (once per applied update).
    public var version: UInt64 { didSet { contentToken = SnapshotCatalog.freshToken() } }
    /// Names these exact contents (see ``TableCatalog/contentToken``).
    public private(set) var contentToken: UInt64?

    private var storage: [TableName: Table]
    /// Per table, the derived data of its current version (made on first use).
    private var derived: [TableName: DerivedTableData] = [:]

    private static let tokens = Atomic<UInt64>(0)

    private static func freshToken() -> UInt64 {
        tokens.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Creates a catalog.
    public init(tables: [TableName: Table] = [:], views: [TableName: String] = [:], version: UInt64 = 0) {
        self.storage = tables
        self.derived = tables.mapValues { _ in DerivedTableData() }
        self.views = views
        self.version = version
        self.contentToken = SnapshotCatalog.freshToken()
    }

    public func table(_ name: TableName) -> Table? { storage[name] }

    public func viewDefinition(_ name: TableName) -> String? { views[name] }

    /// The derived data of `name`'s current version (one instance per version), or `nil` if the
    /// table is not held.
    public func derivedData(for name: TableName) -> DerivedTableData? { derived[name] }

    /// Sets table `name` to `table`, a new version unless `derived` is given.
    ///
    /// - Parameter derived: what was derived from this very table's rows (the instance
    ///   ``removeTable(_:)`` returned, when the rows did not change meanwhile); `nil`: a new version.
    /// - Important: passing the `derived` of different rows serves queries stale data.
    public mutating func setTable(_ table: Table, named name: TableName, derived: DerivedTableData? = nil) {
        storage[name] = table
        self.derived[name] = derived ?? DerivedTableData()
        contentToken = SnapshotCatalog.freshToken()
    }

    /// Removes table `name`; returns the derived data of the version it held (to hand back to
    /// ``setTable(_:named:derived:)`` if the table is put back unchanged).
    @discardableResult
    public mutating func removeTable(_ name: TableName) -> DerivedTableData? {
        guard storage.removeValue(forKey: name) != nil else { return nil }
        contentToken = SnapshotCatalog.freshToken()
        return derived.removeValue(forKey: name)
    }
}
