/// The type of a column. Published tables use the four concrete types; ``any`` holds values of
/// any storage class (SQLite's columns without affinity, used by local SQL tables).
public enum ColumnType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// 64-bit signed integers.
    case integer = 1
    /// 64-bit floats.
    case real = 2
    /// UTF-8 text.
    case text = 3
    /// Booleans.
    case boolean = 4
    /// Any storage class, per value.
    case any = 5

    public var description: String {
        switch self {
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .boolean: "BOOLEAN"
        case .any: "ANY"
        }
    }
}

/// One column of a ``Schema``.
public struct ColumnDefinition: Sendable, Hashable, CustomStringConvertible {
    /// The column name as declared (compared case-insensitively).
    public var name: String
    /// The column's type.
    public var type: ColumnType
    /// Whether the column may hold `NULL`.
    public var nullable: Bool

    /// Creates a column definition.
    public init(_ name: String, _ type: ColumnType, nullable: Bool = true) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }

    public var description: String { "\(name) \(type)\(nullable ? "" : " NOT NULL")" }
}

/// The ordered, typed columns of a table, with optional key columns.
///
/// A keyed table holds at most one row per key within one origin, and its deltas diff by key;
/// a keyless table is a multiset of rows and diffs as one.
public struct Schema: Sendable, Hashable, CustomStringConvertible {
    /// The columns in order.
    public let columns: [ColumnDefinition]
    /// Indices (into ``columns``) of the key columns; empty for a keyless table.
    public let keyColumns: [Int]
    /// What is derived from the columns and key once, in one shared box (so copying a schema, or a
    /// segment holding one, retains one more reference, not four).
    private let derived: Derived

    /// The columns of an empty segment of this schema (shared empty columns), so that empty
    /// results allocate nothing.
    package var emptyColumns: [Column] { derived.emptyColumns }

    /// The parts of a schema computed when it is made.
    private final class Derived: Sendable {
        /// The delete schema's columns, key and empty columns; `nil` when it is the schema itself.
        /// Every delta made or applied checks its deletes against it, and delete schemas derived
        /// from one schema share these arrays, so comparing them stops at the arrays' identity.
        let delete: (columns: [ColumnDefinition], keyColumns: [Int], derived: Derived)?
        let emptyColumns: [Column]

        init(delete: (columns: [ColumnDefinition], keyColumns: [Int], derived: Derived)?, emptyColumns: [Column]) {
            self.delete = delete
            self.emptyColumns = emptyColumns
        }
    }

    /// Creates a schema, validating it.
    ///
    /// - Parameters:
    ///   - columns: The columns; names must be non-empty and unique (case-insensitively).
    ///   - key: Names of the key columns, if any.
    /// - Throws: ``QueryError`` with code `.invalidSchema` naming the bad column.
    public init(_ columns: [ColumnDefinition], key: [String] = []) throws(QueryError) {
        guard !columns.isEmpty else { throw QueryError(.invalidSchema, "a schema needs at least one column") }
        guard columns.count <= Schema.maximumColumns else {
            throw QueryError(.invalidSchema, "\(columns.count) columns; at most \(Schema.maximumColumns) are allowed")
        }
        var seen: [String: Int] = [:]
        for (index, column) in columns.enumerated() {
            guard !column.name.isEmpty else {
                throw QueryError(.invalidSchema, "column \(index + 1) has an empty name")
            }
            guard column.name.utf8.count <= 255 else {
                throw QueryError(.invalidSchema, "column \(index + 1) has a name longer than 255 bytes")
            }
            if let previous = seen[column.name.lowercased()] {
                throw QueryError(
                    .invalidSchema, "duplicate column name '\(column.name)' (columns \(previous + 1) and \(index + 1))")
            }
            seen[column.name.lowercased()] = index
        }
        var keyColumns: [Int] = []
        for name in key {
            guard let index = seen[name.lowercased()] else {
                throw QueryError(.invalidSchema, "key column '\(name)' is not a column of the schema")
            }
            guard !keyColumns.contains(index) else {
                throw QueryError(.invalidSchema, "key column '\(name)' is named twice")
            }
            keyColumns.append(index)
        }
        self.init(unchecked: columns, keyColumns: keyColumns)
    }

    /// A schema assembled by code that guarantees it is valid (derived from a valid schema).
    package init(unchecked columns: [ColumnDefinition], keyColumns: [Int]) {
        self.columns = columns
        self.keyColumns = keyColumns
        let emptyColumns = columns.map { Column.empty($0.type) }
        if keyColumns.isEmpty || keyColumns.elementsEqual(columns.indices) {
            // Keyless (deletes are whole rows) or all key in order: the delete schema is this one.
            derived = Derived(delete: nil, emptyColumns: emptyColumns)
        } else {
            let deleteDerived = Derived(delete: nil, emptyColumns: keyColumns.map { emptyColumns[$0] })
            derived = Derived(
                delete: (keyColumns.map { columns[$0] }, Array(keyColumns.indices), deleteDerived),
                emptyColumns: emptyColumns
            )
        }
    }

    /// A delete schema (all columns key, in order; its own delete schema), sharing `parts`.
    private init(delete parts: (columns: [ColumnDefinition], keyColumns: [Int], derived: Derived)) {
        columns = parts.columns
        keyColumns = parts.keyColumns
        derived = parts.derived
    }

    /// The schema of a keyed table's delete rows: only the key columns, in key order, all of them key.
    ///
    /// For a keyless table this is the schema itself (deletes are whole rows).
    ///
    /// - Complexity: O(1), without allocating: computed when the schema is made.
    public var deleteSchema: Schema {
        guard let delete = derived.delete else { return self }
        return Schema(delete: delete)
    }

    public static func == (lhs: Schema, rhs: Schema) -> Bool {
        lhs.columns == rhs.columns && lhs.keyColumns == rhs.keyColumns
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(columns)
        hasher.combine(keyColumns)
    }

    /// Creates a schema from `(name, type)` pairs; a convenience for code and tests.
    public init(_ columns: [(String, ColumnType)], key: [String] = []) throws(QueryError) {
        try self.init(columns.map { ColumnDefinition($0.0, $0.1) }, key: key)
    }

    /// The largest number of columns a schema may have.
    public static let maximumColumns = 4096

    /// The number of columns.
    public var count: Int { columns.count }

    /// Whether rows are identified by key columns.
    public var isKeyed: Bool { !keyColumns.isEmpty }

    /// The column names in order.
    public var columnNames: [String] { columns.map(\.name) }

    /// The index of the column named `name` (case-insensitive), if any.
    public func index(of name: String) -> Int? {
        let lowered = name.lowercased()
        return columns.firstIndex { $0.name.lowercased() == lowered }
    }

    public var description: String {
        let body = columns.map(\.description).joined(separator: ", ")
        if keyColumns.isEmpty { return "(\(body))" }
        return "(\(body); key \(keyColumns.map { columns[$0].name }.joined(separator: ", ")))"
    }
}
