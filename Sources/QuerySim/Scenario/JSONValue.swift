public import QueryCore

/// A parsed JSON value, for validating scenario files key by key (so unknown keys can be reported
/// with their path) and for writing JSON lines without Foundation's key reordering.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; keys keep the order they were written in (in code or in the parsed file).
    case object([(String, JSONValue)])

    /// Parses JSON text (RFC 8259, a leading byte-order mark allowed).
    ///
    /// Objects keep their keys in file order. Duplicate keys, nesting deeper than
    /// ``maximumDepth`` and numbers too large for a `Double` are errors.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument`: `malformed JSON at line L, column C: …` for a
    ///   syntax error, or `$.path: …` for a duplicate key or an out-of-range number.
    public static func parse(_ text: String) throws(QueryError) -> JSONValue {
        var parser = JSONParser(Array(text.utf8))
        return try parser.document()
    }

    /// The deepest nesting of arrays and objects ``parse(_:)`` accepts.
    public static let maximumDepth = 64

    /// Compact JSON text (object keys in stored order).
    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d): out += JSONText.real(d)
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .array(let items):
            out += "["
            for (k, item) in items.enumerated() {
                if k > 0 { out += ", " }
                item.write(to: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (k, (key, value)) in pairs.enumerated() {
                if k > 0 { out += ", " }
                JSONText.appendQuoted(key, to: &out)
                out += ": "
                value.write(to: &out)
            }
            out += "}"
        }
    }


    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(serialized)
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue: Decodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            var pairs: [(String, JSONValue)] = []
            for key in object.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                pairs.append((key.stringValue, try object.decode(JSONValue.self, forKey: key)))
            }
            self = .object(pairs)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let b = try? single.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? single.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? single.decode(Double.self) {
            self = .number(d)
        } else {
            self = .string(try single.decode(String.self))
        }
    }
}

extension Value {
    /// The value as JSON (integers stay integers, booleans become `true`/`false`).
    public var json: JSONValue {
        switch self {
        case .null: .null
        case .integer(let i): .integer(i)
        case .real(let d): .number(d)
        case .text(let s): .string(s)
        case .boolean(let b): .bool(b)
        }
    }
}

