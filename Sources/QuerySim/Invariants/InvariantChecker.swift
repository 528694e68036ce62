public import QueryCore

/// Checks a running ``Fleet`` after every step against the collection tree's promises:
///
/// - **version monotonicity**: per receiver, table and origin, the version held never decreases
///   (across drops and returns; a crashed receiver starts afresh);
/// - **drop after timeout**: a table in a SQL node's snapshot, as of the generation it was last
///   updated in, holds none of the rows of a machine that went silent more than `dropAfter` (plus
///   slack) before that generation started;
/// - **snapshot spread**: the publish times behind an answer lie within a bound;
/// - **honest completeness**: an answer never says more machines contributed to a table than the
///   SQL node's snapshot holds rows of;
/// - **every query answered or cleanly failed** (at ``finish(quietSince:)``), never twice;
/// - **eventual arrival after heal** (at ``finish(quietSince:)``): after a quiet period every live
///   machine's rows are back at every live SQL node, in every prewarmed table and every table it
///   holds (a table requested on demand during the quiet period is due a few intervals after its
///   request instead).
///
/// In a partitioned fleet (``FleetConfiguration/partitioning``), also:
///
/// - **subnetwork scope**: an answer's figures count no more clusters than the subnetwork of the
///   TLA that sent the SQL node the table (a mega TLA: all), and the table holds no rows of
///   machines outside that subnetwork; eventual arrival expects the machines of the active TLA's
///   subnetwork only;
/// - **aggregator sets**: no TLA or SQL node of one set sends anything to another set's nodes;
/// - **redirects followed**: no query fails for want of somewhere to be redirected to (a loop,
///   or a redirect naming no node).
public final class InvariantChecker {
    /// One broken promise.
    public struct Violation: Sendable, CustomStringConvertible {
        /// Virtual time it was noticed.
        public var time: Instant
        /// The node concerned.
        public var node: NodeID
        /// The invariant's short name (`version-monotonic`, `drop-after-timeout`, …).
        public var invariant: String
        /// What exactly was wrong.
        public var detail: String

        public var description: String { "[\(format3(time.seconds))s] \(invariant) at \(node): \(detail)" }
    }

    /// The settings of the fleet checked.
    public let configuration: FleetConfiguration
    /// The simulation checked (the checker lives as long as the simulation; it does not keep it alive).
    public private(set) weak var simulation: Simulation?
    /// Violations found so far, in order.
    public private(set) var violations: [Violation] = []
    /// The largest publish-time spread seen in an answer.
    public private(set) var maxSpread: Duration = .zero
    /// Answers whose spread was measured.
    public private(set) var answersChecked = 0
    /// Extra time allowed beyond `dropAfter` before a silent machine's rows must be gone.
    public var dropSlack: Duration
    /// The largest allowed publish-time spread of an answer.
    public var spreadLimit: Duration
    /// Stop recording after this many violations (the first ones matter).
    public var violationLimit = 50

    private var held: [NodeID: HeldVersions] = [:]
    /// Per SQL node (and incarnation): the TLA whose update last carried each table.
    private var sources: [NodeID: (incarnation: Int, tables: [TableName: NodeID])] = [:]
    /// The aggregator set of each TLA and SQL node in one.
    private let sets: [NodeID: String]

    private struct HeldVersions {
        var incarnation: Int
        var versions: [TableName: [NodeID: Version]] = [:]
    }

    /// Attaches a checker to `fleet` (call before running it).
    public init(fleet: Fleet) {
        self.configuration = fleet.configuration
        self.simulation = fleet.simulation
        let c = fleet.configuration
        self.dropSlack = c.interval * 3 + c.maxSkew * 2 + .seconds(1)
        self.spreadLimit = c.dropAfter + c.interval * 3 + c.maxSkew * 2
        var sets: [NodeID: String] = [:]
        for set in c.partitioning.aggregatorSets {
            for a in set.aggregators { sets[FleetShape.aggregator(a)] = set.name }
            for q in set.sqlNodes { sets[FleetShape.sql(q)] = set.name }
        }
        self.sets = sets
        // The simulation keeps the checker alive (strong capture); the checker only refers back weakly.
        fleet.simulation.addObserver { step in self.observe(step) }
    }

    private func record(_ node: NodeID, _ invariant: String, _ detail: String) {
        guard violations.count < violationLimit else { return }
        violations.append(Violation(time: simulation?.now ?? .zero, node: node, invariant: invariant, detail: detail))
    }

    private func observe(_ step: SimulationStep) {
        let partitioned = !configuration.partitioning.isEmpty
        if partitioned { noteSource(step) }
        for action in step.actions {
            if case .answer(_, .success(let answer)) = action {
                checkSpread(answer, node: step.node)
                checkHonesty(answer, node: step.node)
                if partitioned { checkScope(answer, node: step.node) }
            }
            if !sets.isEmpty, case .send(_, let destination) = action, let from = sets[step.node],
                let to = sets[destination], from != to
            {
                record(step.node, "aggregator-set", "\(step.node) (set '\(from)') sent to \(destination) (set '\(to)'): \(action)")
            }
        }
        guard case .received(let message, _) = step.input else { return }
        switch message {
        case .update, .deferral, .resync: break
        default: return
        }
        guard let role = simulation?.role(of: step.node) else { return }
        let tables = Self.tables(of: role)
        guard !tables.isEmpty else { return }
        checkVersions(tables, node: step.node)
        if let queryNode = role as? QueryNode { checkDrops(queryNode, tables: tables) }
    }

