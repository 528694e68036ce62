public import QueryCore

/// A parsed SQL statement.
public enum Statement: Sendable, Hashable {
    /// A query.
    case select(Select)
    /// `CREATE TABLE`.
    case createTable(CreateTable)
    /// `CREATE [TEMP] VIEW name AS select`; `text` is the select's source text.
    case createView(name: String, ifNotExists: Bool, select: Select, text: String, SourceLocation)
    /// `CREATE [UNIQUE] INDEX name ON table(...)` (accepted, no effect on results).
    case createIndex(name: String, table: String, ifNotExists: Bool, SourceLocation)
    /// `DROP TABLE|VIEW|INDEX [IF EXISTS] name`.
    case drop(kind: String, name: String, ifExists: Bool, SourceLocation)
    /// `INSERT [OR REPLACE] INTO table [(columns)] VALUES …|SELECT …`.
    case insert(Insert)
    /// `DELETE FROM table [WHERE …]`.
    case delete(table: String, whereClause: Expression?, SourceLocation)
    /// `UPDATE table SET col = expr, … [WHERE …]`.
    case update(table: String, assignments: [Assignment], whereClause: Expression?, SourceLocation)
}

/// `CREATE TABLE` details.
public struct CreateTable: Sendable, Hashable {
    /// The table name.
    public var name: String
    /// `IF NOT EXISTS`.
    public var ifNotExists: Bool
    /// Columns in order.
    public var columns: [ColumnSpec]
    /// Column sets that must be unique (PRIMARY KEY and UNIQUE constraints), as column indices.
    public var uniqueKeys: [[Int]]
    /// Where the statement starts.
    public var location: SourceLocation
}

/// A column of `CREATE TABLE`.
public struct ColumnSpec: Sendable, Hashable {
    /// The column name.
    public var name: String
    /// The declared type as written (may be empty).
    public var declaredType: String
    /// `NOT NULL`.
    public var notNull: Bool
}

/// An `INSERT` statement.
public struct Insert: Sendable, Hashable {
    /// The target table.
    public var table: String
    /// `OR REPLACE` / `REPLACE INTO`.
    public var orReplace: Bool
    /// Explicit column list, if any.
    public var columns: [String]?
    /// Rows of `VALUES`, or nil when a select is the source.
    public var values: [[Expression]]?
    /// The `SELECT` source.
    public var select: Select?
    /// Where the statement starts.
    public var location: SourceLocation
}

/// `column = expression` in `UPDATE`.
public struct Assignment: Sendable, Hashable {
    /// The column.
    public var column: String
    /// The new value.
    public var value: Expression
}