/// A strict JSON parser over UTF-8 bytes that reports where it failed.
struct JSONParser {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte-order mark.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    mutating func document() throws(QueryError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw syntax("the file is empty; expected a JSON object") }
        let value = try self.value(path: "$", depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw syntax("unexpected \(found) after the end of the JSON value") }
        return value
    }

    // MARK: Errors

    /// `malformed JSON at line L, column C: message` for the current position.
    private func syntax(_ message: String, at position: Int? = nil) -> QueryError {
        let position = min(position ?? index, bytes.count)
        var line = 1, column = 1
        for byte in bytes[..<position] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return QueryError(.invalidArgument, "malformed JSON at line \(line), column \(column): \(message)")
    }

    /// The character at the current position, quoted, or "the end of the file".
    private var found: String {
        guard index < bytes.count else { return "end of the file" }
        var end = index + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80, end - index < 4 { end += 1 }
        let text = String(decoding: bytes[index..<end], as: UTF8.self)
        return text == "/" ? "'/' (comments are not allowed in JSON)" : "'\(text)'"
    }

    // MARK: Values

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value(path: String, depth: Int) throws(QueryError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw syntax("unexpected end of the file; expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(path: path, depth: depth + 1)
        case UInt8(ascii: "["): return try array(path: path, depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number(path: path)
        case UInt8(ascii: "/"): throw syntax("comments are not allowed in JSON")
        case UInt8(ascii: "'"): throw syntax("strings must be in double quotes")
        default: throw syntax("unexpected \(found); expected a value (object, array, string, number, true, false or null)")
        }
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws(QueryError) -> JSONValue {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw syntax("unexpected \(found); expected a value (object, array, string, number, true, false or null)")
        }
        index += expected.count
        return value
    }

    private mutating func object(path: String, depth: Int) throws(QueryError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else {
            throw syntax("nested deeper than \(JSONValue.maximumDepth) levels")
        }
        index += 1  // {
        var pairs: [(String, JSONValue)] = []
        var seen: Set<String> = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(pairs)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    throw syntax("trailing comma before '}'")
                }
                throw syntax("unexpected \(found); expected a key in double quotes")
            }
            let key = try string()
            let childPath = JSONParser.path(path, key: key)
            guard seen.insert(key).inserted else {
                throw QueryError(.invalidArgument, "\(childPath): duplicate key '\(key)'")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw syntax("unexpected \(found); expected ':' after the key \"\(key)\"")
            }
            index += 1
            pairs.append((key, try value(path: childPath, depth: depth)))
            if try closes(with: "}") { return .object(pairs) }
        }
    }

    private mutating func array(path: String, depth: Int) throws(QueryError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else {
            throw syntax("nested deeper than \(JSONValue.maximumDepth) levels")
        }
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { throw syntax("trailing comma before ']'") }
            items.append(try value(path: "\(path)[\(items.count)]", depth: depth))
            if try closes(with: "]") { return .array(items) }
        }
    }

    /// After a member or an element: consumes a ',' (`false`: another follows) or `close` (`true`).
    private mutating func closes(with close: Unicode.Scalar) throws(QueryError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw syntax("unexpected end of the file; expected ',' or '\(close)'") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            return false
        }
        if bytes[index] == UInt8(ascii: close) {
            index += 1
            return true
        }
        throw syntax("unexpected \(found); expected ',' or '\(close)'")
    }

    /// `$.a.b`, or `$["odd key"]` for keys that are not plain identifiers.
    static func path(_ parent: String, key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
        }
        if plain { return "\(parent).\(key)" }
        var quoted = ""
        JSONText.appendQuoted(key, to: &quoted)
        return "\(parent)[\(quoted)]"
    }

    private mutating func string() throws(QueryError) -> String {
        let start = index
        index += 1  // "
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flush(_ parser: JSONParser, to end: Int) {
            scalars.append(contentsOf: String(decoding: parser.bytes[runStart..<end], as: UTF8.self).unicodeScalars)
        }
        while true {
            guard index < bytes.count else { throw syntax("unterminated string", at: start) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                flush(self, to: index)
                index += 1
                return String(scalars)
            }
            if byte < 0x20 {
                throw syntax(byte == 0x0A ? "unterminated string (a line break inside a string must be written \\n)" : "control character inside a string; write it escaped")
            }
            if byte == UInt8(ascii: "\\") {
                flush(self, to: index)
                index += 1
                guard index < bytes.count else { throw syntax("unterminated string", at: start) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    let high = try hex4()
                    var code = high
                    if (0xD800...0xDBFF).contains(high) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw syntax("unpaired surrogate \\u\(String(high, radix: 16, uppercase: true)) in a string")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw syntax("unpaired surrogate \\u\(String(high, radix: 16, uppercase: true)) in a string")
                        }
                        code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else {
                        throw syntax("unpaired surrogate \\u\(String(high, radix: 16, uppercase: true)) in a string")
                    }
                    scalars.append(scalar)
                default:
                    index -= 1
                    throw syntax("invalid escape '\\\(String(decoding: [escape], as: UTF8.self))' in a string")
                }
                runStart = index
                continue
            }
            index += 1
        }
    }

    private mutating func hex4() throws(QueryError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw syntax("expected four hex digits after \\u") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw syntax("expected four hex digits after \\u")
            }
            code = code * 16 + digit
            index += 1
        }
        return code
    }

    private mutating func number(path: String) throws(QueryError) -> JSONValue {
        let start = index
        func digits(_ parser: inout JSONParser) -> Int {
            var count = 0
            while parser.index < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) {
                parser.index += 1
                count += 1
            }
            return count
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let intStart = index
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw syntax("expected a digit after '-'") }
        if intDigits > 1, bytes[intStart] == UInt8(ascii: "0") { throw syntax("numbers must not have leading zeros", at: intStart) }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard digits(&self) > 0 else { throw syntax("expected a digit after the decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw syntax("expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .integer(integer) }
        guard let double = Double(text), double.isFinite else {
            throw QueryError(.invalidArgument, "\(path): the number \(text) is too large")
        }
        return .number(double)
    }
}
