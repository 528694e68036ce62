/// Builds the ``RoleAction/metric(_:)`` actions every role reports, with one set of labels:
///
/// - `query.rows_merged` (counter): rows carried by applied copies.
/// - `query.bytes_in`, `query.bytes_out` (counters): estimated wire bytes of updates.
/// - `query.generation_latency` (sample, seconds): from a generation's start to this tier's send or,
///   at a SQL node, to its arrival.
/// - `query.data_latency` (sample, seconds): age of the oldest row served in an answer.
/// - `query.publish_spread` (sample, seconds): newest minus oldest publish time of a table as a SQL
///   node receives it (how synchronous the snapshot is).
/// - `query.drops`, `query.returns`, `query.failovers`, `query.resyncs`, `query.stale_rejections`
///   (counters).
/// - `query.answers`, `query.failures`, `query.redirects` (counters) at SQL nodes.
enum RoleMetrics {
    static func counter(_ label: String, _ value: Int, role: String) -> RoleAction {
        .metric(MetricRecord(label, .counter, Double(value), dimensions: dimensions(role)))
    }

    static func sample(_ label: String, _ value: Double, role: String) -> RoleAction {
        .metric(MetricRecord(label, .sample, value, dimensions: dimensions(role)))
    }

    /// The roles' dimension dictionaries, made once: metrics are reported on every step, and a
    /// dictionary literal per record would allocate each time.
    private static let roleDimensions: [(role: String, dimensions: [String: String])] =
        ["proxy", "tla", "edge", "sql", "tla-child", "tla-sql"].map { ($0, ["role": $0]) }

    /// A short linear search: comparing a few small strings costs less than hashing one.
    static func dimensions(_ role: String) -> [String: String] {
        for known in roleDimensions where known.role == role { return known.dimensions }
        return ["role": role]
    }

    /// Appends the actions that send `update` to `peer` and count its estimated bytes out.
    static func send(_ update: GenerationUpdate, to peer: NodeID, role: String, into actions: inout [RoleAction]) {
        actions.append(.send(.update(update), to: peer))
        actions.append(counter("query.bytes_out", update.estimatedBytes, role: role))
    }

    /// Appends counters for an apply report (only the non-zero ones).
    static func applied(_ report: TableStore.ApplyReport, role: String, into actions: inout [RoleAction]) {
        if report.rowsMerged > 0 { actions.append(counter("query.rows_merged", report.rowsMerged, role: role)) }
        if report.stale > 0 { actions.append(counter("query.stale_rejections", report.stale, role: role)) }
        if !report.resync.isEmpty { actions.append(counter("query.resyncs", report.resync.count, role: role)) }
    }
}

extension GenerationUpdate {
    /// An estimate of the update's size on the wire: values plus per-copy and per-entry framing.
    ///
    /// Reads the entries and copies in place (by index) rather than copying each out of its array:
    /// it runs on every update in and out, over every copy.
    var estimatedBytes: Int { Self.estimatedBytes(of: entries) }

    /// ``estimatedBytes`` of an update carrying `entries`.
    static func estimatedBytes(of entries: [TableEntry]) -> Int {
        var total = 16
        for e in entries.indices {
            total += 32 + entries[e].table.rawValue.utf8.count
            for r in entries[e].removed.indices { total += 2 + entries[e].removed[r].rawValue.utf8.count }
            for c in entries[e].copies.indices {
                total += 24 + entries[e].copies[c].origin.rawValue.utf8.count + entries[e].copies[c].copy.estimatedBytes
            }
        }
        return total
    }
}
