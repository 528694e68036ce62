import QueryCore

/// Parses continuous-query statements (the SQL dialect plus windows, patterns, `insert into`,
/// named windows and `output` clauses).
///
/// Every error is a ``QueryError`` `.syntaxError` carrying the position of the offending token.
struct EPLParser {
    private var tokens: [EPLToken]
    private var position = 0
    let source: String
    /// The shared SQL parser, over the same tokens, for expressions.
    private var sqlParser: Parser

    init(_ source: String) throws(QueryError) {
        var lexer = EPLLexer(source)
        let tokens = try lexer.tokenize()
        self.tokens = tokens
        self.source = source
        let bytes = Array(source.utf8)
        self.sqlParser = Parser(streaming: source, tokens: tokens.map { $0.sqlToken(bytes) })
    }

    /// Splits a script into statements at top-level `;` (outside strings, comments and brackets).
    ///
    /// - Returns: each statement's text with the line it starts on.
    static func splitStatements(_ script: String) throws(QueryError) -> [(text: String, line: Int)] {
        var lexer = EPLLexer(script)
        let tokens = try lexer.tokenize()
        var result: [(String, Int)] = []
        var startToken: EPLToken? = nil
        var depth = 0
        for token in tokens {
            let isEnd: Bool
            if case .end = token.kind { isEnd = true } else { isEnd = false }
            if token.isSymbol("(") || token.isSymbol("[") { depth += 1 }
            if token.isSymbol(")") || token.isSymbol("]") { depth -= 1 }
            if isEnd || (token.isSymbol(";") && depth <= 0) {
                if let first = startToken {
                    result.append((EPLLexer.text(script, from: first.start, to: token.start), first.location.line))
                }
                startToken = nil
                depth = 0
                if isEnd { break }
                continue
            }
            if startToken == nil { startToken = token }
        }
        return result
    }

    /// Parses exactly one statement (a trailing `;` is allowed).
    mutating func parseStatement() throws(QueryError) -> EPLStatement {
        let statement: EPLStatement
        if peek.isKeyword("create") {
            statement = try parseCreate()
        } else if peek.isKeyword("on") {
            statement = try parseOnDelete()
        } else if peek.isKeyword("insert") || peek.isKeyword("select") {
            statement = .select(try parseSelect())
        } else {
            throw error("expected SELECT, INSERT INTO, CREATE SCHEMA, CREATE WINDOW or ON, found \(peek.display)")
        }
        _ = acceptSymbol(";")
        guard case .end = peek.kind else { throw error("unexpected \(peek.display) after the end of the statement") }
        return statement
    }

    // MARK: Token helpers

    private var peek: EPLToken { tokens[position] }
    private func peek(_ offset: Int) -> EPLToken { tokens[min(position + offset, tokens.count - 1)] }

