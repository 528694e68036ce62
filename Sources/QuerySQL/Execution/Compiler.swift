import QueryCore

/// Binds names and compiles parsed statements into closures over rows (see ``SelectPlan``).
final class Compiler {
    let provider: any RelationProvider
    var subqueryDepth = 0

    init(provider: any RelationProvider) {
        self.provider = provider
    }

    static let aggregateNames: Set<String> = ["count", "sum", "total", "avg", "min", "max", "group_concat"]

    /// Whether `e` (outside subqueries) calls an aggregate function.
    static func containsAggregate(_ e: Expression) -> Bool {
        var found = false
        e.walk { node in
            if case .function(let name, let args, _, let star, _) = node {
                let n = name.lowercased()
                if aggregateNames.contains(n) && ((n != "min" && n != "max") || args.count == 1 || star) { found = true }
            }
        }
        return found
    }

    // MARK: - Expressions

    func compile(_ e: Expression, _ s: Scope) throws(QueryError) -> Compiled {
        switch e {
        case .literal(let v, _):
            return .constant(v)
        case .column(let table, let name, let location):
            return try column(table, name, location, s)
        case .unary(let op, let x, _):
            let c = try compile(x, s)
            switch op {
            case "-": return fold1(c) { SQLValue.negate($0) }
            case "+": return Compiled(eval: c.eval, affinity: .none, constant: c.constant)
            case "~": return fold1(c) { SQLValue.bitNot($0) }
            default:
                return fold1(c) { v in
                    guard let t = SQLValue.truth(v) else { return .null }
                    return SQLValue.bool(!t)
                }
            }
        case .binary(let op, let a, let b, _):
            return try binary(op, a, b, s)
        case .between(let x, let low, let high, let negated, _):
            let cx = try compile(x, s), cl = try compile(low, s), ch = try compile(high, s)
            let (ax1, al) = Affinity.comparison(cx.affinity, cl.affinity)
            let (ax2, ah) = Affinity.comparison(cx.affinity, ch.affinity)
            let fx = cx.eval, fl = cl.eval, fh = ch.eval
            let result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                let v = try fx(f)
                if v.isNull { return .null }
                let lo = try fl(f), hi = try fh(f)
                let c1 = SQLValue.compare(ax1.apply(v), al.apply(lo))
                let c2 = SQLValue.compare(ax2.apply(v), ah.apply(hi))
                // AND of (v >= lo) and (v <= hi) in three-valued logic.
                let t1: Bool? = c1.map { $0 >= 0 }, t2: Bool? = c2.map { $0 <= 0 }
                let r: Bool?
                if t1 == false || t2 == false { r = false } else if t1 == nil || t2 == nil { r = nil } else { r = true }
                guard let r else { return .null }
                return SQLValue.bool(r != negated)
            })
            return foldIfConstant(result, [cx, cl, ch])
        case .inList(let x, let list, let negated, _):
            return try inList(x, list, negated, s)
        case .inSelect(let x, let select, let negated, let location):
            return try inSelect(x, select, negated, location, s)
        case .like(let x, let pattern, let escape, let negated, let glob, let location):
            let cx = try compile(x, s), cp = try compile(pattern, s)
            let ce = try escape.map { (e: Expression) throws(QueryError) -> Compiled in try compile(e, s) }
            let fx = cx.eval, fp = cp.eval, fe = ce?.eval
            let result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                let v = try fx(f), p = try fp(f)
                if v.isNull || p.isNull { return .null }
                var escapeByte: UInt8?
                if let fe {
                    let e = try fe(f)
                    if e.isNull { return .null }
                    let bytes = Array(SQLValue.text(e).utf8)
                    guard bytes.count == 1 else {
                        throw QueryError(.runtimeError, "ESCAPE expression must be a single character", at: location)
                    }
                    escapeByte = bytes[0]
                }
                let text = Array(SQLValue.text(v).utf8), pat = Array(SQLValue.text(p).utf8)
                let m = glob ? PatternMatch.glob(text, pat) : PatternMatch.like(text, pat, escape: escapeByte)
                return SQLValue.bool(m != negated)
            })
            if !glob, escape == nil, let column = cx.columnIndex, case .text(let p)? = cp.constant {
                // `column [NOT] LIKE 'prefix%'`: a prefix test over the typed text column.
                let bytes = Array(p.utf8)
                if let last = bytes.last, last == UInt8(ascii: "%"),
                    !bytes.dropLast().contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "_") })
                {
                    var typed = result
                    typed.predicate = ColumnPredicate(column: column, op: negated ? "NOT LIKE" : "LIKE", constant: .text(p))
                    return typed
                }
            }
            return foldIfConstant(result, [cx, cp] + (ce.map { [$0] } ?? []))
        case .isNull(let x, let negated, _):
            let c = try compile(x, s)
            return fold1(c) { SQLValue.bool($0.isNull != negated) }
        case .caseWhen(let operand, let branches, let otherwise, _):
            return try caseWhen(operand, branches, otherwise, s)
        case .cast(let x, let typeName, _):
            let c = try compile(x, s)
            var r = fold1(c) { SQLValue.cast($0, to: typeName) }
            r.affinity = Affinity(declaredType: typeName)
            return r
        case .function(let name, let args, let distinct, let star, let location):
            return try function(name, args, distinct, star, location, s)
        case .subquery(let select, let location):
            let plan = try subquery(select, s)
            guard plan.columns.count == 1 else {
                throw QueryError(.semanticError, "sub-select returns \(plan.columns.count) columns - expected 1", at: location)
            }
            if plan.correlated {
                return Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                    try plan.execute(outer: f, context: f.context, maxRows: 1).first?[0] ?? .null
                })
            }
            let cache = Box<Value>()
            return Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                if let v = cache.value { return v }
                let v = try plan.execute(outer: f, context: f.context, maxRows: 1).first?[0] ?? .null
                cache.value = v
                return v
            })
        case .exists(let select, let negated, _):
            let plan = try subquery(select, s)
            if plan.correlated {
                return Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                    let found = try !plan.execute(outer: f, context: f.context, maxRows: 1).isEmpty
                    return SQLValue.bool(found != negated)
                })
            }
            let cache = Box<Value>()
            return Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                if let v = cache.value { return v }
                let found = try !plan.execute(outer: f, context: f.context, maxRows: 1).isEmpty
                let v = SQLValue.bool(found != negated)
                cache.value = v
                return v
            })
        }
    }

    func subquery(_ select: Select, _ s: Scope) throws(QueryError) -> SelectPlan {
        subqueryDepth += 1
        defer { subqueryDepth -= 1 }
        if subqueryDepth > 64 {
            throw QueryError(.limitExceeded, "subqueries nested more than 64 deep", at: select.location)
        }
        let plan = try compileSelect(select, parent: s)
        return plan
    }

    private func fold1(_ c: Compiled, _ op: @escaping (Value) -> Value) -> Compiled {
        if let v = c.constant { return .constant(op(v)) }
        let f = c.eval
        return Compiled(eval: { (frame: Frame) throws(QueryError) -> Value in op(try f(frame)) })
    }

    /// Evaluates `result` now when every input is constant (and evaluation does not fail).
    private func foldIfConstant(_ result: Compiled, _ inputs: [Compiled]) -> Compiled {
        guard inputs.allSatisfy({ $0.constant != nil }) else { return result }
        let frame = Frame(row: [], outer: nil, context: ExecutionContext(budget: 1_000))
        guard let v = try? result.eval(frame) else { return result }
        var folded = Compiled.constant(v)
        folded.affinity = result.affinity
        return folded
    }

    private func column(_ table: String?, _ name: String, _ location: SourceLocation, _ s: Scope) throws(QueryError) -> Compiled {
        var scope: Scope? = s
        var depth = 0
        while let sc = scope {
            if let (source, col) = try sc.lookup(table: table, name: name, at: location) {
                sc.referenced.insert(source)
                var x: Scope? = s
                for _ in 0..<depth {
                    x?.correlated = true
                    x?.outerReferences += 1
                    x = x?.parent
                }
                guard let offset = sc.offsets[source] else {
                    throw QueryError(.internalError, "column '\(name)' compiled outside its layout", at: location)
                }
                let index = offset + col
                let affinity = sc.sources[source].affinities[col]
                switch depth {
                case 0: return Compiled(eval: { f in f.row[index] }, affinity: affinity, columnIndex: index)
                case 1: return Compiled(eval: { f in f.outer!.row[index] }, affinity: affinity)
                default:
                    let d = depth
                    return Compiled(
                        eval: { f in
                            var frame = f
                            for _ in 0..<d { frame = frame.outer! }
                            return frame.row[index]
                        }, affinity: affinity)
                }
            }
            if depth == 0, table == nil, sc.allowAliases, let aliased = sc.alias(name) {
                let key = name.lowercased()
                if !sc.expanding.contains(key) {
                    sc.expanding.insert(key)
                    defer { sc.expanding.remove(key) }
                    if sc.aggregates == nil && Compiler.containsAggregate(aliased) {
                        throw QueryError(.semanticError, "misuse of aliased aggregate '\(name)' at \(location)", at: location)
                    }
                    return try compile(aliased, sc)
                }
            }
            scope = sc.parent
            depth += 1
        }
        if let table {
            var known: [String] = []
            var sc: Scope? = s
            while let x = sc {
                known.append(contentsOf: x.sources.map(\.name))
                sc = x.parent
            }
            if !known.contains(table.lowercased()) {
                throw nameError(
                    .unknownTable, "unknown table '\(table)' in column reference '\(table).\(name)'", location,
                    NameSuggestion.hint(for: table, in: known))
            }
        }
        throw nameError(.unknownColumn, "unknown column '\(name)'", location, NameSuggestion.hint(for: name, in: s.candidateNames))
    }

    private func binary(_ op: String, _ a: Expression, _ b: Expression, _ s: Scope) throws(QueryError) -> Compiled {
        let ca = try compile(a, s), cb = try compile(b, s)
        let fa = ca.eval, fb = cb.eval
        var result: Compiled
        switch op {
        case "AND":
            result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                let x = SQLValue.truth(try fa(f))
                if x == false { return .integer(0) }
                let y = SQLValue.truth(try fb(f))
                if y == false { return .integer(0) }
                if x == nil || y == nil { return .null }
                return .integer(1)
            })
        case "OR":
            result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                let x = SQLValue.truth(try fa(f))
                if x == true { return .integer(1) }
                let y = SQLValue.truth(try fb(f))
                if y == true { return .integer(1) }
                if x == nil || y == nil { return .null }
                return .integer(0)
            })
        case "=", "<>", "<", "<=", ">", ">=", "IS", "IS NOT":
            let (affA, affB) = Affinity.comparison(ca.affinity, cb.affinity)
            let test: (Int) -> Bool
            switch op {
            case "=", "IS": test = { $0 == 0 }
            case "<>", "IS NOT": test = { $0 != 0 }
            case "<": test = { $0 < 0 }
            case "<=": test = { $0 <= 0 }
            case ">": test = { $0 > 0 }
            default: test = { $0 >= 0 }
            }
            if op != "IS" && op != "IS NOT", let column = ca.columnIndex, let constant = cb.constant {
                // column <op> constant: the constant's conversion is done once, here.
                let c = affB.apply(constant)
                if c.isNull { return .constant(.null) }
                if affA == .none {
                    result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                        let x = f.row[column]
                        if x.isNull { return .null }
                        return SQLValue.bool(test(Value.compare(x, c)))
                    })
                    result.predicate = ColumnPredicate(column: column, op: op, constant: c)
                } else {
                    result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                        let x = f.row[column]
                        if x.isNull { return .null }
                        return SQLValue.bool(test(Value.compare(affA.apply(x), c)))
                    })
                }
                return result
            } else if op == "IS" || op == "IS NOT" {
                let wantEqual = op == "IS"
                result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                    let x = try fa(f), y = try fb(f)
                    if x.isNull || y.isNull { return SQLValue.bool((x.isNull && y.isNull) == wantEqual) }
                    return SQLValue.bool(test(Value.compare(affA.apply(x), affB.apply(y))))
                })
            } else if affA == .none && affB == .none {
                result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                    let x = try fa(f)
                    if x.isNull { return .null }
                    let y = try fb(f)
                    if y.isNull { return .null }
                    return SQLValue.bool(test(Value.compare(x, y)))
                })
            } else {
                result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                    let x = try fa(f)
                    if x.isNull { return .null }
                    let y = try fb(f)
                    if y.isNull { return .null }
                    return SQLValue.bool(test(Value.compare(affA.apply(x), affB.apply(y))))
                })
            }
        default:
            let operation: (Value, Value) -> Value
            switch op {
            case "+": operation = SQLValue.add
            case "-": operation = SQLValue.subtract
            case "*": operation = SQLValue.multiply
            case "/": operation = SQLValue.divide
            case "%": operation = SQLValue.remainder
            case "||": operation = SQLValue.concat
            case "&": operation = SQLValue.bitAnd
            case "|": operation = SQLValue.bitOr
            case "<<": operation = { SQLValue.shift($0, $1, left: true) }
            case ">>": operation = { SQLValue.shift($0, $1, left: false) }
            default: throw QueryError(.internalError, "unknown operator \(op)")
            }
            result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in operation(try fa(f), try fb(f)) })
        }
        return foldIfConstant(result, [ca, cb])
    }

    private func inList(_ x: Expression, _ list: [Expression], _ negated: Bool, _ s: Scope) throws(QueryError) -> Compiled {
        let cx = try compile(x, s)
        if list.isEmpty { return .constant(SQLValue.bool(negated)) }
        var items: [Compiled] = []
        for e in list { items.append(try compile(e, s)) }
        let fx = cx.eval
        if items.allSatisfy({ $0.constant != nil }) {
            var set = Set<Value>()
            var hasNull = false
            for item in items {
                let (_, affY) = Affinity.comparison(cx.affinity, item.affinity)
                let v = affY.apply(item.constant!)
                if v.isNull { hasNull = true } else { set.insert(v) }
            }
            let result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                let v = try fx(f)
                if v.isNull { return .null }
                if set.contains(v) { return SQLValue.bool(!negated) }
                return hasNull ? .null : SQLValue.bool(negated)
            })
            return foldIfConstant(result, [cx])
        }
        let pairs = items.map { item in (item.eval, Affinity.comparison(cx.affinity, item.affinity)) }
        let result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
            let v = try fx(f)
            if v.isNull { return .null }
            var sawNull = false
            for (fy, (ax, ay)) in pairs {
                let y = try fy(f)
                if y.isNull {
                    sawNull = true
                    continue
                }
                if Value.compare(ax.apply(v), ay.apply(y)) == 0 { return SQLValue.bool(!negated) }
            }
            return sawNull ? .null : SQLValue.bool(negated)
        })
        return foldIfConstant(result, [cx] + items)
    }

    private func inSelect(
        _ x: Expression, _ select: Select, _ negated: Bool, _ location: SourceLocation, _ s: Scope
    ) throws(QueryError) -> Compiled {
        let cx = try compile(x, s)
        let plan = try subquery(select, s)
        guard plan.columns.count == 1 else {
            throw QueryError(.semanticError, "sub-select returns \(plan.columns.count) columns - expected 1", at: location)
        }
        let (affX, affY) = Affinity.comparison(cx.affinity, plan.affinities[0])
        let fx = cx.eval
        let cache = Box<(Set<Value>, Bool, Bool)>()
        let correlated = plan.correlated
        // The subquery's values (affinity applied), whether it returned a NULL, whether it was empty.
        let members = { (f: Frame) throws(QueryError) -> (Set<Value>, Bool, Bool) in
            if !correlated, let cached = cache.value { return cached }
            let rows = try plan.execute(outer: f, context: f.context, maxRows: nil)
            var values = Set<Value>()
            var nulls = false
            for row in rows {
                let v = affY.apply(row[0])
                if v.isNull { nulls = true } else { values.insert(v) }
            }
            if !correlated { cache.value = (values, nulls, rows.isEmpty) }
            return (values, nulls, rows.isEmpty)
        }
        var result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
            let (set, hasNull, isEmpty) = try members(f)
            if isEmpty { return SQLValue.bool(negated) }
            let v = affX.apply(try fx(f))
            if v.isNull { return .null }
            if set.contains(v) { return SQLValue.bool(!negated) }
            return hasNull ? .null : SQLValue.bool(negated)
        })
        if !correlated, let column = cx.columnIndex {
            // `column [NOT] IN (uncorrelated subquery)`: a typed probe over the column array.
            result.predicate = ColumnPredicate(
                column: column, op: "IN", constant: .null, membership: Membership(values: members, affinity: affX, negated: negated))
        }
        return result
    }

    private func caseWhen(
        _ operand: Expression?, _ branches: [CaseBranch], _ otherwise: Expression?, _ s: Scope
    ) throws(QueryError) -> Compiled {
        let co = try operand.map { (e: Expression) throws(QueryError) -> Compiled in try compile(e, s) }
        var whens: [Compiled] = []
        var thens: [Compiled] = []
        for branch in branches {
            whens.append(try compile(branch.when, s))
            thens.append(try compile(branch.then, s))
        }
        let ce = try otherwise.map { (e: Expression) throws(QueryError) -> Compiled in try compile(e, s) }
        let fo = co?.eval
        let affinities = whens.map { w in co.map { Affinity.comparison($0.affinity, w.affinity) } ?? (.none, .none) }
        let fw = whens.map(\.eval), ft = thens.map(\.eval), fe = ce?.eval
        let result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
            if let fo {
                let v = try fo(f)
                if !v.isNull {
                    for i in fw.indices {
                        let w = try fw[i](f)
                        if !w.isNull, Value.compare(affinities[i].0.apply(v), affinities[i].1.apply(w)) == 0 {
                            return try ft[i](f)
                        }
                    }
                }
            } else {
                for i in fw.indices where SQLValue.truth(try fw[i](f)) == true {
                    return try ft[i](f)
                }
            }
            return try fe?(f) ?? .null
        })
        var inputs = whens + thens
        if let co { inputs.append(co) }
        if let ce { inputs.append(ce) }
        return foldIfConstant(result, inputs)
    }

    private func function(
        _ name: String, _ args: [Expression], _ distinct: Bool, _ star: Bool, _ location: SourceLocation, _ s: Scope
    ) throws(QueryError) -> Compiled {
        let lowered = name.lowercased()
        let isAggregate =
            Compiler.aggregateNames.contains(lowered) && ((lowered != "min" && lowered != "max") || args.count == 1 || star)
        if isAggregate {
            guard let collector = s.aggregates else {
                throw QueryError(.semanticError, "misuse of aggregate function \(lowered)() at \(location)", at: location)
            }
            let kind: AggregateSpec.Kind
            switch lowered {
            case "count": kind = star ? .countStar : .count
            case "sum": kind = .sum
            case "total": kind = .total
            case "avg": kind = .avg
            case "min": kind = .min
            case "max": kind = .max
            default: kind = .groupConcat
            }
            if star && kind != .countStar {
                throw QueryError(.semanticError, "\(lowered)(*) is not allowed; use \(lowered)(expression)", at: location)
            }
            let expected = kind == .countStar ? 0...0 : (kind == .groupConcat ? 1...2 : (kind == .count ? 1...1 : 1...1))
            guard expected.contains(args.count) else {
                throw QueryError(.semanticError, "wrong number of arguments to function \(lowered)() at \(location)", at: location)
            }
            if distinct && args.count != 1 {
                throw QueryError(.semanticError, "DISTINCT aggregates must have exactly one argument at \(location)", at: location)
            }
            s.aggregates = nil
            defer { s.aggregates = collector }
            var evals: [Eval] = []
            var argumentColumn: Int?
            for a in args {
                let compiled = try compile(a, s)
                evals.append(compiled.eval)
                if args.count == 1 { argumentColumn = compiled.columnIndex }
            }
            let slot = collector.base + collector.specs.count
            collector.specs.append(AggregateSpec(kind: kind, distinct: distinct, arguments: evals, argumentColumn: argumentColumn))
            return Compiled(eval: { f in f.row[slot] })
        }
        if star {
            throw QueryError(.semanticError, "\(lowered)(*) is not a valid call at \(location)", at: location)
        }
        guard let (minimum, maximum, implementation) = ScalarFunctions.table[lowered] else {
            let known = Array(ScalarFunctions.table.keys) + Array(Compiler.aggregateNames)
            throw nameError(.unknownFunction, "unknown function \(name)()", location, NameSuggestion.hint(for: lowered, in: known))
        }
        guard args.count >= minimum, args.count <= (maximum ?? Int.max) else {
            throw QueryError(.semanticError, "wrong number of arguments to function \(lowered)() at \(location)", at: location)
        }
        if distinct {
            throw QueryError(.semanticError, "DISTINCT is only allowed in aggregate functions at \(location)", at: location)
        }
        var compiled: [Compiled] = []
        for a in args { compiled.append(try compile(a, s)) }
        let evals = compiled.map(\.eval)
        let result: Compiled
        switch lowered {
        case "coalesce", "ifnull":
            // Lazy: later arguments run only when earlier ones are NULL.
            result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                for e in evals {
                    let v = try e(f)
                    if !v.isNull { return v }
                }
                return .null
            })
        default:
            if evals.count == 1 {
                let e0 = evals[0]
                result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in try implementation([try e0(f)]) })
            } else {
                result = Compiled(eval: { (f: Frame) throws(QueryError) -> Value in
                    var values: [Value] = []
                    values.reserveCapacity(evals.count)
                    for e in evals { values.append(try e(f)) }
                    return try implementation(values)
                })
            }
        }
        return foldIfConstant(result, compiled)
    }
}

/// A mutable cell captured by compiled closures (caches of uncorrelated subqueries).
final class Box<T> {
    var value: T?
}
