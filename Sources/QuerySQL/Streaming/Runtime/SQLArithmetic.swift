public import QueryCore

/// SQLite's value semantics for the operators the streaming engine evaluates.
enum SQLArithmetic {
    /// SQL truth of a value: `nil` for `NULL`, numbers are true when non-zero, text by its numeric prefix.
    @inline(__always)
    static func truth(_ v: Value) -> Bool? {
        switch v {
        case .null: return nil
        case .boolean(let b): return b
        case .integer(let i): return i != 0
        case .real(let d): return d != 0
        case .text(let s): return (numericPrefix(s) ?? 0) != 0
        }
    }

    /// The numeric value of a text's longest numeric prefix (SQLite's text-to-number conversion), or `nil`.
    static func numericPrefix(_ s: String) -> Double? {
        let trimmed = s.drop { $0 == " " || $0 == "\t" }
        var end = trimmed.startIndex
        var best: Double? = nil
        while end < trimmed.endIndex {
            end = trimmed.index(after: end)
            if let d = Double(trimmed[trimmed.startIndex..<end]) { best = d }
        }
        return best
    }

    /// A numeric form of `v` for arithmetic: `nil` for `NULL`.
    @inline(__always)
    private static func number(_ v: Value) -> Value? {
        switch v {
        case .null: return nil
        case .integer, .real: return v
        case .boolean(let b): return .integer(b ? 1 : 0)
        case .text(let s):
            guard let d = numericPrefix(s) else { return .integer(0) }
            if let i = Value.exactInteger(d), !s.contains("."), !s.lowercased().contains("e") { return .integer(i) }
            return .real(d)
        }
    }

    /// The value as a double, if numeric.
    @inline(__always)
    static func double(_ v: Value) -> Double? {
        switch number(v) {
        case .integer(let i): return Double(i)
        case .real(let d): return d
        default: return nil
        }
    }

    static func negate(_ v: Value) -> Value {
        switch number(v) {
        case .integer(let i): return i == .min ? .real(-Double(i)) : .integer(-i)
        case .real(let d): return .real(-d)
        default: return .null
        }
    }

    static func compare(_ op: EPLExpr.BinaryOperator, _ a: Value, _ b: Value) -> Value {
        if a.isNull || b.isNull { return .null }
        let c = Value.compare(a, b)
        switch op {
        case .equal: return .boolean(c == 0)
        case .notEqual: return .boolean(c != 0)
        case .less: return .boolean(c < 0)
        case .lessEqual: return .boolean(c <= 0)
        case .greater: return .boolean(c > 0)
        case .greaterEqual: return .boolean(c >= 0)
        default: return .null
        }
    }

    static func arithmetic(_ op: EPLExpr.BinaryOperator, _ a: Value, _ b: Value) -> Value {
        guard let x = number(a), let y = number(b) else { return .null }
        if case .integer(let i) = x, case .integer(let j) = y {
            switch op {
            case .plus:
                let (r, o) = i.addingReportingOverflow(j)
                return o ? .real(Double(i) + Double(j)) : .integer(r)
            case .minus:
                let (r, o) = i.subtractingReportingOverflow(j)
                return o ? .real(Double(i) - Double(j)) : .integer(r)
            case .times:
                let (r, o) = i.multipliedReportingOverflow(by: j)
                return o ? .real(Double(i) * Double(j)) : .integer(r)
            case .divide:
                if j == 0 { return .null }
                if i == .min && j == -1 { return .real(-Double(i)) }
                return .integer(i / j)
            case .modulo:
                if j == 0 { return .null }
                if j == -1 { return .integer(0) }
                return .integer(i % j)
            default: return .null
            }
        }
        let p = double(x) ?? 0, q = double(y) ?? 0
        switch op {
        case .plus: return .real(p + q)
        case .minus: return .real(p - q)
        case .times: return .real(p * q)
        case .divide: return q == 0 ? .null : .real(p / q)
        case .modulo:
            let ii = Int64(exactly: p.rounded(.towardZero)) ?? 0, jj = Int64(exactly: q.rounded(.towardZero)) ?? 0
            if jj == 0 { return .null }
            return .real(Double(jj == -1 ? 0 : ii % jj))
        default: return .null
        }
    }

