/// A cluster's proxy (at least two per cluster, each receiving from every edge of the cluster).
///
/// Keeps per machine, per table, the newest version (the version rule). In every generation it waits
/// until every machine it knows has reported (completeness), bounded by its slot `t + δ1` so a silent
/// machine cannot stall the generation, then sends the combined cluster table to each TLA that asked,
/// as per-origin deltas against what that TLA acknowledged. A machine silent for `dropAfter` is
/// dropped: its rows vanish from what the proxy sends; when it reports again they return. The
/// completeness, deadline and silence bookkeeping is the internal `Collector` shared with ``Aggregator``.
///
/// Interest from TLAs is forwarded to the edges at once (data follows in a future generation) and
/// refreshed every generation, together with the prewarm list.
public struct ClusterProxy: Role {
    /// Proxy settings.
    public struct Configuration: Sendable {
        /// The cluster this proxy serves.
        public var cluster: NodeID
        /// The cluster's machines (their edge agents); machines not listed that report are adopted.
        public var machines: [NodeID]
        /// When generations start and when this tier sends (δ1).
        public var schedule: GenerationSchedule
        /// A machine silent this long is dropped. Default 180 s (the paper's three minutes).
        public var dropAfter: Duration
        /// How long forwarded interest lasts without refresh. Default three intervals.
        public var interestLease: Duration
        /// Tables always requested from the edges.
        public var prewarm: [TableName]
        /// Tables from one designated source (machines, clusters, configuration), applied
        /// all-or-nothing. Default none.
        public var sourcedTables: Set<TableName>
        /// Fault isolation: serve only these TLAs (`nil`: every TLA that asks).
        public var pinnedAggregators: Set<NodeID>?

        /// Creates a configuration.
        public init(
            cluster: NodeID,
            machines: [NodeID],
            schedule: GenerationSchedule = GenerationSchedule(),
            dropAfter: Duration = .seconds(180),
            interestLease: Duration? = nil,
            prewarm: [TableName] = [],
            pinnedAggregators: Set<NodeID>? = nil,
            sourcedTables: Set<TableName> = []
        ) {
            self.cluster = cluster
            self.machines = machines
            self.schedule = schedule
            self.dropAfter = dropAfter
            self.interestLease = interestLease ?? schedule.interval * 3
            self.prewarm = prewarm
            self.pinnedAggregators = pinnedAggregators
            self.sourcedTables = sourcedTables
        }
    }


    /// Fires at every generation start: refresh interest, check for silent machines.
    public static let generationTimer = TimerID("proxy.generation")
    /// Fires at the proxy's slot (δ1): send whatever has arrived.
    public static let deadlineTimer = TimerID("proxy.deadline")

    public let id: NodeID
    /// The settings.
    public let configuration: Configuration
    private var store: TableStore
    /// Completeness, silence and drops of the cluster's machines; when to send.
    private var collector: Collector
    private var receivers: [NodeID: Downstream] = [:]
    private var forwarded: [TableName] = []
    /// Table → the dropped machines whose rows of it were held when it was let go: still known to
    /// have it, and named as dropped in its completeness until they return (a dropped machine is not
    /// asked for the table again).
    private var droppedHolders: [TableName: [NodeID]] = [:]
    /// Tables let go and wanted again, owed in full by the machines.
    private var owed = OwedTables()
    private var lastForward: Instant?
    /// Numbers the updates sent to TLAs.
    private var sequencer = UpdateSequencer()
    /// The newest update applied per machine and table (duplicated or reordered ones are skipped).
    private var sequences = SenderSequences()
    /// Updates appended to the actions in the running step (only then are they scanned to be stamped).
    private var updatesSent = 0

    /// Creates a proxy.
    public init(id: NodeID, configuration: Configuration) {
        self.id = id
        self.configuration = configuration
        self.store = TableStore(keepsHistory: true, sourced: configuration.sourcedTables)
        self.collector = Collector(
            configuration: Collector.Configuration(
                tier: .proxy,
                schedule: configuration.schedule,
                dropAfter: configuration.dropAfter,
                deadlineTimer: Self.deadlineTimer,
                role: "proxy",
                noun: "machine",
                warmUpWaitsForSilentSources: true
            ),
            sources: configuration.machines
        )
    }

    /// Machines currently dropped and since when, sorted.
    public var droppedMachines: [DroppedNode] {
        collector.dropped
    }

    /// The newest generation sent to TLAs.
    public var sentGeneration: UInt64 { collector.sent }

    /// Whether the proxy keeps the deltas it applied (only while some TLA reads from it).
    var keepsHistory: Bool { store.keepsHistory }

