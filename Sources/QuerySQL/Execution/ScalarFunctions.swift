import QueryCore

/// The built-in scalar functions, with SQLite's results.
enum ScalarFunctions {
    typealias Implementation = @Sendable ([Value]) throws(QueryError) -> Value

    /// `(minimum arguments, maximum arguments or nil, implementation)` by lower-case name.
    static let table: [String: (Int, Int?, Implementation)] = [
        "abs": (1, 1, { (a: [Value]) throws(QueryError) -> Value in
            switch SQLValue.numeric(a[0]) {
            case .integer(let i):
                if i == Int64.min { throw QueryError(.runtimeError, "integer overflow") }
                return .integer(Swift.abs(i))
            case .real(let d): return .real(Swift.abs(d))
            default: return .null
            }
        }),
        "round": (1, 2, { (a: [Value]) throws(QueryError) -> Value in
            guard let x = SQLValue.double(a[0]) else { return .null }
            var digits: Int64 = 0
            if a.count > 1 {
                guard let d = SQLValue.integer(a[1]) else { return .null }
                digits = Swift.max(0, Swift.min(d, 30))
            }
            return .real(round(x, Int(digits)))
        }),
        "lower": (1, 1, { a in a[0].isNull ? .null : .text(SQLValue.text(a[0]).lowercased()) }),
        "upper": (1, 1, { a in a[0].isNull ? .null : .text(SQLValue.text(a[0]).uppercased()) }),
        "length": (1, 1, { a in
            switch a[0] {
            case .null: .null
            case .text(let s): .integer(Int64(s.unicodeScalars.count))
            default: .integer(Int64(SQLValue.text(a[0]).utf8.count))
            }
        }),
        "typeof": (1, 1, { a in .text(a[0].typeName) }),
        "coalesce": (2, nil, { a in a.first { !$0.isNull } ?? .null }),
        "ifnull": (2, 2, { a in a[0].isNull ? a[1] : a[0] }),
        "nullif": (2, 2, { a in
            if a[0].isNull || a[1].isNull { return a[0] }
            return Value.compare(a[0], a[1]) == 0 ? .null : a[0]
        }),
        "min": (2, nil, { a in
            if a.contains(where: \.isNull) { return .null }
            return a.dropFirst().reduce(a[0]) { Value.compare($1, $0) < 0 ? $1 : $0 }
        }),
        "max": (2, nil, { a in
            if a.contains(where: \.isNull) { return .null }
            return a.dropFirst().reduce(a[0]) { Value.compare($1, $0) > 0 ? $1 : $0 }
        }),
        "substr": (2, 3, { a in substr(a) }),
        "substring": (2, 3, { a in substr(a) }),
        "trim": (1, 2, { a in trim(a, left: true, right: true) }),
        "ltrim": (1, 2, { a in trim(a, left: true, right: false) }),
        "rtrim": (1, 2, { a in trim(a, left: false, right: true) }),
        "replace": (3, 3, { a in
            if a.contains(where: \.isNull) { return .null }
            let s = SQLValue.text(a[0]), find = SQLValue.text(a[1]), with = SQLValue.text(a[2])
            if find.isEmpty { return .text(s) }
            return .text(s.replacing(find, with: with))
        }),
        "instr": (2, 2, { a in
            if a[0].isNull || a[1].isNull { return .null }
            let s = Array(SQLValue.text(a[0]).unicodeScalars), n = Array(SQLValue.text(a[1]).unicodeScalars)
            if n.isEmpty { return .integer(1) }
            if n.count > s.count { return .integer(0) }
            for i in 0...(s.count - n.count) where Array(s[i..<(i + n.count)]) == n { return .integer(Int64(i + 1)) }
            return .integer(0)
        }),
        "hex": (1, 1, { a in
            let digits = Array("0123456789ABCDEF".utf8)
            var out: [UInt8] = []
            for b in SQLValue.text(a[0]).utf8 {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
            return .text(String(decoding: out, as: UTF8.self))
        }),
        "sign": (1, 1, { a in
            switch SQLValue.numeric(a[0]) {
            case .integer(let i): .integer(i > 0 ? 1 : (i < 0 ? -1 : 0))
            case .real(let d): .integer(d > 0 ? 1 : (d < 0 ? -1 : 0))
            default: .null
            }
        }),
    ]

    /// SQLite's `round(x, n)`.
    static func round(_ x: Double, _ digits: Int) -> Double {
        if digits == 0 && Swift.abs(x) < 4503599627370496.0 {
            return x < 0 ? -(-x + 0.5).rounded(.down) : (x + 0.5).rounded(.down)
        }
        if x.isNaN || x.isInfinite { return x }
        let text = Value.cFormat("%.\(digits)f", x)
        return Double(text) ?? x
    }

    static func substr(_ a: [Value]) -> Value {
        if a.contains(where: \.isNull) { return .null }
        let chars = Array(SQLValue.text(a[0]).unicodeScalars)
        let n = Int64(chars.count)
        var start = SQLValue.integer(a[1]) ?? 0
        var length: Int64 = a.count > 2 ? (SQLValue.integer(a[2]) ?? 0) : Int64.max / 4
        if start < 0 {
            start = n + start
            if start < 0 {
                length += start
                start = 0
            }
        } else if start > 0 {
            start -= 1
        } else {
            length -= 1
        }
        if length < 0 {
            start += length
            length = -length
            if start < 0 {
                length += start
                start = 0
            }
        }
        guard start < n, length > 0 else { return .text("") }
        let end = Swift.min(n, start &+ length)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: chars[Int(start)..<Int(end)])
        return .text(String(view))
    }

    static func trim(_ a: [Value], left: Bool, right: Bool) -> Value {
        if a.contains(where: \.isNull) { return .null }
        let s = Array(SQLValue.text(a[0]).unicodeScalars)
        let set = Set(a.count > 1 ? Array(SQLValue.text(a[1]).unicodeScalars) : [" "])
        var lo = 0, hi = s.count
        if left { while lo < hi && set.contains(s[lo]) { lo += 1 } }
        if right { while hi > lo && set.contains(s[hi - 1]) { hi -= 1 } }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s[lo..<hi])
        return .text(String(view))
    }
}
