import QueryCore

/// Renders result values as SQLite's sqllogictest reference runner does (`slt_sqlite.c`).
public enum ValueRenderer {
    /// The text of `value` for a result column of type letter `type` (`T`, `I` or `R`).
    public static func render(_ value: Value, type: Character) -> String {
        if case .null = value { return "NULL" }
        switch type {
        case "I":
            return String(Int32(truncatingIfNeeded: integer(value)))
        case "R":
            return formatReal(real(value))
        default:
            switch value {
            case .text(let s):
                if s.isEmpty { return "(empty)" }
                let bytes = s.utf8.map { $0 < 0x20 || $0 > 0x7E ? UInt8(ascii: "@") : $0 }
                return String(decoding: bytes, as: UTF8.self)
            default:
                return value.description
            }
        }
    }

    /// `sqlite3_column_int64`: integers as is, reals truncated toward zero (saturating), text by its integer prefix.
    static func integer(_ value: Value) -> Int64 {
        switch value {
        case .null: return 0
        case .integer(let i): return i
        case .boolean(let b): return b ? 1 : 0
        case .real(let d):
            if d.isNaN { return 0 }
            if d >= 9223372036854775807.0 { return Int64.max }
            if d <= -9223372036854775808.0 { return Int64.min }
            return Int64(d)
        case .text(let s):
            var bytes = Array(s.utf8)[...]
            while let f = bytes.first, f == 0x20 || f == 0x09 || f == 0x0A || f == 0x0D { bytes = bytes.dropFirst() }
            var negative = false
            if let f = bytes.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
                negative = f == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            var result: Int64 = 0
            for b in bytes {
                guard b >= 0x30 && b <= 0x39 else { break }
                let (m, o1) = result.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(b - 0x30))
                if o1 || o2 { return negative ? Int64.min : Int64.max }
                result = a
            }
            return negative ? -result : result
        }
    }

    /// `sqlite3_column_double`: text by its numeric prefix.
    static func real(_ value: Value) -> Double {
        switch value {
        case .null: return 0
        case .integer(let i): return Double(i)
        case .boolean(let b): return b ? 1 : 0
        case .real(let d): return d
        case .text(let s):
            let bytes = Array(s.utf8)
            var i = 0
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
            let start = i
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1; digits += 1 }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1; digits += 1 }
            }
            guard digits > 0 else { return 0 }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                var j = i + 1
                if j < bytes.count, bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "+") { j += 1 }
                if j < bytes.count, bytes[j] >= 0x30 && bytes[j] <= 0x39 {
                    while j < bytes.count, bytes[j] >= 0x30 && bytes[j] <= 0x39 { j += 1 }
                    i = j
                }
            }
            return Double(String(decoding: bytes[start..<i], as: UTF8.self)) ?? 0
        }
    }

    /// SQLite's `%.3f`: 16 significant decimal digits rounded half away from zero, zeros after.
    public static func formatReal(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "Inf" }
        if d == 0 { return "0.000" }
        // d.ddddddddddddddde±XX: 16 significant digits.
        let scientific = Value.cFormat("%.15e", d)
        guard let e = scientific.firstIndex(of: "e"), let exponent = Int(scientific[scientific.index(after: e)...]) else {
            return Value.cFormat("%.3f", d)
        }
        let negative = scientific.hasPrefix("-")
        let mantissa = scientific[..<e].filter { $0.isNumber }
        var digits = mantissa.map { Int($0.asciiValue! - 48) }  // 16 digits, value = 0.d1d2… × 10^(exponent+1)
        // Position of the decimal point: after (exponent + 1) digits.
        var point = exponent + 1
        if point < 0 {
            digits = [Int](repeating: 0, count: -point) + digits
            point = 0
        }
        // Keep digits up to 3 after the point; round half up on the next digit.
        let keep = point + 3
        if digits.count < keep { digits += [Int](repeating: 0, count: keep - digits.count) }
        if digits.count > keep {
            let roundUp = digits[keep] >= 5
            digits = Array(digits[0..<keep])
            if roundUp {
                var i = keep - 1
                while i >= 0 {
                    digits[i] += 1
                    if digits[i] < 10 { break }
                    digits[i] = 0
                    i -= 1
                }
                if i < 0 {
                    digits.insert(1, at: 0)
                    point += 1
                }
            }
        }
        var integerPart = digits[0..<point].map(String.init).joined()
        if integerPart.isEmpty { integerPart = "0" }
        while integerPart.count > 1 && integerPart.hasPrefix("0") { integerPart.removeFirst() }
        let fraction = digits[point..<(point + 3)].map(String.init).joined()
        return (negative ? "-" : "") + integerPart + "." + fraction
    }
}