    /// The rows held for `table`, all origins (dropped ones included), or `nil`.
    public func table(_ name: TableName) -> Table? { store[name]?.table }

    public mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            collector.start(now: now)  // the running generation is joined midway: skip it
            forwardInterest(now: now, into: &actions)
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.generationTimer:
            collector.checkSilence(now: now, into: &actions)
            forwardInterest(now: now, periodic: true, into: &actions)
            // Sources with skewed clocks may have reported this generation already.
            if let number = collector.generationStarted(now: now) { send(number, now: now, into: &actions) }
            actions.append(collector.deadline(now: now))
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.deadlineTimer:
            if let number = collector.deadlineReached(now: now, into: &actions) { send(number, now: now, into: &actions) }
        case .received(let message, let peer):
            onMessage(message, from: peer, now: now, into: &actions)
        case .peerUp(let peer):
            // A reconnected receiver gets the full state in the next generation.
            receivers[peer]?.startOver()
        case .timerFired, .peerDown, .publish, .query:
            break
        }
        // Only updates are stamped: scan the actions only when this step sent one.
        if updatesSent > 0 {
            sequencer.stamp(&actions, now: now)
            updatesSent = 0
        }
        return actions
    }

    private mutating func onMessage(
        _ message: Message,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        switch message {
        case .update(let update):
            onUpdate(update, from: peer, now: now, into: &actions)
        case .request(let request):
            if let pinned = configuration.pinnedAggregators, !pinned.contains(peer) {
                actions.append(
                    .log(LogRecord(.debug, "request from unpinned TLA ignored", metadata: ["peer": peer.rawValue]))
                )
                return
            }
            receivers[peer, default: Downstream(now: now)].record(request, now: now)
            keepHistoryWhileServing()
            // A handful of tables each: linear searches, no sets built per request.
            if !request.tables.allSatisfy(forwarded.contains) { forwardInterest(now: now, into: &actions) }
        case .ack(let ack):
            receivers[peer]?.acknowledge(generation: ack.generation, tables: ack.tables)
        case .resync(let request):
            guard receivers[peer] != nil else { return }
            receivers[peer]!.resync(request, generation: request.generation, store: store)
            actions.append(RoleMetrics.counter("query.resyncs", 1, role: "proxy"))
            let entry = entry(request.table, for: peer, generation: request.generation, merge: true)
            let update = GenerationUpdate(
                generation: configuration.schedule.generation(request.generation),
                entries: [entry]
            )
            RoleMetrics.send(update, to: peer, role: "proxy", into: &actions)
            updatesSent += 1
        default:
            break
        }
    }

    private mutating func onUpdate(
        _ update: GenerationUpdate,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        // Room for the usual actions (bytes in, rows merged, the acknowledgement, maybe a send).
        actions.reserveCapacity(actions.count + 4)
        // The machine's dense index: its state here is reached without looking its name up again.
        let source = collector.heard(peer, now: now, into: &actions)
        // The machine's held rows were last touched a generation ago: asked for now, they arrive
        // while the update is checked and counted.
        store.prefetch(update.entries, scope: peer, sender: source)
        // Only the newest regular update lists every table the edge publishes: a resync reply (for a
        // generation already received) lists just the resynced table, and a reordered or duplicated
        // update is stale.
        // By index: the entries are read in place, not copied out one by one.
        var full = true
        for e in update.entries.indices where !update.entries[e].replacesScope {
            full = false
            break
        }
        let newest = collector.reported(at: source, generation: update.generation.number, full: full)
        if !owed.isEmpty {
            for e in update.entries.indices where update.entries[e].replacesScope {
                owed.received(update.entries[e].table, inFullFrom: peer)
            }
            // The newest regular update lists every table the machine holds a lease on: those it
            // publishes among the entries (one it believes held here as a delta or an empty
            // entry), the others as not published. A table owed and listed in neither it was not
            // asked for (a lost request, a lapsed lease): still owed, asked for again.
            if newest, !update.notPublished.isEmpty { owed.received(notPublished: update.notPublished, from: peer) }
        }
        actions.append(RoleMetrics.counter("query.bytes_in", update.estimatedBytes, role: "proxy"))
        let fresh = sequences.fresh(
            update.entries, sequence: update.sequence, from: peer, index: source, now: now,
            forgetAfter: configuration.dropAfter)
        if fresh.skipped > 0 { actions.append(RoleMetrics.counter("query.stale_rejections", fresh.skipped, role: "proxy")) }
        _ = store.intake(
            fresh.entries,
            generation: update.generation.number,
            from: peer,
            scope: peer,
            keepReports: false,
            sender: source,
            role: "proxy",
            now: now,
            into: &actions
        )
        // An edge that stopped publishing a table it used to: its rows of that table vanish. Judged
        // only from the newest update; otherwise the edge, believing its acknowledged rows held here,
        // would never resend a table that no longer changes. A wanted table it does not even say it
        // does not publish it was not asked for: it owes the table (known, not contributing) and
        // is asked again.
        if newest {
            // A handful of tables: linear searches, no sets or sorting per update.
            var unlisted: [TableName] = []
            for name in forwarded {
                var listed = false
                for e in update.entries.indices where update.entries[e].table == name {
                    listed = true
                    break
                }
                guard !listed else { continue }
                if !update.notPublished.contains(name) { owed.owe(name, by: peer) }
                if store.holds(name, origin: peer) { unlisted.append(name) }
            }
            for name in unlisted {
                _ = store.apply(
                    TableEntry(table: name, copies: [], removed: [peer], completeness: TableCompleteness()),
                    scope: peer,
                    now: now
                )
            }
        }
        if let number = collector.reportArrived(generation: update.generation.number, now: now) {
            send(number, now: now, into: &actions)
        }
    }

    /// Keeps the deltas applied (to bring receivers up to date) only while some receiver is served
    /// updates: a standby proxy (every TLA takes it for a standby) applies what its machines send,
    /// to be ready for a failover, but builds no entries, and a TLA failing over to it asks for
    /// full copies (its request resets).
    private mutating func keepHistoryWhileServing() {
        store.keepHistory(receivers.values.contains { !$0.standby })
    }

    /// The tables wanted from the edges: the prewarm list and every TLA's live interest.
    private func wanted(at now: Instant) -> [TableName] {
        Downstream.wanted(prewarm: configuration.prewarm, receivers: receivers.values, at: now)
    }

    /// Sends the wanted tables to the edges. On a periodic refresh (`periodic`), machines that report
    /// normally are skipped while the interest last sent is unchanged and has more than half its lease
    /// left, halving the request traffic to the edges (the largest fan-out of the tree); silent or
    /// dropped machines are asked every time, so one that comes back resumes at once. New interest
    /// and resets go out at once to every machine.
    private mutating func forwardInterest(now: Instant, periodic: Bool = false, into actions: inout [RoleAction]) {
        let tables = wanted(at: now)
        // Machines asked for nothing send nothing: their silence counts only while tables are wanted.
        collector.noteAsking(!tables.isEmpty, now: now)
        let quiet =
            periodic && tables == forwarded && (lastForward.map { now - $0 < configuration.interestLease / 2 } ?? false)
        // A table nobody wants any more is let go (also rows of it that edges whose lease outlived
        // the interest sent since): its rows stop being confirmed, and served again when interest
        // returns they would pass for current.
        for name in store.names where !tables.contains(name) {
            if collector.anyDropped, let table = store[name]?.table {
                let holders = table.slices.keys.filter { collector.droppedSince($0) != nil }
                if !holders.isEmpty { droppedHolders[name, default: []].append(contentsOf: holders) }
            }
            store.forget(name)
            owed.forgot(name)
        }
        if !droppedHolders.isEmpty {
            let collector = collector
            droppedHolders = droppedHolders.compactMapValues { holders in
                let still = holders.filter { collector.droppedSince($0) != nil }
                return still.isEmpty ? nil : still
            }
        }
        owed.wanted(tables, from: collector.names)
        // Tables asked for now are owed by every live machine until it sends them or says it does
        // not publish them (a dropped machine is not counted on: it returns with what it has).
        var added: [TableName] = []
        for name in tables where !forwarded.contains(name) { added.append(name) }
        if !added.isEmpty {
            let collector = collector
            owed.asked(added, from: collector.names.indices.filter { collector.states[$0].isLive }.map { collector.names[$0] })
        }
        forwarded = tables
        guard !tables.isEmpty else { return }
        if !quiet { lastForward = now }
        // The two requests, made once (not once per machine: the initialiser sorts the tables).
        let plain = TableRequest(tables: tables, lease: configuration.interestLease, reset: false)
        var resetting = plain
        resetting.reset = true
        for index in collector.names.indices {
            // The source's fields are read in place (not its whole state, sets included, copied out).
            // Every request resets what the machine believes this proxy holds until its full state
            // arrived: one lost reset must not leave it sending deltas against rows lost here.
            let reset = !collector.states[index].synced
            let silent = collector.states[index].lastHeard.map { now - $0 > configuration.schedule.interval } ?? true
            // One that owes a table may not have been asked (a lost request): asked every time.
            if quiet, !reset, !silent, collector.states[index].isLive, !owed.owes(collector.names[index]) { continue }
            actions.append(.send(.request(reset ? resetting : plain), to: collector.names[index]))
        }
        if !owed.isEmpty {
            let collector = collector
            // A dropped machine is not asked: a reply carrying one table would hear it again with
            // its other tables' rows from before the drop (it returns by its regular updates).
            let reported = { (peer: NodeID) in collector[peer].map { $0.isLive ? $0.reported : 0 } ?? 0 }
            for (peer, request) in owed.requests(reported: reported, wanted: tables) {
                actions.append(.send(.resync(request), to: peer))
            }
        }
    }

    private mutating func send(_ number: UInt64, now: Instant, into actions: inout [RoleAction]) {
        let generation = configuration.schedule.generation(number)
        // A restarted proxy must not send TLAs a cluster table missing machines it simply has not
        // heard yet (it would replace what the TLA holds).
        if collector.warmingUp(at: now) {
            actions.append(
                .log(
                    LogRecord(
                        .debug,
                        "warming up: holding back the cluster table",
                        metadata: ["generation": "\(number)"]
                    )
                )
            )
            return
        }
        var bytes = 0
        for peer in receivers.keys.sorted() {
            receivers[peer]!.expire(at: now)
            let live = receivers[peer]!.liveTables(at: now)
            if live.isEmpty {
                if now - receivers[peer]!.lastRequest > configuration.interestLease {
                    receivers.removeValue(forKey: peer)
                    keepHistoryWhileServing()
                }
                continue
            }
            if receivers[peer]!.standby {
                actions.append(.send(.heartbeat(Heartbeat(generation: number)), to: peer))
                continue
            }
            let entries = live.map { entry($0, for: peer, generation: number, merge: false) }
            let update = GenerationUpdate(generation: generation, entries: entries)
            bytes += update.estimatedBytes
            actions.append(.send(.update(update), to: peer))
            updatesSent += 1
        }
        if bytes > 0 { actions.append(RoleMetrics.counter("query.bytes_out", bytes, role: "proxy")) }
        actions.append(
            RoleMetrics.sample("query.generation_latency", (now - generation.time).secondsDouble, role: "proxy")
        )
    }

    /// The cluster's entry for `table` for one TLA: live machines' rows, and figures counting live,
    /// dropped and never-heard machines.
    private mutating func entry(_ table: TableName, for peer: NodeID, generation: UInt64, merge: Bool) -> TableEntry {
        var slots: [Int] = []
        var dropped: [DroppedNode] = []
        var oldest: Instant?
        var newest: Instant?
        let sorted = store.sortedSlots(of: table)
        if let stored = store[table] {
            // Look each origin up among the dropped only when some machine is dropped.
            let anyDropped = collector.anyDropped
            slots.reserveCapacity(sorted.count)
            for slot in sorted {
                if anyDropped, let since = collector.droppedSince(stored.table.origin(at: slot)) {
                    dropped.append(DroppedNode(node: stored.table.origin(at: slot), since: since))
                    continue
                }
                slots.append(slot)
                let confirmed = stored.confirmedAt(slot)
                oldest = Instant.minimum(oldest, confirmed)
                newest = Instant.maximum(newest, confirmed)
            }
        }
        if !droppedHolders.isEmpty, let holders = droppedHolders[table] {
            for holder in holders where store[table]?.table.slices[holder] == nil {
                if let since = collector.droppedSince(holder) { dropped.append(DroppedNode(node: holder, since: since)) }
            }
        }
        let neverHeard = collector.neverHeardCount
        // A live machine asked for the table again that has not sent it in full yet may have it:
        // known, not contributing (else a table wanted again would claim all of its machines
        // while only the quickest had answered).
        // One dropped meanwhile (silent while nothing was asked of it) is named as dropped.
        var owing = 0
        if !owed.isEmpty {
            let held = store[table]?.table
            for machine in owed.sources(owing: table) where held?.slices[machine] == nil {
                if let since = collector.droppedSince(machine) {
                    if !dropped.contains(where: { $0.node == machine }) { dropped.append(DroppedNode(node: machine, since: since)) }
                } else if collector.lastHeard(machine) != nil {
                    owing += 1
                }
            }
        }
        let hasTable = !slots.isEmpty || !dropped.isEmpty || owing > 0
        let completeness = TableCompleteness(
            machinesContributing: slots.count,
            machinesKnown: slots.count + dropped.count + neverHeard + owing,
            clustersContributing: slots.isEmpty ? 0 : 1,
            clustersKnown: hasTable ? 1 : 0,
            dropped: dropped,
            oldestPublish: oldest,
            newestPublish: newest
        )
        return receivers[peer]!.entry(
            for: table,
            slots: slots,
            store: &store,
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
