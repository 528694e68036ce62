public import QueryCore

extension Parser {
    /// Parses one expression.
    public mutating func parseExpression() throws(QueryError) -> Expression {
        try enter()
        defer { leave() }
        return try parseOr()
    }

    mutating func parseOr() throws(QueryError) -> Expression {
        var left = try parseAnd()
        while current.isKeyword("OR") {
            let location = advance().location
            let right = try parseAnd()
            left = .binary("OR", left, right, location)
        }
        return left
    }

    mutating func parseAnd() throws(QueryError) -> Expression {
        var left = try parseNot()
        while current.isKeyword("AND") {
            let location = advance().location
            let right = try parseNot()
            left = .binary("AND", left, right, location)
        }
        return left
    }

    mutating func parseNot() throws(QueryError) -> Expression {
        if current.isKeyword("NOT") && !peek(1).isKeyword("EXISTS") {
            let location = advance().location
            try enter()
            defer { leave() }
            return .unary("NOT", try parseNot(), location)
        }
        return try parseEquality()
    }

    mutating func parseEquality() throws(QueryError) -> Expression {
        var left = try parseComparison()
        while true {
            let token = current
            let location = token.location
            if token.isSymbol("=") || token.isSymbol("==") {
                index += 1
                left = .binary("=", left, try parseComparison(), location)
            } else if token.isSymbol("!=") || token.isSymbol("<>") {
                index += 1
                left = .binary("<>", left, try parseComparison(), location)
            } else if token.isKeyword("IS") {
                index += 1
                let negated = accept(keyword: "NOT")
                if accept(keyword: "DISTINCT") {
                    try expect(keyword: "FROM")
                    left = .binary(negated ? "IS" : "IS NOT", left, try parseComparison(), location)
                } else if current.isKeyword("NULL") {
                    index += 1
                    left = .isNull(left, negated: negated, location)
                } else {
                    left = .binary(negated ? "IS NOT" : "IS", left, try parseComparison(), location)
                }
            } else if token.isKeyword("ISNULL") {
                index += 1
                left = .isNull(left, negated: false, location)
            } else if token.isKeyword("NOTNULL") {
                index += 1
                left = .isNull(left, negated: true, location)
            } else if token.isKeyword("NOT") && peek(1).isKeyword("NULL") {
                index += 2
                left = .isNull(left, negated: true, location)
            } else if token.isKeyword("IN") || (token.isKeyword("NOT") && peek(1).isKeyword("IN")) {
                let negated = token.isKeyword("NOT")
                index += negated ? 2 : 1
                left = try parseIn(left, negated: negated, location)
            } else if token.isKeyword("BETWEEN") || (token.isKeyword("NOT") && peek(1).isKeyword("BETWEEN")) {
                let negated = token.isKeyword("NOT")
                index += negated ? 2 : 1
                let low = try parseComparison()
                try expect(keyword: "AND")
                let high = try parseComparison()
                left = .between(left, low: low, high: high, negated: negated, location)
            } else if let word = likeWord(token) ?? (token.isKeyword("NOT") ? likeWord(peek(1)) : nil) {
                let negated = token.isKeyword("NOT")
                index += negated ? 2 : 1
                let pattern = try parseComparison()
                var escape: Expression?
                if accept(keyword: "ESCAPE") { escape = try parseComparison() }
                left = .like(left, pattern: pattern, escape: escape, negated: negated, glob: word == "GLOB", location)
            } else {
                return left
            }
        }
    }

    private func likeWord(_ token: Token) -> String? {
        if token.isKeyword("LIKE") { return "LIKE" }
        if token.isKeyword("GLOB") { return "GLOB" }
        return nil
    }

