import QueryCore

/// SQLite's value semantics: conversions, arithmetic with integer overflow to real, comparisons,
/// truthiness. All functions are total: they never trap.
enum SQLValue {
    /// Text rendering of a value (`CAST(x AS TEXT)`).
    static func text(_ value: Value) -> String {
        switch value {
        case .null: ""
        case .integer(let i): String(i)
        case .real(let d): Value.formatReal(d)
        case .text(let s): s
        case .boolean(let b): b ? "1" : "0"
        }
    }

    /// Parses a number from text.
    ///
    /// With `requireWhole`, the whole text (ignoring surrounding spaces) must be a number, else nil
    /// (affinity conversion). Without, the longest numeric prefix is used and a text with none is 0
    /// (arithmetic conversion).
    static func parseNumber(_ s: String, requireWhole: Bool) -> Value? {
        var bytes = Array(s.utf8)
        bytes.append(0)
        var i = 0
        while bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        let start = i
        if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
        let digitsStart = i
        while bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
        var intDigits = i - digitsStart
        var isReal = false
        if bytes[i] == UInt8(ascii: ".") {
            let dot = i
            i += 1
            let fracStart = i
            while bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            if i - fracStart == 0 && intDigits == 0 {
                i = dot
            } else {
                isReal = true
                intDigits += i - fracStart
            }
        }
        if intDigits == 0 {
            if requireWhole { return nil }
            return .integer(0)
        }
        if bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            var j = i + 1
            if bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "+") { j += 1 }
            if bytes[j] >= 0x30 && bytes[j] <= 0x39 {
                while bytes[j] >= 0x30 && bytes[j] <= 0x39 { j += 1 }
                i = j
                isReal = true
            }
        }
        let end = i
        if requireWhole {
            var k = end
            while bytes[k] == 0x20 || bytes[k] == 0x09 || bytes[k] == 0x0A || bytes[k] == 0x0D { k += 1 }
            if k != bytes.count - 1 { return nil }
        }
        let literal = String(decoding: bytes[start..<end], as: UTF8.self)
        if !isReal, let n = Int64(literal) { return .integer(n) }
        return .real(Double(literal) ?? 0)
    }

    /// The numeric value used by arithmetic: integer or real, or null.
    @inline(__always)
    static func numeric(_ value: Value) -> Value {
        switch value {
        case .integer, .real, .null: value
        case .boolean(let b): .integer(b ? 1 : 0)
        case .text(let s): parseNumber(s, requireWhole: false) ?? .integer(0)
        }
    }

    /// The value as a double (text through its numeric prefix); nil for null.
    static func double(_ value: Value) -> Double? {
        switch numeric(value) {
        case .integer(let i): Double(i)
        case .real(let d): d
        default: nil
        }
    }

    /// The value as an integer like `sqlite3_value_int64` (reals truncated and saturated).
    static func integer(_ value: Value) -> Int64? {
        switch numeric(value) {
        case .integer(let i): i
        case .real(let d): realToInt(d)
        default: nil
        }
    }

    /// Truncates a double to Int64, saturating (NaN gives 0).
    static func realToInt(_ d: Double) -> Int64 {
        if d.isNaN { return 0 }
        if d >= 9223372036854775807.0 { return Int64.max }
        if d <= -9223372036854775808.0 { return Int64.min }
        return Int64(d)
    }

    /// SQL truthiness: nil for NULL.
    @inline(__always)
    static func truth(_ value: Value) -> Bool? {
        switch value {
        case .null: nil
        case .integer(let i): i != 0
        case .real(let d): d != 0
        case .boolean(let b): b
        case .text(let s):
            switch parseNumber(s, requireWhole: false) {
            case .integer(let i): i != 0
            case .real(let d): d != 0
            default: false
            }
        }
    }

    static func bool(_ b: Bool) -> Value { .integer(b ? 1 : 0) }

    // MARK: Arithmetic

    static func add(_ a: Value, _ b: Value) -> Value {
        if case .integer(let x) = a, case .integer(let y) = b {
            let (r, o) = x.addingReportingOverflow(y)
            return o ? .real(Double(x) + Double(y)) : .integer(r)
        }
        return arithmetic(a, b, { x, y in x.addingReportingOverflow(y) }, +)
    }

    static func subtract(_ a: Value, _ b: Value) -> Value {
        if case .integer(let x) = a, case .integer(let y) = b {
            let (r, o) = x.subtractingReportingOverflow(y)
            return o ? .real(Double(x) - Double(y)) : .integer(r)
        }
        return arithmetic(a, b, { x, y in x.subtractingReportingOverflow(y) }, -)
    }

    static func multiply(_ a: Value, _ b: Value) -> Value {
        if case .integer(let x) = a, case .integer(let y) = b {
            let (r, o) = x.multipliedReportingOverflow(by: y)
            return o ? .real(Double(x) * Double(y)) : .integer(r)
        }
        return arithmetic(a, b, { x, y in x.multipliedReportingOverflow(by: y) }, *)
    }

    @inline(__always)
    private static func arithmetic(
        _ a: Value, _ b: Value, _ intOp: (Int64, Int64) -> (partialValue: Int64, overflow: Bool),
        _ realOp: (Double, Double) -> Double
    ) -> Value {
        let na = numeric(a), nb = numeric(b)
        switch (na, nb) {
        case (.null, _), (_, .null): return .null
        case (.integer(let x), .integer(let y)):
            let (r, o) = intOp(x, y)
            return o ? .real(realOp(Double(x), Double(y))) : .integer(r)
        default:
            let r = realOp(double(na)!, double(nb)!)
            return r.isNaN ? .null : .real(r)
        }
    }

    static func divide(_ a: Value, _ b: Value) -> Value {
        let na = numeric(a), nb = numeric(b)
        switch (na, nb) {
        case (.null, _), (_, .null): return .null
        case (.integer(let x), .integer(let y)):
            if y == 0 { return .null }
            if x == Int64.min && y == -1 { return .real(-Double(x)) }
            return .integer(x / y)
        default:
            let y = double(nb)!
            if y == 0 { return .null }
            let r = double(na)! / y
            return r.isNaN ? .null : .real(r)
        }
    }

    static func remainder(_ a: Value, _ b: Value) -> Value {
        let na = numeric(a), nb = numeric(b)
        switch (na, nb) {
        case (.null, _), (_, .null): return .null
        case (.integer(let x), .integer(let y)):
            if y == 0 { return .null }
            if y == -1 { return .integer(0) }
            return .integer(x % y)
        default:
            let x = integer(na)!, y0 = integer(nb)!
            if y0 == 0 { return .null }
            let y = y0 == -1 ? 1 : y0
            return .real(Double(x % y))
        }
    }

    static func negate(_ a: Value) -> Value {
        switch numeric(a) {
        case .integer(let x): x == Int64.min ? .real(-Double(x)) : .integer(-x)
        case .real(let d): .real(-d)
        default: .null
        }
    }

    static func bitAnd(_ a: Value, _ b: Value) -> Value {
        guard let x = integer(a), let y = integer(b) else { return .null }
        return .integer(x & y)
    }

    static func bitOr(_ a: Value, _ b: Value) -> Value {
        guard let x = integer(a), let y = integer(b) else { return .null }
        return .integer(x | y)
    }

    static func bitNot(_ a: Value) -> Value {
        guard let x = integer(a) else { return .null }
        return .integer(~x)
    }

    static func shift(_ a: Value, _ b: Value, left: Bool) -> Value {
        guard let x = integer(a), var n = integer(b) else { return .null }
        var leftShift = left
        if n < 0 {
            leftShift.toggle()
            n = n == Int64.min ? 64 : -n
        }
        if n >= 64 { return .integer(!leftShift && x < 0 ? -1 : 0) }
        return .integer(leftShift ? x << n : x >> n)
    }

    static func concat(_ a: Value, _ b: Value) -> Value {
        if a.isNull || b.isNull { return .null }
        return .text(text(a) + text(b))
    }

    // MARK: Comparison

    /// Three-way comparison after affinities; nil if either side is NULL.
    @inline(__always)
    static func compare(_ a: Value, _ b: Value) -> Int? {
        if a.isNull || b.isNull { return nil }
        return Value.compare(a, b)
    }

    // MARK: Cast

    static func cast(_ value: Value, to typeName: String) -> Value {
        if value.isNull { return .null }
        let t = typeName.uppercased()
        switch Affinity(declaredType: t) {
        case .integer:
            switch value {
            case .text(let s): return .integer(integer(parseNumber(s, requireWhole: false) ?? .integer(0)) ?? 0)
            default: return .integer(integer(value) ?? 0)
            }
        case .real:
            return .real(double(value) ?? 0)
        case .text:
            return .text(text(value))
        case .none:
            if t.contains("BLOB") { return .text(text(value)) }
            return value
        case .numeric:
            switch value {
            case .text(let s):
                let n = parseNumber(s, requireWhole: false) ?? .integer(0)
                if case .real(let d) = n, let i = Value.exactInteger(d), abs(d) < 9.0e18 { return .integer(i) }
                return n
            case .real(let d):
                if let i = Value.exactInteger(d), abs(d) < 9.0e18 { return .integer(i) }
                return value
            case .boolean(let b): return .integer(b ? 1 : 0)
            default: return value
            }
        }
    }
}
