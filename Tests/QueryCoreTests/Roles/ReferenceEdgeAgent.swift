@testable import QueryCore

/// The edge agent as it was before it kept its own tables (``PublishedTables``) and receivers
/// (``EdgeLink``): built on ``TableStore`` and ``Downstream``, the general sender's machinery.
/// `EdgeAgentDifferentialTests` holds ``EdgeAgent`` to it.
struct ReferenceEdgeAgent {
    typealias Configuration = EdgeAgent.Configuration
    static let generationTimer = EdgeAgent.generationTimer

    let id: NodeID
    /// The settings.
    let configuration: Configuration
    private var store = TableStore(keepsHistory: true)
    private var receivers: [NodeID: Downstream] = [:]
    /// Numbers the updates sent, stamping every action list as it leaves (as every other role does).
    private var sequencer = UpdateSequencer()

    init(id: NodeID, configuration: Configuration = Configuration()) {
        self.id = id
        self.configuration = configuration
    }

    /// The tables this machine publishes, sorted.
    var publishedTables: [TableName] { store.names }

    /// The current version of a published table, if any.
    func version(of table: TableName) -> Version? { store[table]?.table.version(of: id) }

    /// The proxies with live interest at `now`, sorted.
    func requesters(at now: Instant) -> [NodeID] {
        receivers.filter { !$0.value.liveTables(at: now).isEmpty }.keys.sorted()
    }

    mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.generationTimer:
            onGeneration(now: now, into: &actions)
        case .publish(let table, let segment):
            do {
                _ = try store.publish(table, origin: id, segment: segment, now: now)
            } catch {
                actions.append(
                    .log(LogRecord(.warning, "publish refused: \(error)", metadata: ["table": table.rawValue]))
                )
            }
        case .received(let message, let peer):
            onMessage(message, from: peer, now: now, into: &actions)
        case .peerUp(let peer):
            // A reconnected receiver gets the full state in the next generation.
            receivers[peer]?.startOver()
        case .timerFired, .peerDown, .query:
            break
        }
        sequencer.stamp(&actions, now: now)
        return actions
    }

    private mutating func onMessage(
        _ message: Message,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        switch message {
        case .request(let request):
            if let pinned = configuration.pinnedProxies, !pinned.contains(peer) {
                actions.append(
                    .log(LogRecord(.debug, "request from unpinned proxy ignored", metadata: ["peer": peer.rawValue]))
                )
                return
            }
            receivers[peer, default: Downstream(now: now)].record(request, now: now)
        case .ack(let ack):
            receivers[peer]?.acknowledge(generation: ack.generation, tables: ack.tables)
        case .resync(let request):
            guard var downstream = receivers.removeValue(forKey: peer) else { return }
            downstream.resync(request, generation: request.generation, store: store)
            actions.append(RoleMetrics.counter("query.resyncs", 1, role: "edge"))
            let reply = entry(request.table, for: &downstream, generation: request.generation, merge: true)
            receivers[peer] = downstream
            if let reply {
                let update = GenerationUpdate(
                    generation: configuration.schedule.generation(request.generation),
                    entries: [reply]
                )
                RoleMetrics.send(update, to: peer, role: "edge", into: &actions)
            }
        default:
            break
        }
    }

    private mutating func onGeneration(now: Instant, into actions: inout [RoleAction]) {
        let number = configuration.schedule.latestSlot(.edge, at: now)
        let generation = configuration.schedule.generation(number)
        var bytes = 0
        for peer in receivers.keys.sorted() {
            // Taken out while it is worked on: one lookup instead of one per access, no copies.
            var downstream = receivers.removeValue(forKey: peer)!
            downstream.expire(at: now)
            let live = downstream.liveTables(at: now)
            if live.isEmpty { continue }  // no live interest left: forget the proxy
            let entries = live.compactMap { entry($0, for: &downstream, generation: number, merge: false) }
            receivers[peer] = downstream
            // Tables asked for but not published are named as such.
            let notPublished = live.filter { name in store[name].map { $0.table.slices[id] == nil } ?? true }
            let update = GenerationUpdate(generation: generation, entries: entries, notPublished: notPublished)
            bytes += update.estimatedBytes
            actions.append(.send(.update(update), to: peer))
        }
        if bytes > 0 { actions.append(RoleMetrics.counter("query.bytes_out", bytes, role: "edge")) }
        scheduleNext(after: now, into: &actions)
    }

    private func entry(
        _ table: TableName,
        for downstream: inout Downstream,
        generation: UInt64,
        merge: Bool
    ) -> TableEntry? {
        guard let stored = store[table], stored.table.slices[id] != nil else { return nil }
        let confirmed = stored.origins[id]?.confirmedAt
        let completeness = TableCompleteness(
            machinesContributing: 1,
            machinesKnown: 1,
            oldestPublish: confirmed,
            newestPublish: confirmed
        )
        return downstream.entry(
            for: table,
            origins: [id],
            store: store,
            completeness: completeness,
            generation: generation,
            merge: merge
        )
    }

    private func scheduleNext(after now: Instant, into actions: inout [RoleAction]) {
        let next = configuration.schedule.nextSlot(.edge, after: now)
        actions.append(.setTimer(Self.generationTimer, at: configuration.schedule.slot(.edge, of: next)))
    }
}
