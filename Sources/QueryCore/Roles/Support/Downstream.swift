/// What a sender knows about one receiver: which tables it asked for and until when, what it has
/// acknowledged per origin, and what each unacknowledged update carried.
///
/// Every update lists *all* differences between what the receiver acknowledged and what the sender
/// holds now, so a lost update or acknowledgement costs only a resend, never a divergence.
///
/// Everything known about one table is kept together (``TableState``), so each step looks a table
/// up once: a sender does this for every receiver, every table and every generation.
struct Downstream: Sendable {
    /// One change an update carried: the new version of the origin in `slot` (of the sender's
    /// table, in the slot layout of the table's state), or `nil` for a removal.
    struct Change: Sendable {
        var slot: Int
        var version: Version?
    }

    /// What one update carried for one table.
    struct Pending: Sendable {
        var generation: UInt64
        var changes: [Change]
        /// The update's entry replaced the receiver's scope.
        var replaced = false
    }

    /// Everything the sender knows about the receiver and one table.
    ///
    /// Origins are known by their slot in the sender's ``Table`` (no lookups by name on the hot
    /// paths); ``layout`` says which assignment of slots ``acked`` and ``pending`` refer to, and a
    /// table whose slots were reassigned since is treated like a reconnected receiver (forget,
    /// replace the scope).
    struct TableState: Sendable {
        /// When the interest lapses (`nil`: none, or lapsed).
        var interest: Instant?
        /// Slot → acknowledged version (`nil`: none acknowledged).
        private(set) var acked: [Version?] = []
        /// How many slots have an acknowledged version.
        private(set) var ackedCount = 0
        /// The slot layout (``Table/slotLayout``) that ``acked`` and ``pending`` refer to.
        var layout: UInt64?
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
        /// Every entry replaces the receiver's scope until one that did is acknowledged. Set by every
        /// entry that replaces (the first one, one after a reset or resync, one after the sender's
        /// slots were reassigned): if that entry is lost, the next one, which lists every origin,
        /// must still remove what the receiver holds in that scope from elsewhere (from the TLA or
        /// proxy it used before a failover, or from before this sender restarted).
        var replaceUntilAcknowledged = false

        /// The version acknowledged for the origin in `slot`.
        func ackedVersion(_ slot: Int) -> Version? { slot < acked.count ? acked[slot] : nil }

        /// Sets (or clears) the version acknowledged for the origin in `slot`.
        mutating func setAcked(_ slot: Int, _ version: Version?) {
            if slot >= acked.count {
                guard version != nil else { return }
                acked.append(contentsOf: repeatElement(nil, count: slot + 1 - acked.count))
            }
            switch (acked[slot] != nil, version != nil) {
            case (false, true): ackedCount += 1
            case (true, false): ackedCount -= 1
            default: break
            }
            acked[slot] = version
        }

        /// Forgets every acknowledged version.
        mutating func clearAcked() {
            if ackedCount > 0 { acked.removeAll(keepingCapacity: true) }
            ackedCount = 0
        }

        /// Forgets what the receiver acknowledged and what is pending.
        mutating func forgetAcknowledged() {
            clearAcked()
            ackedGeneration = nil
            pending.removeAll()
        }

        /// Adopts the sender table's current slot layout: if the slots were reassigned since what
        /// is known was recorded, it is forgotten and the next entry replaces the receiver's scope.
        mutating func adopt(layout current: UInt64) {
            guard layout != current else { return }
            if layout != nil, ackedCount > 0 || pending.contains(where: { !$0.changes.isEmpty }) {
                forgetAcknowledged()
                replaceUntilAcknowledged = true
            }
            layout = current
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

    /// The version of `origin`'s rows of `table` the receiver acknowledged, if any (by name, for
    /// checks; `store` is the sender's).
    func ackedVersion(of origin: NodeID, table: TableName, store: TableStore) -> Version? {
        guard let state = tables[table], let stored = store[table], state.layout == stored.table.slotLayout,
            let slot = stored.table.slot(of: origin)
        else { return nil }
        return state.ackedVersion(slot)
    }

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

    /// The tables wanted from upstream by a role with `receivers`: `prewarm` and every receiver's
    /// live interest at `now`, sorted, each once (what `Set(prewarm) ∪ live tables` sorted gives,
    /// without building sets: a role refreshes this every generation, over a handful of tables).
    static func wanted(
        prewarm: [TableName], receivers: Dictionary<NodeID, Downstream>.Values, at now: Instant
    ) -> [TableName] {
        var tables = prewarm
        for downstream in receivers {
            for (table, state) in downstream.tables {
                if let expiry = state.interest, expiry > now { tables.append(table) }
            }
        }
        guard tables.count > 1 else { return tables }
        tables.sort()
        var kept = 1
        for i in 1..<tables.count where tables[i] != tables[kept - 1] {
            tables.swapAt(i, kept)
            kept += 1
        }
        tables.removeLast(tables.count - kept)
        return tables
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
            state.clearAcked()
            state.ackedGeneration = nil
            state.replaceScope = true
        }
    }

