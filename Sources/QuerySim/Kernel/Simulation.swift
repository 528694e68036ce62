public import QueryCore
import HeapModule

/// A deterministic discrete-event simulation of nodes running ``Role``s over a simulated network.
///
/// The simulation owns a virtual clock (``now`` moves only as events are processed), one event
/// queue ordered by `(time, sequence)` so ties break by insertion order, and random generators
/// derived from one seed. Roles see `now + skew` of their node; timers they set in that skewed
/// time fire at the matching virtual time. Crashing a node throws its role away with its timers;
/// restarting it creates a fresh role from the node's factory and feeds it ``RoleInput/started``.
///
/// Every handled input is folded into ``traceHash``: the same seed and the same script give the
/// same hash, bit for bit.
///
/// - Important: A simulation is single-threaded and not `Sendable`; drive it from one task.
public final class Simulation {
    /// The configuration the simulation was created with.
    public let configuration: SimulationConfiguration
    /// Current network conditions; change them at any time (scripted loss, latency spikes).
    public var network: NetworkConditions
    /// The virtual clock.
    public private(set) var now: Instant = .zero
    /// What the network did so far.
    public private(set) var statistics = NetworkStatistics()
    /// Running hash over every handled input (see ``SimulationConfiguration/TraceDetail``).
    public private(set) var traceHash = TraceHash()
    /// Inputs handled by roles so far.
    public private(set) var stepsProcessed = 0
    /// Problems the shell itself noticed: duplicate answers, answers to unknown queries, sends to
    /// unknown nodes. Invariant checkers report these as failures.
    public private(set) var shellViolations: [String] = []

    /// A CPU clock (seconds) read around every role invocation when set, for benchmarks: the time
    /// spent inside roles accumulates in ``roleSeconds``. It never influences the run.
    public var roleClock: (() -> Double)?
    /// Seconds spent inside roles per tier (the node name up to `:`), measured with ``roleClock``.
    public private(set) var roleSeconds: [String: Double] = [:]
    /// Role invocations per tier.
    public private(set) var roleSteps: [String: Int] = [:]

    /// Forgets ``roleSeconds`` and ``roleSteps`` (for example after a warm-up).
    public func resetRoleTimes() {
        roleSeconds.removeAll()
        roleSteps.removeAll()
    }

    private var queue = Heap<ScheduledEvent>()
    private var sequence: UInt64 = 0
    private var nodes: [SimulatedNode] = []
    private var nodeIndex: [NodeID: Int] = [:]
    private var networkRandom: SimulationRandom
    private var controls: [UInt64: (Simulation) -> Void] = [:]
    private var nextControl: UInt64 = 0
    private var nextTimerToken: UInt64 = 0
    private var nextQueryID: UInt64 = 1
    private var queryRecords: [QueryRecord] = []
    private var queryIndex: [QueryID: Int] = [:]
    private var linkClock: [Link: Instant] = [:]
    private var nextIsolationGroup = 1
    private var observers: [(SimulationStep) -> Void] = []

    /// Creates an empty simulation at time zero.
    public init(configuration: SimulationConfiguration) {
        self.configuration = configuration
        self.network = configuration.network
        self.networkRandom = SimulationRandom(seed: configuration.seed, stream: "network")
    }

    /// Convenience: a simulation with `seed` and default settings.
    public convenience init(seed: UInt64, network: NetworkConditions = .clean) {
        self.init(configuration: SimulationConfiguration(seed: seed, network: network))
    }

    // MARK: Nodes

    /// Adds a node; it stays down until ``start(_:)`` or ``startAll()``.
    ///
    /// - Parameters:
    ///   - id: The node's unique name.
    ///   - skew: How far the node's clock is ahead of virtual time (negative: behind).
    ///   - factory: Creates the node's role, on start and again on every restart (state is lost).
    /// - Throws: ``QueryError`` `.alreadyExists` if `id` is taken.
    public func addNode(_ id: NodeID, skew: Duration = .zero, factory: @escaping (NodeID) -> any Role)
        throws(QueryError)
    {
        guard nodeIndex[id] == nil else { throw QueryError(.alreadyExists, "node '\(id)' already exists") }
        nodeIndex[id] = nodes.count
        nodes.append(SimulatedNode(id: id, factory: factory, skew: skew, logs: LogCapture(capacity: configuration.logCapacity)))
    }

    /// Every node in the order it was added.
    public var nodeIDs: [NodeID] { nodes.map(\.id) }

