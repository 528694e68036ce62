/// A message between roles. Messages are transport-agnostic values: the in-process transport and
/// the simulator pass them as they are; the TCP transport encodes them with the wire codec.
///
/// The collection-tree cases are defined by the roles; see `Message+Codec.swift` for the encoding.
public enum Message: Sendable {
    /// Liveness signal between peers that have nothing else to say.
    case heartbeat(Heartbeat)
    /// Interest in tables (receiver → sender, refreshed every generation).
    case request(TableRequest)
    /// One generation's tables (sender → receiver).
    case update(GenerationUpdate)
    /// An update was applied (receiver → sender).
    case ack(TableAck)
    /// A delta could not be applied; send full copies (receiver → sender).
    case resync(ResyncRequest)
    /// The tables asked about are served by another partition.
    case redirect(Redirect)
    /// Deferred tables' entries, relayed from a TLA to its child.
    case deferral(Deferral)
    /// A TLA asks its child for the combined deferred tables of a generation.
    case combine(CombineRequest)
    /// A query from a client to a SQL node.
    case query(RemoteQuery)
    /// A SQL node's reply to a client's query.
    case queryResponse(QueryResponse)
}

/// A liveness signal.
public struct Heartbeat: Sendable, Hashable {
    /// The sender's newest generation, if it has one.
    public var generation: UInt64

    /// Creates a heartbeat.
    public init(generation: UInt64) { self.generation = generation }
}

/// A successful answer to a ``QueryRequest``.
public struct QueryAnswer: Sendable {
    /// The rows.
    public var result: QueryResult
    /// The generation the answer was computed on.
    public var generation: Generation
    /// How complete the data behind the answer was.
    public var completeness: Completeness

    /// Creates an answer.
    public init(result: QueryResult, generation: Generation, completeness: Completeness) {
        self.result = result
        self.generation = generation
        self.completeness = completeness
    }
}

/// How complete the data behind an answer is: publish-time spread and, per table, how many
/// machines and clusters contributed out of how many are known.
public struct Completeness: Sendable, Hashable {
    /// Per-table figures.
    public struct TableFigures: Sendable, Hashable {
        /// The table.
        public var table: TableName
        /// Machines whose rows were used.
        public var machinesContributing: Int
        /// Machines known to have the table.
        public var machinesKnown: Int
        /// Clusters whose rows were used.
        public var clustersContributing: Int
        /// Clusters known to have the table.
        public var clustersKnown: Int
        /// Machines or clusters dropped for silence, and since when.
        public var dropped: [NodeID: Instant]

        /// Creates figures.
        public init(
            table: TableName,
            machinesContributing: Int,
            machinesKnown: Int,
            clustersContributing: Int,
            clustersKnown: Int,
            dropped: [NodeID: Instant] = [:]
        ) {
            self.table = table
            self.machinesContributing = machinesContributing
            self.machinesKnown = machinesKnown
            self.clustersContributing = clustersContributing
            self.clustersKnown = clustersKnown
            self.dropped = dropped
        }
    }

    /// Oldest publish time of the rows used.
    public var oldestPublish: Instant?
    /// Newest publish time of the rows used.
    public var newestPublish: Instant?
    /// Per-table figures, sorted by table name.
    public var tables: [TableFigures]

    /// Creates a completeness report.
    public init(oldestPublish: Instant?, newestPublish: Instant?, tables: [TableFigures]) {
        self.oldestPublish = oldestPublish
        self.newestPublish = newestPublish
        self.tables = tables
    }
}
