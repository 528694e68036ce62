import QueryCore

/// A small role for shell tests: counts heartbeats, answers each heartbeat below `limit` with
/// the next number, sends a heartbeat to `peer` every `tick` from `.started`, and answers queries
/// with what it has seen.
struct EchoRole: Role {
    let id: NodeID
    var peer: NodeID?
    var tick: Duration = .seconds(1)
    var limit: UInt64 = 3
    var received: [UInt64] = []
    var peersUp: Set<NodeID> = []
    /// Every peer event in order: `+peer` for up, `-peer` for down.
    var peerLog: [String] = []
    var ticks = 0
    /// Queries are answered only when this is true; otherwise they stay pending.
    var answersQueries = true

    init(id: NodeID, peer: NodeID? = nil) {
        self.id = id
        self.peer = peer
    }

    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            actions.append(.setTimer(TimerID("tick"), at: now + tick))
        case .timerFired(let timer):
            ticks += 1
            actions.append(.metric(MetricRecord("echo.ticks", .counter, 1)))
            if let peer { actions.append(.send(.heartbeat(Heartbeat(generation: 0)), to: peer)) }
            actions.append(.setTimer(timer, at: now + tick))
        case .received(.heartbeat(let heartbeat), let from):
            received.append(heartbeat.generation)
            actions.append(.log(LogRecord(.debug, "heartbeat", metadata: ["peer": "\(from)"])))
            if heartbeat.generation + 1 < limit {
                actions.append(.send(.heartbeat(Heartbeat(generation: heartbeat.generation + 1)), to: from))
            }
        case .peerUp(let peer):
            peersUp.insert(peer)
            peerLog.append("+\(peer)")
        case .peerDown(let peer):
            peersUp.remove(peer)
            peerLog.append("-\(peer)")
        case .query(let request):
            guard answersQueries else { break }
            if request.sql == "fail" {
                actions.append(.answer(request.id, .failure(QueryError(.unknownTable, "no table 'fail'"))))
            } else {
                let rows = received.map { [Value.integer(Int64($0))] }
                actions.append(
                    .answer(
                        request.id,
                        .success(
                            QueryAnswer(
                                result: QueryResult(columns: ["generation"], rows: rows),
                                generation: Generation(number: UInt64(ticks), time: now),
                                completeness: Completeness(oldestPublish: nil, newestPublish: nil, tables: [])))))
            }
        default:
            break
        }
        return actions
    }
}