    /// Whether `id` names a node of this simulation.
    public func contains(_ id: NodeID) -> Bool { nodeIndex[id] != nil }

    /// Whether the node is running.
    public func isUp(_ id: NodeID) -> Bool {
        guard let i = nodeIndex[id] else { return false }
        return nodes[i].role != nil
    }

    /// The node's current role (a copy, for inspection), or `nil` if it is down or unknown.
    public func role(of id: NodeID) -> (any Role)? {
        guard let i = nodeIndex[id] else { return nil }
        return nodes[i].role
    }

    /// Since when the node has been continuously down or cut off from the main network, or `nil`
    /// if it is up and connected. A member of a cut-off group counts as heard when another member
    /// rejoins the main network (that one may carry its rows).
    public func silentSince(_ id: NodeID) -> Instant? {
        guard let i = nodeIndex[id] else { return nil }
        return nodes[i].silentSince
    }

    /// How many times the node was started (1 after the first start).
    public func incarnation(of id: NodeID) -> Int {
        guard let i = nodeIndex[id] else { return 0 }
        return nodes[i].incarnation
    }

    /// The node's clock skew.
    public func skew(of id: NodeID) -> Duration {
        guard let i = nodeIndex[id] else { return .zero }
        return nodes[i].skew
    }

    /// Changes a node's clock skew (its pending timers keep their virtual fire times).
    public func setSkew(_ skew: Duration, for id: NodeID) {
        guard let i = nodeIndex[id] else { return }
        nodes[i].skew = skew
    }

    /// Starts every node that is down and was never started, in the order they were added.
    public func startAll() {
        for i in nodes.indices where nodes[i].role == nil && nodes[i].incarnation == 0 { boot(i) }
    }

    /// Starts (or restarts) a node now: a fresh role from its factory receives ``RoleInput/started``.
    /// Does nothing if the node is already up.
    public func start(_ id: NodeID) {
        guard let i = nodeIndex[id], nodes[i].role == nil else { return }
        boot(i)
    }

    /// Restarts a crashed node now (same as ``start(_:)``).
    public func restart(_ id: NodeID) { start(id) }

    /// Crashes a node now: its role and all its state and timers are lost, messages to it are
    /// dropped until it restarts, and queries it had not answered fail with `.unavailable`.
    public func crash(_ id: NodeID) {
        guard let i = nodeIndex[id], nodes[i].role != nil else { return }
        nodes[i].role = nil
        nodes[i].timers.removeAll()
        nodes[i].crashedAt = now
        if nodes[i].silentSince == nil { nodes[i].silentSince = now }
        hashEvent(node: i, "crash")
        let pending = nodes[i].pendingQueries
        nodes[i].pendingQueries.removeAll()
        for query in pending {
            recordAnswer(
                query, from: i,
                .failure(QueryError(.unavailable, "node \(nodes[i].id) crashed before answering")))
        }
    }

    private func boot(_ i: Int) {
        nodes[i].incarnation += 1
        nodes[i].crashedAt = nil
        nodes[i].role = nodes[i].factory(nodes[i].id)
        if nodes[i].isolationGroup == 0 { nodes[i].silentSince = nil }
        hashEvent(node: i, "boot \(nodes[i].incarnation)")
        handle(.started, at: i)
    }

    // MARK: Partitions

    /// Isolates `ids` from every node outside the set (they still reach each other). Messages
    /// already in flight across the cut are dropped on arrival.
    public func partition(_ ids: [NodeID]) {
        let group = nextIsolationGroup
        nextIsolationGroup += 1
        for id in ids {
            if let i = nodeIndex[id] {
                nodes[i].isolationGroup = group
                if nodes[i].silentSince == nil { nodes[i].silentSince = now }
            }
        }
        traceHash.combine("partition \(ids.map(\.rawValue).joined(separator: ","))")
    }

    /// Reconnects `ids` to the main network.
    public func heal(_ ids: [NodeID]) {
        reconnect(ids.compactMap { nodeIndex[$0] })
        traceHash.combine("heal \(ids.map(\.rawValue).joined(separator: ","))")
    }

    /// Removes every partition.
    public func healAll() {
        reconnect(Array(nodes.indices))
        traceHash.combine("heal all")
    }

