/// The tables and views a SQL node answers from: the newest generation's tables, configured views
/// (as SQL text) and views already computed for this generation (as tables).
public struct SnapshotCatalog: TableCatalog {
    /// Tables by name.
    public var tables: [TableName: Table]
    /// View definitions by name (views not yet computed for this version).
    public var views: [TableName: String]
    /// Changes whenever a table changes (once per applied update).
    public var version: UInt64

    /// Creates a catalog.
    public init(tables: [TableName: Table] = [:], views: [TableName: String] = [:], version: UInt64 = 0) {
        self.tables = tables
        self.views = views
        self.version = version
    }

    public func table(_ name: TableName) -> Table? { tables[name] }

    public func viewDefinition(_ name: TableName) -> String? { views[name] }
}
