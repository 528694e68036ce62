public import QueryCore

/// A snapshot persistent query: SQL over the collection tree's tables, re-evaluated on every new
/// generation, that raises when it returns rows, updates while the rows change, and clears when it
/// stops returning rows (the paper's alert form).
public struct SnapshotQuery: Sendable {
    /// The SQL text.
    public let sql: String
    private let evaluator: any QueryEvaluator
    /// The rows of the last evaluation that returned any, while raised.
    public private(set) var raisedRows: QueryResult?
    /// The last evaluation error, if the last evaluation failed (the state is then unchanged).
    public private(set) var lastError: QueryError?

    /// Creates a snapshot query, checking its syntax with the SQL parser.
    ///
    /// - Throws: ``QueryError`` `.syntaxError` with the position, or `.unsupported` for statements
    ///   other than a query.
    public init(sql: String, evaluator: any QueryEvaluator) throws(QueryError) {
        let statement = try Parser.parseStatement(sql)
        guard case .select = statement else {
            throw QueryError(.unsupported, "a snapshot persistent query must be a SELECT")
        }
        self.sql = sql
        self.evaluator = evaluator
    }

    /// What an evaluation changed.
    public enum Transition: Sendable, Hashable {
        case raised(QueryResult)
        case updated(QueryResult)
        case cleared
    }

    /// Evaluates the query against a new generation's tables.
    ///
    /// - Returns: the transition, or `nil` if nothing changed (still clear, or the same rows).
    public mutating func evaluate(in catalog: any TableCatalog) -> Transition? {
        let result: QueryResult
        do {
            result = try evaluator.evaluate(sql, in: catalog)
            lastError = nil
        } catch {
            // A missing table or a bad generation leaves the alert as it was.
            lastError = error
            return nil
        }
        if result.rows.isEmpty {
            guard raisedRows != nil else { return nil }
            raisedRows = nil
            return .cleared
        }
        defer { raisedRows = result }
        guard let previous = raisedRows else { return .raised(result) }
        return previous == result ? nil : .updated(result)
    }
}
