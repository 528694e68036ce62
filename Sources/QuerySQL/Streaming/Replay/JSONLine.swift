import QueryCore

/// A minimal JSON reader and writer for event lines: one object whose values are strings,
/// numbers, booleans or `null` (nested objects and arrays are rejected with a position).
enum JSONLine {
    /// Parses one object into `(key, value)` pairs in order.
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` naming the column of the problem.
    static func parseObject(_ line: String) throws(QueryError) -> [(String, Value)] {
        var reader = Reader(bytes: Array(line.utf8))
        reader.skipSpace()
        try reader.expect(UInt8(ascii: "{"))
        var result: [(String, Value)] = []
        reader.skipSpace()
        if reader.peek == UInt8(ascii: "}") {
            reader.index += 1
        } else {
            while true {
                reader.skipSpace()
                let key = try reader.string()
                reader.skipSpace()
                try reader.expect(UInt8(ascii: ":"))
                reader.skipSpace()
                result.append((key, try reader.value()))
                reader.skipSpace()
                if reader.peek == UInt8(ascii: ",") { reader.index += 1; continue }
                try reader.expect(UInt8(ascii: "}"))
                break
            }
        }
        reader.skipSpace()
        guard reader.index == reader.bytes.count else { throw reader.error("unexpected text after the object") }
        return result
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ message: String) -> QueryError {
            QueryError(.decodingFailed, "\(message) at column \(index + 1)")
        }

        mutating func skipSpace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { index += 1 }
        }

        mutating func expect(_ b: UInt8) throws(QueryError) {
            guard peek == b else { throw error("expected '\(Character(UnicodeScalar(b)))'") }
            index += 1
        }

        mutating func string() throws(QueryError) -> String {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while true {
                guard let b = peek else { throw error("unterminated string") }
                index += 1
                if b == UInt8(ascii: "\"") { break }
                if b != UInt8(ascii: "\\") { out.append(b); continue }
                guard let e = peek else { throw error("unterminated escape") }
                index += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                    else { throw error("bad \\u escape") }
                    index += 4
                    var scalarValue = code
                    if (0xD800..<0xDC00).contains(code), index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u"),
                        let low = UInt32(String(decoding: bytes[index + 2..<index + 6], as: UTF8.self), radix: 16),
                        (0xDC00..<0xE000).contains(low)
                    {
                        index += 6
                        scalarValue = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out.append(contentsOf: Array(String(UnicodeScalar(scalarValue).map(Character.init) ?? "\u{FFFD}").utf8))
                default: out.append(e)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func value() throws(QueryError) -> Value {
            guard let b = peek else { throw error("expected a value") }
            switch b {
            case UInt8(ascii: "\""): return .text(try string())
            case UInt8(ascii: "t"): try word("true"); return .boolean(true)
            case UInt8(ascii: "f"): try word("false"); return .boolean(false)
            case UInt8(ascii: "n"): try word("null"); return .null
            case UInt8(ascii: "{"), UInt8(ascii: "["): throw error("nested objects and arrays are not supported as field values")
            default:
                let start = index
                while let c = peek, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || (c >= 0x30 && c <= 0x39)
                {
                    index += 1
                }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                if let i = Int64(text) { return .integer(i) }
                if let d = Double(text), !text.isEmpty { return .real(d) }
                index = start
                throw error("expected a value")
            }
        }

        mutating func word(_ w: String) throws(QueryError) {
            let u = Array(w.utf8)
            guard index + u.count <= bytes.count, Array(bytes[index..<index + u.count]) == u else {
                throw error("expected a value")
            }
            index += u.count
        }
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String { JSONText.quoted(s) }

    /// A value as JSON (non-finite reals as `null`).
    static func encode(_ v: Value) -> String {
        switch v {
        case .null: "null"
        case .integer(let i): String(i)
        case .real(let d): JSONText.real(d)
        case .text(let s): quote(s)
        case .boolean(let b): b ? "true" : "false"
        }
    }
}
