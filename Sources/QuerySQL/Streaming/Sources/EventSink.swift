public import QueryCore

/// Where an ``EventSource`` delivers events: a ``QueryManager`` (through
/// ``QueryManager/eventSink(as:)``), or anything else that accepts events of declared streams.
///
/// Calls never wait on I/O; they may take the engine's lock for as long as the events take.
public protocol EventSink: Sendable {
    /// The schema of the stream called `name` (case-insensitive), if it is declared.
    func schema(ofStream name: String) -> Schema?

    /// Declares a stream; declaring one again with the same schema does nothing.
    ///
    /// - Throws: ``QueryError`` `.alreadyExists` if the stream exists with another schema;
    ///   `.invalidArgument` for a bad name.
    func declareStream(_ name: String, schema: Schema) throws(QueryError)

    /// Publishes events in order. Each event's values are in its stream's schema order and fit
    /// the schema (build them with ``SourceEvent/init(stream:time:fields:schema:)``).
    ///
    /// - Throws: ``QueryError`` for the first event that cannot be published (unknown stream, no
    ///   right to publish); the events before it are published.
    func publish(_ events: [SourceEvent]) throws(QueryError)

    /// Moves time forward without an event, so windows expire and timers fire.
    func advance(to time: Instant)
}
