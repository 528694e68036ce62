public import QueryCore

/// Splits SQL text into ``Token``s, tracking line and column for error messages.
public struct Lexer: Sendable {
    private let bytes: [UInt8]
    private var position = 0
    private var line = 1
    private var lineStart = 0

    /// Creates a lexer over `sql`.
    public init(_ sql: String) {
        self.bytes = Array(sql.utf8)
    }

    /// Every token of the input, ending with one `.end` token.
    ///
    /// - Throws: ``QueryError`` `.syntaxError` for an unterminated string or an unknown character.
    public static func tokenize(_ sql: String) throws(QueryError) -> [Token] {
        var lexer = Lexer(sql)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private var location: SourceLocation {
        // Column in characters: count UTF-8 lead bytes from the line start.
        var column = 1
        var i = lineStart
        while i < position {
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return SourceLocation(line: line, column: column, offset: position)
    }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        let i = position + ahead
        return i < bytes.count ? bytes[i] : nil
    }

    private mutating func advance() {
        if bytes[position] == 0x0A {
            line += 1
            lineStart = position + 1
        }
        position += 1
    }

    private mutating func skipSpaceAndComments() throws(QueryError) {
        while let b = peek() {
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == 0x0B {
                advance()
            } else if b == UInt8(ascii: "-"), peek(1) == UInt8(ascii: "-") {
                while let c = peek(), c != 0x0A { advance() }
            } else if b == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                let start = location
                advance(); advance()
                var closed = false
                while let c = peek() {
                    if c == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                        advance(); advance()
                        closed = true
                        break
                    }
                    advance()
                }
                if !closed { throw QueryError(.syntaxError, "unterminated comment", at: start) }
            } else {
                return
            }
        }
    }

    private static func isIdentStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b >= 0x80
    }

    private static func isIdentPart(_ b: UInt8) -> Bool {
        isIdentStart(b) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "$")
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// The next token.
    public mutating func next() throws(QueryError) -> Token {
        try skipSpaceAndComments()
        let start = position
        let startLocation = location
        guard let b = peek() else {
            return Token(kind: .end, text: "", location: startLocation, range: start..<start)
        }
        func make(_ kind: Token.Kind, _ text: String) -> Token {
            Token(kind: kind, text: text, location: startLocation, range: start..<position)
        }
        // Blob literal x'..'
        if (b == UInt8(ascii: "x") || b == UInt8(ascii: "X")), peek(1) == UInt8(ascii: "'") {
            advance(); advance()
            let bodyStart = position
            while let c = peek(), c != UInt8(ascii: "'") { advance() }
            guard peek() != nil else { throw QueryError(.syntaxError, "unterminated blob literal", at: startLocation) }
            let hex = text(bodyStart..<position)
            advance()
            let valid = hex.utf8.count % 2 == 0 && hex.utf8.allSatisfy { c in
                Lexer.isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
            }
            guard valid else { throw QueryError(.syntaxError, "malformed blob literal x'\(hex.prefix(40))'", at: startLocation) }
            return make(.blob, hex)
        }
        if Lexer.isIdentStart(b) {
            while let c = peek(), Lexer.isIdentPart(c) { advance() }
            return make(.identifier, text(start..<position))
        }
        if Lexer.isDigit(b) || (b == UInt8(ascii: ".") && peek(1).map(Lexer.isDigit) == true) {
            var isReal = false
            while let c = peek(), Lexer.isDigit(c) { advance() }
            if peek() == UInt8(ascii: ".") {
                isReal = true
                advance()
                while let c = peek(), Lexer.isDigit(c) { advance() }
            }
            if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                var ahead = 1
                if let s = peek(1), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { ahead = 2 }
                if let d = peek(ahead), Lexer.isDigit(d) {
                    isReal = true
                    for _ in 0..<ahead { advance() }
                    while let c = peek(), Lexer.isDigit(c) { advance() }
                }
            }
            if let c = peek(), Lexer.isIdentStart(c) {
                throw QueryError(.syntaxError, "unrecognized token '\(text(start..<position + 1))'", at: startLocation)
            }
            return make(isReal ? .real : .integer, text(start..<position))
        }
        switch b {
        case UInt8(ascii: "'"):
            advance()
            var value: [UInt8] = []
            while true {
                guard let c = peek() else { throw QueryError(.syntaxError, "unterminated string literal", at: startLocation) }
                advance()
                if c == UInt8(ascii: "'") {
                    if peek() == UInt8(ascii: "'") {
                        advance()
                        value.append(c)
                    } else {
                        break
                    }
                } else {
                    value.append(c)
                }
            }
            return make(.string, String(decoding: value, as: UTF8.self))
        case UInt8(ascii: "\""), UInt8(ascii: "`"), UInt8(ascii: "["):
            let close = b == UInt8(ascii: "[") ? UInt8(ascii: "]") : b
            advance()
            var value: [UInt8] = []
            while true {
                guard let c = peek() else { throw QueryError(.syntaxError, "unterminated quoted identifier", at: startLocation) }
                advance()
                if c == close {
                    if close != UInt8(ascii: "]"), peek() == close {
                        advance()
                        value.append(c)
                    } else {
                        break
                    }
                } else {
                    value.append(c)
                }
            }
            return make(.quotedIdentifier, String(decoding: value, as: UTF8.self))
        default:
            break
        }
        let twoCharacter: [String] = ["<=", ">=", "<>", "!=", "==", "||", "<<", ">>"]
        if let n = peek(1) {
            let pair = String(decoding: [b, n], as: UTF8.self)
            if twoCharacter.contains(pair) {
                advance(); advance()
                return make(.symbol, pair)
            }
        }
        let single = "(),;.+-*/%<>=&|~"
        if b < 0x80, single.utf8.contains(b) {
            advance()
            return make(.symbol, String(UnicodeScalar(b)))
        }
        let bad = position < bytes.count ? text(position..<min(position + 1, bytes.count)) : ""
        throw QueryError(.syntaxError, "unrecognized token '\(bad)'", at: startLocation)
    }
}
