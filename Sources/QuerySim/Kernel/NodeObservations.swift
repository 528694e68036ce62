public import QueryCore

/// One captured log line of a simulated node.
public struct CapturedLog: Sendable, Hashable, CustomStringConvertible {
    /// Virtual time of the line (simulation time, not the node's skewed clock).
    public var time: Instant
    /// The node that logged it.
    public var node: NodeID
    /// The record.
    public var record: LogRecord

    public var description: String {
        let metadata = record.metadata.keys.sorted().map { "\($0)=\(record.metadata[$0]!)" }.joined(separator: " ")
        let time = String(format3(self.time.seconds))
        return "[\(time)s] \(node) \(record.level) \(record.message)\(metadata.isEmpty ? "" : " " + metadata)"
    }
}

/// A per-node ring buffer of log lines, printed only when a run fails (like cluster-membership's
/// `LogCapture`).
public struct LogCapture: Sendable {
    /// The most recent lines, oldest first.
    public var lines: ArraySlice<CapturedLog> { storage[start...] }
    /// Lines discarded because the buffer was full.
    public private(set) var discarded = 0
    /// The most lines kept.
    public let capacity: Int
    private var storage: [CapturedLog] = []
    private var start = 0

    /// Creates an empty capture buffer.
    public init(capacity: Int) { self.capacity = max(capacity, 0) }

    /// Appends a line, discarding the oldest when full (amortised O(1)).
    public mutating func append(_ line: CapturedLog) {
        guard capacity > 0 else {
            discarded += 1
            return
        }
        storage.append(line)
        if storage.count - start > capacity {
            start += 1
            discarded += 1
        }
        if start >= capacity {
            storage.removeFirst(start)
            start = 0
        }
    }
}

/// Identifies one metric series: a label plus its dimensions in canonical (sorted) form.
public struct MetricKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The metric label.
    public var label: String
    /// `key=value` pairs sorted by key, joined with `,`.
    public var dimensions: String

    /// Creates a key from a record.
    public init(_ record: MetricRecord) {
        self.label = record.label
        self.dimensions = record.dimensions.keys.sorted().map { "\($0)=\(record.dimensions[$0]!)" }
            .joined(separator: ",")
    }

    /// Creates a key from parts.
    public init(label: String, dimensions: String = "") {
        self.label = label
        self.dimensions = dimensions
    }

    public static func < (lhs: MetricKey, rhs: MetricKey) -> Bool {
        (lhs.label, lhs.dimensions) < (rhs.label, rhs.dimensions)
    }

    public var description: String { dimensions.isEmpty ? label : "\(label){\(dimensions)}" }
}

/// The running aggregate of one metric series on one node.
public struct MetricAggregate: Sendable, Hashable {
    /// How the series combines.
    public var kind: MetricRecord.Kind
    /// Observations recorded.
    public var count = 0
    /// Sum of values (the counter's total; the sum of samples).
    public var sum = 0.0
    /// Smallest value seen.
    public var min = Double.infinity
    /// Largest value seen.
    public var max = -Double.infinity
    /// The last value (a gauge's current value).
    public var last = 0.0

    /// An empty aggregate.
    public init(kind: MetricRecord.Kind) { self.kind = kind }

    /// Adds one observation.
    public mutating func record(_ value: Double) {
        count += 1
        sum += value
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        last = value
    }

    /// The value a report shows: a counter's total, a gauge's current value, a sample's mean.
    public var value: Double {
        switch kind {
        case .counter: sum
        case .gauge: last
        case .sample: count == 0 ? 0 : sum / Double(count)
        }
    }
}

/// What became of one query submitted to a simulated SQL node.
public struct QueryRecord: Sendable {
    /// The query's identity.
    public var id: QueryID
    /// The node it was sent to.
    public var node: NodeID
    /// The SQL text.
    public var sql: String
    /// When it was submitted.
    public var submittedAt: Instant
    /// When the answer came back, if it did.
    public var answeredAt: Instant?
    /// The answer, if any.
    public var outcome: Result<QueryAnswer, QueryError>?
    /// How many answers arrived (more than one is a bug the invariant checkers report).
    public var answerCount = 0
    /// How many redirects the simulated client followed (``node`` is the last node asked).
    public var redirects = 0

    /// Whether an answer (success or failure) has arrived.
    public var isAnswered: Bool { outcome != nil }
}

/// Formats `x` with three decimals without Foundation.
func format3(_ x: Double) -> String {
    let scaled = (x * 1000).rounded()
    let negative = scaled < 0
    let magnitude = Swift.abs(scaled)
    guard magnitude < 9.0e15 else { return "\(x)" }
    let whole = Int64(magnitude) / 1000
    let fraction = Int64(magnitude) % 1000
    let digits = String(fraction)
    return (negative ? "-" : "") + "\(whole)." + String(repeating: "0", count: 3 - digits.count) + digits
}
