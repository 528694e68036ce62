/// A top-level aggregator (TLA): combines the cluster tables of the clusters it sees (its
/// subnetwork; a *mega* TLA sees all) and sends them to the SQL nodes that asked.
///
/// Per cluster it listens to one proxy at a time (the *active* one; the others are asked as
/// standbys so their interest stays warm) and fails over to the next when the active one is silent
/// for `failoverAfter`. It waits each generation until every live cluster has reported, at most
/// until its slot `t + δ2`; a cluster silent for `dropAfter` is dropped (its rows vanish from what
/// the TLA sends) and returns once it has sent its full state again; a machine its proxy listed as
/// silent vanishes `dropAfter` after the proxy last heard it, as the proxy would have dropped it
/// (silence does not stack when the proxy itself falls silent). Configured tables are deferred to
/// ``AggregatorChild``ren, which apply and combine them and hand them back; a child silent for
/// `childDropAfter` (default two intervals) is dropped the same way (its tables' rows vanish, named
/// as dropped in the completeness figures, and return once it holds every cluster's rows again). The completeness,
/// deadline and silence bookkeeping is the internal `Collector` shared with ``ClusterProxy``.
public struct Aggregator: Role {
    /// One cluster the TLA sees, with its redundant proxies in preference order.
    public struct ClusterSource: Sendable, Hashable {
        /// The cluster.
        public var cluster: NodeID
        /// Its proxies, in preference order.
        public var proxies: [NodeID]

        /// Creates a cluster source.
        public init(cluster: NodeID, proxies: [NodeID]) {
            self.cluster = cluster
            self.proxies = proxies
        }
    }

    /// TLA settings.
    public struct Configuration: Sendable {
        /// The clusters this TLA sees (its subnetwork).
        public var clusters: [ClusterSource]
        /// When generations start and when this tier sends (δ2).
        public var schedule: GenerationSchedule
        /// A cluster silent this long is dropped. Default 180 s.
        public var dropAfter: Duration
        /// An active proxy silent this long is replaced by the next. Default 1.25 intervals.
        public var failoverAfter: Duration
        /// A child that has not answered for this long is dropped. Default two intervals (at most
        /// `dropAfter`): a child answers every generation, and its combined rows stop changing while
        /// it is gone, so waiting for `dropAfter` would serve a machine's rows that long after the
        /// machine itself was dropped.
        public var childDropAfter: Duration
        /// How long forwarded interest lasts without refresh. Default three intervals.
        public var interestLease: Duration
        /// Tables always requested from the proxies.
        public var prewarm: [TableName]
        /// Tables deferred to children: table → child.
        public var deferred: [TableName: NodeID]
        /// The aggregator set this TLA belongs to; requests from non-members are refused.
        public var aggregatorSet: AggregatorSet?
        /// The tables this TLA serves (`nil`: all); requests for others get a redirect.
        public var servedTables: Set<TableName>?
        /// Where other tables are served (for redirects).
        public var partitions: [TablePartition]
        /// Tables from one designated source (machines, clusters, configuration), applied
        /// all-or-nothing. Default none.
        public var sourcedTables: Set<TableName>
        /// Fault isolation: use only these proxies (`nil`: all configured).
        public var pinnedProxies: Set<NodeID>?

        /// Creates a configuration.
        public init(
            clusters: [ClusterSource],
            schedule: GenerationSchedule = GenerationSchedule(),
            dropAfter: Duration = .seconds(180),
            failoverAfter: Duration? = nil,
            childDropAfter: Duration? = nil,
            interestLease: Duration? = nil,
            prewarm: [TableName] = [],
            deferred: [TableName: NodeID] = [:],
            aggregatorSet: AggregatorSet? = nil,
            servedTables: Set<TableName>? = nil,
            partitions: [TablePartition] = [],
            pinnedProxies: Set<NodeID>? = nil,
            sourcedTables: Set<TableName> = []
        ) {
            self.clusters = clusters
            self.schedule = schedule
            self.dropAfter = dropAfter
            self.failoverAfter = failoverAfter ?? schedule.interval * 5 / 4
            self.childDropAfter = childDropAfter ?? min(dropAfter, schedule.interval * 2)
            self.interestLease = interestLease ?? schedule.interval * 3
            self.prewarm = prewarm
            self.deferred = deferred
            self.aggregatorSet = aggregatorSet
            self.servedTables = servedTables
            self.partitions = partitions
            self.pinnedProxies = pinnedProxies
            self.sourcedTables = sourcedTables
        }
    }

    /// What the TLA knows about one cluster.
    struct ClusterState: Sendable {
        var proxies: [NodeID]
        var active = 0
        var activeSince: Instant
        var heard: [NodeID: Instant] = [:]
        var figures: [TableName: TableCompleteness] = [:]
        /// When each table's ``figures`` arrived (on this TLA's clock): their silent machines were
        /// last heard their silence before then.
        var figuresAt: [TableName: Instant] = [:]
        /// While the cluster is dropped: how many machines it had of the tables let go since (their
        /// figures are forgotten; these counts only say how many machines an answer lacks).
        var machinesWhileDropped: [TableName: Int] = [:]

