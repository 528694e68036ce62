/// A SQL node's reply to a ``RemoteQuery``: an answer, an error, or a redirect to follow.
public struct QueryResponse: Sendable {
    /// What happened.
    public enum Outcome: Sendable {
        /// The rows, with the generation and completeness behind them.
        case answer(QueryAnswer)
        /// The query failed.
        case failure(QueryError)
        /// Ask the nodes of another partition.
        case redirect(Redirect)
    }

    /// The query answered.
    public var id: QueryID
    /// The outcome.
    public var outcome: Outcome

    /// Creates a response.
    public init(id: QueryID, outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }
}
