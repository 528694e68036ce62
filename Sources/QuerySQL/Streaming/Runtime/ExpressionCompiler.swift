import QueryCore

/// One row position a statement's expressions can name: a stream of the `FROM` clause (by alias
/// or stream name) or a pattern tag.
struct ScopePosition: Sendable {
    /// The alias or tag, if any.
    var alias: String?
    /// The stream's name.
    var streamName: String
    var schema: Schema
}

/// Resolves names and compiles ``EPLExpr``s into ``CompiledExpression``s, collecting aggregate
/// calls into slots.
struct ExpressionCompiler {
    var positions: [ScopePosition]
    /// Where unqualified names resolve first (the event of a pattern filter).
    var defaultPosition: Int? = nil
    /// Select-list aliases usable by name (in `WHERE`, `GROUP BY`, `HAVING`, `ORDER BY`).
    var selectAliases: [String: EPLExpr] = [:]
    /// Whether aggregate calls are allowed in the expression being compiled.
    var allowAggregates = false
    /// Aggregate calls found so far (shared by identical source text).
    var aggregates: [StreamAggregateSpec] = []
    /// The statement text (for naming aggregate slots).
    let source: String

    private var aliasDepth = 0
    private var insideAggregate = false

    init(positions: [ScopePosition], source: String) {
        self.positions = positions
        self.source = source
    }

    /// Whether `e` calls an aggregate, directly or through a select alias.
    func containsAggregate(_ e: EPLExpr, depth: Int = 0) -> Bool {
        switch e.kind {
        case .literal, .timePeriod: return false
        case .column(let qualifier, let name):
            if qualifier == nil, depth < 8, resolveField(nil, name) == nil,
                let aliased = selectAliases[name.lowercased()]
            {
                return containsAggregate(aliased, depth: depth + 1)
            }
            return false
        case .negate(let x), .not(let x), .isNull(let x, _), .cast(let x, _): return containsAggregate(x, depth: depth)
        case .binary(_, let l, let r), .like(let l, let r, _): return containsAggregate(l, depth: depth) || containsAggregate(r, depth: depth)
        case .inList(let x, let list, _): return containsAggregate(x, depth: depth) || list.contains { containsAggregate($0, depth: depth) }
        case .between(let a, let b, let c, _): return [a, b, c].contains { containsAggregate($0, depth: depth) }
        case .call(let name, let arguments, _, let star):
            if ExpressionCompiler.isAggregateCall(name, arguments.count, star) { return true }
            return arguments.contains { containsAggregate($0, depth: depth) }
        case .caseWhen(let o, let branches, let otherwise):
            if let o, containsAggregate(o, depth: depth) { return true }
            if let otherwise, containsAggregate(otherwise, depth: depth) { return true }
            return branches.contains { containsAggregate($0.0, depth: depth) || containsAggregate($0.1, depth: depth) }
        }
    }

    static func isAggregateCall(_ name: String, _ argumentCount: Int, _ star: Bool) -> Bool {
        guard let f = AggregateFunction(rawValue: name) else { return false }
        if star { return f == .count }
        if f == .min || f == .max { return argumentCount == 1 }
        return true
    }

    /// The position and column of a field, or `nil`; throws only for ambiguity.
    private func resolveField(_ qualifier: String?, _ name: String) -> (Int, Int)? {
        if let qualifier {
            let q = qualifier.lowercased()
            guard let p = positionIndex(q) else { return nil }
            return positions[p].schema.index(of: name).map { (p, $0) }
        }
        if let d = defaultPosition, let c = positions[d].schema.index(of: name) { return (d, c) }
        for (p, position) in positions.enumerated() {
            if let c = position.schema.index(of: name) { return (p, c) }
        }
        return nil
    }

