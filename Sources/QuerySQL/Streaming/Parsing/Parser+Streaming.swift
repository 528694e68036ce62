import QueryCore

extension Parser {
    /// A parser over tokens produced by the continuous-query lexer (which also knows `#`, `->`,
    /// `:` and `[ … ]`), so continuous queries parse their expressions with the SQL grammar.
    init(streaming text: String, tokens: [Token]) {
        self.sql = text
        self.utf8 = Array(text.utf8)
        self.tokens = tokens
    }
}

extension EPLToken {
    /// The token as the SQL parser sees it.
    func sqlToken(_ source: [UInt8]) -> Token {
        let lo = max(0, min(start, source.count)), hi = max(lo, min(end, source.count))
        let raw = String(decoding: source[lo..<hi], as: UTF8.self)
        let range = lo..<hi
        switch kind {
        case .identifier(let name): return Token(kind: .identifier, text: name, location: location, range: range)
        case .quotedIdentifier(let name): return Token(kind: .quotedIdentifier, text: name, location: location, range: range)
        case .integer: return Token(kind: .integer, text: raw, location: location, range: range)
        case .real: return Token(kind: .real, text: raw, location: location, range: range)
        case .string(let text): return Token(kind: .string, text: text, location: location, range: range)
        case .symbol(let s): return Token(kind: .symbol, text: s, location: location, range: range)
        case .end: return Token(kind: .end, text: "", location: location, range: range)
        }
    }
}

extension EPLExpr {
    /// Converts an expression of the shared SQL grammar, rejecting what continuous queries do not
    /// evaluate (subqueries, `EXISTS`, `GLOB`, `ESCAPE`, bit operators) with a positioned error.
    init(converting e: Expression) throws(QueryError) {
        let location = e.location
        func unsupported(_ what: String) -> QueryError {
            QueryError(.unsupported, "\(what) is not supported in continuous queries", at: location)
        }
        let kind: Kind
        var key: String? = nil
        switch e {
        case .literal(let v, _):
            kind = .literal(v)
        case .column(let table, let name, _):
            kind = .column(qualifier: table, name: name)
        case .unary(let op, let x, _):
            let inner = try EPLExpr(converting: x)
            switch op.uppercased() {
            case "-":
                if case .literal(.integer(let i)) = inner.kind, i != .min { kind = .literal(.integer(-i)) }
                else if case .literal(.real(let d)) = inner.kind { kind = .literal(.real(-d)) }
                else { kind = .negate(inner) }
            case "+": kind = inner.kind
            case "NOT": kind = .not(inner)
            default: throw unsupported("operator '\(op)'")
            }
        case .binary(let op, let l, let r, _):
            let a = try EPLExpr(converting: l), b = try EPLExpr(converting: r)
            let mapped: BinaryOperator
            switch op.uppercased() {
            case "AND": mapped = .and
            case "OR": mapped = .or
            case "=", "==": mapped = .equal
            case "<>", "!=": mapped = .notEqual
            case "<": mapped = .less
            case "<=": mapped = .lessEqual
            case ">": mapped = .greater
            case ">=": mapped = .greaterEqual
            case "+": mapped = .plus
            case "-": mapped = .minus
            case "*": mapped = .times
            case "/": mapped = .divide
            case "%": mapped = .modulo
            case "||": mapped = .concat
            default: throw unsupported("operator '\(op)'")
            }
            kind = .binary(mapped, a, b)
        case .between(let x, let low, let high, let negated, _):
            kind = .between(try EPLExpr(converting: x), try EPLExpr(converting: low), try EPLExpr(converting: high), negated: negated)
        case .inList(let x, let list, let negated, _):
            var items: [EPLExpr] = []
            for item in list { items.append(try EPLExpr(converting: item)) }
            kind = .inList(try EPLExpr(converting: x), items, negated: negated)
        case .inSelect: throw unsupported("IN with a subquery or table")
        case .subquery: throw unsupported("a subquery")
        case .exists: throw unsupported("EXISTS")
        case .like(let x, let pattern, let escape, let negated, let glob, _):
            if glob { throw unsupported("GLOB") }
            if escape != nil { throw unsupported("LIKE … ESCAPE") }
            kind = .like(try EPLExpr(converting: x), try EPLExpr(converting: pattern), negated: negated)
        case .isNull(let x, let negated, _):
            kind = .isNull(try EPLExpr(converting: x), negated: negated)
        case .caseWhen(let operand, let branches, let otherwise, _):
            let o = try operand.map { (x) throws(QueryError) in try EPLExpr(converting: x) }
            var converted: [(EPLExpr, EPLExpr)] = []
            for b in branches { converted.append((try EPLExpr(converting: b.when), try EPLExpr(converting: b.then))) }
            let other = try otherwise.map { (x) throws(QueryError) in try EPLExpr(converting: x) }
            kind = .caseWhen(operand: o, branches: converted, otherwise: other)
        case .cast(let x, let typeName, _):
            kind = .cast(try EPLExpr(converting: x), typeName)
        case .function(let name, let arguments, let distinct, let star, _):
            var converted: [EPLExpr] = []
            for a in arguments { converted.append(try EPLExpr(converting: a)) }
            kind = .call(name: name.lowercased(), arguments: converted, distinct: distinct, star: star)
            key = "\(e.normalized)"
        }
        self.init(kind: kind, location: location, start: location.offset, end: location.offset, dedupeKey: key)
    }
}