    private func reconnect(_ indices: [Int]) {
        // A live node rejoining the main network brings what it heard inside its group until now
        // (a proxy healed apart from its machines serves their rows as of now): for the group's
        // members, the silence the invariants measure starts now, or when a member crashed inside.
        var carried = Set<Int>()
        for i in indices where nodes[i].isolationGroup != 0 && nodes[i].role != nil {
            carried.insert(nodes[i].isolationGroup)
        }
        if !carried.isEmpty {
            for j in nodes.indices where carried.contains(nodes[j].isolationGroup) {
                guard let since = nodes[j].silentSince else { continue }
                if nodes[j].role != nil {
                    nodes[j].silentSince = now
                } else if let crashed = nodes[j].crashedAt, crashed > since {
                    nodes[j].silentSince = crashed
                }
            }
        }
        for i in indices {
            nodes[i].isolationGroup = 0
            if nodes[i].role != nil { nodes[i].silentSince = nil }
        }
    }

    /// Whether a message from `a` to `b` would cross a partition.
    public func canReach(_ a: NodeID, _ b: NodeID) -> Bool {
        guard let i = nodeIndex[a], let j = nodeIndex[b] else { return false }
        return nodes[i].isolationGroup == nodes[j].isolationGroup
    }

    // MARK: Scheduling

    /// Schedules `body` to run at `time` (or now if `time` is in the past), after events already
    /// scheduled for the same time.
    public func schedule(at time: Instant, _ body: @escaping (Simulation) -> Void) {
        let token = nextControl
        nextControl += 1
        controls[token] = body
        push(max(time, now), .control(token))
    }

    /// Delivers `input` to node `id` at `time` (now by default); dropped if the node is down then.
    public func inject(_ input: RoleInput, to id: NodeID, at time: Instant? = nil) {
        guard let i = nodeIndex[id] else {
            shellViolations.append("input for unknown node '\(id)'")
            return
        }
        push(max(time ?? now, now), .input(node: i, input))
    }

    /// Hands `input` to node `id` at once, inside the current event (for example a workload
    /// publishing to every machine from one scheduled callback). Ignored if the node is down.
    public func deliver(_ input: RoleInput, to id: NodeID) {
        guard let i = nodeIndex[id], nodes[i].role != nil else { return }
        handle(input, at: i)
    }

    /// Submits a SQL query to a node at `time` (now by default) and returns its identity. If the
    /// node is down when the query arrives, the query fails with `.unavailable`.
    @discardableResult
    public func submitQuery(_ sql: String, to id: NodeID, at time: Instant? = nil) -> QueryID {
        let queryID = QueryID(nextQueryID)
        nextQueryID += 1
        let at = max(time ?? now, now)
        queryIndex[queryID] = queryRecords.count
        queryRecords.append(QueryRecord(id: queryID, node: id, sql: sql, submittedAt: at))
        if let i = nodeIndex[id] {
            push(at, .query(node: i, QueryRequest(id: queryID, sql: sql)))
        } else {
            queryRecords[queryRecords.count - 1].outcome = .failure(QueryError(.invalidArgument, "unknown node '\(id)'"))
            queryRecords[queryRecords.count - 1].answeredAt = at
            queryRecords[queryRecords.count - 1].answerCount = 1
        }
        return queryID
    }

    /// Registers a function called after every role invocation (invariant checkers).
    public func addObserver(_ observer: @escaping (SimulationStep) -> Void) {
        observers.append(observer)
    }

    /// The number of events waiting in the queue.
    public var pendingEventCount: Int { queue.count }

    /// The time of the next event, if any.
    public var nextEventTime: Instant? { queue.min?.time }

    // MARK: Running

    /// Processes the next event, if any; returns whether there was one.
    @discardableResult
    public func step() -> Bool {
        guard let event = queue.popMin() else { return false }
        now = max(now, event.time)
        process(event.kind)
        return true
    }

    /// Processes every event up to and including `time`, then sets the clock to `time`.
    public func run(until time: Instant) {
        while let next = queue.min, next.time <= time {
            step()
        }
        now = max(now, time)
    }

    /// Runs for `duration` of virtual time.
    public func run(for duration: Duration) { run(until: now + duration) }

    /// Processes events until the queue is empty or `limit` events were processed; returns whether
    /// the queue emptied. Roles with periodic timers never go idle; use ``run(until:)`` for them.
    @discardableResult
    public func runUntilIdle(limit: Int = 1_000_000) -> Bool {
        var processed = 0
        while processed < limit, step() { processed += 1 }
        return queue.isEmpty
    }

    // MARK: Results

    /// Every submitted query, in submission order.
    public var queries: [QueryRecord] { queryRecords }

