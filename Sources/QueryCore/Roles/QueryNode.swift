/// A SQL node: holds the newest generation's copy of the tables it needs and answers SQL over it.
///
/// A query naming a table the node does not hold makes it request the table from its TLA at once;
/// the table arrives in a *future* generation and the query is answered then, or fails after
/// `queryTimeout` with an error naming the missing tables. Interest in a table lapses after
/// `idleExpiry` without use (each use resets it); prewarm tables are always requested. Configured
/// views are computed at most once per generation and reused by every query that names them.
///
/// The node listens to one TLA at a time from an ordered list (the others are asked as standbys)
/// and fails over to the next when the active one is silent for `failoverAfter`. Queries about
/// tables of another partition are answered with a ``Redirect``. Every answer carries a
/// ``Completeness``: the generation, the publish-time spread and, per table, machines and clusters
/// contributing out of those known, with those dropped and since when.
public struct QueryNode: Role {
    /// SQL node settings.
    public struct Configuration: Sendable {
        /// TLAs in preference order.
        public var aggregators: [NodeID]
        /// When generations start and when this node refreshes interest (δ3).
        public var schedule: GenerationSchedule
        /// An active TLA silent this long is replaced by the next. Default 1.25 intervals.
        public var failoverAfter: Duration
        /// A query waiting for tables fails after this long. Default two intervals.
        public var queryTimeout: Duration
        /// Interest in a table lapses after this long without use. Default five intervals.
        public var idleExpiry: Duration
        /// How long requested interest lasts at the TLA without refresh. Default three intervals.
        public var interestLease: Duration
        /// Tables always requested.
        public var prewarm: [TableName]
        /// Views: name → SQL, computed at most once per generation.
        public var views: [TableName: String]
        /// The aggregator set this node belongs to; TLAs outside it are not used.
        public var aggregatorSet: AggregatorSet?
        /// The tables this node serves (`nil`: all); queries about others get a redirect.
        public var servedTables: Set<TableName>?
        /// Where other tables are served (for redirects).
        public var partitions: [TablePartition]
        /// Tables from one designated source (machines, clusters, configuration), applied
        /// all-or-nothing. Default none.
        public var sourcedTables: Set<TableName>
        /// Fault isolation: use only these TLAs (`nil`: all listed).
        public var pinnedAggregators: Set<NodeID>?

        /// Creates a configuration.
        public init(
            aggregators: [NodeID],
            schedule: GenerationSchedule = GenerationSchedule(),
            failoverAfter: Duration? = nil,
            queryTimeout: Duration? = nil,
            idleExpiry: Duration? = nil,
            interestLease: Duration? = nil,
            prewarm: [TableName] = [],
            views: [TableName: String] = [:],
            aggregatorSet: AggregatorSet? = nil,
            servedTables: Set<TableName>? = nil,
            partitions: [TablePartition] = [],
            pinnedAggregators: Set<NodeID>? = nil,
            sourcedTables: Set<TableName> = []
        ) {
            self.aggregators = aggregators
            self.schedule = schedule
            self.failoverAfter = failoverAfter ?? schedule.interval * 5 / 4
            self.queryTimeout = queryTimeout ?? schedule.interval * 2
            self.idleExpiry = idleExpiry ?? schedule.interval * 5
            self.interestLease = interestLease ?? schedule.interval * 3
            self.prewarm = prewarm
            self.views = views
            self.aggregatorSet = aggregatorSet
            self.servedTables = servedTables
            self.partitions = partitions
            self.pinnedAggregators = pinnedAggregators
            self.sourcedTables = sourcedTables
        }
    }

    /// Who asked a query: a local user (``RoleInput/query(_:)``) or a remote client.
    struct Asker: Sendable, Hashable, Comparable {
        var client: NodeID?
        var id: QueryID

        static func < (lhs: Asker, rhs: Asker) -> Bool {
            (lhs.client?.rawValue ?? "", lhs.id) < (rhs.client?.rawValue ?? "", rhs.id)
        }

        var timer: TimerID { TimerID("query.\(client?.rawValue ?? "local").\(id.rawValue).timeout") }
    }

    /// A query waiting for tables.
    struct Pending: Sendable {
        var request: QueryRequest
        var tables: Set<TableName>
        var since: Instant
        var requestedGeneration: UInt64
    }

