import CoreMetrics
import QueryCore
import Synchronization

/// Forwards roles' ``QueryCore/MetricRecord``s to swift-metrics, caching one handler per
/// (label, dimensions).
///
/// Guards the backend against records it would reject: every series gets a `role` dimension (so a
/// family is never a mix of labelled and unlabelled series), and a label first seen as one kind
/// (counter, gauge, sample) keeps that kind; a record of another kind under the same label is
/// counted in `query.runtime.metric_conflicts` and ignored.
final class RoleMetrics: Sendable {
    private struct Key: Hashable {
        var label: String
        var dimensions: [String: String]
    }

    private enum Handler {
        case counter(FloatingPointCounter)
        case gauge(Gauge)
        case sample(Recorder)
    }

    private struct State {
        var kinds: [String: MetricRecord.Kind] = [:]
        var handlers: [Key: Handler] = [:]
    }

    private let factory: any MetricsFactory
    private let role: String
    private let state = Mutex(State())
    private let conflicts: Counter

    init(factory: any MetricsFactory, role: String) {
        self.factory = factory
        self.role = role
        self.conflicts = Counter(label: "query.runtime.metric_conflicts", dimensions: [("role", role)], factory: factory)
    }

    func record(_ record: MetricRecord) {
        var dimensions = record.dimensions
        dimensions["role"] = dimensions["role"] ?? role
        let key = Key(label: record.label, dimensions: dimensions)
        let handler: Handler? = state.withLock { state in
            if let kind = state.kinds[record.label], kind != record.kind { return nil }
            state.kinds[record.label] = record.kind
            if let handler = state.handlers[key] { return handler }
            let pairs = dimensions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            let handler: Handler
            switch record.kind {
            case .counter:
                handler = .counter(FloatingPointCounter(label: record.label, dimensions: pairs, factory: factory))
            case .gauge:
                handler = .gauge(Gauge(label: record.label, dimensions: pairs, factory: factory))
            case .sample:
                handler = .sample(Recorder(label: record.label, dimensions: pairs, aggregate: true, factory: factory))
            }
            state.handlers[key] = handler
            return handler
        }
        switch handler {
        case .counter(let counter): counter.increment(by: max(0, record.value))
        case .gauge(let gauge): gauge.record(record.value)
        case .sample(let recorder): recorder.record(record.value)
        case nil: conflicts.increment()
        }
    }
}