        var activeProxy: NodeID? { proxies.isEmpty ? nil : proxies[active] }

        /// The machines listed silent in the figures of `table` that are due to be dropped by `now`,
        /// each since `dropAfter` after it was last heard (its silence before the figures arrived):
        /// when the proxy that sent them, the one dropping machines, is no longer heard, silence
        /// does not stack (the cluster kept for `dropAfter`, its machines' rows already old).
        func agedOut(_ table: TableName, now: Instant, dropAfter: Duration) -> [NodeID: Instant] {
            guard let figures = figures[table], !figures.silent.isEmpty, let at = figuresAt[table] else { return [:] }
            var aged: [NodeID: Instant] = [:]
            for machine in figures.silent {
                let since = at - machine.silence + dropAfter
                if now >= since { aged[machine.node] = since }
            }
            return aged
        }

        /// The figures of `table` with the machines due to be dropped by `now` aged out.
        func figures(of table: TableName, now: Instant, dropAfter: Duration) -> TableCompleteness? {
            guard let figures = figures[table] else { return nil }
            guard !figures.silent.isEmpty else { return figures }
            return figures.agingOut(agedOut(table, now: now, dropAfter: dropAfter))
        }
    }

    /// Fires at every generation start: failover and drop checks, interest refresh.
    public static let generationTimer = TimerID("tla.generation")
    /// Fires at the TLA's slot (δ2): send whatever has arrived.
    public static let deadlineTimer = TimerID("tla.deadline")

    public let id: NodeID
    /// The settings.
    public let configuration: Configuration
    private var store: TableStore
    private var clusters: [NodeID: ClusterState] = [:]
    /// The clusters' names, sorted (the set is fixed by the configuration).
    private let clusterOrder: [NodeID]
    /// Completeness, silence and drops of the clusters; when to send.
    private var collector: Collector
    /// Silence and drops of the children: a child silent for `dropAfter` is dropped like a cluster,
    /// and the tables deferred to it vanish from what this TLA sends until it answers again
    /// (otherwise its last combined rows would be served, ever older, for as long as it is gone).
    private var childSources: Collector
    private var proxyCluster: [NodeID: NodeID] = [:]
    private var receivers: [NodeID: Downstream] = [:]
    private var forwarded: [TableName] = []
    /// Tables let go and wanted again, owed in full by the clusters' active proxies (a deferred
    /// table by its child, which hands it back).
    private var owed = OwedTables()
    private var deferredFigures: [TableName: TableCompleteness] = [:]
    /// Deferred table → the newest generation its child handed it back for: the generation of the
    /// rows held for it (a resync answer is labelled with it, not with a newer generation sent
    /// while the child's hand-backs were lost or late).
    private var handedBack: [TableName: UInt64] = [:]
    private var deferredOrigins: [NodeID: NodeID] = [:]
    private var childReset: Set<NodeID> = []
    /// Child → cluster → the newest generation of the cluster's updates relayed to the child (sent
    /// with every combine request, see ``CombineRequest/relayed``).
    private var relayedToChild: [NodeID: [NodeID: UInt64]] = [:]
    /// Children heard again after a drop, still dropped until they hold every cluster's current rows
    /// again (see ``ChildReturn``).
    private var returningChildren: [NodeID: ChildReturn] = [:]
    /// Numbers the updates sent to SQL nodes.
    private var sequencer = UpdateSequencer()
    /// The newest update applied per proxy or child and table (duplicated or reordered ones are skipped).
    private var sequences = SenderSequences()

    /// Creates a TLA.
    public init(id: NodeID, configuration: Configuration) {
        self.id = id
        self.configuration = configuration
        self.store = TableStore(keepsHistory: true, sourced: configuration.sourcedTables)
        for source in configuration.clusters {
            let proxies = source.proxies.filter { configuration.pinnedProxies?.contains($0) ?? true }
            clusters[source.cluster] = ClusterState(proxies: proxies, activeSince: .zero)
            for proxy in proxies { proxyCluster[proxy] = source.cluster }
        }
        clusterOrder = Set(configuration.clusters.map(\.cluster)).sorted()
        childReset = Set(configuration.deferred.values)
        // Clusters and children report to the same tier.
        func bookkeeping(_ noun: String, dropAfter: Duration) -> Collector.Configuration {
            Collector.Configuration(
                tier: .aggregator,
                schedule: configuration.schedule,
                dropAfter: dropAfter,
                deadlineTimer: Self.deadlineTimer,
                role: "tla",
                noun: noun,
                warmUpWaitsForSilentSources: false
            )
        }
        var clusterBookkeeping = bookkeeping("cluster", dropAfter: configuration.dropAfter)
        clusterBookkeeping.returnsWithFullState = true
        collector = Collector(
            configuration: clusterBookkeeping,
            sources: configuration.clusters.map(\.cluster))
        childSources = Collector(
            configuration: bookkeeping("child", dropAfter: configuration.childDropAfter),
            sources: Array(Set(configuration.deferred.values)))
    }

