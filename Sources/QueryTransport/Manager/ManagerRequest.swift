public import QueryCore
public import QuerySQL

/// A request to a node's ``QuerySQL/QueryManager`` over the TCP client protocol (`.manage`
/// frames); each carries the principal it acts as.
public enum ManagerRequest: Sendable, Hashable {
    /// Registers a metric (a stream name and its schema); `publishers` may publish events to it.
    case registerMetric(name: String, schema: Schema, publishers: AccessList)
    /// Unregisters a metric no statement uses.
    case unregisterMetric(name: String)
    /// Registers a persistent query and answers its topic; `subscribers` may subscribe to it.
    case registerStatement(text: String, kind: StatementKind, subscribers: AccessList)
    /// Drops one registration of a statement by its topic.
    case unregisterStatement(topic: String)
    /// Lists metrics and statements.
    case list
    /// Publishes events (field name → value) to a metric; `time` is the event time (default the
    /// engine clock).
    case publish(stream: String, events: [[String: Value]], time: Instant?)
    /// Subscribes to a topic; triggers then arrive on the same connection under the request's id
    /// (`capacity`: the subscriber queue, default the manager's).
    case subscribe(topic: String, capacity: Int?)
    /// Ends the subscription made by the request with this id.
    case unsubscribe(subscription: UInt64)

    /// Whether a statement is continuous (over streams) or a snapshot query (over the collection
    /// tree's tables, re-evaluated on every new generation).
    public enum StatementKind: UInt8, Sendable, Hashable {
        case stream = 1
        case snapshot = 2
    }
}

/// What a node answers to a ``ManagerRequest``.
public enum ManagerResponse: Sendable, Hashable {
    /// Done, nothing to report (unregistrations, unsubscribe, subscribe).
    case done
    /// The topic of a registered statement.
    case topic(TopicHandle)
    /// The registered metrics and statements.
    case listing(ManagerListing)
    /// How many triggers the published events caused.
    case published(triggers: Int)
}

/// The registered metrics and statements, as ``ManagerRequest/list`` answers them.
public struct ManagerListing: Sendable, Hashable {
    /// One registered metric.
    public struct Metric: Sendable, Hashable {
        public var name: String
        public var schema: Schema
    }

    /// One registered statement.
    public struct Statement: Sendable, Hashable {
        public var topic: TopicHandle
        public var text: String
        public var kind: ManagerRequest.StatementKind
        public var owners: [Principal]
        /// Triggers dropped on the topic because subscriber queues were full.
        public var droppedTriggers: Int
    }

    public var metrics: [Metric]
    public var statements: [Statement]

    /// Creates a listing.
    public init(metrics: [Metric], statements: [Statement]) {
        self.metrics = metrics
        self.statements = statements
    }
}
