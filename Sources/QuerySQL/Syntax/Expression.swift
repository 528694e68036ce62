public import QueryCore

/// A parsed SQL expression.
public indirect enum Expression: Sendable, Hashable {
    /// A literal value.
    case literal(Value, SourceLocation)
    /// A column reference `[table.]column`.
    case column(table: String?, name: String, SourceLocation)
    /// A unary operator: `-`, `+`, `~`, `NOT`.
    case unary(String, Expression, SourceLocation)
    /// A binary operator: arithmetic, comparison, `AND`, `OR`, `||`, bit operators, `IS`, `IS NOT`.
    case binary(String, Expression, Expression, SourceLocation)
    /// `x [NOT] BETWEEN low AND high`.
    case between(Expression, low: Expression, high: Expression, negated: Bool, SourceLocation)
    /// `x [NOT] IN (list)`.
    case inList(Expression, [Expression], negated: Bool, SourceLocation)
    /// `x [NOT] IN (SELECT …)` or `x [NOT] IN table`.
    case inSelect(Expression, Select, negated: Bool, SourceLocation)
    /// `x [NOT] LIKE|GLOB pattern [ESCAPE e]`.
    case like(Expression, pattern: Expression, escape: Expression?, negated: Bool, glob: Bool, SourceLocation)
    /// `x IS [NOT] NULL`, `x ISNULL`, `x NOTNULL`, `x NOT NULL`.
    case isNull(Expression, negated: Bool, SourceLocation)
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`.
    case caseWhen(operand: Expression?, branches: [CaseBranch], otherwise: Expression?, SourceLocation)
    /// `CAST(x AS type)`.
    case cast(Expression, typeName: String, SourceLocation)
    /// A function call; `star` for `f(*)`.
    case function(name: String, arguments: [Expression], distinct: Bool, star: Bool, SourceLocation)
    /// A scalar subquery `(SELECT …)`.
    case subquery(Select, SourceLocation)
    /// `[NOT] EXISTS (SELECT …)`.
    case exists(Select, negated: Bool, SourceLocation)

    /// Where the expression starts.
    public var location: SourceLocation {
        switch self {
        case .literal(_, let l), .column(_, _, let l), .unary(_, _, let l), .binary(_, _, _, let l),
            .between(_, _, _, _, let l), .inList(_, _, _, let l), .inSelect(_, _, _, let l),
            .like(_, _, _, _, _, let l), .isNull(_, _, let l), .caseWhen(_, _, _, let l), .cast(_, _, let l),
            .function(_, _, _, _, let l), .subquery(_, let l), .exists(_, _, let l):
            return l
        }
    }
}

/// One `WHEN … THEN …` of a ``Expression/caseWhen(operand:branches:otherwise:_:)``.
public struct CaseBranch: Sendable, Hashable {
    /// The condition (or the value compared with the operand).
    public var when: Expression
    /// The result.
    public var then: Expression
}

extension Expression {
    /// The expression with source locations zeroed, for structural comparison (`GROUP BY a+1` vs `a+1`).
    var normalized: Expression {
        let z = SourceLocation(line: 0, column: 0, offset: 0)
        switch self {
        case .literal(let v, _): return .literal(v, z)
        case .column(let t, let n, _): return .column(table: t?.lowercased(), name: n.lowercased(), z)
        case .unary(let op, let e, _): return .unary(op, e.normalized, z)
        case .binary(let op, let a, let b, _): return .binary(op, a.normalized, b.normalized, z)
        case .between(let e, let l, let h, let n, _): return .between(e.normalized, low: l.normalized, high: h.normalized, negated: n, z)
        case .inList(let e, let list, let n, _): return .inList(e.normalized, list.map(\.normalized), negated: n, z)
        case .inSelect(let e, let s, let n, _): return .inSelect(e.normalized, s, negated: n, z)
        case .like(let e, let p, let esc, let n, let g, _):
            return .like(e.normalized, pattern: p.normalized, escape: esc?.normalized, negated: n, glob: g, z)
        case .isNull(let e, let n, _): return .isNull(e.normalized, negated: n, z)
        case .caseWhen(let o, let b, let e, _):
            return .caseWhen(
                operand: o?.normalized, branches: b.map { CaseBranch(when: $0.when.normalized, then: $0.then.normalized) },
                otherwise: e?.normalized, z)
        case .cast(let e, let t, _): return .cast(e.normalized, typeName: t.uppercased(), z)
        case .function(let name, let args, let d, let s, _):
            return .function(name: name.lowercased(), arguments: args.map(\.normalized), distinct: d, star: s, z)
        case .subquery(let s, _): return .subquery(s, z)
        case .exists(let s, let n, _): return .exists(s, negated: n, z)
        }
    }

    /// Calls `visit` on this expression and every sub-expression (not entering subqueries).
    func walk(_ visit: (Expression) -> Void) {
        visit(self)
        switch self {
        case .literal, .column, .subquery, .exists: break
        case .unary(_, let e, _), .isNull(let e, _, _), .cast(let e, _, _), .inSelect(let e, _, _, _): e.walk(visit)
        case .binary(_, let a, let b, _): a.walk(visit); b.walk(visit)
        case .between(let e, let l, let h, _, _): e.walk(visit); l.walk(visit); h.walk(visit)
        case .inList(let e, let list, _, _): e.walk(visit); list.forEach { $0.walk(visit) }
        case .like(let e, let p, let esc, _, _, _): e.walk(visit); p.walk(visit); esc?.walk(visit)
        case .caseWhen(let o, let b, let e, _):
            o?.walk(visit)
            for branch in b { branch.when.walk(visit); branch.then.walk(visit) }
            e?.walk(visit)
        case .function(_, let args, _, _, _): args.forEach { $0.walk(visit) }
        }
    }
}