    /// The position named `q` (alias, or stream name when it has no alias).
    func positionIndex(_ q: String) -> Int? {
        let q = q.lowercased()
        if let p = positions.firstIndex(where: { $0.alias?.lowercased() == q }) { return p }
        return positions.firstIndex { $0.alias == nil && $0.streamName.lowercased() == q }
            ?? positions.firstIndex { $0.streamName.lowercased() == q }
    }

    /// Compiles one expression.
    ///
    /// - Throws: ``QueryError`` with the expression's position: unknown or ambiguous columns,
    ///   unknown functions, wrong argument counts, misplaced aggregates.
    mutating func compile(_ e: EPLExpr) throws(QueryError) -> CompiledExpression {
        switch e.kind {
        case .literal(let v): return .constant(v)
        case .timePeriod(let seconds): return .constant(.real(seconds))
        case .column(let qualifier, let name):
            return try compileColumn(qualifier, name, e.location)
        case .negate(let x): return fold(.negate(try compile(x)))
        case .not(let x): return fold(.not(try compile(x)))
        case .binary(let op, let l, let r):
            let a = try compile(l), b = try compile(r)
            switch op {
            case .and: return fold(.and(a, b))
            case .or: return fold(.or(a, b))
            case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: return fold(.compare(op, a, b))
            case .concat: return fold(.concat(a, b))
            case .plus, .minus, .times, .divide, .modulo: return fold(.arithmetic(op, a, b))
            }
        case .isNull(let x, let negated): return fold(.isNull(try compile(x), negated: negated))
        case .inList(let x, let list, let negated):
            let v = try compile(x)
            var items: [CompiledExpression] = []
            for item in list { items.append(try compile(item)) }
            return fold(.inList(v, items, negated: negated))
        case .between(let x, let lo, let hi, let negated):
            return fold(.between(try compile(x), try compile(lo), try compile(hi), negated: negated))
        case .like(let x, let p, let negated):
            return fold(.like(try compile(x), try compile(p), negated: negated))
        case .cast(let x, let type): return fold(.cast(try compile(x), type))
        case .caseWhen(let operand, let branches, let otherwise):
            var compiledBranches: [(CompiledExpression, CompiledExpression)] = []
            let o = try operand.map { (x) throws(QueryError) in try compile(x) }
            for (w, t) in branches { compiledBranches.append((try compile(w), try compile(t))) }
            let other = try otherwise.map { (x) throws(QueryError) in try compile(x) }
            return fold(.caseWhen(operand: o, branches: compiledBranches, otherwise: other))
        case .call(let name, let arguments, let distinct, let star):
            if ExpressionCompiler.isAggregateCall(name, arguments.count, star) {
                return try compileAggregate(e, name, arguments, distinct, star)
            }
            if star { throw QueryError(.semanticError, "\(name)(*) is not allowed; only count(*)", at: e.location) }
            guard let (function, arity) = ScalarFunction.lookup(name) else {
                if AggregateFunction(rawValue: name) != nil {
                    throw QueryError(.semanticError, "\(name)() needs an argument", at: e.location)
                }
                throw QueryError(.unknownFunction, "unknown function '\(name)'", at: e.location)
            }
            guard arity.contains(arguments.count) else {
                throw QueryError(
                    .semanticError,
                    "\(name)() takes \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "at least \(arity.lowerBound)") arguments, not \(arguments.count)",
                    at: e.location)
            }
            if distinct { throw QueryError(.semanticError, "DISTINCT is only allowed in aggregate calls", at: e.location) }
            var compiled: [CompiledExpression] = []
            for a in arguments { compiled.append(try compile(a)) }
            return fold(.function(function, compiled))
        }
    }