    private mutating func advance() -> EPLToken {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private func error(_ message: String, at token: EPLToken? = nil) -> QueryError {
        QueryError(.syntaxError, message, at: (token ?? peek).location)
    }

    private mutating func acceptKeyword(_ word: String) -> Bool {
        if peek.isKeyword(word) {
            position += 1
            return true
        }
        return false
    }

    private mutating func expectKeyword(_ word: String) throws(QueryError) {
        guard acceptKeyword(word) else { throw error("expected \(word.uppercased()), found \(peek.display)") }
    }

    private mutating func acceptSymbol(_ s: String) -> Bool {
        if peek.isSymbol(s) {
            position += 1
            return true
        }
        return false
    }

    private mutating func expectSymbol(_ s: String) throws(QueryError) {
        guard acceptSymbol(s) else { throw error("expected '\(s)', found \(peek.display)") }
    }

    /// Words that end an expression or clause and cannot be implicit aliases.
    private static let reserved: Set<String> = [
        "select", "from", "where", "group", "by", "having", "order", "output", "limit", "as", "and", "or", "not",
        "insert", "into", "on", "delete", "pattern", "every", "is", "in", "between", "like", "case", "when", "then",
        "else", "end", "distinct", "asc", "desc", "null", "true", "false", "create", "window", "schema", "cast",
        "all", "first", "last", "snapshot",
    ]

    private mutating func expectName(_ what: String) throws(QueryError) -> String {
        switch peek.kind {
        case .identifier(let name):
            guard !EPLParser.reserved.contains(name.lowercased()) else {
                throw error("expected \(what), found keyword \(peek.display)")
            }
            position += 1
            return name
        case .quotedIdentifier(let name):
            position += 1
            return name
        default:
            throw error("expected \(what), found \(peek.display)")
        }
    }

    private var peekIsName: Bool {
        switch peek.kind {
        case .identifier(let name): !EPLParser.reserved.contains(name.lowercased())
        case .quotedIdentifier: true
        default: false
        }
    }

    // MARK: Statements

    private mutating func parseCreate() throws(QueryError) -> EPLStatement {
        let at = advance().location  // create
        if acceptKeyword("schema") {
            let name = try expectName("a schema name")
            _ = acceptKeyword("as")
            let columns = try parseColumnList()
            return .createSchema(name: name, columns: columns, location: at)
        }
        if acceptKeyword("window") {
            let name = try expectName("a window name")
            let views = try parseViews()
            try expectKeyword("as")
            if peek.isSymbol("(") {
                return .createWindow(name: name, views: views, columns: try parseColumnList(), source: nil, location: at)
            }
            if acceptKeyword("select") {
                guard acceptSymbol("*") else { throw error("CREATE WINDOW … AS SELECT supports only '*'") }
                try expectKeyword("from")
            }
            let source = try expectName("a stream name")
            return .createWindow(name: name, views: views, columns: nil, source: source, location: at)
        }
        throw error("expected SCHEMA or WINDOW after CREATE, found \(peek.display)")
    }

    private mutating func parseColumnList() throws(QueryError) -> [ColumnDefinition] {
        try expectSymbol("(")
        var columns: [ColumnDefinition] = []
        repeat {
            let name = try expectName("a field name")
            let typeToken = peek
            let typeName = try expectName("a field type").lowercased()
            guard let type = EPLParser.columnType(typeName) else {
                throw error("unknown field type '\(typeName)' (use int, long, double, float, string, boolean)", at: typeToken)
            }
            columns.append(ColumnDefinition(name, type))
        } while acceptSymbol(",")
        try expectSymbol(")")
        return columns
    }

    /// Maps SQL and Esper type names to column types.
    static func columnType(_ name: String) -> ColumnType? {
        switch name.lowercased() {
        case "int", "integer", "long", "bigint", "smallint", "short", "byte": .integer
        case "double", "float", "real", "decimal", "numeric": .real
        case "string", "text", "varchar", "char": .text
        case "bool", "boolean": .boolean
        case "any", "object": .any
        default: nil
        }
    }

    private mutating func parseOnDelete() throws(QueryError) -> EPLStatement {
        let at = advance().location  // on
        let trigger = try parseStreamSpec(allowViews: false)
        try expectKeyword("delete")
        try expectKeyword("from")
        let window = try expectName("a named window")
        var alias: String? = nil
        if acceptKeyword("as") { alias = try expectName("an alias") } else if peekIsName { alias = try expectName("an alias") }
        var condition: EPLExpr? = nil
        if acceptKeyword("where") { condition = try parseExpression() }
        return .onDelete(trigger: trigger, window: window, windowAlias: alias, condition: condition, location: at)
    }

    mutating func parseSelect() throws(QueryError) -> EPLSelect {
        var insertInto: String? = nil
        if acceptKeyword("insert") {
            try expectKeyword("into")
            insertInto = try expectName("a stream name")
        }
        try expectKeyword("select")
        let distinct = acceptKeyword("distinct")
        var items: [EPLSelectItem] = []
        repeat {
            items.append(try parseSelectItem())
        } while acceptSymbol(",")
        try expectKeyword("from")
        let from: EPLFrom
        if peek.isKeyword("pattern") && peek(1).isSymbol("[") {
            let at = advance().location
            try expectSymbol("[")
            let pattern = try parsePattern()
            try expectSymbol("]")
            var alias: String? = nil
            if acceptKeyword("as") { alias = try expectName("an alias") } else if peekIsName { alias = try expectName("an alias") }
            from = .pattern(pattern, alias: alias, location: at)
        } else {
            var streams: [EPLStreamSpec] = []
            repeat {
                streams.append(try parseStreamSpec(allowViews: true))
            } while acceptSymbol(",")
            from = .streams(streams)
        }
        var select = EPLSelect(
            insertInto: insertInto, distinct: distinct, items: items, from: from, whereClause: nil, groupBy: [],
            having: nil, output: nil, orderBy: [], limit: nil)
        if acceptKeyword("where") { select.whereClause = try parseExpression() }
        if acceptKeyword("group") {
            try expectKeyword("by")
            repeat { select.groupBy.append(try parseExpression()) } while acceptSymbol(",")
        }
        if acceptKeyword("having") { select.having = try parseExpression() }
        if peek.isKeyword("output") { select.output = try parseOutput() }
        if acceptKeyword("order") {
            try expectKeyword("by")
            repeat {
                let e = try parseExpression()
                var descending = false
                if acceptKeyword("desc") { descending = true } else { _ = acceptKeyword("asc") }
                select.orderBy.append((e, descending))
            } while acceptSymbol(",")
        }
        if select.output == nil && peek.isKeyword("output") { select.output = try parseOutput() }
        if acceptKeyword("limit") {
            let token = advance()
            guard case .integer(let n) = token.kind, n >= 0 else { throw error("LIMIT needs a non-negative integer", at: token) }
            select.limit = Int(n)
        }
        return select
    }

    private mutating func parseSelectItem() throws(QueryError) -> EPLSelectItem {
        if peek.isSymbol("*") {
            return .star(qualifier: nil, location: advance().location)
        }
        if peekIsName && peek(1).isSymbol(".") && peek(2).isSymbol("*") {
            let at = peek.location
            let qualifier = try expectName("a stream alias")
            position += 2
            return .star(qualifier: qualifier, location: at)
        }
        let e = try parseExpression()
        let text = EPLLexer.text(source, from: e.start, to: e.end)
        var alias: String? = nil
        if acceptKeyword("as") {
            alias = try expectName("a column alias")
        } else if peekIsName {
            alias = try expectName("a column alias")
        }
        return .expression(e, alias: alias, text: text)
    }

    private mutating func parseOutput() throws(QueryError) -> EPLOutput {
        let outputToken = advance()  // output
        var kind = EPLOutput.Kind.all
        if acceptKeyword("all") { kind = .all }
        else if acceptKeyword("first") { kind = .first }
        else if acceptKeyword("last") { kind = .last }
        else if acceptKeyword("snapshot") { kind = .snapshot }
        try expectKeyword("every")
        let amountToken = peek
        let amount: Double
        switch advance().kind {
        case .integer(let i): amount = Double(i)
        case .real(let d): amount = d
        default: throw error("expected a number after OUTPUT … EVERY", at: amountToken)
        }
        guard amount > 0 else { throw error("the output interval must be positive", at: amountToken) }
        if acceptKeyword("events") || acceptKeyword("event") {
            guard amount == amount.rounded(), amount <= 1e9 else {
                throw error("an event count must be a whole number", at: amountToken)
            }
            return EPLOutput(kind: kind, interval: .events(Int(amount)))
        }
        guard let unit = peek.identifier.flatMap(EPLParser.timeUnit) else {
            throw error("expected a time unit (sec, min, …) or EVENTS after the output interval", at: peek)
        }
        position += 1
        _ = outputToken
        return EPLOutput(kind: kind, interval: .seconds(amount * unit))
    }

    // MARK: Streams and views

    private mutating func parseStreamSpec(allowViews: Bool) throws(QueryError) -> EPLStreamSpec {
        let at = peek.location
        let name = try expectName("a stream name")
        var filter: EPLExpr? = nil
        if acceptSymbol("(") {
            if !peek.isSymbol(")") { filter = try parseFilterList() }
            try expectSymbol(")")
        }
        var views: [EPLView] = []
        if allowViews { views = try parseViews() }
        var alias: String? = nil
        if acceptKeyword("as") {
            alias = try expectName("an alias")
        } else if peekIsName {
            alias = try expectName("an alias")
        }
        return EPLStreamSpec(name: name, location: at, filter: filter, views: views, alias: alias)
    }

    private mutating func parseViews() throws(QueryError) -> [EPLView] {
        var views: [EPLView] = []
        while true {
            if peek.isSymbol(".") && peek(2).isSymbol(":") {
                position += 1
                let at = peek.location
                let namespace = try expectName("a view namespace").lowercased()
                try expectSymbol(":")
                let name = try expectViewName()
                views.append(EPLView(namespace: namespace, name: name, arguments: try parseViewArguments(), location: at))
            } else if peek.isSymbol("#") {
                let at = advance().location
                let name = try expectViewName()
                views.append(EPLView(namespace: nil, name: name, arguments: try parseViewArguments(), location: at))
            } else {
                return views
            }
        }
    }

    private mutating func expectViewName() throws(QueryError) -> String {
        guard let name = peek.identifier else { throw error("expected a view name, found \(peek.display)") }
        position += 1
        return name.lowercased()
    }

    private mutating func parseViewArguments() throws(QueryError) -> [EPLExpr] {
        try expectSymbol("(")
        var arguments: [EPLExpr] = []
        if !peek.isSymbol(")") {
            repeat { arguments.append(try parsePeriodOrExpression()) } while acceptSymbol(",")
        }
        try expectSymbol(")")
        return arguments
    }

    // MARK: Patterns

    private mutating func parsePattern() throws(QueryError) -> EPLPattern {
        var left = try parsePatternOr()
        while acceptSymbol("->") {
            left = .followedBy(left, try parsePatternOr())
        }
        return left
    }

    private mutating func parsePatternOr() throws(QueryError) -> EPLPattern {
        var left = try parsePatternAnd()
        while acceptKeyword("or") { left = .or(left, try parsePatternAnd()) }
        return left
    }

    private mutating func parsePatternAnd() throws(QueryError) -> EPLPattern {
        var left = try parsePatternUnary()
        while acceptKeyword("and") { left = .and(left, try parsePatternUnary()) }
        return left
    }

    private mutating func parsePatternUnary() throws(QueryError) -> EPLPattern {
        if acceptKeyword("every") { return .every(try parsePatternUnary()) }
        if acceptKeyword("not") { return .not(try parsePatternUnary()) }
        var atom = try parsePatternAtom()
        while peek.isKeyword("where") && peek(1).isKeyword("timer") {
            position += 2
            try expectSymbol(":")
            let guardToken = peek
            guard peek.isKeyword("within") else {
                throw error("only the timer:within guard is supported, found \(peek.display)", at: guardToken)
            }
            position += 1
            try expectSymbol("(")
            let period = try parsePeriodOrExpression()
            try expectSymbol(")")
            atom = .within(atom, period)
        }
        return atom
    }

    private mutating func parsePatternAtom() throws(QueryError) -> EPLPattern {
        if acceptSymbol("(") {
            let inner = try parsePattern()
            try expectSymbol(")")
            return inner
        }
        if peek.isKeyword("timer") && peek(1).isSymbol(":") {
            let at = advance().location
            position += 1
            guard peek.isKeyword("interval") else {
                throw error("expected timer:interval in a pattern, found \(peek.display)")
            }
            position += 1
            try expectSymbol("(")
            let period = try parsePeriodOrExpression()
            try expectSymbol(")")
            return .interval(period, location: at)
        }
        let at = peek.location
        var tag: String? = nil
        if peekIsName && peek(1).isSymbol("=") {
            tag = try expectName("a tag")
            position += 1
        }
        let stream = try expectName("an event stream in the pattern")
        var filter: EPLExpr? = nil
        if acceptSymbol("(") {
            if !peek.isSymbol(")") { filter = try parseFilterList() }
            try expectSymbol(")")
        }
        return .filter(tag: tag, stream: stream, filter: filter, location: at)
    }

    // MARK: Expressions

    /// Parses one expression with the shared SQL parser (``Parser/parseExpression()``), over
    /// this statement's tokens, and converts it.
    mutating func parseExpression() throws(QueryError) -> EPLExpr {
        let first = peek
        sqlParser.index = position
        let parsed = try sqlParser.parseExpression()
        position = sqlParser.index
        var e = try EPLExpr(converting: parsed)
        e.start = first.start
        e.end = lastEnd
        e.location = first.location
        return e
    }

    /// A stream filter: expressions separated by commas, all of which must hold (Esper's
    /// `Stream(a = 1, b > 2)`).
    mutating func parseFilterList() throws(QueryError) -> EPLExpr {
        var result = try parseExpression()
        while acceptSymbol(",") {
            let next = try parseExpression()
            result = EPLExpr(kind: .binary(.and, result, next), location: result.location, start: result.start, end: next.end)
        }
        return result
    }

    /// Parses an expression that may be a time period (`20 sec`, `1 min 30 sec`): view and timer
    /// parameters.
    mutating func parsePeriodOrExpression() throws(QueryError) -> EPLExpr {
        let first = peek
        func number(_ t: EPLToken) -> Double? {
            switch t.kind {
            case .integer(let i): Double(i)
            case .real(let d): d
            default: nil
            }
        }
        if number(first) != nil, peek(1).identifier.flatMap(EPLParser.timeUnit) != nil {
            var seconds = 0.0
            while let value = number(peek), let unit = peek(1).identifier.flatMap(EPLParser.timeUnit) {
                seconds += value * unit
                position += 2
            }
            return EPLExpr(kind: .timePeriod(seconds), location: first.location, start: first.start, end: lastEnd)
        }
        return try parseExpression()
    }

    private var lastEnd: Int { position > 0 ? tokens[position - 1].end : 0 }

    /// Seconds per time unit keyword, if `word` is one.
    static func timeUnit(_ word: String) -> Double? {
        switch word.lowercased() {
        case "msec", "millisecond", "milliseconds": 0.001
        case "sec", "second", "seconds": 1
        case "min", "minute", "minutes": 60
        case "hour", "hours": 3600
        case "day", "days": 86400
        default: nil
        }
    }
}
