import CoreMetrics
import QueryCore

/// The runtime's own metrics (the roles' go through ``RoleMetrics``).
struct RuntimeMetrics: Sendable {
    /// Queries submitted (local callers and clients).
    let queries: Counter
    /// Queries that ended in an error (including timeouts and cancellations).
    let queryFailures: Counter
    /// Messages delivered to hosted roles.
    let messagesReceived: Counter
    private let drops: [SendOutcome.DropReason: Counter]

    init(factory: any MetricsFactory, role: String) {
        queries = Counter(label: "query.runtime.queries", dimensions: [("role", role)], factory: factory)
        queryFailures = Counter(label: "query.runtime.query_failures", dimensions: [("role", role)], factory: factory)
        messagesReceived = Counter(
            label: "query.runtime.messages_received", dimensions: [("role", role)], factory: factory)
        var drops: [SendOutcome.DropReason: Counter] = [:]
        for reason in [SendOutcome.DropReason.unreachable, .queueFull, .tooLarge, .shuttingDown, .encodingFailed] {
            drops[reason] = Counter(
                label: "query.runtime.messages_dropped", dimensions: [("role", role), ("reason", reason.rawValue)],
                factory: factory)
        }
        self.drops = drops
    }

    func dropped(_ reason: SendOutcome.DropReason) {
        drops[reason]?.increment()
    }
}
