@testable import QueryCore

/// The collector as it was before its sources were kept densely with running counts (a
/// dictionary of sources, counted and sorted on every question), kept to hold the new one to:
/// `CollectorDifferentialTests` runs both through the same random histories.
struct ReferenceCollector: Sendable {
    /// What the collector knows about one source.
    struct Source: Sendable, Equatable {
        /// When the source was last heard (`nil`: never since the role started).
        var lastHeard: Instant?
        /// The newest generation it reported.
        var reported: UInt64 = 0
        /// Since when it is dropped, if it is.
        var droppedSince: Instant?
        /// It has sent its full state since the role started (or since it was marked unsynced).
        var synced = false

        /// Whether the source is not dropped.
        var isLive: Bool { droppedSince == nil }
    }

    /// The settings.
    let configuration: Collector.Configuration
    /// Sources by name.
    private(set) var sources: [NodeID: Source] = [:]
    /// The newest generation sent (or skipped).
    private(set) var sent: UInt64 = 0
    /// When the role started.
    private(set) var startedAt = Instant.zero

    /// A collector expecting `sources`; sources not listed that report are adopted.
    init(configuration: Collector.Configuration, sources: [NodeID]) {
        self.configuration = configuration
        for source in sources { self.sources[source] = Source() }
    }

    // MARK: Sources

    /// Sources currently dropped and since when, sorted.
    var dropped: [DroppedNode] {
        sources.compactMap { id, s in s.droppedSince.map { DroppedNode(node: id, since: $0) } }.sorted()
    }

    /// Whether some source is dropped.
    var anyDropped: Bool { sources.values.contains { !$0.isLive } }

    /// Whether `source` is dropped.
    func isDropped(_ source: NodeID) -> Bool { sources[source]?.droppedSince != nil }

    /// Since when `source` is dropped, if it is.
    func droppedSince(_ source: NodeID) -> Instant? { sources[source]?.droppedSince }

    /// When `source` was last heard.
    func lastHeard(_ source: NodeID) -> Instant? { sources[source]?.lastHeard }

    /// Live sources never heard since the role started.
    var neverHeardCount: Int { sources.values.reduce(0) { $0 + ($1.lastHeard == nil && $1.isLive ? 1 : 0) } }

    /// Notes that `source` was heard now; a dropped source returns (logged and counted).
    mutating func heard(_ source: NodeID, now: Instant, into actions: inout [RoleAction]) {
        var state = sources[source] ?? Source()
        if let since = state.droppedSince {
            state.droppedSince = nil
            note("returned", source, ("dropped.since", "\(since)"), counter: "query.returns", into: &actions)
        }
        state.lastHeard = now
        sources[source] = state
    }

    /// Notes that `source` reported generation `number`; `full` if the report replaced the role's
    /// whole view of the source. Returns whether `number` is newer than anything it reported before.
    @discardableResult
    mutating func reported(_ source: NodeID, generation number: UInt64, full: Bool) -> Bool {
        var state = sources[source] ?? Source()
        let newest = number > state.reported
        state.reported = max(state.reported, number)
        if full { state.synced = true }
        sources[source] = state
        return newest
    }

    /// Whether `source` has sent its full state since the role started (or was marked unsynced). A
    /// role keeps asking an unsynced source to reset what it believes the role holds: a lost reset
    /// request would otherwise leave the source sending deltas against state the role lost.
    func isSynced(_ source: NodeID) -> Bool { sources[source]?.synced ?? false }

    /// Forgets that `source` sent its full state (a failover to another of its proxies).
    mutating func markUnsynced(_ source: NodeID) { sources[source]?.synced = false }

    /// Drops every live source silent for `dropAfter` (logged and counted).
    mutating func checkSilence(now: Instant, into actions: inout [RoleAction]) {
        for name in sources.keys.sorted() where sources[name]!.isLive {
            let heard = sources[name]!.lastHeard ?? startedAt
            guard now - heard >= configuration.dropAfter else { continue }
            sources[name]!.droppedSince = now
            let silence = "\((now - heard).secondsDouble)"
            note("dropped after silence", name, ("silent.s", silence), counter: "query.drops", into: &actions)
        }
    }

    /// Logs a drop or return of `source` and counts it.
    private func note(
        _ event: String,
        _ source: NodeID,
        _ detail: (key: String, value: String),
        counter: String,
        into actions: inout [RoleAction]
    ) {
        let metadata = [configuration.noun: source.rawValue, detail.key: detail.value]
        actions.append(.log(LogRecord(.info, "\(configuration.noun) \(event)", metadata: metadata)))
        actions.append(RoleMetrics.counter(counter, 1, role: configuration.role))
    }

    /// Whether every live source has reported generation `number` (no allocation).
    func isComplete(_ number: UInt64) -> Bool {
        !sources.values.contains { $0.isLive && $0.reported < number }
    }

    /// Live sources that have not reported generation `number`, sorted.
    func waitingFor(_ number: UInt64) -> [NodeID] {
        sources.filter { $0.value.isLive && $0.value.reported < number }.keys.sorted()
    }

    /// Whether the role is still learning its sources' full state after a start: a restarted role
    /// must not send downstream a table missing sources it simply has not heard yet (it would
    /// replace what the receiver holds). Bounded by two intervals, after which silent sources are
    /// treated as absent.
    func warmingUp(at now: Instant) -> Bool {
        let waitsForSilent = configuration.warmUpWaitsForSilentSources
        return now - startedAt < configuration.schedule.interval * 2
            && sources.values.contains { !$0.synced && $0.isLive && (waitsForSilent || $0.reported > 0) }
    }

    // MARK: When to send

    /// The role started now: the running generation is joined midway and skipped.
    mutating func start(now: Instant) {
        startedAt = now
        sent = configuration.schedule.number(at: now)
    }

    /// At a generation start: the generation to send now if every live source already reported it
    /// (sources with skewed clocks may have).
    mutating func generationStarted(now: Instant) -> UInt64? {
        let number = configuration.schedule.latestSlot(.edge, at: now)
        return claim(number, if: sent < number && isComplete(number))
    }

    /// The timer for the role's slot in the generation started at or before `now`.
    func deadline(now: Instant) -> RoleAction {
        let number = configuration.schedule.latestSlot(.edge, at: now)
        return .setTimer(configuration.deadlineTimer, at: configuration.schedule.slot(configuration.tier, of: number))
    }

    /// At the role's slot: drops silent sources and returns the generation to send if it was not
    /// sent yet (incomplete: the missing sources are logged).
    mutating func deadlineReached(now: Instant, into actions: inout [RoleAction]) -> UInt64? {
        checkSilence(now: now, into: &actions)
        let number = configuration.schedule.latestSlot(configuration.tier, at: now)
        guard sent < number else { return nil }
        let missing = waitingFor(number).map(\.rawValue).joined(separator: ", ")
        actions.append(
            .log(
                LogRecord(
                    .debug,
                    "sending incomplete generation",
                    metadata: ["generation": "\(number)", "missing": missing]
                )
            )
        )
        sent = number
        return number
    }

    /// After a source reported generation `number`: the running generation to send now, if that
    /// report completed it.
    mutating func reportArrived(generation number: UInt64, now: Instant) -> UInt64? {
        let current = configuration.schedule.number(at: now)
        return claim(current, if: sent < current && number >= current && isComplete(current))
    }

    /// Marks `number` sent and returns it, if `condition` (which includes "not sent yet") holds.
    private mutating func claim(_ number: UInt64, if condition: Bool) -> UInt64? {
        guard condition else { return nil }
        sent = number
        return number
    }
}