    /// Builds the entry for `table` carrying every difference between what the receiver acknowledged
    /// and `origins` (the sender's current origins of the table, in scope), and remembers it as
    /// pending for `generation`.
    ///
    /// Looks each origin up by name: the roles use ``entry(for:slots:store:completeness:generation:merge:)``.
    mutating func entry(
        for table: TableName,
        origins: [NodeID],
        store: TableStore,
        completeness: TableCompleteness,
        generation: UInt64,
        merge: Bool = false
    ) -> TableEntry {
        let slots = store[table].map { stored in origins.compactMap { stored.table.slot(of: $0) } } ?? []
        return entry(
            for: table, slots: slots, store: store, completeness: completeness, generation: generation, merge: merge)
    }

    /// Builds the entry for `table` carrying every difference between what the receiver acknowledged
    /// and the origins in `slots` (of the sender's table: its current origins in scope, in the
    /// order to send them), and remembers it as pending for `generation`.
    ///
    /// - Parameter merge: add to what is already pending for this generation (a resync reply)
    ///   instead of replacing it.
    /// - Complexity: O(slots + slots acknowledged or in flight); no lookups by origin name.
    mutating func entry(
        for table: TableName,
        slots: [Int],
        store: TableStore,
        completeness: TableCompleteness,
        generation: UInt64,
        merge: Bool = false
    ) -> TableEntry {
        var made: [TableStore.MadeCopy]?
        return entry(
            for: table, slots: slots, store: store, completeness: completeness, generation: generation, merge: merge,
            made: &made)
    }

    /// ``entry(for:slots:store:completeness:generation:merge:)`` that also remembers in `store`
    /// each copy it had to make from the kept history (a diff or composed deltas), so the next
    /// receiver that acknowledged the same version gets the same copy without making it again
    /// (a sender's receivers usually acknowledged the same versions).
    mutating func entry(
        for table: TableName,
        slots: [Int],
        store: inout TableStore,
        completeness: TableCompleteness,
        generation: UInt64,
        merge: Bool = false
    ) -> TableEntry {
        var made: [TableStore.MadeCopy]? = []
        let entry = entry(
            for: table, slots: slots, store: store, completeness: completeness, generation: generation, merge: merge,
            made: &made)
        if let made, !made.isEmpty { store.remember(made, of: table) }
        return entry
    }

