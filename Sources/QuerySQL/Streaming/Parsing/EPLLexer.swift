import QueryCore

/// One token of a continuous-query statement, with where it starts in the text.
struct EPLToken: Sendable, Hashable {
    /// The kind of token; identifiers and keywords are both ``Kind/identifier`` (keywords are
    /// recognised by the parser, case-insensitively, so field names like `time` stay usable).
    enum Kind: Sendable, Hashable {
        case identifier(String)
        /// A back-quoted identifier (never a keyword).
        case quotedIdentifier(String)
        case integer(Int64)
        case real(Double)
        case string(String)
        /// Punctuation and operators: `( ) , . ; : # [ ] * + - / % = == != <> < <= > >= -> ||`.
        case symbol(String)
        case end
    }

    var kind: Kind
    /// Where the token starts.
    var location: SourceLocation
    /// UTF-8 byte range of the token in the source.
    var start: Int
    var end: Int

    /// The identifier text, if this is a plain identifier.
    var identifier: String? {
        if case .identifier(let name) = kind { return name }
        return nil
    }

    /// Whether this is the keyword `word` (case-insensitive).
    func isKeyword(_ word: String) -> Bool {
        if case .identifier(let name) = kind { return name.lowercased() == word }
        return false
    }

    /// Whether this is the symbol `s`.
    func isSymbol(_ s: String) -> Bool {
        if case .symbol(let t) = kind { return t == s }
        return false
    }

    /// A short rendering for error messages.
    var display: String {
        switch kind {
        case .identifier(let s): "'\(s)'"
        case .quotedIdentifier(let s): "`\(s)`"
        case .integer(let i): "\(i)"
        case .real(let d): "\(d)"
        case .string(let s): "'\(s.prefix(30))'"
        case .symbol(let s): "'\(s)'"
        case .end: "end of statement"
        }
    }
}

/// Splits continuous-query text into ``EPLToken``s.
///
/// Comments (`-- …` to end of line, `/* … */`) and whitespace are skipped. Strings may be quoted
/// with `'` or `"` (doubling the quote escapes it), identifiers with back-quotes.
struct EPLLexer {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0

    init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    /// The source text between two byte offsets (used to name result columns after their expression).
    static func text(_ source: String, from start: Int, to end: Int) -> String {
        let utf8 = Array(source.utf8)
        let lo = max(0, min(start, utf8.count)), hi = max(lo, min(end, utf8.count))
        return String(decoding: utf8[lo..<hi], as: UTF8.self)
    }

    /// Tokenises the whole text; the last token is ``EPLToken/Kind/end``.
    ///
    /// - Throws: ``QueryError`` `.syntaxError` at the offending character.
    mutating func tokenize() throws(QueryError) -> [EPLToken] {
        var tokens: [EPLToken] = []
        while true {
            let token = try next()
            tokens.append(token)
            if case .end = token.kind { return tokens }
        }
    }

    private var location: SourceLocation {
        // Column in characters: count UTF-8 lead bytes since the line start.
        var column = 1
        var i = lineStart
        while i < index {
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return SourceLocation(line: line, column: column, offset: index)
    }

    private mutating func skipTrivia() throws(QueryError) {
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x0A {
                index += 1
                line += 1
                lineStart = index
            } else if b == 0x20 || b == 0x09 || b == 0x0D {
                index += 1
            } else if b == 0x2D, index + 1 < bytes.count, bytes[index + 1] == 0x2D {
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            } else if b == 0x2F, index + 1 < bytes.count, bytes[index + 1] == 0x2A {
                let at = location
                index += 2
                var closed = false
                while index + 1 < bytes.count {
                    if bytes[index] == 0x2A && bytes[index + 1] == 0x2F {
                        index += 2
                        closed = true
                        break
                    }
                    if bytes[index] == 0x0A {
                        line += 1
                        lineStart = index + 1
                    }
                    index += 1
                }
                if !closed { throw QueryError(.syntaxError, "unterminated comment", at: at) }
            } else {
                return
            }
        }
    }

    private mutating func next() throws(QueryError) -> EPLToken {
        try skipTrivia()
        let at = location
        let start = index
        guard index < bytes.count else { return EPLToken(kind: .end, location: at, start: start, end: start) }
        let b = bytes[index]
        func make(_ kind: EPLToken.Kind) -> EPLToken { EPLToken(kind: kind, location: at, start: start, end: index) }

        if isIdentStart(b) {
            while index < bytes.count, isIdentPart(bytes[index]) { index += 1 }
            return make(.identifier(String(decoding: bytes[start..<index], as: UTF8.self)))
        }
        if isDigit(b) || (b == 0x2E && index + 1 < bytes.count && isDigit(bytes[index + 1])) {
            return try number(at: at, start: start)
        }
        if b == 0x27 || b == 0x22 || b == 0x60 {
            let quote = b
            index += 1
            var content: [UInt8] = []
            while true {
                guard index < bytes.count else {
                    throw QueryError(
                        .syntaxError, quote == 0x60 ? "unterminated quoted identifier" : "unterminated string literal",
                        at: at)
                }
                let c = bytes[index]
                if c == quote {
                    if index + 1 < bytes.count, bytes[index + 1] == quote {
                        content.append(quote)
                        index += 2
                        continue
                    }
                    index += 1
                    break
                }
                if c == 0x0A {
                    line += 1
                    lineStart = index + 1
                }
                content.append(c)
                index += 1
            }
            let text = String(decoding: content, as: UTF8.self)
            return make(quote == 0x60 ? .quotedIdentifier(text) : .string(text))
        }
        let two: String? =
            index + 1 < bytes.count ? String(decoding: bytes[index..<index + 2], as: UTF8.self) : nil
        if let two, ["==", "!=", "<>", "<=", ">=", "->", "||"].contains(two) {
            index += 2
            return make(.symbol(two))
        }
        if "(),.;:#[]*+-/%=<>".utf8.contains(b) {
            index += 1
            return make(.symbol(String(UnicodeScalar(b))))
        }
        let scalar = String(decoding: bytes[index..<min(bytes.count, index + 4)], as: UTF8.self).first.map(String.init)
        throw QueryError(.syntaxError, "unexpected character '\(scalar ?? "?")'", at: at)
    }

    private mutating func number(at: SourceLocation, start: Int) throws(QueryError) -> EPLToken {
        var isReal = false
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        if index < bytes.count, bytes[index] == 0x2E, index + 1 >= bytes.count || isDigit(bytes[index + 1]) || !isIdentStart(bytes[index + 1]) {
            isReal = true
            index += 1
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            var j = index + 1
            if j < bytes.count, bytes[j] == 0x2B || bytes[j] == 0x2D { j += 1 }
            if j < bytes.count, isDigit(bytes[j]) {
                isReal = true
                index = j
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
        }
        if index < bytes.count, isIdentStart(bytes[index]) {
            // `20sec` is not allowed: a number must be followed by a separator.
            throw QueryError(.syntaxError, "malformed number", at: at)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isReal, let value = Int64(text) {
            return EPLToken(kind: .integer(value), location: at, start: start, end: index)
        }
        guard let value = Double(text) else { throw QueryError(.syntaxError, "malformed number '\(text)'", at: at) }
        return EPLToken(kind: .real(value), location: at, start: start, end: index)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private func isIdentStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x24 || b >= 0x80
    }
    private func isIdentPart(_ b: UInt8) -> Bool { isIdentStart(b) || isDigit(b) }
}
