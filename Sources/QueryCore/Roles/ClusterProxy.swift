/// A cluster's proxy (at least two per cluster, each receiving from every edge of the cluster).
///
/// Keeps per machine, per table, the newest version (the version rule). In every generation it waits
/// until every machine it knows has reported (completeness), bounded by its slot `t + δ1` so a silent
/// machine cannot stall the generation, then sends the combined cluster table to each TLA that asked,
/// as per-origin deltas against what that TLA acknowledged. A machine silent for `dropAfter` is
/// dropped: its rows vanish from what the proxy sends; when it reports again they return. Only a
/// machine's newest regular update hears it, and the figures sent list the machines not heard for
/// an interval or more, so a TLA that stops hearing this proxy drops them in time. The
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
    /// The machines' updates of a generation not sent yet, received and not applied yet: applied
    /// together, in the order received, when the generation is sent or anything reads the held rows
    /// (see ``TableStore/intake(_:role:into:fresh:)``). An update of a generation already sent is applied
    /// as it arrives.
    private var pending: [TableStore.PendingIntake] = []

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

    /// The rows held for `table`, all origins (dropped ones included), or `nil`: as of every update
    /// received (those not applied yet applied to a copy).
    public func table(_ name: TableName) -> Table? {
        guard !pending.isEmpty else { return store[name]?.table }
        var store = self.store
        var sequences = self.sequences
        var ignored: [RoleAction] = []
        Self.apply(pending, to: &store, sequences: &sequences, forgetAfter: configuration.dropAfter, into: &ignored)
        return store[name]?.table
    }

    /// The rows applied for `table`, without the updates received and not applied yet (see
    /// ``table(_:)``): for checks that read the state after every step.
    package func appliedTable(_ name: TableName) -> Table? { store[name]?.table }

    /// Applies the updates held back (see ``pending``).
    private mutating func applyPending(into actions: inout [RoleAction]) {
        guard !pending.isEmpty else { return }
        Self.apply(pending, to: &store, sequences: &sequences, forgetAfter: configuration.dropAfter, into: &actions)
        pending.removeAll(keepingCapacity: true)
    }

    /// Applies `pending` to `store`, each update's entries sorted from duplicated or reordered ones
    /// by `sequences`.
    private static func apply(
        _ pending: [TableStore.PendingIntake],
        to store: inout TableStore,
        sequences: inout SenderSequences,
        forgetAfter: Duration,
        into actions: inout [RoleAction]
    ) {
        store.intake(pending, role: "proxy", into: &actions) { update in
            sequences.fresh(
                update.entries, sequence: update.sequence, from: update.peer, index: update.sender, now: update.arrived,
                forgetAfter: forgetAfter)
        }
    }

    public mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            collector.start(now: now)  // the running generation is joined midway: skip it
            forwardInterest(now: now, into: &actions)
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.generationTimer:
            // Held back for at most a generation (updates of one not sent yet are, normally, none).
            applyPending(into: &actions)
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
            keepHistoryWhileServing(into: &actions)
            // A handful of tables each: linear searches, no sets built per request.
            if !request.tables.allSatisfy(forwarded.contains) { forwardInterest(now: now, into: &actions) }
        case .ack(let ack):
            receivers[peer]?.acknowledge(generation: ack.generation, tables: ack.tables)
        case .resync(let request):
            guard receivers[peer] != nil else { return }
            applyPending(into: &actions)
            receivers[peer]!.resync(request, generation: request.generation, store: store)
            actions.append(RoleMetrics.counter("query.resyncs", 1, role: "proxy"))
            let entry = entry(request.table, for: peer, generation: request.generation, merge: true, now: now)
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
        let source = collector.index(adopting: peer)
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
        // Only the newest regular update hears the machine: it confirms every table the machine
        // publishes. A resync reply (labelled with a generation already reported) carries one table,
        // and a duplicated or reordered update is stale: counted as hearing the machine, either
        // would keep it alive, its other tables' rows ever older, beyond `dropAfter` (a machine
        // restarted long after its last update that answers a resync, then dies again).
        if newest { collector.heard(at: source, now: now, into: &actions) }
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
        // Applied with the generation's other updates, when it is sent (its size counted and its
        // duplicated or reordered entries skipped then); an update of a generation already sent is
        // applied now (after any held back: in the order received).
        pending.append(
            TableStore.PendingIntake(
                entries: update.entries, sequence: update.sequence, generation: update.generation.number, peer: peer,
                sender: source, arrived: now, expected: newest ? forwarded : []))
        if update.generation.number <= collector.sent { applyPending(into: &actions) }
        // A wanted table the newest regular update neither carries nor names as not published: the
        // machine was not asked for it (a lost request, a lapsed lease). It owes the table (known,
        // not contributing) and is asked again. (Its rows of tables it left out vanish when the
        // update is applied.)
        if newest {
            // A handful of tables: linear searches, no sets or sorting per update.
            for name in forwarded where !update.notPublished.contains(name) {
                var listed = false
                for e in update.entries.indices where update.entries[e].table == name {
                    listed = true
                    break
                }
                if !listed { owed.owe(name, by: peer) }
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
    private mutating func keepHistoryWhileServing(into actions: inout [RoleAction]) {
        let keep = receivers.values.contains { !$0.standby }
        guard keep != store.keepsHistory else { return }
        // The updates held back are applied as they would have been when they arrived.
        applyPending(into: &actions)
        store.keepHistory(keep)
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
        // returns they would pass for current. The updates held back are applied first, as they
        // would have been when they arrived.
        if !pending.isEmpty, store.names.contains(where: { !tables.contains($0) }) { applyPending(into: &actions) }
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
        applyPending(into: &actions)
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
                    keepHistoryWhileServing(into: &actions)
                }
                continue
            }
            if receivers[peer]!.standby {
                actions.append(.send(.heartbeat(Heartbeat(generation: number)), to: peer))
                continue
            }
            let entries = live.map { entry($0, for: peer, generation: number, merge: false, now: now) }
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
    private mutating func entry(
        _ table: TableName, for peer: NodeID, generation: UInt64, merge: Bool, now: Instant
    ) -> TableEntry {
        var slots: [Int] = []
        var dropped: [DroppedNode] = []
        var oldest: Instant?
        var newest: Instant?
        // Machines not heard for an interval or more: listed with their silence, so a TLA whose
        // view of this cluster falls silent (this proxy dies) ages them out when this proxy would
        // have dropped them, not a whole `dropAfter` after the cluster falls silent.
        var silent: [SilentMachine] = []
        var heardOldest: Instant?
        let silences = collector.silentSources(now: now, atLeast: configuration.schedule.interval)
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
                if !silences.isEmpty, let silence = silences[stored.table.origin(at: slot)] {
                    silent.append(SilentMachine(node: stored.table.origin(at: slot), silence: silence, confirmedAt: confirmed))
                } else {
                    heardOldest = Instant.minimum(heardOldest, confirmed)
                }
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
            newestPublish: newest,
            silent: silent,
            heardOldestPublish: silent.isEmpty ? nil : heardOldest
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
