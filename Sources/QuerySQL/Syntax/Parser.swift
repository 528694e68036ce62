public import QueryCore

/// A recursive-descent parser for the SQL dialect (SQLite's grammar where the dialect allows a choice).
///
/// Nesting is limited (``maximumDepth``) so hostile input fails with a `.syntaxError` instead of
/// exhausting the stack.
public struct Parser: Sendable {
    let sql: String
    let utf8: [UInt8]
    var tokens: [Token]
    var index = 0
    var depth = 0

    /// The deepest expression or subquery nesting accepted.
    public static let maximumDepth = 200

    /// Creates a parser over `sql`.
    ///
    /// - Throws: ``QueryError`` `.syntaxError` if the text cannot be tokenized.
    public init(_ sql: String) throws(QueryError) {
        self.sql = sql
        self.utf8 = Array(sql.utf8)
        self.tokens = try Lexer.tokenize(sql)
    }

    /// Parses every `;`-separated statement of `sql`.
    public static func parseStatements(_ sql: String) throws(QueryError) -> [Statement] {
        var parser = try Parser(sql)
        var statements: [Statement] = []
        while true {
            while parser.current.isSymbol(";") { parser.index += 1 }
            if parser.current.kind == .end { break }
            statements.append(try parser.parseStatement())
            if parser.current.kind != .end && !parser.current.isSymbol(";") {
                throw parser.unexpected("expected ';' or end of statement")
            }
        }
        return statements
    }

    /// Parses exactly one statement (a trailing `;` is allowed).
    public static func parseStatement(_ sql: String) throws(QueryError) -> Statement {
        var parser = try Parser(sql)
        let statement = try parser.parseStatement()
        while parser.current.isSymbol(";") { parser.index += 1 }
        if parser.current.kind != .end { throw parser.unexpected("expected end of statement") }
        return statement
    }

    // MARK: - Token helpers

    var current: Token { tokens[index] }

    func peek(_ ahead: Int) -> Token { tokens[min(index + ahead, tokens.count - 1)] }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    mutating func accept(keyword: String) -> Bool {
        if current.isKeyword(keyword) {
            index += 1
            return true
        }
        return false
    }

    mutating func accept(symbol: String) -> Bool {
        if current.isSymbol(symbol) {
            index += 1
            return true
        }
        return false
    }

    mutating func expect(keyword: String) throws(QueryError) {
        guard accept(keyword: keyword) else { throw unexpected("expected \(keyword)") }
    }

    mutating func expect(symbol: String) throws(QueryError) {
        guard accept(symbol: symbol) else { throw unexpected("expected '\(symbol)'") }
    }

    func unexpected(_ what: String) -> QueryError {
        let token = current
        if token.kind == .end {
            return QueryError(.syntaxError, "\(what), found end of input", at: token.location)
        }
        return QueryError(.syntaxError, "\(what), found \(token)", at: token.location)
    }

    /// Source text between two byte offsets.
    func text(from start: Int, to end: Int) -> String {
        guard start < end, end <= utf8.count else { return "" }
        return String(decoding: utf8[start..<end], as: UTF8.self)
    }

    var previousEnd: Int { index > 0 ? tokens[index - 1].range.upperBound : 0 }

    mutating func enter() throws(QueryError) {
        depth += 1
        if depth > Parser.maximumDepth {
            throw QueryError(.syntaxError, "expression nested too deeply (more than \(Parser.maximumDepth) levels)", at: current.location)
        }
    }

    mutating func leave() { depth -= 1 }

    /// Words that end an expression or clause, so they are never taken as an implicit alias.
    static let reserved: Set<String> = [
        "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "UNION", "INTERSECT", "EXCEPT", "AS",
        "ON", "USING", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "OUTER", "AND", "OR", "NOT",
        "IS", "IN", "LIKE", "GLOB", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "SELECT", "ALL",
        "DISTINCT", "NULL", "VALUES", "SET", "INDEXED", "ESCAPE", "COLLATE", "ISNULL", "NOTNULL", "ASC", "DESC",
        "NULLS", "WINDOW", "EXISTS", "CAST", "INTO", "BY", "CREATE", "DROP", "INSERT", "UPDATE", "DELETE",
        "TABLE", "VIEW", "INDEX", "REPLACE", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "FOREIGN",
        "CONSTRAINT",
    ]

    /// Reads a name (bare identifier that is not reserved, or a quoted identifier, or a string used as a name).
    mutating func parseName(_ what: String) throws(QueryError) -> String {
        let token = current
        switch token.kind {
        case .identifier where !Parser.reserved.contains(token.text.uppercased()):
            index += 1
            return token.text
        case .quotedIdentifier, .string:
            index += 1
            return token.text
        default:
            throw unexpected("expected \(what)")
        }
    }

    /// An implicit or explicit alias after an expression or table, if present.
    mutating func parseAlias() throws(QueryError) -> String? {
        if accept(keyword: "AS") { return try parseName("an alias after AS") }
        let token = current
        switch token.kind {
        case .identifier where !Parser.reserved.contains(token.text.uppercased()):
            index += 1
            return token.text
        case .quotedIdentifier, .string:
            index += 1
            return token.text
        default:
            return nil
        }
    }
}
