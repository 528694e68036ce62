/// What a sender knows about one receiver: which tables it asked for and until when, what it has
/// acknowledged per origin, and what each unacknowledged update carried.
///
/// Every update lists *all* differences between what the receiver acknowledged and what the sender
/// holds now, so a lost update or acknowledgement costs only a resend, never a divergence.
///
/// Everything known about one table is kept together (``TableState``), so each step looks a table
/// up once: a sender does this for every receiver, every table and every generation.
struct Downstream: Sendable {
    /// One change an update carried: the origin's version, or `nil` for a removal.
    struct Change: Sendable {
        var origin: NodeID
        var version: Version?
    }

    /// What one update carried for one table.
    struct Pending: Sendable {
        var generation: UInt64
        var changes: [Change]
    }

    /// Everything the sender knows about the receiver and one table.
    struct TableState: Sendable {
        /// When the interest lapses (`nil`: none, or lapsed).
        var interest: Instant?
        /// Origin → acknowledged version.
        var acked: [NodeID: Version] = [:]
        /// The newest generation acknowledged (older acknowledgements are ignored).
        var ackedGeneration: UInt64?
        /// What the unacknowledged updates carried (usually oldest generation first; a resync reply
        /// for an older generation is appended).
        var pending: [Pending] = []
        /// The next entry lists every origin (after a reset or a full resync).
        var replaceScope = false
        /// Sent at least once; the first entry of a table always replaces the receiver's scope (a
        /// restarted sender must not leave behind origins it no longer knows).
        var everSent = false

        /// Forgets what the receiver acknowledged and what is pending.
        mutating func forgetAcknowledged() {
            acked.removeAll()
            ackedGeneration = nil
            pending.removeAll()
        }

        /// The index of what the update of `generation` carried, if still remembered.
        func pendingIndex(_ generation: UInt64) -> Int? { pending.firstIndex { $0.generation == generation } }
    }

    /// Table → what is known about it.
    private(set) var tables: [TableName: TableState] = [:]
    /// The receiver only keeps interest warm (a standby); it gets heartbeats, not updates.
    var standby = false
    /// When the receiver last asked for anything.
    var lastRequest: Instant

    init(now: Instant) { self.lastRequest = now }

    /// How many unacknowledged generations are remembered.
    static let pendingDepth: UInt64 = 4

    /// The tables with live interest at `now`, sorted.
    func liveTables(at now: Instant) -> [TableName] {
        var live: [TableName] = []
        for (table, state) in tables {
            if let expiry = state.interest, expiry > now { live.append(table) }
        }
        if live.count > 1 { live.sort() }
        return live
    }

    /// Records a request.
    mutating func record(_ request: TableRequest, now: Instant) {
        lastRequest = now
        standby = request.standby
        let expiry = now + request.lease
        if request.reset { forEachState { $0.forgetAcknowledged() } }
        for table in request.tables {
            Self.update(&tables[table, default: TableState()]) { state in
                state.interest = max(state.interest ?? expiry, expiry)
                if request.reset { state.replaceScope = true }
            }
        }
    }

    /// Applies `body` to a state in place (through the dictionary's modify accessor: no copy).
    private static func update(_ state: inout TableState, _ body: (inout TableState) -> Void) { body(&state) }

    /// Applies `body` to every table's state in place.
    private mutating func forEachState(_ body: (inout TableState) -> Void) {
        var index = tables.startIndex
        while index != tables.endIndex {
            body(&tables.values[index])
            index = tables.index(after: index)
        }
    }

    /// Starts over with a receiver that reconnected (it may have restarted or missed updates in
    /// flight): nothing it acknowledged is relied on, and every table's next entry is a full copy
    /// replacing its scope.
    mutating func startOver() {
        forEachState { state in
            state.forgetAcknowledged()
            if state.interest != nil { state.replaceScope = true }
        }
    }

    /// Forgets lapsed interest (and what was acknowledged for those tables).
    mutating func expire(at now: Instant) {
        forEachState { state in
            guard let expiry = state.interest, expiry <= now else { return }
            state.interest = nil
            state.acked.removeAll()
            state.ackedGeneration = nil
            state.replaceScope = true
        }
    }

