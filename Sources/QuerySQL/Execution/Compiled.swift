public import QueryCore

/// A compiled expression with its static affinity and, when known at compile time, its value.
struct Compiled {
    var eval: Eval
    var affinity: Affinity
    var constant: Value?

    init(eval: @escaping Eval, affinity: Affinity = .none, constant: Value? = nil) {
        self.eval = eval
        self.affinity = affinity
        self.constant = constant
    }

    static func constant(_ value: Value) -> Compiled {
        Compiled(eval: { _ in value }, affinity: .none, constant: value)
    }
}
