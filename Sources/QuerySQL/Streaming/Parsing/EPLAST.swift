import QueryCore

/// An expression of a continuous-query statement, with its source position and text range.
struct EPLExpr: Sendable {
    /// Binary operators, loosest to tightest within each group.
    enum BinaryOperator: String, Sendable {
        case or, and
        case equal = "=", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
        case plus = "+", minus = "-", times = "*", divide = "/", modulo = "%", concat = "||"
    }

    /// What the expression is.
    indirect enum Kind: Sendable {
        case literal(Value)
        /// `name` or `qualifier.name`.
        case column(qualifier: String?, name: String)
        case negate(EPLExpr)
        case not(EPLExpr)
        case binary(BinaryOperator, EPLExpr, EPLExpr)
        case isNull(EPLExpr, negated: Bool)
        case inList(EPLExpr, [EPLExpr], negated: Bool)
        case between(EPLExpr, EPLExpr, EPLExpr, negated: Bool)
        case like(EPLExpr, EPLExpr, negated: Bool)
        /// A function or aggregate call; `star` for `count(*)`.
        case call(name: String, arguments: [EPLExpr], distinct: Bool, star: Bool)
        case caseWhen(operand: EPLExpr?, branches: [(EPLExpr, EPLExpr)], otherwise: EPLExpr?)
        /// `CAST(x AS type)`, the type name as written.
        case cast(EPLExpr, String)
        /// A time period such as `20 sec` or `1 min 30 sec`, in seconds.
        case timePeriod(Double)
    }

    var kind: Kind
    var location: SourceLocation
    /// UTF-8 byte range in the statement text.
    var start: Int
    var end: Int
    /// A structural key for calls (identical aggregate calls share one slot).
    var dedupeKey: String? = nil
}

/// A view (data window) applied to a stream: `win:time(20 sec)`, `#length(5)`, `std:groupwin(host)`.
struct EPLView: Sendable {
    /// The namespace (`win`, `std`, `ext`) or `nil` for the `#name` spelling.
    var namespace: String?
    /// The view name, lower-cased (`time`, `length_batch`, `unique`, …).
    var name: String
    var arguments: [EPLExpr]
    var location: SourceLocation
}

/// One stream in a `FROM` clause: `MemUtilEvent(host = 'a').win:time(20 sec) as m`.
struct EPLStreamSpec: Sendable {
    var name: String
    var location: SourceLocation
    /// The filter in parentheses after the stream name, applied before the data window.
    var filter: EPLExpr?
    var views: [EPLView]
    var alias: String?
}

/// A pattern expression (`every a=A(x > 1) -> b=B(y < a.y) where timer:within(30 sec)`).
indirect enum EPLPattern: Sendable {
    /// `tag=Stream(filter)`.
    case filter(tag: String?, stream: String, filter: EPLExpr?, location: SourceLocation)
    case every(EPLPattern)
    case not(EPLPattern)
    case and(EPLPattern, EPLPattern)
    case or(EPLPattern, EPLPattern)
    case followedBy(EPLPattern, EPLPattern)
    /// `p where timer:within(period)`.
    case within(EPLPattern, EPLExpr)
    /// `timer:interval(period)`.
    case interval(EPLExpr, location: SourceLocation)
}

/// The `FROM` clause.
enum EPLFrom: Sendable {
    case streams([EPLStreamSpec])
    case pattern(EPLPattern, alias: String?, location: SourceLocation)
}

/// One item of the select list.
enum EPLSelectItem: Sendable {
    /// `*` or `alias.*`.
    case star(qualifier: String?, location: SourceLocation)
    /// An expression, its alias if given, and its source text (the default column name).
    case expression(EPLExpr, alias: String?, text: String)
}

/// `OUTPUT [ALL|FIRST|LAST|SNAPSHOT] EVERY n (seconds|events)`.
struct EPLOutput: Sendable, Hashable {
    /// Which rows an output interval releases.
    enum Kind: String, Sendable, Hashable { case all, first, last, snapshot }
    /// How an interval is measured.
    enum Interval: Sendable, Hashable {
        case seconds(Double)
        case events(Int)
    }
    var kind: Kind
    var interval: Interval
}

/// A `SELECT` statement, optionally inserting into a stream or named window.
struct EPLSelect: Sendable {
    var insertInto: String?
    var distinct: Bool
    var items: [EPLSelectItem]
    var from: EPLFrom
    var whereClause: EPLExpr?
    var groupBy: [EPLExpr]
    var having: EPLExpr?
    var output: EPLOutput?
    var orderBy: [(EPLExpr, descending: Bool)]
    var limit: Int?
}

/// A parsed continuous-query statement.
enum EPLStatement: Sendable {
    /// `create schema Name(field type, …)`.
    case createSchema(name: String, columns: [ColumnDefinition], location: SourceLocation)
    /// `create window Name.win:…(…) as (field type, …) | as Stream | as select * from Stream`.
    case createWindow(name: String, views: [EPLView], columns: [ColumnDefinition]?, source: String?, location: SourceLocation)
    /// `on Trigger[(filter)] [as t] delete from Window [as w] [where …]`.
    case onDelete(trigger: EPLStreamSpec, window: String, windowAlias: String?, condition: EPLExpr?, location: SourceLocation)
    /// `[insert into X] select …`.
    case select(EPLSelect)
}
