/// The completeness and silence bookkeeping of a collecting role: a ``ClusterProxy`` collecting its
/// machines, an ``Aggregator`` collecting its clusters.
///
/// Per source it tracks when it was last heard, the newest generation it reported, whether it has
/// sent its full state since the role started, and whether it is dropped (silent for `dropAfter`).
/// It decides when the role sends a generation: as soon as every live source has reported it (at
/// the generation start for sources with skewed clocks, or on a report), and at the role's slot
/// (its tier's offset) at the latest, so a silent source cannot stall a generation. Each generation
/// is sent at most once.
///
/// The role keeps what is specific to it (interest, failover between redundant proxies) and asks
/// the collector when to send; the collector returns the log and metric actions it causes.
///
/// Sources are kept densely, in sorted order (``names`` and ``states`` share indices), so iterating
/// them never sorts; the counts the roles ask for on every message (dropped, never heard, still to
/// report the running generation) are kept up to date as sources change instead of being counted.
struct Collector: Sendable {
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
        /// While not ``synced``: the tables it has sent in full since (a reply to a resync of one
        /// table is full for that table only).
        var receivedInFull: Set<TableName> = []
        /// Heard again after a drop, but still dropped until it has sent its full state (see
        /// ``Configuration/returnsWithFullState``).
        var returning = false
        /// Since when the source's silence counts (`nil`: it is asked for nothing now, so it is
        /// not silent however long it sends nothing): when the role began asking it for something,
        /// moved back by the silence it had kept while asked before (see
        /// ``noteAsking(_:sources:now:)``). The default, the start of time, counts all silence.
        var askedSince: Instant? = .zero
        /// The silence the source had kept while asked, when the role stopped asking it: counted
        /// again from when it is asked again (a source that stopped answering is not let off by a
        /// lapse of interest).
        var silenceWhileAsked: Duration = .zero

