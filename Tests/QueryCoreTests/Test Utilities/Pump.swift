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
    private struct Scheduled {
        var at: Instant
        var seq: Int
        var node: NodeID
        var timer: TimerID
    }

    private struct TimerKey: Hashable {
        var node: NodeID
        var timer: TimerID
    }

    /// A binary min-heap on (time, seq); replaced or cancelled timers are skipped when they surface.
    private var heap: [Scheduled] = []
    private var live: [TimerKey: Int] = [:]
    private var seq = 0
    private var inboxHead = 0
    private var inbox: [(from: NodeID, to: NodeID, input: RoleInput)] = []
    /// Nodes cut off from the network: they receive and send nothing, but their timers still run.
    var partitioned: Set<NodeID> = []
    /// Crashed nodes: they receive nothing and their timers are discarded until ``restart(_:)``.
    private(set) var crashed: Set<NodeID> = []
    /// Loses a message between two nodes when it returns `true` (called once per message, in order).
    var loses: ((_ from: NodeID, _ to: NodeID, _ message: Message) -> Bool)?
    /// Whether to keep every message in ``sent`` (large probes turn it off).
    var recordsMessages = true
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
        for key in live.keys where key.node == role.id { live.removeValue(forKey: key) }
        roles[role.id] = role
        deliver(role.id, .started)
    }

    /// Crashes a node: it loses its state (a fresh instance comes back with ``restart(_:)``).
    mutating func crash(_ id: NodeID) {
        crashed.insert(id)
        for key in live.keys where key.node == id { live.removeValue(forKey: key) }
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
        while let top = heap.first, top.at <= time {
            let timer = popTimer()
            guard live[TimerKey(node: timer.node, timer: timer.timer)] == timer.seq else { continue }
            live.removeValue(forKey: TimerKey(node: timer.node, timer: timer.timer))
            now = max(now, timer.at)
            if crashed.contains(timer.node) { continue }
            inbox.append((timer.node, timer.node, .timerFired(timer.timer)))
            drain()
        }
        now = max(now, time)
    }

    private static func before(_ a: Scheduled, _ b: Scheduled) -> Bool { (a.at, a.seq) < (b.at, b.seq) }

    private mutating func pushTimer(_ item: Scheduled) {
        heap.append(item)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTimer() -> Scheduled {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count, Self.before(heap[left], heap[smallest]) { smallest = left }
                if right < heap.count, Self.before(heap[right], heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }

    /// Runs timers for `seconds` more.
    mutating func run(seconds: Double) { advance(to: now + .nanoseconds(Int64(seconds * 1e9))) }

    private mutating func drain() {
        while inboxHead < inbox.count {
            let (from, to, input) = inbox[inboxHead]
            inboxHead += 1
            if inboxHead > 4096, inboxHead * 2 > inbox.count {
                inbox.removeFirst(inboxHead)
                inboxHead = 0
            }
            guard !crashed.contains(to), roles[to] != nil else { continue }
            if case .received(let message, _) = input, from != to {
                if partitioned.contains(from) || partitioned.contains(to) { continue }
                if let loses, loses(from, to, message) { continue }
            }
            var role = roles.removeValue(forKey: to)!  // keep the role uniquely referenced while it mutates
            let actions = role.handle(input, now: now)
            roles[to] = role
            for action in actions {
                switch action {
                case .send(let message, let peer):
                    if recordsMessages { sent.append(Sent(at: now, from: to, to: peer, message: message)) }
                    inbox.append((to, peer, .received(message, from: to)))
                case .setTimer(let timer, let at):
                    seq += 1
                    live[TimerKey(node: to, timer: timer)] = seq
                    pushTimer(Scheduled(at: at, seq: seq, node: to, timer: timer))
                case .cancelTimer(let timer):
                    live.removeValue(forKey: TimerKey(node: to, timer: timer))
                case .answer(let id, let result):
                    answers.append((now, to, id, result))
                case .redirect(let id, let redirect):
                    redirects.append((to, id, redirect))
                case .log(let record):
                    logs.append((to, record))
                case .metric(let record):
                    if recordsMessages { metrics.append((to, record)) }
                }
            }
        }
    }

    /// The sum of counter `label` over all nodes (or one node).
    func counter(_ label: String, node: NodeID? = nil) -> Double {
        metrics.filter { $0.record.label == label && (node == nil || $0.node == node) }.reduce(0) {
            $0 + $1.record.value
        }
    }

    /// The last answer for query `id` at `node`.
    func answer(_ node: NodeID, _ id: UInt64) -> Result<QueryAnswer, QueryError>? {
        answers.last { $0.node == node && $0.id == QueryID(id) }?.result
    }
}