    /// The record of one query.
    public func query(_ id: QueryID) -> QueryRecord? {
        queryIndex[id].map { queryRecords[$0] }
    }

    /// The log lines captured for `id`, oldest first.
    public func logs(of id: NodeID) -> [CapturedLog] {
        guard let i = nodeIndex[id] else { return [] }
        return Array(nodes[i].logs.lines)
    }

    /// Captured logs of `ids` (all nodes by default) merged in time order, one line each, limited
    /// to the last `limit` lines: what a failing run prints.
    public func formattedLogs(of ids: [NodeID]? = nil, limit: Int = 200) -> String {
        let selected = (ids ?? nodeIDs).compactMap { nodeIndex[$0] }
        var lines: [(Instant, Int, Int, CapturedLog)] = []
        for i in selected {
            for (k, line) in nodes[i].logs.lines.enumerated() { lines.append((line.time, i, k, line)) }
        }
        lines.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
        return lines.suffix(limit).map(\.3.description).joined(separator: "\n")
    }

    /// The node's metric series, sorted by key.
    public func metrics(of id: NodeID) -> [(key: MetricKey, aggregate: MetricAggregate)] {
        guard let i = nodeIndex[id] else { return [] }
        return nodes[i].metrics.keys.sorted().map { ($0, nodes[i].metrics[$0]!) }
    }

    /// The sum over nodes (in order) and dimensions (sorted) of the report value of every series
    /// labelled `label`; restrict to nodes whose name starts with `prefix` if given.
    public func metricTotal(_ label: String, nodePrefix prefix: String = "") -> Double {
        var total = 0.0
        for node in nodes where node.id.rawValue.hasPrefix(prefix) {
            for key in node.metrics.keys.sorted() where key.label == label {
                total += node.metrics[key]!.value
            }
        }
        return total
    }

    /// Aggregates of series labelled `label` merged over nodes (in order), for samples and gauges.
    public func metricAggregate(_ label: String, nodePrefix prefix: String = "") -> MetricAggregate? {
        var merged: MetricAggregate?
        for node in nodes where node.id.rawValue.hasPrefix(prefix) {
            for key in node.metrics.keys.sorted() where key.label == label {
                let series = node.metrics[key]!
                var m = merged ?? MetricAggregate(kind: series.kind)
                m.count += series.count
                m.sum += series.sum
                m.min = Swift.min(m.min, series.min)
                m.max = Swift.max(m.max, series.max)
                m.last = series.last
                merged = m
            }
        }
        return merged
    }

    // MARK: Internals

    private func push(_ time: Instant, _ kind: EventKind) {
        queue.insert(ScheduledEvent(time: time, sequence: sequence, kind: kind))
        sequence += 1
    }

    private func process(_ kind: EventKind) {
        switch kind {
        case .control(let token):
            guard let body = controls.removeValue(forKey: token) else { return }
            traceHash.combine(now.nanosecondsSinceEpoch)
            traceHash.combine("control")
            body(self)
        case .input(let i, let input):
            guard nodes[i].role != nil else { return }
            handle(input, at: i)
        case .query(let i, let request):
            guard nodes[i].role != nil else {
                recordAnswer(request.id, from: i, .failure(QueryError(.unavailable, "node \(nodes[i].id) is down")))
                return
            }
            nodes[i].pendingQueries.append(request.id)
            handle(.query(request), at: i)
        case .timer(let i, let id, let token):
            guard nodes[i].role != nil, nodes[i].timers[id] == token else { return }
            nodes[i].timers[id] = nil
            handle(.timerFired(id), at: i)
        case .deliver(let from, let to, let message):
            guard nodes[to].role != nil else {
                statistics.toDeadNode += 1
                return
            }
            guard nodes[from].isolationGroup == nodes[to].isolationGroup else {
                statistics.partitioned += 1
                return
            }
            statistics.delivered += 1
            handle(.received(message, from: nodes[from].id), at: to)
        }
    }

    /// Runs one input through node `i`'s role and carries out the actions.
    private func handle(_ input: RoleInput, at i: Int) {
        guard var role = nodes[i].role else { return }
        nodes[i].role = nil  // keep the role uniquely referenced while it mutates
        let skewed = now + nodes[i].skew
        hashInput(input, node: i)
        let actions: [RoleAction]
        if let clock = roleClock {
            let start = clock()
            actions = role.handle(input, now: skewed)
            roleSeconds[nodes[i].tier, default: 0] += clock() - start
            roleSteps[nodes[i].tier, default: 0] += 1
        } else {
            actions = role.handle(input, now: skewed)
        }
        nodes[i].role = role
        stepsProcessed += 1
        for action in actions { perform(action, from: i) }
        if !observers.isEmpty {
            let record = SimulationStep(time: now, node: nodes[i].id, input: input, actions: actions)
            for observer in observers { observer(record) }
        }
    }