    /// The tables a role holds, by name, sorted.
    static func tables(of role: any Role) -> [(TableName, Table)] {
        let names = ProcessesWorkload.tableNames
        if let node = role as? QueryNode {
            return node.snapshot.tables.keys.sorted().map { ($0, node.snapshot.tables[$0]!) }
        }
        // A proxy's rows as applied (updates it holds back until it sends are left out: applying
        // them to a copy after every step would cost each step as much as the generation).
        if let proxy = role as? ClusterProxy { return names.compactMap { n in proxy.appliedTable(n).map { (n, $0) } } }
        if let tla = role as? Aggregator { return names.compactMap { n in tla.table(n).map { (n, $0) } } }
        if let child = role as? AggregatorChild { return names.compactMap { n in child.table(n).map { (n, $0) } } }
        return []
    }

    private func checkVersions(_ tables: [(TableName, Table)], node: NodeID) {
        guard let simulation else { return }
        let incarnation = simulation.incarnation(of: node)
        var state = held[node] ?? HeldVersions(incarnation: incarnation)
        if state.incarnation != incarnation { state = HeldVersions(incarnation: incarnation) }
        for (name, table) in tables {
            for origin in table.sortedOrigins {
                let version = table.slices[origin]!.version
                if let previous = state.versions[name]?[origin], version < previous {
                    record(node, "version-monotonic", "\(name) from \(origin) went from version \(previous) back to \(version)")
                }
                state.versions[name, default: [:]][origin] = max(version, state.versions[name]?[origin] ?? 0)
            }
        }
        held[node] = state
    }

    private func checkDrops(_ node: QueryNode, tables: [(TableName, Table)]) {
        guard let simulation else { return }
        let limit = configuration.dropAfter + dropSlack
        for (name, table) in tables {
            // Each table as of the generation it was last updated in: a query reads it as that
            // generation (and waits rather than join it with tables more than one generation newer).
            guard let generation = node.generation(of: name) ?? node.generation else { continue }
            for origin in table.sortedOrigins {
                guard let since = simulation.silentSince(origin), generation.time > since + limit else { continue }
                record(
                    node.id, "drop-after-timeout",
                    "\(name) still holds rows of \(origin), silent since \(format3(since.seconds))s, in generation \(generation.number) (\(format3(generation.time.seconds))s)")
            }
        }
    }

    /// The clusters `tla` sees (all for a mega TLA or a node that is not a TLA).
    private func subnetwork(of tla: NodeID) -> Set<Int> {
        let shape = configuration.shape
        guard case .aggregator(let a)? = try? shape.kind(of: tla.rawValue) else { return Set(0..<shape.clusters) }
        return Set(configuration.partitioning.clusters(ofAggregator: a, in: shape))
    }

    /// The cluster of a row origin (`edge:<c>.<m>`), if it is a machine.
    private func cluster(of origin: NodeID) -> Int? {
        guard case .edge(let c, _)? = try? configuration.shape.kind(of: origin.rawValue) else { return nil }
        return c
    }

    /// Notes which TLA sent a SQL node each table (updates from the active TLA only are applied).
    private func noteSource(_ step: SimulationStep) {
        guard case .received(.update(let update), let peer) = step.input, let simulation,
            let node = simulation.role(of: step.node) as? QueryNode, node.activeAggregator == peer
        else { return }
        let incarnation = simulation.incarnation(of: step.node)
        var entry = sources[step.node] ?? (incarnation, [:])
        if entry.incarnation != incarnation { entry = (incarnation, [:]) }
        for table in update.entries.map(\.table) { entry.tables[table] = peer }
        sources[step.node] = entry
    }

    /// An answer's figures and rows against the subnetwork of the TLA that sent each table.
    private func checkScope(_ answer: QueryAnswer, node id: NodeID) {
        guard let simulation, let node = simulation.role(of: id) as? QueryNode else { return }
        let incarnation = simulation.incarnation(of: id)
        guard let known = sources[id], known.incarnation == incarnation else { return }
        for figures in answer.completeness.tables {
            guard let tla = known.tables[figures.table] else { continue }
            let clusters = subnetwork(of: tla)
            if figures.clustersKnown > clusters.count || figures.clustersContributing > figures.clustersKnown {
                record(
                    id, "subnetwork-scope",
                    "answer in generation \(answer.generation.number) says \(figures.clustersContributing) of \(figures.clustersKnown) clusters contributed to \(figures.table), but \(tla) sees \(clusters.count)")
            }
            guard let table = node.snapshot.table(figures.table) else { continue }
            let outside = table.sortedOrigins.filter { cluster(of: $0).map { !clusters.contains($0) } ?? false }
            if !outside.isEmpty {
                record(
                    id, "subnetwork-scope",
                    "answer in generation \(answer.generation.number) reads \(figures.table) rows of \(outside.prefix(3).map(\.rawValue)) outside the subnetwork of \(tla) (clusters \(clusters.sorted()))")
            }
        }
    }