    /// SQL `LIKE`: `%` any run, `_` one character, ASCII case-insensitive.
    static func like(_ text: String, _ pattern: String) -> Bool {
        let t = Array(text.unicodeScalars), p = Array(pattern.unicodeScalars)
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            (c.value >= 65 && c.value <= 90) ? Unicode.Scalar(c.value + 32)! : c
        }
        var ti = 0, pi = 0, starP = -1, starT = 0
        while ti < t.count {
            if pi < p.count && p[pi] != "%" && (p[pi] == "_" || lower(p[pi]) == lower(t[ti])) {
                ti += 1; pi += 1
            } else if pi < p.count && p[pi] == "%" {
                starP = pi; starT = ti; pi += 1
            } else if starP >= 0 {
                pi = starP + 1; starT += 1; ti = starT
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "%" { pi += 1 }
        return pi == p.count
    }

    static func cast(_ v: Value, to type: ColumnType) -> Value {
        if v.isNull { return .null }
        switch type {
        case .integer:
            switch v {
            case .integer: return v
            case .boolean(let b): return .integer(b ? 1 : 0)
            case .real(let d): return .integer(Int64(exactly: d.rounded(.towardZero)) ?? (d < 0 ? .min : .max))
            case .text(let s):
                let d = numericPrefix(s) ?? 0
                return .integer(Int64(exactly: d.rounded(.towardZero)) ?? 0)
            case .null: return .null
            }
        case .real: return .real(double(v) ?? 0)
        case .text: return .text(v.description)
        case .boolean: return .boolean(truth(v) ?? false)
        case .any: return v
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

/// Scalar functions available in continuous-query expressions.
enum ScalarFunction: String, Sendable, CaseIterable {
    case abs, lower, upper, length, coalesce, ifnull, nullif, round, min, max, substr, trim, typeof, iif

    /// Whether the same arguments always give the same result.
    var isDeterministic: Bool { true }

    /// The accepted argument counts.
    var arity: ClosedRange<Int> {
        switch self {
        case .abs, .lower, .upper, .length, .trim, .typeof: 1...1
        case .ifnull, .nullif: 2...2
        case .round: 1...2
        case .substr: 2...3
        case .iif: 3...3
        case .coalesce, .min, .max: 2...64
        }
    }

    func apply(_ a: [Value]) -> Value {
        switch self {
        case .abs:
            switch a[0] {
            case .integer(let i): return i == .min ? .real(Swift.abs(Double(i))) : .integer(Swift.abs(i))
            case .null: return .null
            default: return .real(Swift.abs(SQLArithmetic.double(a[0]) ?? 0))
            }
        case .lower: return a[0].isNull ? .null : .text(a[0].description.lowercased())
        case .upper: return a[0].isNull ? .null : .text(a[0].description.uppercased())
        case .length: return a[0].isNull ? .null : .integer(Int64(a[0].description.count))
        case .trim: return a[0].isNull ? .null : .text(String(a[0].description.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()))
        case .typeof: return .text(a[0].typeName)
        case .coalesce, .ifnull: return a.first { !$0.isNull } ?? .null
        case .nullif: return (!a[0].isNull && !a[1].isNull && a[0] == a[1]) ? .null : a[0]
        case .iif: return SQLArithmetic.truth(a[0]) == true ? a[1] : a[2]
        case .round:
            guard let d = SQLArithmetic.double(a[0]) else { return .null }
            let digits = a.count > 1 ? Int(SQLArithmetic.double(a[1]) ?? 0) : 0
            let scale = pow10(Swift.max(0, Swift.min(digits, 15)))
            return .real((d * scale).rounded(.toNearestOrAwayFromZero) / scale)
        case .min:
            if a.contains(where: \.isNull) { return .null }
            return a.min { Value.compare($0, $1) < 0 }!
        case .max:
            if a.contains(where: \.isNull) { return .null }
            return a.max { Value.compare($0, $1) < 0 }!
        case .substr:
            if a.contains(where: \.isNull) { return .null }
            let s = Array(a[0].description)
            var start = Int(SQLArithmetic.double(a[1]) ?? 1)
            var count = a.count > 2 ? Int(SQLArithmetic.double(a[2]) ?? 0) : s.count + 1
            if start < 0 { start = Swift.max(s.count + start + 1, 1) }
            if start == 0 { start = 1; count -= 1 }
            if count <= 0 { return .text("") }
            let lo = Swift.min(start - 1, s.count), hi = Swift.min(lo + count, s.count)
            return .text(String(s[lo..<hi]))
        }
    }

    private func pow10(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= 10 }
        return r
    }
}