    private func perform(_ action: RoleAction, from i: Int) {
        switch action {
        case .send(let message, let destination):
            transmit(message, from: i, to: destination)
        case .setTimer(let id, let at):
            let token = nextTimerToken
            nextTimerToken += 1
            nodes[i].timers[id] = token
            push(max(at - nodes[i].skew, now), .timer(node: i, id, token: token))
        case .cancelTimer(let id):
            nodes[i].timers[id] = nil
        case .answer(let id, let result):
            recordAnswer(id, from: i, result)
        case .redirect(let id, let redirect):
            followRedirect(id, redirect, from: i)
        case .log(let record):
            nodes[i].logs.append(CapturedLog(time: now, node: nodes[i].id, record: record))
        case .metric(let record):
            let key = MetricKey(record)
            nodes[i].metrics[key, default: MetricAggregate(kind: record.kind)].record(record.value)
        }
    }

    private func transmit(_ message: Message, from i: Int, to destination: NodeID) {
        statistics.sent += 1
        if let measure = configuration.messageSize { statistics.bytesSent += measure(message) }
        guard let j = nodeIndex[destination] else {
            statistics.unknownDestination += 1
            nodes[i].logs.append(
                CapturedLog(time: now, node: nodes[i].id, record: LogRecord(.warning, "send to unknown node \(destination)")))
            return
        }
        guard nodes[i].isolationGroup == nodes[j].isolationGroup else {
            statistics.partitioned += 1
            return
        }
        let conditions = network
        // Draw the same number of values per message whatever the outcome, so a change in one
        // probability shifts no later decision.
        let lost = networkRandom.chance(conditions.loss)
        let duplicate = networkRandom.chance(conditions.duplication)
        if lost {
            statistics.lost += 1
            return
        }
        let copies = duplicate ? 2 : 1
        if duplicate { statistics.duplicated += 1 }
        for _ in 0..<copies {
            var delay = conditions.latency.sample(using: &networkRandom)
            let reorder = networkRandom.chance(conditions.reordering)
            var at: Instant
            if reorder {
                statistics.reordered += 1
                delay += conditions.reorderDelay.sample(using: &networkRandom)
                at = now + delay
            } else {
                // Per-link FIFO, as over one TCP connection.
                let link = Link(from: i, to: j)
                at = max(now + delay, linkClock[link] ?? .zero)
                linkClock[link] = at
            }
            push(at, .deliver(from: i, to: j, message))
        }
    }

    /// The client side of a redirect: ask the first node of the named partition (at most 3 hops).
    private func followRedirect(_ id: QueryID, _ redirect: Redirect, from i: Int) {
        if let p = nodes[i].pendingQueries.firstIndex(of: id) { nodes[i].pendingQueries.remove(at: p) }
        guard let r = queryIndex[id] else {
            shellViolations.append("\(nodes[i].id) redirected unknown query \(id) at \(now)")
            return
        }
        queryRecords[r].redirects += 1
        guard queryRecords[r].redirects <= 3 else {
            recordAnswer(id, from: i, .failure(QueryError(.redirect, "more than 3 redirects (last: \(redirect))")))
            return
        }
        guard let target = redirect.nodes.compactMap({ nodeIndex[$0] }).first else {
            recordAnswer(id, from: i, .failure(QueryError(.redirect, "redirect names no known node: \(redirect)")))
            return
        }
        hashEvent(node: i, "redirect \(id) to \(nodes[target].id)")
        queryRecords[r].node = nodes[target].id
        push(now, .query(node: target, QueryRequest(id: id, sql: queryRecords[r].sql)))
    }

