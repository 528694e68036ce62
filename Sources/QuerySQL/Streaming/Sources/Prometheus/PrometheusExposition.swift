/// A parsed Prometheus text exposition (format 0.0.4): metric families in the order they first
/// appear, each with its `# TYPE`, `# HELP` and samples.
///
/// Parse one with ``parse(_:)``; turn it into events with ``PrometheusEventMapping``.
public struct PrometheusExposition: Sendable {
    /// The families, in order of first appearance.
    public var families: [PrometheusMetricFamily]

    /// Creates an exposition.
    public init(families: [PrometheusMetricFamily]) { self.families = families }

    /// Every sample, in text order within each family.
    public var samples: [PrometheusSample] { families.flatMap(\.samples) }
}

/// The declared type of a metric family (`# TYPE name type`).
public enum PrometheusMetricType: String, Sendable, Hashable, CaseIterable {
    case counter, gauge, histogram, summary, untyped
}

/// One metric family: a name, its type and help text, and its samples. A histogram's
/// `name_bucket`, `name_sum` and `name_count` samples, and a summary's `name`, `name_sum` and
/// `name_count` samples, belong to the family `name`.
public struct PrometheusMetricFamily: Sendable {
    public var name: String
    /// `untyped` when the exposition has no `# TYPE` line for it.
    public var type: PrometheusMetricType
    /// The `# HELP` text, unescaped.
    public var help: String?
    public var samples: [PrometheusSample]

    /// Creates a family.
    public init(
        name: String,
        type: PrometheusMetricType = .untyped,
        help: String? = nil,
        samples: [PrometheusSample] = []
    ) {
        self.name = name
        self.type = type
        self.help = help
        self.samples = samples
    }
}

/// One sample line: `name{label="value",…} value [timestamp]`.
public struct PrometheusSample: Sendable {
    /// The sample's own name (`http_request_duration_seconds_bucket`, not the family's).
    public var name: String
    /// Labels in text order, values unescaped.
    public var labels: [(name: String, value: String)]
    /// The value; `NaN`, `+Inf` and `-Inf` included.
    public var value: Double
    /// Milliseconds since the epoch, if the line has a timestamp.
    public var timestamp: Int64?
    /// The 1-based line it came from.
    public var line: Int

    /// Creates a sample.
    public init(
        name: String,
        labels: [(name: String, value: String)] = [],
        value: Double,
        timestamp: Int64? = nil,
        line: Int = 0
    ) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
        self.line = line
    }

    /// The value of the label called `name`, if present.
    public func label(_ name: String) -> String? { labels.first { $0.name == name }?.value }
}
