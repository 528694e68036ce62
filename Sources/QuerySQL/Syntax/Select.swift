public import QueryCore

/// A parsed `SELECT` (possibly compound) with its `ORDER BY` and `LIMIT`.
public struct Select: Sendable, Hashable {
    /// The first core and the compound parts after it (`UNION`, …).
    public var core: SelectCore
    /// Compound parts applied left to right.
    public var compounds: [CompoundPart] = []
    /// `ORDER BY` terms.
    public var orderBy: [OrderTerm] = []
    /// `LIMIT` expression.
    public var limit: Expression?
    /// `OFFSET` expression.
    public var offset: Expression?
    /// Where the statement starts.
    public var location: SourceLocation

    /// One `UNION|INTERSECT|EXCEPT core` part.
    public struct CompoundPart: Sendable, Hashable {
        /// The operator.
        public var op: CompoundOperator
        /// The right-hand core.
        public var core: SelectCore
    }
}

/// A compound operator.
public enum CompoundOperator: String, Sendable, Hashable {
    /// `UNION` (distinct rows).
    case union = "UNION"
    /// `UNION ALL`.
    case unionAll = "UNION ALL"
    /// `INTERSECT`.
    case intersect = "INTERSECT"
    /// `EXCEPT`.
    case except = "EXCEPT"
}

/// One `SELECT … FROM … WHERE … GROUP BY … HAVING …` block.
public struct SelectCore: Sendable, Hashable {
    /// `DISTINCT`.
    public var distinct = false
    /// The result columns.
    public var items: [SelectItem] = []
    /// The `FROM` clause, if any.
    public var from: FromItem?
    /// `WHERE`.
    public var whereClause: Expression?
    /// `GROUP BY` terms.
    public var groupBy: [Expression] = []
    /// `HAVING`.
    public var having: Expression?
    /// Where the core starts.
    public var location: SourceLocation
}

/// One result column.
public enum SelectItem: Sendable, Hashable {
    /// `*`.
    case star(SourceLocation)
    /// `table.*`.
    case tableStar(String, SourceLocation)
    /// An expression with an optional alias; `text` is the source text (the default column name).
    case expression(Expression, alias: String?, text: String)
}

/// A `FROM` clause element.
public indirect enum FromItem: Sendable, Hashable {
    /// A table or view, with an optional alias.
    case table(name: String, alias: String?, SourceLocation)
    /// A subquery with an optional alias.
    case subquery(Select, alias: String?, SourceLocation)
    /// A join of two items.
    case join(FromItem, JoinKind, FromItem, on: Expression?, using: [String], SourceLocation)
}

/// How two `FROM` items are joined.
public enum JoinKind: Sendable, Hashable {
    /// Comma, `JOIN`, `INNER JOIN`, `CROSS JOIN`.
    case inner
    /// `LEFT [OUTER] JOIN`.
    case left
}

/// One `ORDER BY` term.
public struct OrderTerm: Sendable, Hashable {
    /// The expression (an ordinal, an alias or any expression).
    public var expression: Expression
    /// `DESC`.
    public var descending: Bool
    /// `NULLS FIRST` (`true`), `NULLS LAST` (`false`), or the default (nil: first when ascending).
    public var nullsFirst: Bool?
}