    /// The proxy currently listened to for `cluster`.
    public func activeProxy(of cluster: NodeID) -> NodeID? { clusters[cluster]?.activeProxy }

    /// Children currently dropped (or returning, see ``ChildReturn``) and since when, sorted.
    public var droppedChildren: [DroppedNode] { childSources.dropped }

    /// Clusters currently dropped and since when, sorted.
    public var droppedClusters: [DroppedNode] {
        collector.dropped
    }

    /// The newest generation sent to SQL nodes.
    public var sentGeneration: UInt64 { collector.sent }

    /// The combined rows held for `table` (dropped clusters included), or `nil`.
    public func table(_ name: TableName) -> Table? { store[name]?.table }

    public mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            collector.start(now: now)
            childSources.start(now: now)
            for name in clusters.keys { clusters[name]!.activeSince = now }
            forwardInterest(now: now, into: &actions)
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.generationTimer:
            checkSilence(now: now, into: &actions)
            forwardInterest(now: now, into: &actions)
            // Sources with skewed clocks may have reported this generation already.
            if let number = collector.generationStarted(now: now) { send(number, now: now, into: &actions) }
            actions.append(collector.deadline(now: now))
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.deadlineTimer:
            failOver(now: now, into: &actions)
            childSources.checkSilence(now: now, into: &actions)
            if let number = collector.deadlineReached(now: now, into: &actions) { send(number, now: now, into: &actions) }
        case .received(let message, let peer):
            onMessage(message, from: peer, now: now, into: &actions)
        case .peerUp(let peer):
            // A reconnected receiver gets the full state in the next generation.
            receivers[peer]?.startOver()
            if childSources.contains(peer) { resendDeferred(to: peer, now: now, into: &actions) }
        case .timerFired, .peerDown, .publish, .query:
            break
        }
        sequencer.stamp(&actions, now: now)
        return actions
    }

    /// The children, sorted.
    private var children: [NodeID] { childSources.names }

    private mutating func onMessage(
        _ message: Message,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        switch message {
        case .update(let update):
            if childSources.contains(peer) {
                onChildUpdate(update, from: peer, now: now, into: &actions)
            } else {
                onProxyUpdate(update, from: peer, now: now, into: &actions)
            }
        case .heartbeat:
            guard let cluster = proxyCluster[peer] else { break }
            hear(peer, cluster: cluster, now: now)
            // The active proxy takes this TLA for a standby (its request was lost): ask it again.
            if clusters[cluster]!.activeProxy == peer, !forwarded.isEmpty {
                actions.append(.send(.request(request(to: cluster, proxy: clusters[cluster]!.active)), to: peer))
            }
        case .request(let request):
            onRequest(request, from: peer, now: now, into: &actions)
        case .ack(let ack):
            receivers[peer]?.acknowledge(generation: ack.generation, tables: ack.tables)
        case .resync(let request):
            if childSources.contains(peer) {
                forwardResync(request, now: now, into: &actions)
            } else if receivers[peer] != nil {
                receivers[peer]!.resync(request, generation: request.generation, store: store)
                actions.append(RoleMetrics.counter("query.resyncs", 1, role: "tla"))
                // The reply carries the table as this TLA holds it now: labelled with the newest
                // generation sent, not the older one the SQL node last heard (after a partition or
                // this TLA's restart), or the SQL node would join it with tables it holds from then.
                // A deferred table's rows are as of its child's last hand-back, and labelled so even
                // when the SQL node asked as of a newer generation: labelled newer, they would pass
                // for current (rows of machines dropped since, say). The SQL node keeps the newer of
                // the two for the table, so the label never takes it back.
                var number = max(request.generation, collector.sent)
                if configuration.deferred[request.table] != nil, let handed = handedBack[request.table] {
                    number = min(number, handed)
                }
                let entry = entry(request.table, for: peer, generation: number, merge: true, now: now)
                let update = GenerationUpdate(
                    generation: configuration.schedule.generation(number),
                    entries: [entry]
                )
                RoleMetrics.send(update, to: peer, role: "tla", into: &actions)
            }
        default:
            break
        }
    }

    private mutating func onRequest(
        _ request: TableRequest,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        if let set = configuration.aggregatorSet, !set.members.contains(peer) {
            actions.append(
                .log(
                    LogRecord(
                        .info,
                        "request from outside the aggregator set refused",
                        metadata: ["peer": peer.rawValue, "set": set.name]
                    )
                )
            )
            return
        }
        var request = request
        if let redirect = configuration.partitions.redirect(
            for: Set(request.tables),
            served: configuration.servedTables,
            queryID: nil
        ) {
            actions.append(.send(.redirect(redirect), to: peer))
            request.tables.removeAll { redirect.tables.contains($0) }
        }
        receivers[peer, default: Downstream(now: now)].record(request, now: now)
        // A handful of tables each: linear searches, no sets built per request.
        if !request.tables.allSatisfy(forwarded.contains) { forwardInterest(now: now, into: &actions) }
    }

    /// Notes that `proxy` of `cluster` was heard (a failover prefers proxies heard recently).
    ///
    /// Only the active proxy's updates count as hearing the cluster: a standby's heartbeat carries
    /// no rows, so a dropped cluster returning on one would have its old rows served again beside
    /// fresh ones until its active proxy's state arrived.
    private mutating func hear(_ proxy: NodeID, cluster: NodeID, now: Instant) {
        clusters[cluster]!.heard[proxy] = now
    }

    /// Whether `update` carries every wanted table `cluster` has reported: a regular generation
    /// update does, and hears the cluster; a reply to a resync carries one table, and must not keep a
    /// cluster alive whose other tables' updates stopped arriving (their rows would be served ever
    /// older, beyond `dropAfter`).
    private static func carriesEveryTable(_ update: GenerationUpdate, of cluster: ClusterState, wanted: [TableName]) -> Bool {
        wanted.allSatisfy { table in
            cluster.figures[table] == nil || update.entries.contains { $0.table == table }
        }
    }

    private mutating func onProxyUpdate(
        _ update: GenerationUpdate,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        guard let cluster = proxyCluster[peer] else {
            actions.append(
                .log(LogRecord(.debug, "update from unknown proxy ignored", metadata: ["peer": peer.rawValue]))
            )
            return
        }
        hear(peer, cluster: cluster, now: now)
        guard clusters[cluster]!.activeProxy == peer else {
            actions.append(
                .log(LogRecord(.debug, "update from standby proxy ignored", metadata: ["peer": peer.rawValue]))
            )
            return
        }
        // Room for the usual actions (bytes in, rows merged, the acknowledgement, maybe a send).
        actions.reserveCapacity(actions.count + 4)
        if Self.carriesEveryTable(update, of: clusters[cluster]!, wanted: forwarded) {
            collector.heard(cluster, now: now, into: &actions)
        }
        actions.append(RoleMetrics.counter("query.bytes_in", update.estimatedBytes, role: "tla"))
        let number = update.generation.number
        let fresh = sequences.fresh(
            update.entries, sequence: update.sequence, from: peer, now: now, forgetAfter: configuration.dropAfter)
        if fresh.skipped > 0 { actions.append(RoleMetrics.counter("query.stale_rejections", fresh.skipped, role: "tla")) }
        // Synced once every table asked for came in full since the failover or start: a full reply
        // to one table's resync does not make the cluster synced.
        collector.reported(
            cluster, generation: number, inFull: fresh.entries.filter(\.replacesScope).map(\.table), wanted: forwarded)
        collector.finishReturn(cluster, into: &actions)
        var local: [TableEntry] = []
        local.reserveCapacity(fresh.entries.count)
        var relayed: [NodeID: [TableEntry]] = [:]
        for entry in fresh.entries {
            if entry.replacesScope, !owed.isEmpty { owed.received(entry.table, inFullFrom: cluster) }
            clusters[cluster]!.figures[entry.table] = entry.completeness
            clusters[cluster]!.figuresAt[entry.table] = now
            if let child = configuration.deferred[entry.table] {
                relayed[child, default: []].append(entry)
                for copy in entry.copies { deferredOrigins[copy.origin] = cluster }
            } else {
                local.append(entry)
            }
        }
        for entries in relayed.values { noteFullRelays(entries, cluster: cluster) }
        for child in relayed.keys.sorted() {
            let deferral = Deferral(
                generation: update.generation,
                cluster: cluster,
                proxy: peer,
                entries: relayed[child]!,
                sequence: update.sequence
            )
            actions.append(.send(.deferral(deferral), to: child))
            relayedToChild[child, default: [:]][cluster] = max(relayedToChild[child]?[cluster] ?? 0, number)
        }
        _ = store.intake(
            local,
            generation: number,
            from: peer,
            scope: cluster,
            acknowledge: relayed.values.flatMap { entries in
                entries.filter { !$0.copies.isEmpty || !$0.removed.isEmpty || $0.replacesScope }.map(\.table)
            },
            keepReports: false,
            role: "tla",
            now: now,
            into: &actions
        )
        if let current = collector.reportArrived(generation: number, now: now) {
            send(current, now: now, into: &actions)
        }
    }

    private mutating func onChildUpdate(
        _ update: GenerationUpdate,
        from child: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        childReset.remove(child)
        // A dropped child missed the relays this TLA acknowledged for it (removals among them): its
        // rows are served again only once it has been sent every cluster's tables in full.
        var returning = false
        if childSources.isDropped(child) {
            returning = continueReturn(of: child, handBack: update.generation.number, now: now, into: &actions)
        }
        if !childSources.isDropped(child) { childSources.heard(child, now: now, into: &actions) }
        let fresh = sequences.fresh(
            update.entries, sequence: update.sequence, from: child, now: now, forgetAfter: configuration.childDropAfter)
        if fresh.skipped > 0 { actions.append(RoleMetrics.counter("query.stale_rejections", fresh.skipped, role: "tla")) }
        for entry in fresh.entries {
            if entry.replacesScope, !owed.isEmpty { owed.received(entry.table, inFullFrom: child) }
            deferredFigures[entry.table] = entry.completeness
            handedBack[entry.table] = max(handedBack[entry.table] ?? 0, update.generation.number)
        }
        _ = store.intake(
            fresh.entries,
            generation: update.generation.number,
            from: child,
            scope: child,
            role: "tla",
            now: now,
            into: &actions
        )
        // The child's tables for a generation already sent go out now, as a second update.
        let number = update.generation.number
        // A returning child's tables are listed even if its update carries no entry for them, so
        // receivers get its rows back.
        let deferredToChild = returning ? configuration.deferred.filter { $0.value == child }.map(\.key) : []
        guard !childSources.isDropped(child) else { return }
        guard collector.sent >= number, !fresh.entries.isEmpty || !deferredToChild.isEmpty else { return }
        let tables = Set(fresh.entries.map(\.table) + deferredToChild)
        for peer in receivers.keys.sorted() where !receivers[peer]!.standby {
            let live = receivers[peer]!.liveTables(at: now).filter { tables.contains($0) }
            guard !live.isEmpty else { continue }
            let entries = live.map { entry($0, for: peer, generation: number, merge: true, now: now) }
            let update = GenerationUpdate(generation: update.generation, entries: entries)
            RoleMetrics.send(update, to: peer, role: "tla", into: &actions)
        }
    }

    /// The return of a dropped child that was heard again: the tables deferred to it still to be
    /// relayed in full, per cluster, and then the first generation whose hand-back counts.
    struct ChildReturn: Sendable {
        /// Deferred table → clusters that have not relayed it in full since the child was heard.
        var owed: [TableName: Set<NodeID>]
        /// Once nothing is owed: hand-backs of this generation or later answer combine requests sent
        /// after the last full relay, so they include it.
        var handBackFrom: UInt64?
        /// The generation the owed tables were last asked for in.
        var askedIn: UInt64
    }

    /// Moves the return of the dropped `child` on, which sent a hand-back of generation `handBack`;
    /// returns whether it returned. The first time, every live cluster's active proxy is asked for
    /// the child's tables in full (relayed to it as they arrive, see ``noteFullRelays(_:cluster:)``).
    private mutating func continueReturn(
        of child: NodeID, handBack: UInt64, now: Instant, into actions: inout [RoleAction]
    ) -> Bool {
        if returningChildren[child] == nil {
            let tables = configuration.deferred.filter { $0.value == child }.map(\.key)
            let live = clusterOrder.filter { !collector.isDropped($0) && collector.lastHeard($0) != nil }
            returningChildren[child] = ChildReturn(
                owed: Dictionary(uniqueKeysWithValues: tables.map { ($0, Set(live)) }), handBackFrom: nil,
                askedIn: collector.sent)
            actions.append(
                .log(LogRecord(.info, "child heard again: returns once its tables are resent in full", metadata: ["child": child.rawValue])))
            resendDeferred(to: child, now: now, into: &actions)
        }
        settleReturns()
        guard let from = returningChildren[child]?.handBackFrom, handBack >= from else { return false }
        returningChildren[child] = nil
        childSources.heard(child, now: now, into: &actions)
        return true
    }

    /// Notes the deferred tables `cluster` relayed in full (entries replacing its scope) for children
    /// that are returning.
    private mutating func noteFullRelays(_ entries: [TableEntry], cluster: NodeID) {
        guard !returningChildren.isEmpty else { return }
        for entry in entries where entry.replacesScope {
            guard let child = configuration.deferred[entry.table], returningChildren[child] != nil else { continue }
            returningChildren[child]!.owed[entry.table]?.remove(cluster)
        }
        settleReturns()
    }

    /// Clusters dropped meanwhile owe nothing; a return that is owed nothing waits for a hand-back
    /// of a generation not yet asked for.
    private mutating func settleReturns() {
        for child in returningChildren.keys.sorted() {
            var state = returningChildren[child]!
            guard state.handBackFrom == nil else { continue }
            for table in state.owed.keys { state.owed[table] = state.owed[table]!.filter { !collector.isDropped($0) } }
            if state.owed.values.allSatisfy(\.isEmpty) { state.handBackFrom = collector.sent + 1 }
            returningChildren[child] = state
        }
    }

    /// Asks again, once per generation, for the tables returning children are still owed (a request
    /// or its answer may have been lost).
    private mutating func askOwedRelays(generation number: UInt64, into actions: inout [RoleAction]) {
        for child in returningChildren.keys.sorted() where returningChildren[child]!.askedIn + 1 < number {
            returningChildren[child]!.askedIn = number
            for (table, owing) in returningChildren[child]!.owed.sorted(by: { $0.key < $1.key }) {
                for cluster in owing.sorted() {
                    guard let proxy = clusters[cluster]?.activeProxy else { continue }
                    let request = ResyncRequest(generation: collector.sent, table: table, origins: [])
                    actions.append(.send(.resync(request), to: proxy))
                }
            }
        }
    }

    /// A child that reconnected may have missed relayed updates this TLA acknowledged for it: its
    /// deferred tables are asked of every cluster's active proxy in full (relayed to it as they
    /// arrive), and its next hand-back is a full one.
    private mutating func resendDeferred(to child: NodeID, now: Instant, into actions: inout [RoleAction]) {
        childReset.insert(child)
        let tables = configuration.deferred.filter { $0.value == child }.map(\.key).sorted()
        for table in tables {
            let request = ResyncRequest(generation: collector.sent, table: table, origins: [])
            forwardResync(request, now: now, into: &actions)
        }
        actions.append(
            .log(LogRecord(.info, "child reconnected: resending its deferred tables", metadata: ["child": child.rawValue]))
        )
    }

    /// A child could not apply relayed deltas: ask each origin's cluster's active proxy for full copies.
    private mutating func forwardResync(_ request: ResyncRequest, now: Instant, into actions: inout [RoleAction]) {
        var byCluster: [NodeID: [NodeID]] = [:]
        for origin in request.origins {
            if let cluster = deferredOrigins[origin] { byCluster[cluster, default: []].append(origin) }
        }
        if request.origins.isEmpty {
            for cluster in clusters.keys { byCluster[cluster] = [] }
        }
        for cluster in byCluster.keys.sorted() {
            guard let proxy = clusters[cluster]?.activeProxy else { continue }
            let forwarded = ResyncRequest(
                generation: request.generation,
                table: request.table,
                origins: byCluster[cluster]!
            )
            actions.append(.send(.resync(forwarded), to: proxy))
        }
    }

    /// Fails over from silent active proxies, then drops clusters silent for `dropAfter`.
    private mutating func checkSilence(now: Instant, into actions: inout [RoleAction]) {
        failOver(now: now, into: &actions)
        collector.checkSilence(now: now, into: &actions)
        childSources.checkSilence(now: now, into: &actions)
    }

    /// Replaces every active proxy silent for `failoverAfter` by the next one that was heard
    /// recently (or simply the next), and asks the new one for the cluster's full state.
    private mutating func failOver(now: Instant, into actions: inout [RoleAction]) {
        var failedOver = false
        for name in clusterOrder {
            var cluster = clusters[name]!
            defer { clusters[name] = cluster }
            // A cluster asked for nothing is silent by right: no failover then, and silence counts
            // only from when it was asked.
            guard let active = cluster.activeProxy, let asked = collector[name]?.askedSince else { continue }
            let since = max(cluster.heard[active] ?? collector.startedAt, cluster.activeSince, asked)
            if now - since >= configuration.failoverAfter, cluster.proxies.count > 1 {
                let count = cluster.proxies.count
                let order = (1..<count).map { (cluster.active + $0) % count }
                let alive = order.first { index in
                    cluster.heard[cluster.proxies[index]].map { now - $0 < configuration.failoverAfter } ?? false
                }
                let next = alive ?? order[0]
                actions.append(
                    .log(
                        LogRecord(
                            .info,
                            "proxy failover",
                            metadata: [
                                "cluster": name.rawValue, "from": active.rawValue, "to": cluster.proxies[next].rawValue,
                            ]
                        )
                    )
                )
                actions.append(RoleMetrics.counter("query.failovers", 1, role: "tla"))
                cluster.active = next
                cluster.activeSince = now
                collector.markUnsynced(name)
                failedOver = true
            }
        }
        if failedOver { forwardInterest(now: now, into: &actions) }
    }

    /// The tables wanted from the proxies: the prewarm list and every SQL node's live interest.
    private func wanted(at now: Instant) -> [TableName] {
        Downstream.wanted(prewarm: configuration.prewarm, receivers: receivers.values, at: now)
    }

    private mutating func forwardInterest(now: Instant, into actions: inout [RoleAction]) {
        let tables = wanted(at: now)
        // Clusters and children asked for nothing send nothing: their silence counts only while
        // something is wanted of them (a cluster: any table; a child: a table deferred to it).
        collector.noteAsking(!tables.isEmpty, now: now)
        for child in children {
            childSources.noteAsking(tables.contains { configuration.deferred[$0] == child }, sources: [child], now: now)
        }
        // A table nobody wants any more is let go, with what the clusters and children said of it:
        // its rows stop being confirmed, and served again when interest returns they would pass
        // for current.
        for name in store.names where !tables.contains(name) {
            store.forget(name)
            owed.forgot(name)
        }
        // A deferred table's rows are let go at its child too (the combine requests stop listing
        // it): the child, which holds its parent's acknowledgements, owes it in full.
        for name in configuration.deferred.keys where forwarded.contains(name) && !tables.contains(name) {
            owed.forgot(name)
        }
        owed.wanted(tables.filter { configuration.deferred[$0] == nil }, from: clusterOrder)
        for child in children { owed.wanted(tables.filter { configuration.deferred[$0] == child }, from: [child]) }
        for name in deferredFigures.keys where !tables.contains(name) { deferredFigures[name] = nil }
        for name in handedBack.keys where !tables.contains(name) { handedBack[name] = nil }
        // A dropped cluster is still known to have the tables let go, with as many machines as before.
        let anyDropped = collector.anyDropped
        for cluster in clusterOrder {
            let isDropped = anyDropped && collector[cluster]?.droppedSince != nil
            if !isDropped, !clusters[cluster]!.machinesWhileDropped.isEmpty { clusters[cluster]!.machinesWhileDropped = [:] }
            for name in clusters[cluster]!.figures.keys where !tables.contains(name) {
                if isDropped { clusters[cluster]!.machinesWhileDropped[name] = clusters[cluster]!.figures[name]!.machinesKnown }
                clusters[cluster]!.figures[name] = nil
                clusters[cluster]!.figuresAt[name] = nil
            }
        }
        forwarded = tables
        guard !tables.isEmpty else { return }
        for name in clusterOrder {
            for (index, proxy) in clusters[name]!.proxies.enumerated() {
                actions.append(.send(.request(request(to: name, proxy: index)), to: proxy))
            }
        }
        if !owed.isEmpty {
            // A child is asked as of the newest generation sent (its hand-back of that generation
            // goes out at once, as for any generation already sent).
            let collector = collector
            // A dropped cluster is not asked (it returns with its full state anyway).
            let reported = { (source: NodeID) in
                collector[source].map { $0.isLive ? $0.reported : 0 } ?? collector.sent
            }
            for (source, request) in owed.requests(reported: reported, wanted: tables) {
                if let cluster = clusters[source] {
                    guard let proxy = cluster.activeProxy else { continue }
                    actions.append(.send(.resync(request), to: proxy))
                } else {
                    actions.append(.send(.resync(request), to: source))  // a child
                }
            }
        }
    }

    /// The request for the forwarded tables to `cluster`'s proxy number `index`: the active one is
    /// asked for rows, the others as standbys.
    private func request(to cluster: NodeID, proxy index: Int) -> TableRequest {
        let isActive = index == clusters[cluster]!.active
        return TableRequest(
            tables: forwarded,
            lease: configuration.interestLease,
            // Until the active proxy's full state arrived (after a start or a failover), so a lost
            // reset cannot leave it sending deltas against rows this TLA never held.
            reset: isActive && !collector.isSynced(cluster),
            standby: !isActive
        )
    }

    private mutating func send(_ number: UInt64, now: Instant, into actions: inout [RoleAction]) {
        let generation = configuration.schedule.generation(number)
        // A restarted TLA must not send SQL nodes tables missing clusters it simply has not heard
        // yet (see ``ClusterProxy``).
        if collector.warmingUp(at: now) {
            actions.append(
                .log(LogRecord(.debug, "warming up: holding back the tables", metadata: ["generation": "\(number)"]))
            )
            return
        }
        askOwedRelays(generation: number, into: &actions)
        let dropped = droppedClusters
        for child in children {
            let tables = configuration.deferred.filter { $0.value == child && forwarded.contains($0.key) }.map(\.key)
            let request = CombineRequest(
                generation: generation,
                droppedClusters: dropped,
                reset: childReset.contains(child),
                tables: tables,
                droppedMachines: agedOutMachines(of: tables, now: now),
                relayed: (relayedToChild[child] ?? [:]).map { RelayedGeneration(cluster: $0.key, generation: $0.value) }
            )
            actions.append(.send(.combine(request), to: child))
        }
        var bytes = 0
        for peer in receivers.keys.sorted() {
            receivers[peer]!.expire(at: now)
            let live = receivers[peer]!.liveTables(at: now)
            if live.isEmpty {
                if now - receivers[peer]!.lastRequest > configuration.interestLease {
                    receivers.removeValue(forKey: peer)
                }
                continue
            }
            if receivers[peer]!.standby {
                actions.append(.send(.heartbeat(Heartbeat(generation: number)), to: peer))
                continue
            }
            // Deferred tables go out when their child hands them back, unless the child is dropped:
            // then its rows are removed now.
            let entries = live.filter { table in
                configuration.deferred[table].map { childSources.isDropped($0) } ?? true
            }.map {
                entry($0, for: peer, generation: number, merge: false, now: now)
            }
            let update = GenerationUpdate(generation: generation, entries: entries)
            bytes += update.estimatedBytes
            actions.append(.send(.update(update), to: peer))
        }
        if bytes > 0 { actions.append(RoleMetrics.counter("query.bytes_out", bytes, role: "tla")) }
        actions.append(
            RoleMetrics.sample("query.generation_latency", (now - generation.time).secondsDouble, role: "tla")
        )
    }

    /// The machines of live clusters aged out of `tables` by `now` (see ``ClusterState/agedOut(_:now:dropAfter:)``),
    /// each since the earliest time it was aged out of one of them.
    private func agedOutMachines(of tables: [TableName], now: Instant) -> [DroppedNode] {
        var aged: [NodeID: Instant] = [:]
        for name in clusterOrder where !collector.isDropped(name) {
            for table in tables {
                aged.merge(clusters[name]!.agedOut(table, now: now, dropAfter: configuration.dropAfter)) { min($0, $1) }
            }
        }
        return aged.map { DroppedNode(node: $0.key, since: $0.value) }
    }

    /// The subnetwork's entry for `table`: the live clusters' origins and the clusters' figures summed.
    private mutating func entry(
        _ table: TableName, for peer: NodeID, generation: UInt64, merge: Bool, now: Instant
    ) -> TableEntry {
        var slots: [Int] = []
        var completeness = TableCompleteness()
        if let child = configuration.deferred[table] {
            if let since = childSources.droppedSince(child) {
                // The child is gone: nothing of the table is served; the figures say why.
                let figures = deferredFigures[table] ?? TableCompleteness()
                completeness = TableCompleteness(
                    machinesKnown: figures.machinesKnown,
                    clustersKnown: figures.clustersKnown,
                    dropped: [DroppedNode(node: child, since: since)]
                )
            } else {
                slots = store.sortedSlots(of: table)
                completeness = deferredFigures[table] ?? TableCompleteness()
            }
            // The child knows only the clusters relayed to it (none yet, for a table just wanted
            // again); this TLA knows every cluster it sees, and one not heard on the table yet may
            // have it: the figures never claim fewer known than the TLA's own.
            let own = Self.combine(
                clusters: clusters, order: clusterOrder, sources: collector, table: table, now: now,
                dropAfter: configuration.dropAfter)
            completeness.machinesKnown = max(completeness.machinesKnown, own.machinesKnown)
            completeness.clustersKnown = max(completeness.clustersKnown, own.clustersKnown)
        } else {
            slots = store.sortedSlots(of: table)
            // Filter out dropped clusters' origins only when some cluster is dropped (a lookup per
            // origin, up to the whole fleet).
            if let stored = store[table], collector.anyDropped {
                slots = slots.filter { slot in
                    guard let scope = stored.scope(at: slot) else { return false }
                    return !collector.isDropped(scope)
                }
            }
            // Machines of live clusters aged out (their proxy no longer heard): their rows vanish too.
            let aged = agedOutMachines(of: [table], now: now)
            if !aged.isEmpty, let stored = store[table] {
                let machines = Set(aged.map(\.node))
                slots = slots.filter { !machines.contains(stored.table.origin(at: $0)) }
            }
            completeness = Self.combine(
                clusters: clusters, order: clusterOrder, sources: collector, table: table, now: now,
                dropAfter: configuration.dropAfter)
        }
        return receivers[peer]!.entry(
            for: table,
            slots: slots,
            store: &store,
            completeness: completeness,
            generation: generation,
            merge: merge
        )
    }

    /// Sums the clusters' figures for `table`: live clusters as reported (less the machines aged out
    /// by `now`), dropped clusters as known but not contributing, and clusters not heard on the
    /// table yet (never heard, asked for it since their last update, or dropped before it was asked
    /// for) as known: they may have it.
    static func combine(
        clusters: [NodeID: ClusterState],
        order: [NodeID],
        sources: Collector,
        table: TableName,
        now: Instant,
        dropAfter: Duration
    ) -> TableCompleteness {
        var total = TableCompleteness()
        for name in order {
            let cluster = clusters[name]!
            let source = sources[name] ?? Collector.Source()
            guard let figures = cluster.figures(of: table, now: now, dropAfter: dropAfter) else {
                if let since = source.droppedSince {
                    total.add(
                        TableCompleteness(
                            machinesKnown: cluster.machinesWhileDropped[table] ?? 0, clustersKnown: 1,
                            dropped: [DroppedNode(node: name, since: since)]))
                } else {
                    // Not heard on this table yet (never heard, or asked for it since its last
                    // update): it may have the table, so it counts as known, not contributing.
                    total.clustersKnown += 1
                }
                continue
            }
            if let since = source.droppedSince {
                total.add(
                    TableCompleteness(
                        machinesKnown: figures.machinesKnown,
                        clustersKnown: 1,
                        dropped: [DroppedNode(node: name, since: since)]
                    )
                )
            } else {
                total.add(figures)
            }
        }
        return total
    }

    private func scheduleNext(after now: Instant, into actions: inout [RoleAction]) {
        let next = configuration.schedule.nextSlot(.edge, after: now)
        actions.append(.setTimer(Self.generationTimer, at: configuration.schedule.slot(.edge, of: next)))
    }
}
