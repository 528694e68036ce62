import QueryCore

/// A filter condition over one event, compiled for the per-event path: the conjuncts of the form
/// `field op constant` (the common stream filter `cpu > 50`) compare the field in place, with an
/// integer shortcut, and anything else falls back to ``CompiledExpression/isTrue(_:_:)``.
///
/// Gives exactly what `CompiledExpression.isTrue(.one(event))` gives: a comparison with `NULL` is
/// not true, and values compare as ``Value/compare(_:_:)`` does.
struct EventPredicate: Sendable {
    /// How a three-way comparison result is tested.
    enum Test: UInt8, Sendable {
        case equal, notEqual, less, lessEqual, greater, greaterEqual

        init?(_ op: EPLExpr.BinaryOperator) {
            switch op {
            case .equal: self = .equal
            case .notEqual: self = .notEqual
            case .less: self = .less
            case .lessEqual: self = .lessEqual
            case .greater: self = .greater
            case .greaterEqual: self = .greaterEqual
            default: return nil
            }
        }

        /// The test with its operands swapped (`5 < x` is `x > 5`).
        var mirrored: Test {
            switch self {
            case .equal, .notEqual: self
            case .less: .greater
            case .lessEqual: .greaterEqual
            case .greater: .less
            case .greaterEqual: .lessEqual
            }
        }

        @inline(__always)
        func holds(_ c: Int) -> Bool {
            switch self {
            case .equal: c == 0
            case .notEqual: c != 0
            case .less: c < 0
            case .lessEqual: c <= 0
            case .greater: c > 0
            case .greaterEqual: c >= 0
            }
        }
    }

    /// One conjunct.
    enum Part: Sendable {
        /// `field test integer`.
        case integerField(column: Int, test: Test, constant: Int64)
        /// `field test constant` for any non-null constant.
        case field(column: Int, test: Test, constant: Value)
        /// Anything else.
        case general(CompiledExpression)
    }

    let parts: [Part]

    /// Compiles `expression` (over row position 0).
    init(_ expression: CompiledExpression) {
        parts = expression.conjuncts.map(Self.part)
    }

    private static func part(_ e: CompiledExpression) -> Part {
        guard case .compare(let op, let l, let r) = e, let test = Test(op) else { return .general(e) }
        switch (l, r) {
        case (.field(0, let c), .constant(let v)) where !v.isNull:
            if case .integer(let i) = v { return .integerField(column: c, test: test, constant: i) }
            return .field(column: c, test: test, constant: v)
        case (.constant(let v), .field(0, let c)) where !v.isNull:
            if case .integer(let i) = v { return .integerField(column: c, test: test.mirrored, constant: i) }
            return .field(column: c, test: test.mirrored, constant: v)
        default:
            return .general(e)
        }
    }

    /// Whether the event satisfies every conjunct.
    @inline(__always)
    func isTrue(_ event: Event) -> Bool {
        for part in parts where !Self.holds(part, event) { return false }
        return true
    }

    private static func holds(_ part: Part, _ event: Event) -> Bool {
        switch part {
        case .integerField(let column, let test, let constant):
            guard column < event.values.count else { return false }
            switch event.values[column] {
            case .integer(let i): return test.holds(i < constant ? -1 : (i == constant ? 0 : 1))
            case .null: return false
            case let v: return test.holds(Value.compare(v, .integer(constant)))
            }
        case .field(let column, let test, let constant):
            guard column < event.values.count else { return false }
            let v = event.values[column]
            if v.isNull { return false }
            return test.holds(Value.compare(v, constant))
        case .general(let e):
            return e.isTrue(.one(event))
        }
    }
}