    /// The entry, collecting into `made` (unless `nil`) the copies made from the kept history.
    private mutating func entry(
        for table: TableName,
        slots: [Int],
        store: TableStore,
        completeness: TableCompleteness,
        generation: UInt64,
        merge: Bool,
        made: inout [TableStore.MadeCopy]?
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
        let stored = store[table]
        if let stored {
            state.adopt(layout: stored.table.slotLayout)
        } else if state.ackedCount > 0 || state.pending.contains(where: { !$0.changes.isEmpty }) {
            // The table is gone here (its origins cannot be named): the receiver lets go of all of it.
            state.forgetAcknowledged()
            state.replaceUntilAcknowledged = true
        }
        let replaces = state.replaceScope || !state.everSent || state.replaceUntilAcknowledged
        state.everSent = true
        if replaces {
            state.clearAcked()
            state.replaceUntilAcknowledged = true
        }
        var copies: [OriginCopy] = []
        var changes: [Change] = []
        var heldAndIncluded = 0
        var removed: [NodeID] = []
        if let stored {
            let table = stored.table
            // The per-slot arrays, read in place (not the whole `Stored` or an origin's `Kept` per slot).
            let scopes = stored.scopes
            let kept = stored.kept
            let remembered = stored.made
            let removalsInFlight = Self.inFlight(state.pending, removals: true, slots: table.slotCount)
            // The per-slot arrays are read through buffer pointers: an element is borrowed in
            // place (an origin's `Kept`, slice or remembered copy is not copied out to read its
            // versions or history).
            table.slotSlices.withUnsafeBufferPointer { slices in
                // The copies and changes are counted first (versions only) and their arrays made
                // once at their size, not grown copy by copy (a TLA's entry carries hundreds).
                var changing = 0
                for slot in slots {
                    guard let version = slices[slot]?.version else { continue }
                    if let removalsInFlight, removalsInFlight[slot] {
                        changing += 1
                    } else if state.ackedVersion(slot) != version {
                        changing += 1
                    }
                }
                copies.reserveCapacity(changing)
                changes.reserveCapacity(changing)
                kept.withUnsafeBufferPointer { kept in remembered.withUnsafeBufferPointer { remembered in
                    for slot in slots {
                        // The version first; the slice is copied only for an origin that gets a copy.
                        guard let version = slices[slot]?.version else { continue }
                        var ackedVersion = state.ackedVersion(slot)
                        if ackedVersion != nil { heldAndIncluded += 1 }
                        // The receiver may have applied an unacknowledged removal of this origin (only the
                        // acknowledgement was lost): what it holds is unknown, so it gets a full copy.
                        if let removalsInFlight, removalsInFlight[slot] { ackedVersion = nil }
                        if ackedVersion == version { continue }
                        // The slice stays in place: only the copy sent is copied out.
                        let publishedAt = slices[slot]!.publishedAt
                        let copy: TableCopy
                        if let acked = ackedVersion, slot < scopes.count, scopes[slot] != nil {
                            if slot < remembered.count, remembered[slot]?.from == acked,
                                remembered[slot]?.to == version
                            {
                                copy = remembered[slot]!.copy
                            } else if let delta = Self.delta(kept[slot].lastDelta, leadingFrom: acked, to: version) {
                                // The delta that made the current version, forwarded as it is (its
                                // versions are checked on the copy that is sent anyway).
                                copy = delta
                            } else {
                                let result = kept[slot].copy(to: slices[slot]!, acked: acked)
                                if result.made {
                                    made?.append(TableStore.MadeCopy(slot: slot, from: acked, copy: result.copy))
                                }
                                copy = result.copy
                            }
                        } else {
                            copy = .full(version: version, segment: slices[slot]!.segment)
                        }
                        copies.append(OriginCopy(origin: table.origin(at: slot), copy: copy, publishedAt: publishedAt))
                        changes.append(Change(slot: slot, version: version))
                    }
                } }
            }
            // Origins an unacknowledged update carried may be held by the receiver (only the
            // acknowledgement was lost): they count as held for removals.
            let addedInFlight = Self.inFlight(state.pending, removals: false, slots: table.slotCount)
            if heldAndIncluded < state.ackedCount || addedInFlight != nil {
                // Some acknowledged origins are no longer sent: remove them (sorting only those).
                var included = [Bool](repeating: false, count: table.slotCount)
                for slot in slots { included[slot] = true }
                var gone: [Int] = []
                for slot in 0..<table.slotCount
                where state.ackedVersion(slot) != nil || addedInFlight?[slot] == true {
                    if !included[slot] || table.slice(at: slot) == nil { gone.append(slot) }
                }
                gone.sort { table.origin(at: $0) < table.origin(at: $1) }
                for slot in gone {
                    removed.append(table.origin(at: slot))
                    changes.append(Change(slot: slot, version: nil))
                }
            }
        }
        // A second entry of one generation (a resync reply, a child's late hand-back) may reach the
        // receiver before or after the first: what it then holds depends on the order, so the next
        // entry replaces its scope (one full copy after a rare event) instead of trusting either.
        var orderUnknown = false
        if let index = state.pendingIndex(generation) {
            if merge {
                orderUnknown = replaces || !changes.isEmpty || !state.pending[index].changes.isEmpty
                state.pending[index].changes += changes
                // Which entry arrives last is unknown: the update counts as replacing only if both did.
                state.pending[index].replaced = state.pending[index].replaced && replaces
            } else {
                state.pending[index].changes = changes
                state.pending[index].replaced = replaces
            }
        } else {
            state.pending.append(Pending(generation: generation, changes: changes, replaced: replaces))
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

    /// `delta` if it is a delta from `base` to `version` (the same test as
    /// ``TableStore/Kept/lastDeltaLeads(from:to:)``, made on the delta rather than on the history).
    /// Takes the delta (`consuming`): it is returned as it is, not copied and the original destroyed.
    @inline(__always)
    static func delta(_ delta: consuming TableCopy?, leadingFrom base: Version, to version: Version) -> TableCopy? {
        guard let from = delta?.base, from == base, delta?.version == version else { return nil }
        return delta
    }

    /// The slots whose removal (`removals`) or new version (otherwise) an unacknowledged update
    /// carried, as flags over `slots` slots; `nil` if there are none.
    private static func inFlight(_ pending: [Pending], removals: Bool, slots: Int) -> [Bool]? {
        var flags: [Bool]?
        for update in pending {
            for change in update.changes where (change.version == nil) == removals && change.slot < slots {
                if flags == nil { flags = [Bool](repeating: false, count: slots) }
                flags![change.slot] = true
            }
        }
        return flags
    }

    /// Promotes what the acknowledged update carried for `tables` into what the receiver holds.
    mutating func acknowledge(generation: UInt64, tables names: [TableName]) {
        for table in names {
            guard let index = tables.index(forKey: table) else { continue }
            Self.acknowledge(&tables.values[index], generation: generation, excluding: nil)
        }
    }

    /// Promotes what the acknowledged update of `generation` carried (except for the slots flagged in
    /// `excluding`) into what the receiver holds.
    private static func acknowledge(_ state: inout TableState, generation: UInt64, excluding: [Bool]?) {
        if let newest = state.ackedGeneration, generation < newest { return }
        guard let index = state.pendingIndex(generation) else { return }
        state.ackedGeneration = generation
        if state.pending[index].replaced { state.replaceUntilAcknowledged = false }
        // In place: the acknowledged versions (one per origin, up to a whole fleet at a TLA) are
        // not copied.
        let changes = state.pending[index].changes
        for change in changes {
            if let excluding, change.slot < excluding.count, excluding[change.slot] { continue }
            state.setAcked(change.slot, change.version)
        }
        // Older unacknowledged updates are superseded: this one listed every difference from what
        // was acknowledged before (their removals are no longer in doubt).
        state.pending.removeAll { $0.generation <= generation }
    }

    /// Handles a resync: acknowledges the rest of that generation's entry and forgets what the
    /// receiver was believed to hold of the listed origins (all of them if none are listed).
    ///
    /// - Parameter store: the sender's tables (to find the listed origins' slots).
    mutating func resync(_ request: ResyncRequest, generation: UInt64, store: TableStore) {
        if request.origins.isEmpty {
            Self.update(&tables[request.table, default: TableState()]) { state in
                state.clearAcked()
                if let index = state.pendingIndex(generation) { state.pending.remove(at: index) }
                state.replaceScope = true
            }
            return
        }
        guard let index = tables.index(forKey: request.table) else { return }
        let table = store[request.table]?.table
        if let table { tables.values[index].adopt(layout: table.slotLayout) }
        // Origins without a slot were never sent from this table: nothing of them is acknowledged.
        var listed: [Int] = []
        if let table { for origin in request.origins { if let slot = table.slot(of: origin) { listed.append(slot) } } }
        var excluding = [Bool](repeating: false, count: (listed.max() ?? -1) + 1)
        for slot in listed { excluding[slot] = true }
        Self.acknowledge(&tables.values[index], generation: generation, excluding: excluding)
        for slot in listed { tables.values[index].setAcked(slot, nil) }
    }
}
