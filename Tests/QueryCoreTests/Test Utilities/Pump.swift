@testable import QueryCore

/// A tiny in-test message pump (not the simulator): roles keyed by id, instant FIFO delivery,
/// timers ordered by time then by the order they were set, nodes that can be taken down and
/// brought back. Deterministic: no randomness, no dictionaries iterated where order matters.
struct Pump {
    struct Sent {
        var at: Instant
        var from: NodeID
        var to: NodeID
        var message: Message
    }

    private(set) var roles: [NodeID: any Role] = [:]
    private(set) var now = Instant.zero
    private var timers: [(at: Instant, seq: Int, node: NodeID, timer: TimerID)] = []
    private var seq = 0
    private var inbox: [(from: NodeID, to: NodeID, input: RoleInput)] = []
    /// Nodes cut off from the network: they receive and send nothing, but their timers still run.
    var partitioned: Set<NodeID> = []
    /// Crashed nodes: they receive nothing and their timers are discarded until ``restart(_:)``.
    private(set) var crashed: Set<NodeID> = []
    /// Every message delivered, in order.
    private(set) var sent: [Sent] = []
    /// Every answer, in order.
    private(set) var answers: [(at: Instant, node: NodeID, id: QueryID, result: Result<QueryAnswer, QueryError>)] = []
    /// Every redirect, in order.
    private(set) var redirects: [(node: NodeID, id: QueryID, redirect: Redirect)] = []
    /// Every metric, in order.
    private(set) var metrics: [(node: NodeID, record: MetricRecord)] = []
    /// Every log record, in order.
    private(set) var logs: [(node: NodeID, record: LogRecord)] = []

    /// Adds a role and starts it.
    mutating func add(_ role: any Role) {
        roles[role.id] = role
        deliver(role.id, .started)
    }

    /// Replaces a role with a fresh instance (a restart with state lost) and starts it.
    mutating func restart(_ role: any Role) {
        crashed.remove(role.id)
        timers.removeAll { $0.node == role.id }
        roles[role.id] = role
        deliver(role.id, .started)
    }

    /// Crashes a node: it loses its state (a fresh instance comes back with ``restart(_:)``).
    mutating func crash(_ id: NodeID) {
        crashed.insert(id)
        timers.removeAll { $0.node == id }
    }

    /// The role with `id`, cast to its type.
    func role<R: Role>(_ id: NodeID, as type: R.Type = R.self) -> R { roles[id] as! R }

    /// Feeds `input` to `node` now and delivers everything that follows.
    mutating func deliver(_ node: NodeID, _ input: RoleInput) {
        inbox.append((node, node, input))
        drain()
    }

    /// Publishes rows at an edge.
    mutating func publish(_ edge: NodeID, _ table: TableName, _ segment: Segment) {
        deliver(edge, .publish(table, segment))
    }

    /// Asks a query at a SQL node.
    mutating func query(_ node: NodeID, _ id: UInt64, _ sql: String) {
        deliver(node, .query(QueryRequest(id: QueryID(id), sql: sql)))
    }

    /// Runs timers up to and including `time`.
    mutating func advance(to time: Instant) {
        while let next = timers.indices.min(by: { (timers[$0].at, timers[$0].seq) < (timers[$1].at, timers[$1].seq) }),
            timers[next].at <= time
        {
            let timer = timers.remove(at: next)
            now = max(now, timer.at)
            if crashed.contains(timer.node) { continue }
            inbox.append((timer.node, timer.node, .timerFired(timer.timer)))
            drain()
        }
        now = max(now, time)
    }

    /// Runs timers for `seconds` more.
    mutating func run(seconds: Double) { advance(to: now + .nanoseconds(Int64(seconds * 1e9))) }

    private mutating func drain() {
        while !inbox.isEmpty {
            let (from, to, input) = inbox.removeFirst()
            guard !crashed.contains(to), var role = roles[to] else { continue }
            if case .received = input, from != to, partitioned.contains(from) || partitioned.contains(to) { continue }
            let actions = role.handle(input, now: now)
            roles[to] = role
            for action in actions {
                switch action {
                case .send(let message, let peer):
                    sent.append(Sent(at: now, from: to, to: peer, message: message))
                    inbox.append((to, peer, .received(message, from: to)))
                case .setTimer(let timer, let at):
                    timers.removeAll { $0.node == to && $0.timer == timer }
                    seq += 1
                    timers.append((at, seq, to, timer))
                case .cancelTimer(let timer):
                    timers.removeAll { $0.node == to && $0.timer == timer }
                case .answer(let id, let result):
                    answers.append((now, to, id, result))
                case .redirect(let id, let redirect):
                    redirects.append((to, id, redirect))
                case .log(let record):
                    logs.append((to, record))
                case .metric(let record):
                    metrics.append((to, record))
                }
            }
        }
    }

    /// The sum of counter `label` over all nodes (or one node).
    func counter(_ label: String, node: NodeID? = nil) -> Double {
        metrics.filter { $0.record.label == label && (node == nil || $0.node == node) }.reduce(0) { $0 + $1.record.value }
    }

    /// The last answer for query `id` at `node`.
    func answer(_ node: NodeID, _ id: UInt64) -> Result<QueryAnswer, QueryError>? {
        answers.last { $0.node == node && $0.id == QueryID(id) }?.result
    }
}