    /// Fires at the node's slot (δ3) every generation.
    public static let generationTimer = TimerID("sql.generation")

    public let id: NodeID
    /// The settings.
    public let configuration: Configuration
    private let evaluator: any QueryEvaluator
    private var store: TableStore
    private var figures: [TableName: TableCompleteness] = [:]
    private var tableGeneration: [TableName: Generation] = [:]
    private var newest: Generation?
    /// The newest update applied per TLA and table (duplicated or reordered ones are skipped).
    private var sequences = SenderSequences()
    private var catalog = SnapshotCatalog()
    /// Views computed for ``computedVersion``, each with what queries derived from it.
    private var computedViews: [TableName: (table: Table, derived: DerivedTableData)] = [:]
    private var computedVersion: UInt64 = .max
    private var lastUse: [TableName: Instant] = [:]
    private var pending: [Asker: Pending] = [:]
    private var timers: [TimerID: Asker] = [:]
    private var aggregators: [NodeID]
    private var active = 0
    private var activeSince = Instant.zero
    /// When this node last began requesting tables after requesting none: a TLA sends nothing to a
    /// node that asks for nothing, so its silence before then says nothing about its health.
    private var requestingSince = Instant.zero
    private var heard: [NodeID: Instant] = [:]
    /// Requests to the active TLA reset what it believes this node holds until an update replacing
    /// every requested table arrived (after a start or a failover): a lost reset must not leave the
    /// TLA sending deltas against rows this node never held.
    private var needsReset = true {
        didSet { if needsReset { receivedInFull = [] } }
    }
    /// While ``needsReset``: the requested tables that arrived in full (entries replacing this
    /// node's scope) since. A TLA with children sends deferred tables in a second update of the
    /// generation, so the reset is over once every requested table came in full, in any update.
    private var receivedInFull: Set<TableName> = []
    /// Table → the newest generation in which this node asked the active TLA to resend it because
    /// its updates stopped arriving (see ``resyncLaggingTables(now:into:)``).
    private var lagResyncs: [TableName: UInt64] = [:]
    /// Tables forgotten here (interest lapsed) that the active TLA may still believe held, its
    /// lease not having run out: when wanted again they are asked for in full, every generation
    /// until a scope-replacing entry arrives, and queries wait for that rather than read deltas
    /// applied to nothing.
    private var awaitingFull: Set<TableName> = []
    /// The versions of the origins of the tables let go here: a table wanted again never goes back.
    private var forgottenVersions = ForgottenVersions()
    private var requested: Set<TableName> = []
    /// Table → when the current stretch of interest in it began (see ``interestSince(_:)``).
    private var requestedSince: [TableName: Instant] = [:]
    private var redirected: [TableName: Redirect] = [:]
    /// TLA → the tables it redirected (it does not serve them): a TLA is not made active for
    /// tables it refuses while another may serve them.
    private var refusedBy: [NodeID: Set<TableName>] = [:]

    /// Creates a SQL node.
    ///
    /// - Parameter evaluator: the SQL engine (QuerySQL's `SQLEngine` in production).
    public init(id: NodeID, configuration: Configuration, evaluator: any QueryEvaluator) {
        self.id = id
        self.configuration = configuration
        self.store = TableStore(keepsHistory: false, sourced: configuration.sourcedTables)
        self.evaluator = evaluator
        var list = configuration.aggregators.filter { configuration.pinnedAggregators?.contains($0) ?? true }
        if let set = configuration.aggregatorSet { list = list.filter { set.members.contains($0) } }
        self.aggregators = list
        for view in configuration.views.keys { catalog.views[view] = configuration.views[view] }
    }

    /// The TLA currently listened to.
    public var activeAggregator: NodeID? { aggregators.isEmpty ? nil : aggregators[active] }

    /// The newest generation applied, if any.
    public var generation: Generation? { newest }

    /// The newest generation `table` was updated in (it lags ``generation`` while a table deferred
    /// to a TLA child is on its way, or while its updates are lost), if the table is held.
    public func generation(of table: TableName) -> Generation? { tableGeneration[table] }

    /// The current snapshot (tables and view definitions).
    public var snapshot: SnapshotCatalog { catalog }

