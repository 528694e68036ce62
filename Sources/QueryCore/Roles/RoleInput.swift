/// Something that happened to a role: a message arrived, a timer fired, a peer came or went,
/// local data was published, or a user asked a query.
public enum RoleInput: Sendable {
    /// The role was started (or restarted after a crash with its state lost).
    case started
    /// A message from a peer.
    case received(Message, from: NodeID)
    /// A timer set with ``RoleAction/setTimer(_:at:)`` fired.
    case timerFired(TimerID)
    /// The transport connected to a peer.
    case peerUp(NodeID)
    /// The transport lost a peer.
    case peerDown(NodeID)
    /// (Edge) the local machine published the current rows of a table.
    case publish(TableName, Segment)
    /// (SQL node) a user asked a query.
    case query(QueryRequest)
}

/// What a role asks its shell to do.
public enum RoleAction: Sendable {
    /// Send a message to a peer.
    case send(Message, to: NodeID)
    /// Fire ``RoleInput/timerFired(_:)`` at `at` (replacing an earlier timer with the same id).
    case setTimer(TimerID, at: Instant)
    /// Forget a timer.
    case cancelTimer(TimerID)
    /// Answer a user's query.
    case answer(QueryID, Result<QueryAnswer, QueryError>)
    /// Tell a user that the query names tables served by another partition; the client follows
    /// the redirect by asking one of its nodes.
    case redirect(QueryID, Redirect)
    /// Write a log line.
    case log(LogRecord)
    /// Record a metric.
    case metric(MetricRecord)
}