        /// Whether the source is not dropped.
        var isLive: Bool { droppedSince == nil }
    }

    /// Collector settings.
    struct Configuration: Sendable {
        /// The role's tier (whose slot is the send deadline).
        var tier: GenerationSchedule.Tier
        /// When generations start.
        var schedule: GenerationSchedule
        /// A source silent this long is dropped.
        var dropAfter: Duration
        /// The timer that fires at the role's slot.
        var deadlineTimer: TimerID
        /// The role's metric label (`proxy`, `tla`).
        var role: String
        /// What a source is called in logs (`machine`, `cluster`).
        var noun: String
        /// While warming up, also wait for sources that never reported (a proxy waits for its
        /// machines; a TLA only for clusters that have reported through a proxy).
        var warmUpWaitsForSilentSources: Bool
        /// A dropped source heard again stays dropped (its rows unused) until it has sent its full
        /// state, and is marked unsynced so the role asks for it: a TLA must not serve a returning
        /// cluster's rows from before its drop beside fresh ones (its proxy may have restarted and
        /// hold back tables while warming up, or an update carrying them may be lost).
        var returnsWithFullState = false
    }

    /// The settings.
    let configuration: Configuration
    /// The sources' names, sorted; ``states`` holds each one's state at the same index.
    private(set) var names: [NodeID] = []
    /// The sources' states, at the index of their name in ``names``.
    private(set) var states: [Source] = []
    /// Each source's index in ``names`` and ``states``.
    private var slots: [NodeID: Int] = [:]
    /// How many sources are dropped.
    private var droppedCount = 0
    /// How many live sources were never heard since the role started.
    private(set) var neverHeardCount = 0
    /// The generation ``behind`` counts for (`nil`: not counted yet).
    private var target: UInt64?
    /// How many live sources have not reported ``target``.
    private var behind = 0
    /// The newest generation sent (or skipped).
    private(set) var sent: UInt64 = 0
    /// When the role started.
    private(set) var startedAt = Instant.zero
    /// ``Source/askedSince`` for sources adopted from now on (what the role last said of all of them).
    private var askingSince: Instant? = .zero
    /// The schedule's epoch and interval in nanoseconds (see ``runningGeneration(at:)``).
    private let epochNanoseconds: Int64
    private let intervalNanoseconds: Int64

    /// A collector expecting `sources`; sources not listed that report are adopted.
    init(configuration: Configuration, sources: [NodeID]) {
        self.configuration = configuration
        epochNanoseconds = configuration.schedule.epoch.nanosecondsSinceEpoch
        intervalNanoseconds = configuration.schedule.interval.nanoseconds
        names = Set(sources).sorted()
        states = Array(repeating: Source(), count: names.count)
        for (index, name) in names.enumerated() { slots[name] = index }
        neverHeardCount = names.count
    }

    // MARK: Sources

    /// The number of sources.
    var count: Int { names.count }

    /// Whether `source` is known.
    func contains(_ source: NodeID) -> Bool { slots[source] != nil }

    /// The index of `source` in ``names`` and ``states``, if it is known.
    func index(of source: NodeID) -> Int? { slots[source] }

    /// The state of `source`, if it is known.
    subscript(source: NodeID) -> Source? { slots[source].map { states[$0] } }

    /// Sources currently dropped and since when, sorted.
    var dropped: [DroppedNode] {
        guard droppedCount > 0 else { return [] }
        var result: [DroppedNode] = []
        result.reserveCapacity(droppedCount)
        for index in states.indices {
            if let since = states[index].droppedSince { result.append(DroppedNode(node: names[index], since: since)) }
        }
        return result  // in name order, which is DroppedNode's order (one entry per name)
    }

    /// Whether some source is dropped.
    var anyDropped: Bool { droppedCount > 0 }

    /// Whether `source` is dropped.
    func isDropped(_ source: NodeID) -> Bool { self[source]?.droppedSince != nil }

    /// Since when `source` is dropped, if it is.
    func droppedSince(_ source: NodeID) -> Instant? { self[source]?.droppedSince }

    /// When `source` was last heard.
    func lastHeard(_ source: NodeID) -> Instant? { self[source]?.lastHeard }

    /// The index of `source`, adopting it (live, never heard, nothing reported) if it is new.
    private mutating func slot(for source: NodeID) -> Int {
        if let index = slots[source] { return index }
        // Adoption is rare (a machine not in the configuration): keep the names sorted and
        // renumber the sources after the new one.
        var position = names.count
        while position > 0, source < names[position - 1] { position -= 1 }
        names.insert(source, at: position)
        var adopted = Source()
        adopted.askedSince = askingSince
        states.insert(adopted, at: position)
        for index in position..<names.count { slots[names[index]] = index }
        neverHeardCount += 1
        if let target, 0 < target { behind += 1 }
        return position
    }

    /// Sets the state at `index` to `new`, keeping the counts in step.
    private mutating func update(_ index: Int, to new: Source) {
        let old = states[index]
        states[index] = new
        if old.isLive != new.isLive { droppedCount += new.isLive ? -1 : 1 }
        neverHeardCount += (Self.isNeverHeard(new) ? 1 : 0) - (Self.isNeverHeard(old) ? 1 : 0)
        if let target { behind += (Self.isBehind(new, target) ? 1 : 0) - (Self.isBehind(old, target) ? 1 : 0) }
    }

    private static func isNeverHeard(_ source: Source) -> Bool { source.lastHeard == nil && source.isLive }

    private static func isBehind(_ source: Source, _ number: UInt64) -> Bool { source.isLive && source.reported < number }

    /// Notes that `source` was heard now; a dropped source returns (logged and counted).
    ///
    /// - Returns: The source's index in ``names`` and ``states`` (valid until a source is adopted).
    @discardableResult
    mutating func heard(_ source: NodeID, now: Instant, into actions: inout [RoleAction]) -> Int {
        let index = slot(for: source)
        heard(at: index, now: now, into: &actions)
        return index
    }

    /// The index of `source` in ``names`` and ``states``, adopting it (live, never heard, nothing
    /// reported) if it is new; valid until another source is adopted.
    mutating func index(adopting source: NodeID) -> Int { slot(for: source) }

    /// ``heard(_:now:into:)`` for the source at `index`.
    mutating func heard(at index: Int, now: Instant, into actions: inout [RoleAction]) {
        let source = names[index]
        if let since = states[index].droppedSince {
            var state = states[index]
            state.lastHeard = now
            if !configuration.returnsWithFullState {
                state.droppedSince = nil
                note("returned", source, ("dropped.since", "\(since)"), counter: "query.returns", into: &actions)
            } else if !state.returning {
                state.returning = true
                state.synced = false
                state.receivedInFull = []
                let metadata = [configuration.noun: source.rawValue, "dropped.since": "\(since)"]
                actions.append(.log(LogRecord(.info, "\(configuration.noun) heard again: returns with its full state", metadata: metadata)))
            }
            update(index, to: state)
            return
        }
        // A live source: only its last-heard time changes, and only the never-heard count depends on it.
        if states[index].lastHeard == nil { neverHeardCount -= 1 }
        states[index].lastHeard = now
    }

    /// Notes that `source` reported generation `number`; `full` if the report replaced the role's
    /// whole view of the source. Returns whether `number` is newer than anything it reported before.
    @discardableResult
    mutating func reported(_ source: NodeID, generation number: UInt64, full: Bool) -> Bool {
        reported(at: slot(for: source), generation: number, full: full)
    }

    /// ``reported(_:generation:full:)`` for the source at `index` (from ``heard(_:now:into:)`` in the same step).
    @discardableResult
    mutating func reported(at index: Int, generation number: UInt64, full: Bool) -> Bool {
        // In place: only the reported generation and the synced flag change, and only the count
        // still to report ``target`` depends on them.
        let live = states[index].droppedSince == nil
        let old = states[index].reported
        let newest = number > old
        if newest { states[index].reported = number }
        if full, !states[index].synced { states[index].synced = true }
        if let target, live, old < target, number >= target { behind -= 1 }
        return newest
    }

    /// Notes that `source` reported generation `number`, with `tables` in full (entries replacing
    /// its scope): it is synced once every table in `wanted` came in full since it was marked
    /// unsynced, in one update or several (a resync reply carries one table). With nothing wanted
    /// nothing of its state is known, so it stays unsynced: a proxy may still send a restarted TLA
    /// what changed since its earlier incarnation acknowledged, and once a table is wanted the
    /// source must be asked to reset, or its unchanged rows would never come.
    ///
    /// - Returns: Whether `number` is the newest generation it reported.
    @discardableResult
    mutating func reported(
        _ source: NodeID, generation number: UInt64, inFull tables: [TableName], wanted: [TableName]
    ) -> Bool {
        let index = slot(for: source)
        var state = states[index]
        let newest = number > state.reported
        state.reported = max(state.reported, number)
        if !state.synced {
            state.receivedInFull.formUnion(tables)
            if !wanted.isEmpty, wanted.allSatisfy(state.receivedInFull.contains) {
                state.synced = true
                state.receivedInFull = []
            }
        }
        update(index, to: state)
        return newest
    }

    /// Ends the return of a dropped `source` heard again once it has sent its full state (see
    /// ``Configuration/returnsWithFullState``; logged and counted). Returns whether it returned.
    @discardableResult
    mutating func finishReturn(_ source: NodeID, into actions: inout [RoleAction]) -> Bool {
        guard let index = slots[source], states[index].returning, states[index].synced,
            let since = states[index].droppedSince
        else { return false }
        var state = states[index]
        state.returning = false
        state.droppedSince = nil
        update(index, to: state)
        note("returned", source, ("dropped.since", "\(since)"), counter: "query.returns", into: &actions)
        return true
    }

    /// Whether `source` has sent its full state since the role started (or was marked unsynced). A
    /// role keeps asking an unsynced source to reset what it believes the role holds: a lost reset
    /// request would otherwise leave the source sending deltas against state the role lost.
    func isSynced(_ source: NodeID) -> Bool { self[source]?.synced ?? false }

    /// Forgets that `source` sent its full state (a failover to another of its proxies).
    mutating func markUnsynced(_ source: NodeID) {
        guard let index = slots[source] else { return }
        states[index].synced = false  // no count depends on it
        states[index].receivedInFull = []
    }

    /// Notes whether the role now asks `sources` (every source when `nil`, and sources adopted
    /// later) for anything: the silence of a source counts only while it is asked, from the moment
    /// asking began (a role that wants no table asks its sources for nothing, and they rightly send
    /// nothing; were that silence counted, every source would be dropped after `dropAfter` and
    /// the first tables wanted again would wait for them to return).
    mutating func noteAsking(_ asking: Bool, sources: [NodeID]? = nil, now: Instant) {
        guard let sources else {
            askingSince = asking ? (askingSince ?? now) : nil
            for index in states.indices { noteAsking(asking, at: index, now: now) }
            return
        }
        for source in sources {
            if let index = slots[source] { noteAsking(asking, at: index, now: now) }
        }
    }

    /// ``noteAsking(_:sources:now:)`` for the source at `index`.
    private mutating func noteAsking(_ asking: Bool, at index: Int, now: Instant) {
        if asking {
            guard states[index].askedSince == nil else { return }
            states[index].askedSince = now - states[index].silenceWhileAsked
            states[index].silenceWhileAsked = .zero
        } else if let asked = states[index].askedSince {
            let heard = max(states[index].lastHeard ?? startedAt, asked)
            states[index].silenceWhileAsked = now > heard ? now - heard : .zero
            states[index].askedSince = nil
        }
    }

    /// The live sources whose silence, as ``checkSilence(now:into:)`` counts it, is at least
    /// `threshold` now, with that silence (usually none: one pass over the states, no lookups).
    func silentSources(now: Instant, atLeast threshold: Duration) -> [NodeID: Duration] {
        var silent: [NodeID: Duration] = [:]
        for index in states.indices where states[index].isLive {
            guard let asked = states[index].askedSince else { continue }
            let heard = max(states[index].lastHeard ?? startedAt, asked)
            if now - heard >= threshold { silent[names[index]] = now - heard }
        }
        return silent
    }

    /// Drops every live source silent for `dropAfter` (logged and counted).
    mutating func checkSilence(now: Instant, into actions: inout [RoleAction]) {
        for index in states.indices where states[index].isLive {
            // Silence while the source was asked for nothing does not count.
            guard let asked = states[index].askedSince else { continue }
            let heard = max(states[index].lastHeard ?? startedAt, asked)
            guard now - heard >= configuration.dropAfter else { continue }
            var state = states[index]
            state.droppedSince = now
            update(index, to: state)
            let silence = "\((now - heard).secondsDouble)"
            note("dropped after silence", names[index], ("silent.s", silence), counter: "query.drops", into: &actions)
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

    /// Whether every live source has reported generation `number`.
    ///
    /// - Complexity: O(1) for the generation the senders ask about (see ``counting(_:)``),
    ///   O(sources) for another.
    func isComplete(_ number: UInt64) -> Bool {
        if target == number { return behind == 0 }
        return !states.contains { Self.isBehind($0, number) }
    }

    /// Whether every live source has reported generation `number`, keeping a running count of the
    /// sources still to report it from now on (the running generation is asked about on every
    /// report; only a change of generation counts afresh).
    private mutating func counting(_ number: UInt64) -> Bool {
        if target != number {
            target = number
            behind = states.reduce(0) { $0 + (Self.isBehind($1, number) ? 1 : 0) }
        }
        return behind == 0
    }

    /// Live sources that have not reported generation `number`, sorted.
    func waitingFor(_ number: UInt64) -> [NodeID] {
        states.indices.filter { Self.isBehind(states[$0], number) }.map { names[$0] }
    }

    /// Whether the role is still learning its sources' full state after a start: a restarted role
    /// must not send downstream a table missing sources it simply has not heard yet (it would
    /// replace what the receiver holds). Bounded by two intervals, after which silent sources are
    /// treated as absent.
    func warmingUp(at now: Instant) -> Bool {
        let waitsForSilent = configuration.warmUpWaitsForSilentSources
        return now - startedAt < configuration.schedule.interval * 2
            && states.contains { !$0.synced && $0.isLive && (waitsForSilent || $0.reported > 0) }
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
        guard sent < number, counting(number) else { return nil }
        return claim(number)
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
        let current = runningGeneration(at: now)
        guard sent < current, number >= current, counting(current) else { return nil }
        return claim(current)
    }

    /// ``GenerationSchedule/number(at:)`` in integer nanoseconds, with the interval converted once
    /// (converting a `Duration` divides 128-bit numbers; this runs on every report).
    func runningGeneration(at now: Instant) -> UInt64 {
        let elapsed = now.nanosecondsSinceEpoch &- epochNanoseconds
        guard elapsed >= 0 else { return 0 }
        return UInt64(elapsed / intervalNanoseconds) + 1
    }

    /// Marks `number` sent and returns it.
    private mutating func claim(_ number: UInt64) -> UInt64 {
        sent = number
        return number
    }
}