    /// The tables currently requested upstream, sorted.
    public var interest: [TableName] { requested.sorted() }

    /// When this node began requesting `table` upstream without a break (its first request after
    /// a time it did not want the table), or `nil` if it does not request it now. A table asked for
    /// on demand arrives some generations after this.
    public func interestSince(_ table: TableName) -> Instant? { requestedSince[table] }

    /// Queries waiting for tables.
    public var waitingQueries: [QueryID] { pending.keys.sorted().map(\.id) }

    public mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            activeSince = now
            needsReset = true
            requestTables(now: now, into: &actions)
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.generationTimer:
            checkAggregator(now: now, into: &actions)
            expireInterest(now: now, into: &actions)
            requestTables(now: now, into: &actions)
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer):
            if let asker = timers.removeValue(forKey: timer) { timeOut(asker, now: now, into: &actions) }
        case .query(let request):
            submit(request, from: nil, now: now, into: &actions)
        case .received(let message, let peer):
            onMessage(message, from: peer, now: now, into: &actions)
        case .peerDown(let peer):
            // The transport saw the active TLA's connection go: fail over now rather than after
            // `failoverAfter` of silence.
            if peer == activeAggregator, aggregators.count > 1 {
                heard.removeValue(forKey: peer)
                failOver(from: peer, now: now, reason: "connection lost", into: &actions)
                requestTables(now: now, into: &actions)
            }
        case .peerUp, .publish:
            break
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
            guard aggregators.contains(peer) else { return }
            heard[peer] = now
            guard peer == activeAggregator else {
                actions.append(
                    .log(LogRecord(.debug, "update from standby TLA ignored", metadata: ["peer": peer.rawValue]))
                )
                return
            }
            if needsReset {
                for entry in update.entries where entry.replacesScope { receivedInFull.insert(entry.table) }
                if requested.isSubset(of: receivedInFull) { needsReset = false }
            }
            onUpdate(update, from: peer, now: now, into: &actions)
        case .heartbeat:
            if aggregators.contains(peer) { heard[peer] = now }
        case .redirect(let redirect):
            if aggregators.contains(peer) {
                onAggregatorRedirect(redirect, from: peer, now: now, into: &actions)
            } else {
                onRedirect(redirect, now: now, into: &actions)
            }
        case .query(let remote):
            submit(remote.request, from: peer, now: now, into: &actions)
        default:
            break
        }
    }

    // MARK: Data

    private mutating func onUpdate(
        _ update: GenerationUpdate,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        actions.append(RoleMetrics.counter("query.bytes_in", update.estimatedBytes, role: "sql"))
        let fresh = sequences.fresh(
            update.entries, sequence: update.sequence, from: peer, now: now, forgetAfter: configuration.failoverAfter)
        if fresh.skipped > 0 { actions.append(RoleMetrics.counter("query.stale_rejections", fresh.skipped, role: "sql")) }
        var update = update
        update.entries = fresh.entries
        if !forgottenVersions.isEmpty {
            let filtered = forgottenVersions.filtering(update.entries)
            update.entries = filtered.entries
            if filtered.leftOut > 0 {
                actions.append(RoleMetrics.counter("query.stale_rejections", filtered.leftOut, role: "sql"))
            }
        }
        let scope = id
        // The catalog shares each table with the store; let go of the tables this update changes
        // so applying it mutates them in place instead of copying every origin's slice (they are
        // put back below, with what was derived from them if they did not change).
        var held = HeldDerivedData(capacity: update.entries.count)
        for entry in update.entries { held.append(entry.table, catalog.removeTable(entry.table)) }
        let intake = store.intake(
            update.entries,
            generation: update.generation.number,
            from: peer,
            scope: scope,
            role: "sql",
            now: now,
            into: &actions
        )
        if !forgottenVersions.isEmpty { forgottenVersions.cleared(by: store, tables: update.entries.map(\.table)) }
        for entry in update.entries {
            if entry.replacesScope { awaitingFull.remove(entry.table) }
            figures[entry.table] = entry.completeness
            if let oldest = entry.completeness.oldestPublish, let newest = entry.completeness.newestPublish {
                actions.append(RoleMetrics.sample("query.publish_spread", (newest - oldest).secondsDouble, role: "sql"))
            }
            tableGeneration[entry.table] = max(tableGeneration[entry.table] ?? update.generation, update.generation)
        }
        if newest.map({ $0 < update.generation }) ?? true { newest = update.generation }
        catalog.version &+= 1
        resyncLaggingTables(now: now, into: &actions)
        let wanted = wanted()
        for name in update.entries.map(\.table) {
            if !wanted.contains(name) {
                // A table whose interest lapsed here while the TLA's lease had not: let it go.
                forgottenVersions.forgot(name, held: store[name]?.table)
                store.forget(name)
                awaitingFull.insert(name)
                figures.removeValue(forKey: name)
                tableGeneration.removeValue(forKey: name)
                catalog.removeTable(name)
            } else if let table = store[name]?.table {
                catalog.setTable(table, named: name, derived: intake.leftUnchanged(name) ? held[name] : nil)
            }
        }
        actions.append(
            RoleMetrics.sample(
                "query.generation_latency",
                (now - update.generation.time).secondsDouble,
                role: "sql"
            )
        )
        for asker in pending.keys.sorted() {
            guard let waiting = pending[asker] else { continue }
            if waiting.tables.allSatisfy({ catalog.tables[$0] != nil && !awaitingFull.contains($0) }),
                !isLagging(waiting.tables)
            {
                pending.removeValue(forKey: asker)
                timers.removeValue(forKey: asker.timer)
                actions.append(.cancelTimer(asker.timer))
                run(waiting.request, for: asker, tables: waiting.tables, now: now, into: &actions)
            }
        }
    }

    /// A TLA redirected tables it does not serve. That says where *those* tables are served, but
    /// also only that this TLA cannot supply them: a standby's redirect is noted and nothing more
    /// (the active TLA may serve them); the active TLA's makes this node fail over to a TLA not
    /// known to refuse any table it wants. With none, the redirect is passed on to the queries
    /// waiting for the tables, unless this node itself serves them: then it would send its
    /// clients back to its own partition (here, or a peer needing a TLA serving them just the
    /// same), so those queries fail, saying no TLA serves the tables.
    private mutating func onAggregatorRedirect(
        _ redirect: Redirect,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        let tables = Set(redirect.tables)
        refusedBy[peer, default: []].formUnion(tables)
        guard peer == activeAggregator else { return }
        let wanted = wanted()
        if let index = aggregators.indices.first(where: { servesAll(wanted, index: $0) && $0 != active }) {
            failOver(from: peer, to: index, now: now, reason: "redirected \(redirect.tables.map(\.rawValue).sorted())", into: &actions)
            requestTables(now: now, into: &actions)
            return
        }
        guard let served = configuration.servedTables, tables.isSubset(of: served) else {
            onRedirect(redirect, now: now, into: &actions)
            return
        }
        let names = redirect.tables.map(\.rawValue).sorted().joined(separator: ", ")
        for asker in pending.keys.sorted() where !(pending[asker]!.tables.isDisjoint(with: tables)) {
            pending.removeValue(forKey: asker)
            timers.removeValue(forKey: asker.timer)
            actions.append(.cancelTimer(asker.timer))
            let error = QueryError(
                .unavailable,
                "no TLA of \(id) serves \(names) (\(peer) redirects them to partition '\(redirect.partition)', which this node is to serve)")
            respond(asker, .failure(error), into: &actions)
        }
    }

    /// Whether the TLA at `index` is not known to refuse any of `tables`.
    private func servesAll(_ tables: Set<TableName>, index: Int) -> Bool {
        refusedBy[aggregators[index]].map { $0.isDisjoint(with: tables) } ?? true
    }

    private mutating func onRedirect(_ redirect: Redirect, now: Instant, into actions: inout [RoleAction]) {
        for table in redirect.tables {
            redirected[table] = redirect
            lastUse.removeValue(forKey: table)
            requested.remove(table)
            requestedSince.removeValue(forKey: table)
        }
        let names = Set(redirect.tables)
        for asker in pending.keys.sorted() where !(pending[asker]!.tables.isDisjoint(with: names)) {
            pending.removeValue(forKey: asker)
            timers.removeValue(forKey: asker.timer)
            actions.append(.cancelTimer(asker.timer))
            var forQuery = redirect
            forQuery.queryID = asker.id
            respond(asker, .redirect(forQuery), into: &actions)
        }
    }

    // MARK: Queries

    private mutating func submit(
        _ request: QueryRequest,
        from client: NodeID?,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        let asker = Asker(client: client, id: request.id)
        let tables: Set<TableName>
        do {
            tables = try evaluator.tablesReferenced(by: request.sql, catalog: catalog)
        } catch {
            respond(asker, .failure(error), into: &actions)
            return
        }
        if let redirect = configuration.partitions.redirect(
            for: tables.subtracting(configuration.views.keys),
            served: configuration.servedTables,
            queryID: request.id
        )
            ?? tables.sorted().compactMap({ redirected[$0] }).first.map({ found in
                var redirect = found
                redirect.queryID = request.id
                return redirect
            })
        {
            respond(asker, .redirect(redirect), into: &actions)
            return
        }
        for table in tables { lastUse[table] = now }
        let missing = tables.filter { catalog.tables[$0] == nil || awaitingFull.contains($0) }
        guard !missing.isEmpty || isLagging(tables) else {
            run(request, for: asker, tables: tables, now: now, into: &actions)
            return
        }
        if pending[asker] != nil {
            respond(
                asker,
                .failure(QueryError(.alreadyExists, "query \(request.id) is already waiting")),
                into: &actions
            )
            return
        }
        let number = configuration.schedule.number(at: now)
        pending[asker] = Pending(request: request, tables: tables, since: now, requestedGeneration: number)
        timers[asker.timer] = asker
        actions.append(.setTimer(asker.timer, at: now + configuration.queryTimeout))
        actions.append(
            .log(
                LogRecord(
                    .debug,
                    "query waits for tables",
                    metadata: [
                        "query.id": "\(request.id)",
                        "tables": (missing.isEmpty ? tables : missing).map(\.rawValue).sorted().joined(separator: ","),
                    ]
                )
            )
        )
        if !missing.isSubset(of: requested) { requestTables(now: now, into: &actions) }
    }

    /// Whether some of `tables` lags more than one generation behind the newest of them. A table
    /// deferred to a TLA child arrives in a second update a moment after the others, and after a
    /// partition or failover that moment can separate generations far apart: a query waits for it
    /// rather than join tables of snapshots minutes apart (answered when it arrives, or failed
    /// after `queryTimeout`; lagging tables are asked for in full after two generations).
    private func isLagging(_ tables: Set<TableName>) -> Bool {
        guard tables.count > 1 else { return false }
        var oldest = UInt64.max
        var newest: UInt64 = 0
        for table in tables {
            guard let number = tableGeneration[table]?.number else { continue }
            oldest = min(oldest, number)
            newest = max(newest, number)
        }
        return oldest != .max && newest > oldest + 1
    }

    private mutating func timeOut(_ asker: Asker, now: Instant, into actions: inout [RoleAction]) {
        guard let waiting = pending.removeValue(forKey: asker) else { return }
        let missing = waiting.tables.filter { catalog.tables[$0] == nil }.map { "'\($0)'" }.sorted()
        let from = activeAggregator.map { " from \($0)" } ?? " (no TLA configured)"
        if missing.isEmpty {
            let generations = waiting.tables.sorted().compactMap { table in
                tableGeneration[table].map { "'\(table)' at \($0.number)" }
            }
            respond(
                asker,
                .failure(
                    QueryError(
                        .timeout,
                        "query \(asker.id) timed out after \(configuration.queryTimeout.secondsDouble) s waiting for its "
                            + "tables to reach one generation (\(generations.joined(separator: ", "))): updates of the "
                            + "lagging ones have not arrived\(from)"
                    )),
                into: &actions)
            return
        }
        // Why nothing came: no TLA was heard since the request (all down or cut off), or TLAs
        // were heard and their generations did not carry the tables.
        let lastHeard = heard.values.max()
        let cause =
            if let lastHeard, lastHeard >= waiting.since {
                "no generation since carried them (is any machine publishing them?)"
            } else if let lastHeard {
                "no TLA has been heard since \(lastHeard) (are they down or cut off?)"
            } else {
                "no TLA has been heard yet (are they down or cut off?)"
            }
        let error = QueryError(
            .timeout,
            "query \(asker.id) timed out after \(configuration.queryTimeout.secondsDouble) s waiting for table(s) "
                + "\(missing.joined(separator: ", ")), requested\(from) in generation \(waiting.requestedGeneration); "
                + cause
        )
        respond(asker, .failure(error), into: &actions)
    }

    /// Answers `request` from the current snapshot.
    private mutating func run(
        _ request: QueryRequest,
        for asker: Asker,
        tables: Set<TableName>,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        computeViews(for: request.sql, into: &actions)
        var execution = catalog
        for (name, view) in computedViews {
            execution.setTable(view.table, named: name, derived: view.derived)
            execution.views.removeValue(forKey: name)
        }
        let result: QueryResult
        do {
            result = try evaluator.evaluate(request.sql, in: execution)
        } catch {
            respond(asker, .failure(error), into: &actions)
            return
        }
        let completeness = completeness(of: tables)
        let generation = tables.compactMap { tableGeneration[$0] }.min() ?? newest ?? Generation(number: 0, time: .zero)
        if let oldest = completeness.oldestPublish {
            actions.append(RoleMetrics.sample("query.data_latency", (now - oldest).secondsDouble, role: "sql"))
        }
        respond(
            asker,
            .answer(QueryAnswer(result: result, generation: generation, completeness: completeness)),
            into: &actions
        )
    }

    /// The answer's completeness over the base tables it read.
    func completeness(of tables: Set<TableName>) -> Completeness {
        var oldest: Instant?
        var newestPublish: Instant?
        var rows: [Completeness.TableFigures] = []
        for table in tables.sorted() {
            // Every origin here is a machine: the TLA's figures can run ahead of the rows held
            // (copies refused until resent in full), and an answer claims only the rows it read.
            let held = catalog.tables[table]?.slices.count ?? 0
            let figures = (figures[table] ?? TableCompleteness()).limited(toHeld: held)
            oldest = Instant.minimum(oldest, figures.oldestPublish)
            newestPublish = Instant.maximum(newestPublish, figures.newestPublish)
            let dropped = Dictionary(figures.dropped.map { ($0.node, $0.since) }, uniquingKeysWith: { a, _ in a })
            rows.append(
                Completeness.TableFigures(
                    table: table,
                    machinesContributing: figures.machinesContributing,
                    machinesKnown: figures.machinesKnown,
                    clustersContributing: figures.clustersContributing,
                    clustersKnown: figures.clustersKnown,
                    dropped: dropped
                )
            )
        }
        return Completeness(oldestPublish: oldest, newestPublish: newestPublish, tables: rows)
    }

    /// Computes the configured views named in `sql` that are not yet computed for this catalog
    /// version (at most once per generation); a view that fails stays a definition.
    private mutating func computeViews(for sql: String, into actions: inout [RoleAction]) {
        guard !configuration.views.isEmpty else { return }  // no words to look for
        if computedVersion != catalog.version {
            computedViews.removeAll()
            computedVersion = catalog.version
        }
        let words = Set(Self.words(in: sql))
        for name in configuration.views.keys.sorted() where words.contains(name.rawValue) && computedViews[name] == nil
        {
            do {
                let result = try evaluator.evaluate(configuration.views[name]!, in: catalog)
                let schema = try Schema(result.columns.map { ColumnDefinition($0, .any) })
                let segment = try Segment(schema: schema, rows: result.rows)
                var table = Table(name: name, schema: schema)
                try table.replace(
                    origin: id,
                    version: catalog.version,
                    segment: segment,
                    publishedAt: newest?.time ?? .zero
                )
                computedViews[name] = (table, DerivedTableData())
                actions.append(RoleMetrics.counter("query.views_computed", 1, role: "sql"))
            } catch {
                actions.append(
                    .log(
                        LogRecord(
                            .debug,
                            "view not precomputed: \(error)",
                            metadata: ["view": name.rawValue]
                        )
                    )
                )
            }
        }
    }

    /// Lower-cased identifier-like words of `sql` (to spot view names cheaply).
    static func words(in sql: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in sql.unicodeScalars {
            let c = Character(scalar)
            if c.isLetter || c.isNumber || c == "_" || c == "." {
                current.append(c)
            } else if !current.isEmpty {
                words.append(current.lowercased())
                current = ""
            }
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }

    private enum Response {
        case answer(QueryAnswer)
        case failure(QueryError)
        case redirect(Redirect)
    }

    private func respond(_ asker: Asker, _ response: Response, into actions: inout [RoleAction]) {
        switch response {
        case .answer: actions.append(RoleMetrics.counter("query.answers", 1, role: "sql"))
        case .failure: actions.append(RoleMetrics.counter("query.failures", 1, role: "sql"))
        case .redirect: actions.append(RoleMetrics.counter("query.redirects", 1, role: "sql"))
        }
        if let client = asker.client {
            let outcome: QueryResponse.Outcome
            switch response {
            case .answer(let answer): outcome = .answer(answer)
            case .failure(let error): outcome = .failure(error)
            case .redirect(let redirect): outcome = .redirect(redirect)
            }
            actions.append(.send(.queryResponse(QueryResponse(id: asker.id, outcome: outcome)), to: client))
        } else {
            switch response {
            case .answer(let answer): actions.append(.answer(asker.id, .success(answer)))
            case .failure(let error): actions.append(.answer(asker.id, .failure(error)))
            case .redirect(let redirect): actions.append(.redirect(asker.id, redirect))
            }
        }
    }

    // MARK: Interest and failover

    /// Tables to request: prewarm, tables in use, and tables pending queries wait for.
    private func wanted() -> Set<TableName> {
        var tables = Set(configuration.prewarm)
        tables.formUnion(lastUse.keys)
        for waiting in pending.values { tables.formUnion(waiting.tables) }
        return tables.subtracting(redirected.keys)
    }

    private mutating func requestTables(now: Instant, into actions: inout [RoleAction]) {
        let tables = wanted()
        if requested.isEmpty, !tables.isEmpty { requestingSince = now }
        requested = tables
        requestedSince = requestedSince.filter { tables.contains($0.key) }
        for table in tables where requestedSince[table] == nil { requestedSince[table] = now }
        guard !tables.isEmpty, !aggregators.isEmpty else { return }
        let sorted = tables.sorted()
        for (index, aggregator) in aggregators.enumerated() {
            let isActive = index == active
            let request = TableRequest(
                tables: sorted,
                lease: configuration.interestLease,
                reset: isActive && needsReset,
                standby: !isActive
            )
            actions.append(.send(.request(request), to: aggregator))
        }
        // Forgotten tables wanted again: the TLA may still send deltas against what it believes
        // held here, so ask for them in full.
        guard let current = newest?.number, let aggregator = activeAggregator, !needsReset else { return }
        for table in sorted where awaitingFull.contains(table) {
            actions.append(.send(.resync(ResyncRequest(generation: current, table: table, origins: [])), to: aggregator))
            actions.append(RoleMetrics.counter("query.resyncs", 1, role: "sql"))
        }
    }

    /// Asks the active TLA to resend, in full, each requested table whose updates stopped arriving
    /// while others' did: a table held since generation `g` when generation `g + 2` has arrived
    /// missed at least one update (a TLA lists every requested table in every generation; a table
    /// deferred to a child comes in a second update of the same generation, so one generation of
    /// lag is normal). Without this, rows the lost updates removed (a dropped machine's) would be
    /// served until the table next changes. Asked at most once per generation per table.
    private mutating func resyncLaggingTables(now: Instant, into actions: inout [RoleAction]) {
        guard !needsReset, let current = newest?.number, let aggregator = activeAggregator else { return }
        // Runs on every update: nothing is allocated unless a table lags (sorted then, for determinism).
        var lagging: [(table: TableName, held: UInt64)] = []
        for table in requested {
            guard let held = tableGeneration[table]?.number, held + 2 <= current,
                lagResyncs[table].map({ $0 < current }) ?? true
            else { continue }
            lagging.append((table, held))
        }
        if lagging.count > 1 { lagging.sort { $0.table < $1.table } }
        for (table, held) in lagging {
            lagResyncs[table] = current
            actions.append(.send(.resync(ResyncRequest(generation: current, table: table, origins: [])), to: aggregator))
            actions.append(
                .log(
                    LogRecord(
                        .info, "table updates stopped arriving: asking for it in full",
                        metadata: ["table": table.rawValue, "held": "\(held)", "generation": "\(current)"]
                    )
                )
            )
            actions.append(RoleMetrics.counter("query.resyncs", 1, role: "sql"))
        }
    }

    private mutating func expireInterest(now: Instant, into actions: inout [RoleAction]) {
        let prewarm = Set(configuration.prewarm)
        for table in lastUse.keys.sorted() where now - lastUse[table]! >= configuration.idleExpiry {
            lastUse.removeValue(forKey: table)
            if prewarm.contains(table) || pending.values.contains(where: { $0.tables.contains(table) }) { continue }
            forgottenVersions.forgot(table, held: store[table]?.table)
            store.forget(table)
            awaitingFull.insert(table)
            catalog.removeTable(table)
            figures.removeValue(forKey: table)
            tableGeneration.removeValue(forKey: table)
            catalog.version &+= 1
            actions.append(.log(LogRecord(.debug, "interest expired", metadata: ["table": table.rawValue])))
        }
    }

    private mutating func checkAggregator(now: Instant, into actions: inout [RoleAction]) {
        // Nothing requested: nothing is expected from the TLA, so silence is no sign of failure.
        guard aggregators.count > 1, let current = activeAggregator, !requested.isEmpty else { return }
        let since = max(heard[current] ?? activeSince, activeSince, requestingSince)
        guard now - since >= configuration.failoverAfter else { return }
        failOver(from: current, now: now, reason: "silent", into: &actions)
    }

    /// Switches to the next TLA that was heard within `failoverAfter` or, with none, to the next
    /// one heard more recently than `current` (or simply the next one if `current` was never
    /// heard, or was lost), preferring TLAs not known to refuse a table this node wants.
    ///
    /// A silent TLA is not left for one silent longer: with message loss the active TLA's update
    /// of one generation is lost now and then, and a switch to a TLA cut off for minutes (its
    /// reset request unanswered) would hold every query until the switch back, after another
    /// `failoverAfter` (seen as `query-sim --scenario` with 5 % loss and the other TLA
    /// partitioned: a table asked for arrived four generations later, past the query timeout).
    private mutating func failOver(from current: NodeID, now: Instant, reason: String, into actions: inout [RoleAction]) {
        let count = aggregators.count
        var order = (1..<count).map { (active + $0) % count }
        if !refusedBy.isEmpty {
            let wanted = wanted()
            order = order.filter { servesAll(wanted, index: $0) } + order.filter { !servesAll(wanted, index: $0) }
        }
        let alive = order.first { index in
            heard[aggregators[index]].map { now - $0 < configuration.failoverAfter } ?? false
        }
        if let alive {
            failOver(from: current, to: alive, now: now, reason: reason, into: &actions)
            return
        }
        guard let currentHeard = heard[current] else {
            failOver(from: current, to: order[0], now: now, reason: reason, into: &actions)
            return
        }
        guard let fresher = order.first(where: { heard[aggregators[$0]].map { $0 > currentHeard } ?? false }) else {
            actions.append(
                .log(
                    LogRecord(
                        .debug, "TLA silent, but no other heard since: staying",
                        metadata: ["tla": current.rawValue, "heard": "\(currentHeard)"]
                    )
                )
            )
            return
        }
        failOver(from: current, to: fresher, now: now, reason: reason, into: &actions)
    }

    private mutating func failOver(from current: NodeID, to index: Int, now: Instant, reason: String, into actions: inout [RoleAction]) {
        active = index
        activeSince = now
        needsReset = true
        actions.append(
            .log(
                LogRecord(
                    .info,
                    "TLA failover",
                    metadata: ["from": current.rawValue, "to": aggregators[active].rawValue, "reason": reason]
                )
            )
        )
        actions.append(RoleMetrics.counter("query.failovers", 1, role: "sql"))
    }

    private func scheduleNext(after now: Instant, into actions: inout [RoleAction]) {
        let next = configuration.schedule.nextSlot(.query, after: now)
        actions.append(.setTimer(Self.generationTimer, at: configuration.schedule.slot(.query, of: next)))
    }
}
