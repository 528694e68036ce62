import QueryCore

/// The operators the streaming engine evaluates, delegated to the snapshot SQL engine's value
/// semantics (``SQLValue``, ``PatternMatch``, ``ScalarFunctions``) so a continuous query and a
/// snapshot query compute the same thing from the same values.
enum SQLArithmetic {
    /// SQL truth of a value: `nil` for `NULL`.
    @inline(__always)
    static func truth(_ v: Value) -> Bool? { SQLValue.truth(v) }

    /// The value as a double, if numeric.
    @inline(__always)
    static func double(_ v: Value) -> Double? { SQLValue.double(v) }

    static func negate(_ v: Value) -> Value { SQLValue.negate(v) }

    @inline(__always)
    static func compare(_ op: EPLExpr.BinaryOperator, _ a: Value, _ b: Value) -> Value {
        guard let c = SQLValue.compare(a, b) else { return .null }
        switch op {
        case .equal: return SQLValue.bool(c == 0)
        case .notEqual: return SQLValue.bool(c != 0)
        case .less: return SQLValue.bool(c < 0)
        case .lessEqual: return SQLValue.bool(c <= 0)
        case .greater: return SQLValue.bool(c > 0)
        case .greaterEqual: return SQLValue.bool(c >= 0)
        default: return .null
        }
    }

    static func arithmetic(_ op: EPLExpr.BinaryOperator, _ a: Value, _ b: Value) -> Value {
        switch op {
        case .plus: SQLValue.add(a, b)
        case .minus: SQLValue.subtract(a, b)
        case .times: SQLValue.multiply(a, b)
        case .divide: SQLValue.divide(a, b)
        case .modulo: SQLValue.remainder(a, b)
        default: .null
        }
    }

    static func concat(_ a: Value, _ b: Value) -> Value { SQLValue.concat(a, b) }

    /// SQL `LIKE` (`%`, `_`, ASCII case-insensitive).
    static func like(_ text: String, _ pattern: String) -> Bool {
        PatternMatch.like(Array(text.utf8), Array(pattern.utf8), escape: nil)
    }

    static func cast(_ v: Value, to typeName: String) -> Value { SQLValue.cast(v, to: typeName) }

    static func cast(_ v: Value, to type: ColumnType) -> Value {
        switch type {
        case .boolean: return v.isNull ? .null : .boolean(truth(v) ?? false)
        case .any: return v
        default: return SQLValue.cast(v, to: type.description)
        }
    }

    /// Converts an incoming value to a stream field's type (integers widen to reals), or explains why not.
    static func coerce(_ v: Value, to type: ColumnType) -> Value? {
        switch (type, v) {
        case (_, .null), (.any, _), (.integer, .integer), (.real, .real), (.text, .text), (.boolean, .boolean):
            return v
        case (.real, .integer(let i)): return .real(Double(i))
        case (.integer, .boolean(let b)): return .integer(b ? 1 : 0)
        case (.integer, .real(let d)): return Value.exactInteger(d).map { .integer($0) }
        case (.boolean, .integer(let i)) where i == 0 || i == 1: return .boolean(i == 1)
        default: return nil
        }
    }
}

/// A scalar function of the shared SQL function table, resolved at compile time.
struct ScalarFunction: Sendable {
    let name: String
    let implementation: ScalarFunctions.Implementation

    /// The function called `name` and its accepted argument counts, if it exists.
    static func lookup(_ name: String) -> (ScalarFunction, ClosedRange<Int>)? {
        guard let (low, high, implementation) = ScalarFunctions.table[name.lowercased()] else { return nil }
        return (ScalarFunction(name: name.lowercased(), implementation: implementation), low...(high ?? 255))
    }

    /// Whether the same arguments always give the same result.
    var isDeterministic: Bool { !["random", "randomblob", "changes"].contains(name) }

    /// Applies the function; a run-time error (integer overflow in `abs`) yields `NULL` rather
    /// than stopping the engine.
    func apply(_ arguments: [Value]) -> Value {
        (try? implementation(arguments)) ?? .null
    }
}
