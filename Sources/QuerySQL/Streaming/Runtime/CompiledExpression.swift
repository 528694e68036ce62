import QueryCore

/// An expression with every name resolved to a row position and field index, ready to run.
///
/// Evaluation never throws: like SQLite, arithmetic overflow turns into real arithmetic,
/// division by zero and comparisons with `NULL` give `NULL`.
indirect enum CompiledExpression: Sendable {
    case constant(Value)
    /// Field `column` of the event at row position `position`.
    case field(position: Int, column: Int)
    /// The current value of aggregate slot `slot`.
    case aggregate(Int)
    case negate(CompiledExpression)
    case not(CompiledExpression)
    case and(CompiledExpression, CompiledExpression)
    case or(CompiledExpression, CompiledExpression)
    case compare(EPLExpr.BinaryOperator, CompiledExpression, CompiledExpression)
    case arithmetic(EPLExpr.BinaryOperator, CompiledExpression, CompiledExpression)
    case concat(CompiledExpression, CompiledExpression)
    case isNull(CompiledExpression, negated: Bool)
    case inList(CompiledExpression, [CompiledExpression], negated: Bool)
    case between(CompiledExpression, CompiledExpression, CompiledExpression, negated: Bool)
    case like(CompiledExpression, CompiledExpression, negated: Bool)
    case function(ScalarFunction, [CompiledExpression])
    case caseWhen(operand: CompiledExpression?, branches: [(CompiledExpression, CompiledExpression)], otherwise: CompiledExpression?)
    case cast(CompiledExpression, String)

    /// Evaluates against a row and the current aggregate values.
    func evaluate(_ row: Row?, _ aggregates: [Value] = []) -> Value {
        switch self {
        case .constant(let v):
            return v
        case .field(let position, let column):
            guard let event = row?.event(position), column < event.values.count else { return .null }
            return event.values[column]
        case .aggregate(let slot):
            return slot < aggregates.count ? aggregates[slot] : .null
        case .negate(let e):
            return SQLArithmetic.negate(e.evaluate(row, aggregates))
        case .not(let e):
            guard let t = SQLArithmetic.truth(e.evaluate(row, aggregates)) else { return .null }
            return SQLValue.bool(!t)
        case .and(let l, let r):
            let a = SQLArithmetic.truth(l.evaluate(row, aggregates))
            if a == false { return SQLValue.bool(false) }
            let b = SQLArithmetic.truth(r.evaluate(row, aggregates))
            if b == false { return SQLValue.bool(false) }
            if a == nil || b == nil { return .null }
            return SQLValue.bool(true)
        case .or(let l, let r):
            let a = SQLArithmetic.truth(l.evaluate(row, aggregates))
            if a == true { return SQLValue.bool(true) }
            let b = SQLArithmetic.truth(r.evaluate(row, aggregates))
            if b == true { return SQLValue.bool(true) }
            if a == nil || b == nil { return .null }
            return SQLValue.bool(false)
        case .compare(let op, let l, let r):
            return SQLArithmetic.compare(op, l.evaluate(row, aggregates), r.evaluate(row, aggregates))
        case .arithmetic(let op, let l, let r):
            return SQLArithmetic.arithmetic(op, l.evaluate(row, aggregates), r.evaluate(row, aggregates))
        case .concat(let l, let r):
            let a = l.evaluate(row, aggregates), b = r.evaluate(row, aggregates)
            return SQLArithmetic.concat(a, b)
        case .isNull(let e, let negated):
            return SQLValue.bool(e.evaluate(row, aggregates).isNull != negated)
        case .inList(let e, let list, let negated):
            let v = e.evaluate(row, aggregates)
            if v.isNull { return .null }
            var sawNull = false
            for item in list {
                let w = item.evaluate(row, aggregates)
                if w.isNull { sawNull = true; continue }
                if v == w { return SQLValue.bool(!negated) }
            }
            return sawNull ? .null : SQLValue.bool(negated)
        case .between(let e, let lo, let hi, let negated):
            let v = e.evaluate(row, aggregates)
            let a = SQLArithmetic.compare(.greaterEqual, v, lo.evaluate(row, aggregates))
            let b = SQLArithmetic.compare(.lessEqual, v, hi.evaluate(row, aggregates))
            let both = CompiledExpression.and(.constant(a), .constant(b)).evaluate(nil)
            guard let t = SQLArithmetic.truth(both) else { return .null }
            return SQLValue.bool(t != negated)
        case .like(let e, let p, let negated):
            let v = e.evaluate(row, aggregates), pattern = p.evaluate(row, aggregates)
            if v.isNull || pattern.isNull { return .null }
            return SQLValue.bool(SQLArithmetic.like(SQLValue.text(v), SQLValue.text(pattern)) != negated)
        case .function(let f, let arguments):
            return f.apply(arguments.map { $0.evaluate(row, aggregates) })
        case .caseWhen(let operand, let branches, let otherwise):
            if let operand {
                let v = operand.evaluate(row, aggregates)
                for (w, t) in branches where !v.isNull {
                    let c = w.evaluate(row, aggregates)
                    if !c.isNull && c == v { return t.evaluate(row, aggregates) }
                }
            } else {
                for (w, t) in branches where SQLArithmetic.truth(w.evaluate(row, aggregates)) == true {
                    return t.evaluate(row, aggregates)
                }
            }
            return otherwise?.evaluate(row, aggregates) ?? .null
        case .cast(let e, let type):
            return SQLArithmetic.cast(e.evaluate(row, aggregates), to: type)
        }
    }

    /// Whether the expression is true for `row` (`NULL` counts as false).
    @inline(__always)
    func isTrue(_ row: Row?, _ aggregates: [Value] = []) -> Bool {
        SQLArithmetic.truth(evaluate(row, aggregates)) == true
    }

    /// The conjuncts of an `AND` chain.
    var conjuncts: [CompiledExpression] {
        if case .and(let l, let r) = self { return l.conjuncts + r.conjuncts }
        return [self]
    }

    /// Whether the expression reads only constants (so it can be folded).
    var isConstant: Bool {
        switch self {
        case .constant: return true
        case .field, .aggregate: return false
        case .negate(let e), .not(let e), .isNull(let e, _), .cast(let e, _): return e.isConstant
        case .and(let l, let r), .or(let l, let r), .compare(_, let l, let r), .arithmetic(_, let l, let r),
            .concat(let l, let r), .like(let l, let r, _):
            return l.isConstant && r.isConstant
        case .inList(let e, let list, _): return e.isConstant && list.allSatisfy(\.isConstant)
        case .between(let a, let b, let c, _): return a.isConstant && b.isConstant && c.isConstant
        case .function(let f, let arguments): return f.isDeterministic && arguments.allSatisfy(\.isConstant)
        case .caseWhen(let o, let branches, let e):
            return (o?.isConstant ?? true) && branches.allSatisfy { $0.0.isConstant && $0.1.isConstant }
                && (e?.isConstant ?? true)
        }
    }

    /// Whether evaluating the expression twice on the same row gives the same value (no
    /// `random()` and the like).
    var isDeterministic: Bool {
        switch self {
        case .constant, .field, .aggregate: return true
        case .negate(let e), .not(let e), .isNull(let e, _), .cast(let e, _): return e.isDeterministic
        case .and(let l, let r), .or(let l, let r), .compare(_, let l, let r), .arithmetic(_, let l, let r),
            .concat(let l, let r), .like(let l, let r, _):
            return l.isDeterministic && r.isDeterministic
        case .inList(let e, let list, _): return e.isDeterministic && list.allSatisfy(\.isDeterministic)
        case .between(let a, let b, let c, _): return a.isDeterministic && b.isDeterministic && c.isDeterministic
        case .function(let f, let arguments): return f.isDeterministic && arguments.allSatisfy(\.isDeterministic)
        case .caseWhen(let o, let branches, let e):
            return (o?.isDeterministic ?? true) && branches.allSatisfy { $0.0.isDeterministic && $0.1.isDeterministic }
                && (e?.isDeterministic ?? true)
        }
    }

    /// The row positions the expression reads.
    var positions: Set<Int> {
        switch self {
        case .constant, .aggregate: return []
        case .field(let p, _): return [p]
        case .negate(let e), .not(let e), .isNull(let e, _), .cast(let e, _): return e.positions
        case .and(let l, let r), .or(let l, let r), .compare(_, let l, let r), .arithmetic(_, let l, let r),
            .concat(let l, let r), .like(let l, let r, _):
            return l.positions.union(r.positions)
        case .inList(let e, let list, _): return list.reduce(e.positions) { $0.union($1.positions) }
        case .between(let a, let b, let c, _): return a.positions.union(b.positions).union(c.positions)
        case .function(_, let arguments): return arguments.reduce([]) { $0.union($1.positions) }
        case .caseWhen(let o, let branches, let e):
            var s = o?.positions ?? []
            for (w, t) in branches { s.formUnion(w.positions); s.formUnion(t.positions) }
            return s.union(e?.positions ?? [])
        }
    }
}
