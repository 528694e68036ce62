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

    /// A conjunct `field test integer`, kept apart in a plain array (no reference counting while
    /// iterating) and checked before the others.
    struct IntegerTest: Sendable {
        var column: Int
        var test: Test
        var constant: Int64
    }

    /// The `field test integer` conjuncts.
    let integerTests: [IntegerTest]
    /// The other conjuncts, in their order in the condition.
    let parts: [Part]

    /// Compiles `expression` (over row position 0).
    init(_ expression: CompiledExpression) {
        var integers: [IntegerTest] = []
        var others: [Part] = []
        for conjunct in expression.conjuncts {
            let part = Self.part(conjunct)
            if case .integerField(let column, let test, let constant) = part {
                integers.append(IntegerTest(column: column, test: test, constant: constant))
            } else {
                others.append(part)
            }
        }
        integerTests = integers
        parts = others
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

    /// Whether the event satisfies every conjunct. (Conjuncts have no side effects, so checking
    /// the integer ones first gives the same answer.)
    @inline(__always)
    func isTrue(_ event: Event) -> Bool {
        for t in integerTests where !Self.holds(t, event.values) { return false }
        return otherPartsHold(event)
    }

    /// Whether the event satisfies every conjunct other than the ``integerTests``.
    @inline(__always)
    func otherPartsHold(_ event: Event) -> Bool {
        for part in parts where !Self.holds(part, event) { return false }
        return true
    }

    /// Whether `values` (an event's) satisfy one integer test.
    @inline(__always)
    static func holds(_ t: IntegerTest, _ values: [Value]) -> Bool {
        guard t.column < values.count else { return false }
        switch values[t.column] {
        case .integer(let i): return t.test.holds(i < t.constant ? -1 : (i == t.constant ? 0 : 1))
        case .null: return false
        case let v: return t.test.holds(Value.compare(v, .integer(t.constant)))
        }
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