    mutating func parseIn(_ left: Expression, negated: Bool, _ location: SourceLocation) throws(QueryError) -> Expression {
        if accept(symbol: "(") {
            if accept(symbol: ")") { return .inList(left, [], negated: negated, location) }
            if current.isKeyword("SELECT") || current.isKeyword("VALUES") {
                let select = try parseSelect()
                try expect(symbol: ")")
                return .inSelect(left, select, negated: negated, location)
            }
            var list: [Expression] = []
            repeat { list.append(try parseExpression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return .inList(left, list, negated: negated, location)
        }
        // `x IN table`: every row of a one-column table.
        let tableLocation = current.location
        let name = try parseName("'(' or a table name after IN")
        var core = SelectCore(location: tableLocation)
        core.items = [.star(tableLocation)]
        core.from = .table(name: name, alias: nil, tableLocation)
        return .inSelect(left, Select(core: core, location: tableLocation), negated: negated, location)
    }

    mutating func parseComparison() throws(QueryError) -> Expression {
        var left = try parseBitwise()
        while current.kind == .symbol, ["<", "<=", ">", ">="].contains(current.text) {
            let token = advance()
            left = .binary(token.text, left, try parseBitwise(), token.location)
        }
        return left
    }

    mutating func parseBitwise() throws(QueryError) -> Expression {
        var left = try parseAdditive()
        while current.kind == .symbol, ["&", "|", "<<", ">>"].contains(current.text) {
            let token = advance()
            left = .binary(token.text, left, try parseAdditive(), token.location)
        }
        return left
    }

    mutating func parseAdditive() throws(QueryError) -> Expression {
        var left = try parseMultiplicative()
        while current.isSymbol("+") || current.isSymbol("-") {
            let token = advance()
            left = .binary(token.text, left, try parseMultiplicative(), token.location)
        }
        return left
    }

    mutating func parseMultiplicative() throws(QueryError) -> Expression {
        var left = try parseConcat()
        while current.isSymbol("*") || current.isSymbol("/") || current.isSymbol("%") {
            let token = advance()
            left = .binary(token.text, left, try parseConcat(), token.location)
        }
        return left
    }

    mutating func parseConcat() throws(QueryError) -> Expression {
        var left = try parseUnary()
        while current.isSymbol("||") {
            let token = advance()
            left = .binary("||", left, try parseUnary(), token.location)
        }
        return left
    }

    mutating func parseUnary() throws(QueryError) -> Expression {
        let token = current
        if token.isSymbol("-") || token.isSymbol("+") || token.isSymbol("~") {
            index += 1
            try enter()
            defer { leave() }
            let operand = try parseUnary()
            // `-9223372036854775808` is the smallest integer, not an overflowing literal.
            if token.text == "-", case .literal(.real, _) = operand, previousTokenIsInt64MinLiteral {
                return .literal(.integer(Int64.min), token.location)
            }
            return .unary(token.text, operand, token.location)
        }
        let expression = try parsePrimary()
        while current.isKeyword("COLLATE") {
            index += 1
            _ = try parseName("a collation name")
        }
        return expression
    }

    private var previousTokenIsInt64MinLiteral: Bool {
        index > 0 && tokens[index - 1].kind == .integer && tokens[index - 1].text == "9223372036854775808"
    }

    mutating func parsePrimary() throws(QueryError) -> Expression {
        let token = current
        let location = token.location
        switch token.kind {
        case .integer:
            index += 1
            if let value = Int64(token.text) { return .literal(.integer(value), location) }
            return .literal(.real(Double(token.text) ?? .infinity), location)
        case .real:
            index += 1
            return .literal(.real(Double(token.text) ?? 0), location)
        case .string:
            index += 1
            return .literal(.text(token.text), location)
        case .blob:
            index += 1
            return .literal(.text(Parser.decodeHex(token.text)), location)
        case .quotedIdentifier:
            index += 1
            return try parseColumnTail(first: token.text, location)
        case .symbol:
            if token.isSymbol("(") {
                index += 1
                try enter()
                defer { leave() }
                if current.isKeyword("SELECT") || current.isKeyword("VALUES") {
                    let select = try parseSelect()
                    try expect(symbol: ")")
                    return .subquery(select, location)
                }
                let inner = try parseExpression()
                if current.isSymbol(",") {
                    throw QueryError(.unsupported, "row values are not supported", at: current.location)
                }
                try expect(symbol: ")")
                return inner
            }
            throw unexpected("expected an expression")
        case .end:
            throw unexpected("expected an expression")
        case .identifier:
            break
        }
        let word = token.text.uppercased()
        switch word {
        case "NULL":
            index += 1
            return .literal(.null, location)
        case "TRUE":
            index += 1
            return .literal(.integer(1), location)
        case "FALSE":
            index += 1
            return .literal(.integer(0), location)
        case "CASE":
            index += 1
            return try parseCase(location)
        case "CAST":
            index += 1
            try expect(symbol: "(")
            let operand = try parseExpression()
            try expect(keyword: "AS")
            let type = try parseTypeName()
            try expect(symbol: ")")
            return .cast(operand, typeName: type, location)
        case "EXISTS":
            index += 1
            try expect(symbol: "(")
            let select = try parseSelect()
            try expect(symbol: ")")
            return .exists(select, negated: false, location)
        case "NOT" where peek(1).isKeyword("EXISTS"):
            index += 2
            try expect(symbol: "(")
            let select = try parseSelect()
            try expect(symbol: ")")
            return .exists(select, negated: true, location)
        case "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME":
            throw QueryError(.unsupported, "\(word) is not supported (queries are deterministic)", at: location)
        default:
            break
        }
        if Parser.reserved.contains(word) && !peek(1).isSymbol("(") {
            throw unexpected("expected an expression")
        }
        index += 1
        if current.isSymbol("(") {
            return try parseFunction(name: token.text, location)
        }
        return try parseColumnTail(first: token.text, location)
    }

    mutating func parseColumnTail(first: String, _ location: SourceLocation) throws(QueryError) -> Expression {
        if current.isSymbol("."), peek(1).kind == .identifier || peek(1).kind == .quotedIdentifier {
            index += 1
            let name = advance().text
            if current.isSymbol("."), peek(1).kind == .identifier || peek(1).kind == .quotedIdentifier {
                // schema.table.column: ignore the schema.
                index += 1
                return .column(table: name, name: advance().text, location)
            }
            return .column(table: first, name: name, location)
        }
        return .column(table: nil, name: first, location)
    }

    mutating func parseFunction(name: String, _ location: SourceLocation) throws(QueryError) -> Expression {
        try expect(symbol: "(")
        try enter()
        defer { leave() }
        if accept(symbol: "*") {
            try expect(symbol: ")")
            return .function(name: name, arguments: [], distinct: false, star: true, location)
        }
        var distinct = false
        if accept(keyword: "DISTINCT") {
            distinct = true
        } else {
            _ = accept(keyword: "ALL")
        }
        var arguments: [Expression] = []
        if !current.isSymbol(")") {
            if distinct, current.isSymbol("*") {
                throw unexpected("expected an expression after DISTINCT")
            }
            repeat { arguments.append(try parseExpression()) } while accept(symbol: ",")
        }
        try expect(symbol: ")")
        if current.isKeyword("FILTER") || current.isKeyword("OVER") {
            throw QueryError(.unsupported, "window functions and FILTER are not supported", at: current.location)
        }
        return .function(name: name, arguments: arguments, distinct: distinct, star: false, location)
    }

    mutating func parseCase(_ location: SourceLocation) throws(QueryError) -> Expression {
        try enter()
        defer { leave() }
        var operand: Expression?
        if !current.isKeyword("WHEN") { operand = try parseExpression() }
        var branches: [CaseBranch] = []
        while accept(keyword: "WHEN") {
            let when = try parseExpression()
            try expect(keyword: "THEN")
            let then = try parseExpression()
            branches.append(CaseBranch(when: when, then: then))
        }
        guard !branches.isEmpty else { throw unexpected("expected WHEN") }
        var otherwise: Expression?
        if accept(keyword: "ELSE") { otherwise = try parseExpression() }
        try expect(keyword: "END")
        return .caseWhen(operand: operand, branches: branches, otherwise: otherwise, location)
    }

    /// A type name: one or more words, optionally followed by `(n)` or `(n, m)`.
    mutating func parseTypeName() throws(QueryError) -> String {
        var words: [String] = []
        while current.kind == .identifier, !Parser.typeStop.contains(current.text.uppercased()) {
            words.append(advance().text)
        }
        guard !words.isEmpty else { throw unexpected("expected a type name") }
        if accept(symbol: "(") {
            var depth = 1
            while depth > 0 {
                if current.kind == .end { throw unexpected("expected ')'") }
                if current.isSymbol("(") { depth += 1 }
                if current.isSymbol(")") { depth -= 1 }
                index += 1
            }
        }
        return words.joined(separator: " ")
    }

    static let typeStop: Set<String> = [
        "PRIMARY", "NOT", "NULL", "UNIQUE", "DEFAULT", "CHECK", "REFERENCES", "COLLATE", "CONSTRAINT",
        "GENERATED", "AS",
    ]

    static func decodeHex(_ hex: String) -> String {
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x41...0x46: v = c - 0x41 + 10
            default: v = c - 0x61 + 10
            }
            if let h = high {
                bytes.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
