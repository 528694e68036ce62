/// A TLA's child: takes over the deferred tables of its TLA. It applies (decodes and combines) the
/// cluster entries the TLA relays to it, and when the TLA asks for a generation it hands the
/// combined tables back as per-origin deltas against what the TLA acknowledged.
///
/// Deltas it cannot apply are resynced through the TLA, which forwards the request to the proxy.
///
/// A child that (re)starts empty cannot rely on deltas alone: the TLA acknowledged the proxies'
/// rows on its behalf, so unchanged origins would never arrive again. Until a cluster has sent a
/// table in full (an entry that replaces its scope), the child asks the TLA for a full resync of
/// that table, and asks again every few generations while some cluster is still missing.
public struct AggregatorChild: Role {
    /// Child settings.
    public struct Configuration: Sendable {
        /// The TLA this child works for.
        public var parent: NodeID
        /// Tables from one designated source (machines, clusters, configuration), applied
        /// all-or-nothing. Default none.
        public var sourcedTables: Set<TableName>
        /// The schedule (for generation numbers).
        public var schedule: GenerationSchedule
        /// A cluster whose rows have not been relayed for this long is left out of what the child
        /// hands back (and reported dropped), as its TLA does: a TLA that restarted cannot know
        /// how old the child's rows of a cluster it has not heard yet are. Default 3 minutes.
        public var dropAfter: Duration

        /// Creates a configuration.
        public init(
            parent: NodeID,
            schedule: GenerationSchedule = GenerationSchedule(),
            sourcedTables: Set<TableName> = [],
            dropAfter: Duration = .seconds(180)
        ) {
            self.parent = parent
            self.schedule = schedule
            self.sourcedTables = sourcedTables
            self.dropAfter = dropAfter
        }
    }

    public let id: NodeID
    /// The settings.
    public let configuration: Configuration
    private var store: TableStore
    private var figures: [TableName: [NodeID: TableCompleteness]] = [:]
    private var parent: Downstream
    /// Table → clusters that have sent the table in full since this child started.
    private var synced: [TableName: Set<NodeID>] = [:]
    /// Table → generation of the last full resync this child asked for.
    private var resyncRequested: [TableName: UInt64] = [:]
    /// Cluster → newest generation relayed from it.
    private var lastRelayed: [NodeID: UInt64] = [:]
    /// Table → cluster → newest generation that relayed the table from the cluster. Gaps are
    /// found per table: a resync answer carries only the table asked for, so it must not hide a
    /// lost update of the cluster's other tables.
    private var lastRelayedTable: [TableName: [NodeID: UInt64]] = [:]
    /// Cluster → when something of it was last relayed here.
    private var lastRelayedAt: [NodeID: Instant] = [:]
    /// What the previous combine request said the TLA had relayed (see ``CombineRequest/relayed``):
    /// checked at the next one, a whole interval later, against what arrived.
    private var relayedAsOfLastCombine: [RelayedGeneration] = []
    /// Numbers the updates sent to the parent.
    private var sequencer = UpdateSequencer()
    /// The newest relayed update applied per proxy and table (duplicated or reordered ones are skipped).
    private var sequences = SenderSequences()
    /// Table → cluster → the resync this child asked of that cluster and has not seen answered.
    private var awaitedResyncs: [TableName: [NodeID: AwaitedResync]] = [:]

    /// A resync asked of one cluster for one table: the generation it was asked in and the origins
    /// whose full copies are due (`full`: the whole table, as an entry replacing the scope).
    struct AwaitedResync: Sendable {
        var generation: UInt64
        var origins: Set<NodeID>
        var full: Bool
    }

    /// Generations to wait for a requested full resync before asking again.
    static let resyncRetryAfter: UInt64 = 3

    /// Creates a child.
    public init(id: NodeID, configuration: Configuration) {
        self.id = id
        self.configuration = configuration
        self.store = TableStore(keepsHistory: true, sourced: configuration.sourcedTables)
        self.parent = Downstream(now: .zero)
    }

    /// The combined rows held for `table` (all clusters), or `nil`.
    public func table(_ name: TableName) -> Table? { store[name]?.table }

