import QueryCore

/// A compiled expression with its static affinity and, when known at compile time, its value.
struct Compiled {
    var eval: Eval
    var affinity: Affinity
    var constant: Value?
    /// For a column of the current row: its index (lets comparisons read the row directly).
    var columnIndex: Int?
    /// For `column <op> constant`: the same test over typed column arrays.
    var predicate: ColumnPredicate?

    init(eval: @escaping Eval, affinity: Affinity = .none, constant: Value? = nil, columnIndex: Int? = nil) {
        self.eval = eval
        self.affinity = affinity
        self.constant = constant
        self.columnIndex = columnIndex
    }

    static func constant(_ value: Value) -> Compiled {
        Compiled(eval: { _ in value }, affinity: .none, constant: value)
    }
}