    /// Builds the entry for `table` carrying every difference between what the receiver acknowledged
    /// and `origins` (the sender's current origins of the table, in scope), and remembers it as
    /// pending for `generation`.
    ///
    /// - Parameter merge: add to what is already pending for this generation (a resync reply)
    ///   instead of replacing it.
    mutating func entry(
        for table: TableName,
        origins: [NodeID],
        store: TableStore,
        completeness: TableCompleteness,
        generation: UInt64,
        merge: Bool = false
    ) -> TableEntry {
        // Older generations are forgotten for every table (an update is acknowledged as a whole).
        if generation > Downstream.pendingDepth {
            forEachState { state in
                if state.pending.contains(where: { $0.generation + Downstream.pendingDepth < generation }) {
                    state.pending.removeAll { $0.generation + Downstream.pendingDepth < generation }
                }
            }
        }
        var state = tables.removeValue(forKey: table) ?? TableState()
        let replaces = state.replaceScope || !state.everSent
        state.everSent = true
        if replaces { state.acked.removeAll() }
        var copies: [OriginCopy] = []
        var changes: [Change] = []
        var heldAndIncluded = 0
        let stored = store[table]
        if let stored {
            let held = state.acked
            let removalsInFlight = Self.inFlight(state.pending, removals: true)
            for origin in origins {
                guard let slice = stored.table.slices[origin] else { continue }
                var ackedVersion = held.isEmpty ? nil : held[origin]
                if ackedVersion != nil { heldAndIncluded += 1 }
                // The receiver may have applied an unacknowledged removal of this origin (only the
                // acknowledgement was lost): what it holds is unknown, so it gets a full copy.
                if !removalsInFlight.isEmpty, removalsInFlight.contains(origin) { ackedVersion = nil }
                if ackedVersion == slice.version { continue }
                let copy = TableStore.copy(of: slice, record: stored.origins[origin], acked: ackedVersion)
                copies.append(OriginCopy(origin: origin, copy: copy, publishedAt: slice.publishedAt))
                changes.append(Change(origin: origin, version: slice.version))
            }
        }
        var removed: [NodeID] = []
        // Origins an unacknowledged update carried may be held by the receiver (only the
        // acknowledgement was lost): they count as held for removals.
        let addedInFlight = state.pending.isEmpty ? [] : Self.inFlight(state.pending, removals: false)
        if heldAndIncluded < state.acked.count || !addedInFlight.isEmpty {
            // Some acknowledged origins are no longer sent: remove them (sorting only those).
            let included = Set(origins)
            var candidates = addedInFlight
            candidates.formUnion(state.acked.keys)
            removed = candidates.filter { !included.contains($0) || stored?.table.slices[$0] == nil }.sorted()
            for origin in removed { changes.append(Change(origin: origin, version: nil)) }
        }
        // A second entry of one generation (a resync reply, a child's late hand-back) may reach the
        // receiver before or after the first: what it then holds depends on the order, so the next
        // entry replaces its scope (one full copy after a rare event) instead of trusting either.
        var orderUnknown = false
        if let index = state.pendingIndex(generation) {
            if merge {
                orderUnknown = replaces || !changes.isEmpty || !state.pending[index].changes.isEmpty
                state.pending[index].changes += changes
            } else {
                state.pending[index].changes = changes
            }
        } else {
            state.pending.append(Pending(generation: generation, changes: changes))
        }
        state.replaceScope = orderUnknown
        tables[table] = state
        return TableEntry(
            table: table,
            copies: copies,
            removed: removed,
            replacesScope: replaces,
            completeness: completeness
        )
    }

    /// The origins whose removal (`removals`) or new version (otherwise) an unacknowledged update
    /// carried.
    private static func inFlight(_ pending: [Pending], removals: Bool) -> Set<NodeID> {
        var origins: Set<NodeID> = []
        for update in pending {
            for change in update.changes where (change.version == nil) == removals { origins.insert(change.origin) }
        }
        return origins
    }

    /// Promotes what the acknowledged update carried for `tables` (except `excluding` origins) into
    /// what the receiver holds.
    mutating func acknowledge(generation: UInt64, tables names: [TableName], excluding: Set<NodeID> = []) {
        for table in names {
            guard tables[table] != nil else { continue }
            Self.update(&tables[table]!) { state in
                if let newest = state.ackedGeneration, generation < newest { return }
                guard let index = state.pendingIndex(generation) else { return }
                state.ackedGeneration = generation
                // In place: the acknowledged versions (one per origin, up to a whole fleet at a TLA)
                // are not copied.
                for change in state.pending[index].changes where excluding.isEmpty || !excluding.contains(change.origin) {
                    state.acked[change.origin] = change.version
                }
                // Older unacknowledged updates are superseded: this one listed every difference
                // from what was acknowledged before (their removals are no longer in doubt).
                state.pending.removeAll { $0.generation <= generation }
            }
        }
    }

    /// Handles a resync: acknowledges the rest of that generation's entry and forgets what the
    /// receiver was believed to hold of the listed origins (all of them if none are listed).
    mutating func resync(_ request: ResyncRequest, generation: UInt64) {
        if request.origins.isEmpty {
            Self.update(&tables[request.table, default: TableState()]) { state in
                state.acked.removeAll()
                if let index = state.pendingIndex(generation) { state.pending.remove(at: index) }
                state.replaceScope = true
            }
            return
        }
        acknowledge(generation: generation, tables: [request.table], excluding: Set(request.origins))
        guard tables[request.table] != nil else { return }
        Self.update(&tables[request.table]!) { state in
            for origin in request.origins { state.acked.removeValue(forKey: origin) }
        }
    }
}
