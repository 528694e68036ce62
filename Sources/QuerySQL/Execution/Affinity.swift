import QueryCore

/// SQLite's column affinity, derived from a declared type name (SQLite's rules, section 3.1 of its
/// datatype documentation).
public enum Affinity: Sendable, Hashable {
    /// Declared type contains `INT`.
    case integer
    /// Declared type contains `CHAR`, `CLOB` or `TEXT`.
    case text
    /// No declared type or `BLOB`: values are stored as given.
    case none
    /// Declared type contains `REAL`, `FLOA` or `DOUB`.
    case real
    /// Anything else (`NUMERIC`, `DECIMAL`, `BOOLEAN`, …).
    case numeric

    /// The affinity of a declared type name.
    public init(declaredType: String) {
        let t = declaredType.uppercased()
        if t.contains("INT") {
            self = .integer
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            self = .text
        } else if t.isEmpty || t.contains("BLOB") {
            self = .none
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            self = .real
        } else {
            self = .numeric
        }
    }

    /// The affinity of a QueryCore column type.
    init(_ type: ColumnType) {
        switch type {
        case .integer, .boolean: self = .integer
        case .real: self = .real
        case .text: self = .text
        case .any: self = .none
        }
    }

    /// Whether this is INTEGER, REAL or NUMERIC.
    var isNumeric: Bool { self == .integer || self == .real || self == .numeric }

    /// Converts `value` as storing it in a column of this affinity would.
    func apply(_ value: Value) -> Value {
        switch self {
        case .none:
            return value
        case .text:
            switch value {
            case .integer, .real, .boolean: return .text(SQLValue.text(value))
            default: return value
            }
        case .integer, .numeric:
            switch value {
            case .text(let s):
                guard let n = SQLValue.parseNumber(s, requireWhole: true) else { return value }
                if case .real(let d) = n, let i = Value.exactInteger(d), abs(d) < 9.0e18 { return .integer(i) }
                return n
            case .real(let d):
                if let i = Value.exactInteger(d), abs(d) < 9.0e18 { return .integer(i) }
                return value
            case .boolean(let b):
                return .integer(b ? 1 : 0)
            default:
                return value
            }
        case .real:
            switch value {
            case .text(let s):
                guard let n = SQLValue.parseNumber(s, requireWhole: true) else { return value }
                if case .integer(let i) = n { return .real(Double(i)) }
                return n
            case .integer(let i): return .real(Double(i))
            case .boolean(let b): return .real(b ? 1 : 0)
            default: return value
            }
        }
    }

    /// The affinity applied to both operands of a comparison between expressions of these affinities.
    static func comparison(_ a: Affinity, _ b: Affinity) -> (Affinity, Affinity) {
        if a.isNumeric && !b.isNumeric { return (.none, .numeric) }
        if b.isNumeric && !a.isNumeric { return (.numeric, .none) }
        if a == .text && b == .none { return (.none, .text) }
        if b == .text && a == .none { return (.text, .none) }
        return (.none, .none)
    }
}