    private mutating func compileAggregate(
        _ e: EPLExpr, _ name: String, _ arguments: [EPLExpr], _ distinct: Bool, _ star: Bool
    ) throws(QueryError) -> CompiledExpression {
        guard allowAggregates else {
            throw QueryError(.semanticError, "aggregate \(name)() is not allowed here", at: e.location)
        }
        guard !insideAggregate else {
            throw QueryError(.semanticError, "aggregate \(name)() cannot be nested in another aggregate", at: e.location)
        }
        let text = e.dedupeKey ?? EPLLexer.text(source, from: e.start, to: e.end).lowercased().filter { !$0.isWhitespace }
        if let slot = aggregates.firstIndex(where: { $0.text == text }) { return .aggregate(slot) }
        var argument: CompiledExpression? = nil
        if !star {
            guard arguments.count == 1 else {
                throw QueryError(.semanticError, "aggregate \(name)() takes one argument", at: e.location)
            }
            insideAggregate = true
            defer { insideAggregate = false }
            argument = try compile(arguments[0])
        }
        aggregates.append(
            StreamAggregateSpec(function: AggregateFunction(rawValue: name)!, argument: argument, distinct: distinct, text: text))
        return .aggregate(aggregates.count - 1)
    }

    private mutating func compileColumn(_ qualifier: String?, _ name: String, _ at: SourceLocation) throws(QueryError) -> CompiledExpression {
        if let qualifier {
            guard let p = positionIndex(qualifier) else {
                let known = positions.map { $0.alias ?? $0.streamName }.joined(separator: ", ")
                throw QueryError(.unknownTable, "unknown stream or tag '\(qualifier)' (known: \(known))", at: at)
            }
            guard let c = positions[p].schema.index(of: name) else {
                throw QueryError(
                    .unknownColumn,
                    "unknown field '\(name)' in '\(qualifier)'\(suggestion(name, in: [p]))", at: at)
            }
            return .field(position: p, column: c)
        }
        if let d = defaultPosition, let c = positions[d].schema.index(of: name) { return .field(position: d, column: c) }
        let matches = positions.indices.filter { positions[$0].schema.index(of: name) != nil }
        if matches.count > 1 {
            let names = matches.map { positions[$0].alias ?? positions[$0].streamName }.joined(separator: ", ")
            throw QueryError(.ambiguousColumn, "field '\(name)' is ambiguous (in \(names)); qualify it", at: at)
        }
        if let p = matches.first { return .field(position: p, column: positions[p].schema.index(of: name)!) }
        if let aliased = selectAliases[name.lowercased()], aliasDepth < 8 {
            aliasDepth += 1
            defer { aliasDepth -= 1 }
            return try compile(aliased)
        }
        throw QueryError(.unknownColumn, "unknown field '\(name)'\(suggestion(name, in: Array(positions.indices)))", at: at)
    }

    private func suggestion(_ name: String, in candidates: [Int]) -> String {
        var best: (String, Int)? = nil
        for p in candidates {
            for column in positions[p].schema.columns {
                let d = ExpressionCompiler.editDistance(name.lowercased(), column.name.lowercased())
                if d <= 2, best == nil || d < best!.1 { best = (column.name, d) }
            }
        }
        return best.map { "; did you mean '\($0.0)'?" } ?? ""
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var previous = Array(0...y.count)
        for i in 1...x.count {
            var current = [i] + [Int](repeating: 0, count: y.count)
            for j in 1...y.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[y.count]
    }

    /// Folds constant sub-expressions.
    private func fold(_ e: CompiledExpression) -> CompiledExpression {
        e.isConstant ? .constant(e.evaluate(nil)) : e
    }

    /// A time period argument in nanoseconds (`20 sec`, or a plain number of seconds).
    static func period(_ e: EPLExpr, what: String) throws(QueryError) -> Int64 {
        let seconds: Double
        switch e.kind {
        case .timePeriod(let s): seconds = s
        case .literal(.integer(let i)): seconds = Double(i)
        case .literal(.real(let d)): seconds = d
        default: throw QueryError(.semanticError, "\(what) needs a time period such as '20 sec'", at: e.location)
        }
        guard seconds > 0, seconds < 1e9 else {
            throw QueryError(.semanticError, "\(what) needs a positive time period", at: e.location)
        }
        return Int64((seconds * 1e9).rounded())
    }
}
