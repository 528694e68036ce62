#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQL value: the storage classes of SQLite plus a boolean.
///
/// Comparison follows SQLite: `NULL` sorts first, then numbers (integers, reals and booleans
/// compared by numeric value, so `1 == 1.0 == true`), then text compared byte-wise (SQLite's
/// `BINARY` collation). `==` and `hash(into:)` agree with that order, so values that compare
/// equal group together in `GROUP BY` and `DISTINCT`. `NaN` is kept as a real and sorts after
/// every other number, equal only to itself.
public enum Value: Sendable {
    /// SQL `NULL`.
    case null
    /// A 64-bit signed integer.
    case integer(Int64)
    /// A 64-bit IEEE float.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// A boolean; numerically 1 or 0.
    case boolean(Bool)

    /// Whether this is SQL `NULL`.
    @inlinable
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The SQLite storage class name (`typeof()`): `null`, `integer`, `real` or `text`.
    /// Booleans report `integer`, as in SQLite.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .integer, .boolean: "integer"
        case .real: "real"
        case .text: "text"
        }
    }

    /// The rank of the storage class in SQLite's sort order.
    @inlinable
    var classRank: Int {
        switch self {
        case .null: 0
        case .integer, .real, .boolean: 1
        case .text: 2
        }
    }
}

// MARK: - Ordering

extension Value: Comparable, Hashable {
    /// Three-way comparison in SQLite's order (NULL < numbers < text). Never fails.
    @inlinable
    public static func compare(_ lhs: Value, _ rhs: Value) -> Int {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.real(let a), .real(let b)): return compareDoubles(a, b)
        case (.text(let a), .text(let b)): return compareText(a, b)
        case (.null, .null): return 0
        default: break
        }
        let lr = lhs.classRank, rr = rhs.classRank
        if lr != rr { return lr < rr ? -1 : 1 }
        // Both numeric, of different representations.
        switch (lhs.numericForm, rhs.numericForm) {
        case (.int(let a), .int(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.real(let a), .real(let b)): return compareDoubles(a, b)
        case (.int(let a), .real(let b)): return compareIntDouble(a, b)
        case (.real(let a), .int(let b)): return -compareIntDouble(b, a)
        }
    }

    /// Compares two doubles with `NaN` above every number and equal to itself.
    @inlinable
    public static func compareDoubles(_ a: Double, _ b: Double) -> Int {
        if a < b { return -1 }
        if a > b { return 1 }
        if a == b { return 0 }
        // At least one NaN.
        if a.isNaN && b.isNaN { return 0 }
        return a.isNaN ? 1 : -1
    }

    /// Exact comparison of an integer with a double (no precision lost on large integers).
    @inlinable
    public static func compareIntDouble(_ a: Int64, _ b: Double) -> Int {
        if b.isNaN { return -1 }
        if b >= 9223372036854775808.0 { return -1 }
        if b < -9223372036854775808.0 { return 1 }
        let truncated = b.rounded(.towardZero)
        let bi = Int64(truncated)
        if a < bi { return -1 }
        if a > bi { return 1 }
        let fraction = b - truncated
        return fraction > 0 ? -1 : (fraction < 0 ? 1 : 0)
    }

    /// Byte-wise comparison of UTF-8 text (SQLite's `BINARY` collation).
    @inlinable
    public static func compareText(_ a: String, _ b: String) -> Int {
        var a = a, b = b
        return a.withUTF8 { ab in
            b.withUTF8 { bb in compareBytes(ab, bb) }
        }
    }

    /// Byte-wise comparison of two buffers, shorter-is-smaller on a common prefix.
    @inlinable
    public static func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let n = Swift.min(a.count, b.count)
        if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let c = memcmpBytes(pa, pb, n)
            if c != 0 { return c < 0 ? -1 : 1 }
        }
        return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1)
    }

    public static func < (lhs: Value, rhs: Value) -> Bool { compare(lhs, rhs) < 0 }

    public static func == (lhs: Value, rhs: Value) -> Bool { compare(lhs, rhs) == 0 }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null:
            hasher.combine(0 as UInt8)
        case .integer(let i):
            hasher.combine(1 as UInt8)
            hasher.combine(i)
        case .boolean(let b):
            hasher.combine(1 as UInt8)
            hasher.combine(Int64(b ? 1 : 0))
        case .real(let d):
            // Integral reals hash as the integer they equal, so 1.0 and 1 group together.
            if let i = Value.exactInteger(d) {
                hasher.combine(1 as UInt8)
                hasher.combine(i)
            } else if d.isNaN {
                hasher.combine(3 as UInt8)
            } else {
                hasher.combine(2 as UInt8)
                hasher.combine(d.bitPattern)
            }
        case .text(let s):
            hasher.combine(4 as UInt8)
            var s = s
            s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    /// The integer a double equals exactly, if any (`-0.0` gives 0).
    @inlinable
    public static func exactInteger(_ d: Double) -> Int64? {
        guard d >= -9223372036854775808.0, d < 9223372036854775808.0, d.rounded(.towardZero) == d else { return nil }
        return Int64(d)
    }

    /// A numeric value, as integer or real.
    @usableFromInline
    enum NumericForm { case int(Int64), real(Double) }

    /// The numeric form of a numeric value (booleans as 0/1); only valid for numeric classes.
    @inlinable
    var numericForm: NumericForm {
        switch self {
        case .integer(let i): .int(i)
        case .real(let d): .real(d)
        case .boolean(let b): .int(b ? 1 : 0)
        case .null, .text: .int(0)
        }
    }
}

@usableFromInline
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
    var i = 0
    while i < n {
        let x = a[i], y = b[i]
        if x != y { return x < y ? -1 : 1 }
        i += 1
    }
    return 0
}

// MARK: - Literals and description

extension Value: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, CustomStringConvertible
{
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(nilLiteral: ()) { self = .null }

    /// The value as SQLite's `CAST(x AS TEXT)` would print it (`NULL` for null).
    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let i): String(i)
        case .real(let d): Value.formatReal(d)
        case .text(let s): s
        case .boolean(let b): b ? "1" : "0"
        }
    }

    /// SQLite's real-to-text conversion (`%!.15g`): up to 15 significant digits, always with a
    /// decimal point or exponent (`1.0`, `0.5`, `1.0e+20`).
    public static func formatReal(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "Inf" }
        var text = cFormat("%.15g", d)
        if let e = text.firstIndex(of: "e") {
            if !text[..<e].contains(".") { text.insert(contentsOf: ".0", at: e) }
        } else if !text.contains(".") {
            text += ".0"
        }
        return text
    }

    /// Formats one double with a C `printf` format.
    package static func cFormat(_ format: String, _ d: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let count = withVaList([d]) { vsnprintf(&buffer, buffer.count, format, $0) }
        guard count >= 0 else { return "\(d)" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