    private func recordAnswer(_ id: QueryID, from i: Int, _ result: Result<QueryAnswer, QueryError>) {
        if let p = nodes[i].pendingQueries.firstIndex(of: id) { nodes[i].pendingQueries.remove(at: p) }
        guard let r = queryIndex[id] else {
            shellViolations.append("\(nodes[i].id) answered unknown query \(id) at \(now)")
            return
        }
        queryRecords[r].answerCount += 1
        guard queryRecords[r].outcome == nil else {
            shellViolations.append("\(nodes[i].id) answered query \(id) twice (second at \(now))")
            return
        }
        queryRecords[r].outcome = result
        queryRecords[r].answeredAt = now
        guard configuration.trace != .off else { return }
        traceHash.combine(now.nanosecondsSinceEpoch)
        switch result {
        case .success(let answer):
            var text = "answer \(id) ok gen \(answer.generation.number) rows \(answer.result.rows.count)"
            if configuration.trace == .full {
                text += " \(answer.result.columns) \(answer.result.rows.map { $0.map(\.description) })"
            }
            traceHash.combine(text)
        case .failure(let error):
            traceHash.combine("answer \(id) error \(error)")
        }
    }

    private func hashEvent(node i: Int, _ text: String) {
        guard configuration.trace != .off else { return }
        traceHash.combine(now.nanosecondsSinceEpoch)
        traceHash.combine(nodes[i].id.rawValue)
        traceHash.combine(text)
    }

    private func hashInput(_ input: RoleInput, node i: Int) {
        guard configuration.trace != .off else { return }
        let full = configuration.trace == .full
        traceHash.combine(now.nanosecondsSinceEpoch)
        traceHash.combine(nodes[i].id.rawValue)
        switch input {
        case .started:
            traceHash.combine("started")
        case .received(let message, let from):
            traceHash.combine("recv")
            traceHash.combine(from.rawValue)
            if full {
                traceHash.combine(configuration.messageFingerprint?(message) ?? String(describing: message))
            } else {
                traceHash.combine(Simulation.kind(of: message))
            }
        case .timerFired(let id):
            traceHash.combine("timer")
            traceHash.combine(id.name)
        case .peerUp(let peer):
            traceHash.combine("up \(peer)")
        case .peerDown(let peer):
            traceHash.combine("down \(peer)")
        case .publish(let table, let segment):
            traceHash.combine("publish \(table) \(segment.rowCount) \(segment.byteSize)")
        case .query(let request):
            traceHash.combine("query \(request.id)")
            traceHash.combine(request.sql)
        }
    }

    /// The case name of a message (cheap; for header-level traces).
    static func kind(of message: Message) -> String {
        Mirror(reflecting: message).children.first?.label ?? String(describing: message)
    }
}

/// A directed link between two nodes (indices), for per-link FIFO delivery.
struct Link: Hashable {
    var from: Int
    var to: Int
}

/// What a queued event does.
enum EventKind {
    case control(UInt64)
    case input(node: Int, RoleInput)
    case query(node: Int, QueryRequest)
    case timer(node: Int, TimerID, token: UInt64)
    case deliver(from: Int, to: Int, Message)
}

/// An event in the queue, ordered by time and then by the order it was scheduled.
struct ScheduledEvent: Comparable {
    var time: Instant
    var sequence: UInt64
    var kind: EventKind

    static func < (lhs: ScheduledEvent, rhs: ScheduledEvent) -> Bool {
        (lhs.time, lhs.sequence) < (rhs.time, rhs.sequence)
    }

    static func == (lhs: ScheduledEvent, rhs: ScheduledEvent) -> Bool {
        lhs.time == rhs.time && lhs.sequence == rhs.sequence
    }
}

/// A simulated machine: its role (nil while down), timers, clock skew and captured output.
struct SimulatedNode {
    let id: NodeID
    let factory: (NodeID) -> any Role
    var role: (any Role)?
    var skew: Duration
    var incarnation = 0
    /// Live timers: id → token of the scheduled event that may fire it.
    var timers: [TimerID: UInt64] = [:]
    var logs: LogCapture
    var metrics: [MetricKey: MetricAggregate] = [:]
    var pendingQueries: [QueryID] = []
    /// 0 for the main network; nodes with equal groups reach each other.
    var isolationGroup = 0
    /// Since when the node is down or isolated.
    var silentSince: Instant? = .zero
    /// When the node last crashed, while it is down.
    var crashedAt: Instant?

    /// The node name up to `:` (`edge`, `proxy`, …), for per-tier figures.
    let tier: String

    init(id: NodeID, factory: @escaping (NodeID) -> any Role, skew: Duration, logs: LogCapture) {
        self.id = id
        self.tier = id.rawValue.firstIndex(of: ":").map { String(id.rawValue[..<$0]) } ?? id.rawValue
        self.factory = factory
        self.skew = skew
        self.logs = logs
    }
}