    public mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        guard case .received(let message, let peer) = input else { return actions }
        guard peer == configuration.parent else {
            actions.append(
                .log(
                    LogRecord(
                        .debug,
                        "message from a node other than the parent ignored",
                        metadata: ["peer": peer.rawValue]
                    )
                )
            )
            return actions
        }
        switch message {
        case .deferral(var deferral):
            lastRelayedAt[deferral.cluster] = now
            let fresh = sequences.fresh(
                deferral.entries, sequence: deferral.sequence, from: deferral.proxy, now: now,
                forgetAfter: configuration.dropAfter)
            if fresh.skipped > 0 {
                actions.append(RoleMetrics.counter("query.stale_rejections", fresh.skipped, role: "tla-child"))
            }
            deferral.entries = fresh.entries
            for entry in deferral.entries { figures[entry.table, default: [:]][deferral.cluster] = entry.completeness }
            requestFullState(deferral, into: &actions)
            let intake = store.intake(
                deferral.entries,
                generation: deferral.generation.number,
                from: peer,
                scope: deferral.cluster,
                sendAck: false,
                role: "tla-child",
                now: now,
                into: &actions
            )
            actions.append(
                RoleMetrics.counter(
                    "query.bytes_in",
                    deferral.entries.reduce(0) { total, entry in
                        total + entry.copies.reduce(0) { $0 + $1.copy.estimatedBytes }
                    },
                    role: "tla-child"
                )
            )
            noteResyncs(deferral, intake: intake)
        case .combine(let request):
            if request.reset {
                parent = Downstream(now: now)
            }
            var dropped = Dictionary(
                request.droppedClusters.map { ($0.node, $0.since) },
                uniquingKeysWith: { a, _ in a }
            )
            addSilentClusters(to: &dropped, now: now)
            forgetDropped(dropped)
            // Machines the TLA aged out (their cluster's proxy no longer heard): their rows are left
            // out, not forgotten (they return with the proxy's next word of them, as at the TLA).
            agedOut = Dictionary(request.droppedMachines.map { ($0.node, $0.since) }, uniquingKeysWith: { min($0, $1) })
            askForLostRelays(request, into: &actions)
            // Tables the TLA no longer asks for are let go: their rows stop being relayed, and
            // handed back when interest returns they would pass for current.
            for name in store.names where !request.tables.contains(name) { forget(name) }
            let number = request.generation.number
            // Every deferred table, also one not held (yet, or any more after a restart): an entry
            // without copies that replaces this child's scope tells the TLA to let go of old rows.
            let tables = Set(store.names).union(request.tables).sorted()
            let entries = tables.map { entry($0, dropped: dropped, generation: number, merge: false) }
            let update = GenerationUpdate(generation: request.generation, entries: entries)
            RoleMetrics.send(update, to: peer, role: "tla-child", into: &actions)
            lastDropped = dropped
        case .ack(let ack):
            parent.acknowledge(generation: ack.generation, tables: ack.tables)
        case .resync(let request):
            // The last combine request may be long past (the TLA was cut off from this child and
            // everything else): clusters silent here for `dropAfter` since are left out of the
            // answer too, as the next hand-back would leave them out.
            var dropped = lastDropped
            addSilentClusters(to: &dropped, now: now)
            if dropped != lastDropped {
                forgetDropped(dropped)
                lastDropped = dropped
            }
            parent.resync(request, generation: request.generation, store: store)
            actions.append(RoleMetrics.counter("query.resyncs", 1, role: "tla-child"))
            let entry = entry(request.table, dropped: lastDropped, generation: request.generation, merge: true)
            let update = GenerationUpdate(
                generation: configuration.schedule.generation(request.generation),
                entries: [entry]
            )
            RoleMetrics.send(update, to: peer, role: "tla-child", into: &actions)
        default:
            break
        }
        sequencer.stamp(&actions, now: now)
        return actions
    }

    private var lastDropped: [NodeID: Instant] = [:]
    /// Machine → since when, as of the last combine request: the machines of live clusters the TLA
    /// aged out (see ``CombineRequest/droppedMachines``).
    private var agedOut: [NodeID: Instant] = [:]

    /// Adds the clusters silent here for `dropAfter` to `dropped` (whatever the TLA knows), each
    /// dropped since `dropAfter` after it was last heard.
    private func addSilentClusters(to dropped: inout [NodeID: Instant], now: Instant) {
        for (cluster, heard) in lastRelayedAt where dropped[cluster] == nil && now - heard >= configuration.dropAfter {
            dropped[cluster] = heard + configuration.dropAfter
        }
    }
    /// Dropped clusters whose rows were forgotten, with the drop's time.
    private var forgottenDrops: [NodeID: Instant] = [:]

    /// Forgets the rows of clusters newly `dropped` (by the TLA, or for silence here): they are
    /// stale, and a dropped cluster returns with its full state, so nothing of before its drop may
    /// be handed back when it returns (the update carrying that state could be lost on the way
    /// here). Each is then asked for in full again, as after a start.
    private mutating func forgetDropped(_ dropped: [NodeID: Instant]) {
        forgottenDrops = forgottenDrops.filter { dropped[$0.key] == $0.value }
        let newly = dropped.filter { forgottenDrops[$0.key] != $0.value }
        guard !newly.isEmpty else { return }
        var origins: Set<NodeID> = []
        for name in store.names {
            guard let stored = store[name] else { continue }
            for slot in 0..<stored.table.slotCount where stored.table.slice(at: slot) != nil {
                if let scope = stored.scope(at: slot), newly[scope] != nil { origins.insert(stored.table.origin(at: slot)) }
            }
        }
        for origin in origins.sorted() { store.removeOrigin(origin) }
        for (cluster, since) in newly {
            forgottenDrops[cluster] = since
            for table in synced.keys { synced[table]?.remove(cluster) }
            for table in awaitedResyncs.keys { awaitedResyncs[table]?[cluster] = nil }
        }
    }

    /// Forgets a table and everything known of it here.
    private mutating func forget(_ table: TableName) {
        store.forget(table)
        figures[table] = nil
        synced[table] = nil
        lastRelayedTable[table] = nil
        resyncRequested[table] = nil
        awaitedResyncs[table] = nil
    }

    /// Notes the clusters that sent a table in full, and asks the parent for a full resync of every
    /// table some cluster has only sent deltas of since this child started (it may hold nothing of
    /// that cluster's unchanged origins).
    ///
    /// A relayed update that did not arrive (the TLA acknowledged it for this child all the same)
    /// shows as a gap in the generations relaying a table from a cluster: the cluster then counts
    /// as not sent that table in full, so rows or removals carried only by the lost update cannot
    /// stay missing here. The gap is per table: a resync answer of the same generation carrying
    /// another table does not fill it.
    private mutating func requestFullState(_ deferral: Deferral, into actions: inout [RoleAction]) {
        let number = deferral.generation.number
        for entry in deferral.entries {
            let last = lastRelayedTable[entry.table]?[deferral.cluster]
            if !entry.replacesScope, let last, number > last + 1 { synced[entry.table]?.remove(deferral.cluster) }
            lastRelayedTable[entry.table, default: [:]][deferral.cluster] = max(last ?? 0, number)
        }
        lastRelayed[deferral.cluster] = max(lastRelayed[deferral.cluster] ?? 0, number)
        // A resync answered by neither a full entry nor the due copies before the cluster's next
        // generation was lost on the way here (the TLA acknowledged the answer for this child all the
        // same): the cluster counts as not sent in full, so the table is asked for in full again at
        // once (a drop or return carried only by the lost answer must not wait for the retry).
        for entry in deferral.entries where !entry.replacesScope {
            guard let awaited = awaitedResyncs[entry.table]?[deferral.cluster], number > awaited.generation else {
                continue
            }
            awaitedResyncs[entry.table]?[deferral.cluster] = nil
            synced[entry.table]?.remove(deferral.cluster)
            // Known lost, not merely slow: ask again now rather than after `resyncRetryAfter`.
            resyncRequested[entry.table] = nil
            actions.append(
                .log(
                    LogRecord(
                        .info,
                        "a requested resync was not answered",
                        metadata: [
                            "table": entry.table.rawValue, "cluster": deferral.cluster.rawValue,
                            "generation": "\(awaited.generation)",
                        ]
                    )
                )
            )
        }
        for entry in deferral.entries {
            if entry.replacesScope {
                synced[entry.table, default: []].insert(deferral.cluster)
                continue
            }
            guard !(synced[entry.table]?.contains(deferral.cluster) ?? false) else { continue }
            askFullResync(
                of: entry.table, generation: number, cluster: deferral.cluster,
                because: "asking for a full resync of a table not yet received in full", into: &actions)
        }
    }

    /// Relays the previous combine request said were sent and that have not arrived since (a whole
    /// interval): lost on the way here, with whatever rows or removals they carried. The clusters
    /// count as not having sent their tables in full, and the tables are asked for in full now,
    /// rather than when a later relay happens to reveal the gap (after several lost in a row, the
    /// child would hand back rows its TLA knows are gone, a dropped machine's, say).
    private mutating func askForLostRelays(_ request: CombineRequest, into actions: inout [RoleAction]) {
        let number = request.generation.number
        for relayed in relayedAsOfLastCombine where (lastRelayed[relayed.cluster] ?? 0) < relayed.generation {
            actions.append(
                .log(
                    LogRecord(
                        .info, "relayed updates did not arrive",
                        metadata: ["cluster": relayed.cluster.rawValue, "generation": "\(relayed.generation)"])))
            for table in request.tables {
                synced[table]?.remove(relayed.cluster)
                askFullResync(
                    of: table, generation: number, cluster: relayed.cluster,
                    because: "asking for a full resync of a table whose relays were lost", into: &actions)
            }
        }
        relayedAsOfLastCombine = request.relayed
    }

    /// Asks the parent for `table` in full from every cluster (unless asked within the last
    /// ``resyncRetryAfter`` generations), awaiting each cluster's answer.
    private mutating func askFullResync(
        of table: TableName, generation number: UInt64, cluster: NodeID, because reason: String,
        into actions: inout [RoleAction]
    ) {
        if let last = resyncRequested[table], number < last + Self.resyncRetryAfter, number >= last { return }
        resyncRequested[table] = number
        // The TLA forwards a full resync to every cluster's proxy: each owes a full entry.
        for owing in Set(lastRelayed.keys).union([cluster]) {
            awaitedResyncs[table, default: [:]][owing] = AwaitedResync(generation: number, origins: [], full: true)
        }
        let request = ResyncRequest(generation: number, table: table, origins: [])
        actions.append(.send(.resync(request), to: configuration.parent))
        actions.append(
            .log(LogRecord(.info, reason, metadata: ["table": table.rawValue, "cluster": cluster.rawValue]))
        )
        actions.append(RoleMetrics.counter("query.full_resyncs", 1, role: "tla-child"))
    }

    /// After a deferral was applied: resyncs it answered are settled (a full entry answers any; due
    /// copies that applied answer a partial one), and deltas it refused are awaited as resyncs.
    private mutating func noteResyncs(_ deferral: Deferral, intake: TableStore.Intake) {
        let cluster = deferral.cluster
        for entry in deferral.entries {
            let refused = Set(intake.reports[entry.table]?.resync ?? [])
            if var awaited = awaitedResyncs[entry.table]?[cluster] {
                if entry.replacesScope {
                    awaitedResyncs[entry.table]?[cluster] = nil
                } else if !awaited.full {
                    for copy in entry.copies where !refused.contains(copy.origin) {
                        awaited.origins.remove(copy.origin)
                    }
                    awaitedResyncs[entry.table]?[cluster] = awaited.origins.isEmpty ? nil : awaited
                }
            }
            guard !refused.isEmpty else { continue }
            var awaited = awaitedResyncs[entry.table]?[cluster]
                ?? AwaitedResync(generation: deferral.generation.number, origins: [], full: false)
            awaited.generation = max(awaited.generation, deferral.generation.number)
            awaited.origins.formUnion(refused)
            awaitedResyncs[entry.table, default: [:]][cluster] = awaited
        }
    }

    /// The combined entry for `table`: origins of live clusters, the clusters' figures summed.
    private mutating func entry(
        _ table: TableName,
        dropped: [NodeID: Instant],
        generation: UInt64,
        merge: Bool
    ) -> TableEntry {
        var slots = store.sortedSlots(of: table)
        if let stored = store[table], !dropped.isEmpty {
            slots = slots.filter { slot in
                guard let scope = stored.scope(at: slot) else { return false }
                return dropped[scope] == nil
            }
        }
        if let stored = store[table], !agedOut.isEmpty {
            let agedOut = agedOut
            slots = slots.filter { agedOut[stored.table.origin(at: $0)] == nil }
        }
        var completeness = TableCompleteness()
        let byCluster = figures[table] ?? [:]
        // A cluster counts only the machines whose rows are held here: after a restart, a lost relay
        // or a refused delta its reported figures run ahead of them until its full state arrives.
        let held = store.heldOrigins(of: table, amongSlots: slots)
        for cluster in byCluster.keys.sorted() {
            let reported = byCluster[cluster]!.agingOut(agedOut).limited(toHeld: held[cluster] ?? 0)
            if let since = dropped[cluster] {
                completeness.add(
                    TableCompleteness(
                        machinesKnown: reported.machinesKnown,
                        clustersKnown: 1,
                        dropped: [DroppedNode(node: cluster, since: since)]
                    )
                )
            } else {
                completeness.add(reported)
            }
        }
        // A dropped cluster that never reported the table here may have it: known, as dropped.
        for (cluster, since) in dropped.sorted(by: { $0.key < $1.key }) where byCluster[cluster] == nil {
            completeness.add(TableCompleteness(clustersKnown: 1, dropped: [DroppedNode(node: cluster, since: since)]))
        }
        return parent.entry(
            for: table,
            slots: slots,
            store: store,
            completeness: completeness,
            generation: generation,
            merge: merge
        )
    }
}
