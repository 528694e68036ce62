import QueryCore
import QuerySim

/// Sends `count` numbered heartbeats to `peer` when started; records what it receives.
struct Sender: Role {
    let id: NodeID
    var peer: NodeID
    var count: UInt64
    var startedCount = 0

    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        if case .started = input {
            startedCount += 1
            for n in 1...count { actions.append(.send(.heartbeat(Heartbeat(generation: n)), to: peer)) }
        }
        return actions
    }
}

/// Records every heartbeat number it receives, with the time it saw.
struct Receiver: Role {
    let id: NodeID
    var received: [UInt64] = []
    var times: [Instant] = []
    var echo: NodeID? = nil

    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        if case .received(.heartbeat(let beat), let from) = input {
            received.append(beat.generation)
            times.append(now)
            if echo != nil { actions.append(.send(.heartbeat(Heartbeat(generation: beat.generation + 1)), to: from)) }
        }
        return actions
    }
}

/// Ping-pong: replies to every heartbeat below `limit` with the next number; the starter serves first.
struct PingPong: Role {
    let id: NodeID
    var peer: NodeID
    var serve: Bool
    var limit: UInt64
    var seen: [UInt64] = []

    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started where serve:
            actions.append(.send(.heartbeat(Heartbeat(generation: 1)), to: peer))
        case .received(.heartbeat(let beat), let from):
            seen.append(beat.generation)
            actions.append(.log(LogRecord(.debug, "ping", metadata: ["n": "\(beat.generation)"])))
            actions.append(.metric(MetricRecord("test.pings", .counter, 1)))
            if beat.generation < limit {
                actions.append(.send(.heartbeat(Heartbeat(generation: beat.generation + 1)), to: from))
            }
        default:
            break
        }
        return actions
    }
}

/// Ticks every `period` (in its own, possibly skewed, time) and sends the tick count to `peer`.
struct Ticker: Role {
    let id: NodeID
    var peer: NodeID?
    var period: Duration
    var ticks: UInt64 = 0
    var fireTimes: [Instant] = []
    var startedAt: Instant? = nil

    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            startedAt = now
            actions.append(.setTimer(TimerID("tick"), at: now + period))
        case .timerFired(let timer) where timer.name == "tick":
            ticks += 1
            fireTimes.append(now)
            if let peer { actions.append(.send(.heartbeat(Heartbeat(generation: ticks)), to: peer)) }
            actions.append(.setTimer(TimerID("tick"), at: now + period))
        case .timerFired(let timer) where timer.name == "cancel-me":
            ticks += 1000
        case .received(.heartbeat(let beat), _) where beat.generation == 0:
            actions.append(.setTimer(TimerID("cancel-me"), at: now + .seconds(5)))
            actions.append(.cancelTimer(TimerID("cancel-me")))
        default:
            break
        }
        return actions
    }
}

/// Answers every query after `delay` with a one-row result naming itself; fails SQL starting with "FAIL".
struct Answerer: Role {
    let id: NodeID
    var delay: Duration
    var pending: [QueryID: String] = [:]
    var order: [QueryID] = []

    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .query(let request):
            pending[request.id] = request.sql
            order.append(request.id)
            actions.append(.setTimer(TimerID("q\(request.id.rawValue)"), at: now + delay))
        case .timerFired(let timer):
            guard let id = order.first(where: { "q\($0.rawValue)" == timer.name }), let sql = pending[id] else { break }
            pending[id] = nil
            order.removeAll { $0 == id }
            if sql.hasPrefix("FAIL") {
                actions.append(.answer(id, .failure(QueryError(.syntaxError, "bad"))))
            } else {
                let answer = QueryAnswer(
                    result: QueryResult(columns: ["node"], rows: [[.text(self.id.rawValue)]]),
                    generation: Generation(number: 1, time: now),
                    completeness: Completeness(oldestPublish: nil, newestPublish: nil, tables: []))
                actions.append(.answer(id, .success(answer)))
            }
        default:
            break
        }
        return actions
    }
}

extension Simulation {
    /// The role of `id` cast to `R` (test helper).
    func typedRole<R: Role>(_ id: NodeID, as: R.Type = R.self) -> R? { role(of: id) as? R }
}
