/// A sans-I/O state machine for one node of the collection tree.
///
/// A role never sleeps, reads a clock, opens a socket or spawns a task: the shell (QuerySim's
/// simulator or QueryTransport's `NodeRuntime`) feeds it ``RoleInput``s with the current time and
/// carries out the ``RoleAction``s it returns. Same code, same messages, same bugs in both shells.
public protocol Role: Sendable {
    /// This node's identity.
    var id: NodeID { get }

    /// Handles one input at time `now` and returns what the shell must do, in order.
    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction]
}

/// A timer a role asked for; it comes back as ``RoleInput/timerFired(_:)``.
public struct TimerID: Sendable, Hashable, CustomStringConvertible {
    /// A name unique within the role (`generation`, `query.42.timeout`, …).
    public var name: String

    /// Creates a timer identity.
    public init(_ name: String) { self.name = name }

    public var description: String { name }
}

/// Identifies one query at the node that answers it.
public struct QueryID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// A number unique per client connection or per simulation.
    public var rawValue: UInt64

    /// Creates a query identity.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { "q\(rawValue)" }

    public static func < (lhs: QueryID, rhs: QueryID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A SQL query submitted to a SQL node.
public struct QueryRequest: Sendable, Hashable {
    /// The query's identity, echoed in the answer.
    public var id: QueryID
    /// The SQL text.
    public var sql: String

    /// Creates a request.
    public init(id: QueryID, sql: String) {
        self.id = id
        self.sql = sql
    }
}

/// Severity of a ``LogRecord`` (mirrors swift-log's levels without depending on them here).
public enum LogLevel: Int, Sendable, Hashable, Comparable {
    case trace, debug, info, notice, warning, error, critical

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A log line a role wants written; the shell decides where (swift-log in NodeRuntime, a per-node
/// capture buffer in the simulator). Never carries row contents.
public struct LogRecord: Sendable, Hashable {
    /// Severity.
    public var level: LogLevel
    /// The message.
    public var message: String
    /// Dotted metadata keys (`table`, `generation`, `peer`, …) and their values.
    public var metadata: [String: String]

    /// Creates a log record.
    public init(_ level: LogLevel, _ message: String, metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}

/// A metric observation a role reports; the shell forwards it to swift-metrics or a test sink.
public struct MetricRecord: Sendable, Hashable {
    /// How the value combines.
    public enum Kind: Sendable, Hashable {
        /// Add `value` to a counter.
        case counter
        /// Set a gauge to `value`.
        case gauge
        /// Record one duration or size sample.
        case sample
    }

    /// Lower-case dotted label (`query.rows_merged`, `query.bytes_in`, …).
    public var label: String
    /// How the value combines.
    public var kind: Kind
    /// The value.
    public var value: Double
    /// Low-cardinality dimensions (`table`, `role`).
    public var dimensions: [String: String]

    /// Creates a metric record.
    public init(_ label: String, _ kind: Kind, _ value: Double, dimensions: [String: String] = [:]) {
        self.label = label
        self.kind = kind
        self.value = value
        self.dimensions = dimensions
    }
}