    private func checkSpread(_ answer: QueryAnswer, node: NodeID) {
        guard let oldest = answer.completeness.oldestPublish, let newest = answer.completeness.newestPublish else { return }
        answersChecked += 1
        let spread = newest - oldest
        maxSpread = max(maxSpread, spread)
        if spread > spreadLimit {
            record(node, "snapshot-spread", "answer in generation \(answer.generation.number) spans \(spread.secondsDouble)s of publish times (limit \(spreadLimit.secondsDouble)s)")
        }
    }

    /// An answer's figures against the snapshot it was computed from (the node's snapshot right
    /// after the step that answered: an update applied in that step comes before the answers it
    /// releases).
    private func checkHonesty(_ answer: QueryAnswer, node id: NodeID) {
        guard let node = simulation?.role(of: id) as? QueryNode else { return }
        for figures in answer.completeness.tables {
            let held = node.snapshot.table(figures.table)?.slices.count ?? 0
            guard figures.machinesContributing > held else { continue }
            record(
                id, "completeness-honest",
                "answer in generation \(answer.generation.number) says \(figures.machinesContributing) of \(figures.machinesKnown) machines contributed to \(figures.table), but the snapshot holds rows of \(held)")
        }
    }

    /// Runs the end-of-run checks. Call after a quiet period (no faults since `quietSince`, every
    /// node restarted and every partition healed) of several intervals.
    ///
    /// - Parameter quietSince: When the last fault was repaired; eventual arrival is checked only
    ///   if at least `dropSlack + 2 intervals` have passed since.
    public func finish(quietSince: Instant) {
        guard let sim = simulation else { return }
        let now = sim.now
        for message in sim.shellViolations { record("shell", "query-answered", message) }
        let timeout = (configuration.queryTimeout ?? configuration.interval * 2) + configuration.interval * 2
        let partitioned = !configuration.partitioning.isEmpty
        for query in sim.queries {
            switch query.outcome {
            case nil:
                // A redirected query waits again at the node it was sent to.
                let allowed = timeout + (query.redirects > 0 ? timeout : .zero)
                if query.submittedAt + allowed < now {
                    record(query.node, "query-answered", "query \(query.id) submitted at \(format3(query.submittedAt.seconds))s never answered: \(query.sql)")
                }
            case .failure(let error)?:
                if error.code == .internalError || error.message.isEmpty {
                    record(query.node, "query-answered", "query \(query.id) failed uncleanly: \(error)")
                } else if partitioned, error.code == .redirect {
                    record(
                        query.node, "redirect-followed",
                        "query \(query.id) found no node to answer it after \(query.redirects) redirect(s): \(error) (\(query.sql))")
                }
            case .success?:
                break
            }
        }
        guard now - quietSince >= dropSlack + configuration.interval * 2 else { return }
        let shape = configuration.shape
        for s in 0..<shape.sqlNodes {
            let id = FleetShape.sql(s)
            guard let node = sim.role(of: id) as? QueryNode else { continue }
            // The SQL node sees the clusters of the TLA it listens to.
            let visible = partitioned ? node.activeAggregator.map { subnetwork(of: $0) } : nil
            var prewarm = Set(node.configuration.prewarm)
            if partitioned, let tla = node.activeAggregator,
                let served = configuration.partitioning.servedTables(by: tla, all: ProcessesWorkload.tableNames)
            {
                // A table the TLA does not serve is redirected, not sent.
                prewarm.formIntersection(served)
            }
            let names = prewarm.union(node.snapshot.tables.keys)
            for name in names.sorted() where ProcessesWorkload.tableNames.contains(name) {
                // Asked for on demand lately: the request travels down to the machines and the rows
                // come back up a tier per generation (through a TLA child for a deferred table).
                if let since = node.interestSince(name), since > quietSince,
                    now - since < configuration.interval * 4 + configuration.maxSkew * 2
                {
                    continue
                }
                let table = node.snapshot.table(name)
                var missing: [NodeID] = []
                for c in 0..<shape.clusters where visible?.contains(c) ?? true {
                    for m in 0..<shape.machinesPerCluster {
                        let edge = FleetShape.edge(c, m)
                        guard sim.silentSince(edge) == nil, name != "clusters" || m == 0 else { continue }
                        if table?.slices[edge] == nil { missing.append(edge) }
                    }
                }
                if !missing.isEmpty {
                    let list = missing.prefix(5).map(\.rawValue).joined(separator: ", ")
                    record(id, "eventual-arrival", "\(name) lacks rows of \(missing.count) live machine(s) (\(list)\(missing.count > 5 ? ", …" : "")) \(format3((now - quietSince).secondsDouble))s after the last fault was repaired")
                }
            }
        }
    }
}
