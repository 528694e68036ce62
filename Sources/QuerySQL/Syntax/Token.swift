public import QueryCore

/// One lexical token of SQL text, with where it starts.
public struct Token: Sendable, Hashable, CustomStringConvertible {
    /// What kind of token this is.
    public enum Kind: Sendable, Hashable {
        /// A name: a bare identifier or keyword (see ``Token/keyword``), or a quoted identifier.
        case identifier
        /// A quoted identifier (`"a b"`, `[a b]`, `` `a b` ``); never a keyword.
        case quotedIdentifier
        /// An integer literal (may exceed Int64; the parser decides).
        case integer
        /// A real literal (`1.5`, `.5`, `1e10`).
        case real
        /// A string literal `'...'` (text holds the unescaped value).
        case string
        /// A blob literal `x'...'` (text holds the hex digits).
        case blob
        /// Punctuation or an operator (`(`, `<=`, `||`, …).
        case symbol
        /// End of input.
        case end
    }

    /// The kind.
    public var kind: Kind
    /// The token text (for strings, the unescaped value; for identifiers, as written).
    public var text: String
    /// Where the token starts.
    public var location: SourceLocation
    /// The byte range of the token in the input.
    public var range: Range<Int>

    /// The upper-cased text if this is a bare identifier (a possible keyword), else `nil`.
    public var keyword: String? { kind == .identifier ? text.uppercased() : nil }

    /// Whether this is the bare keyword `word` (upper case).
    @inlinable
    public func isKeyword(_ word: String) -> Bool {
        kind == .identifier && text.count == word.count && text.uppercased() == word
    }

    /// Whether this is the symbol `symbol`.
    @inlinable
    public func isSymbol(_ symbol: String) -> Bool { kind == .symbol && text == symbol }

    public var description: String {
        switch kind {
        case .end: "end of input"
        case .string: "'\(text)'"
        case .blob: "x'\(text)'"
        default: "'\(text)'"
        }
    }
}
