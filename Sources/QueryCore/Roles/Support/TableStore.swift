/// The tables a role holds, per origin, with what it needs to send them on: the last few versions
/// of each origin's rows, or the deltas that led from them to the current rows (to bring a receiver
/// that acknowledged an older version up to date), and the copy that produced the current version
/// (forwarded as is when a receiver acknowledged its base).
///
/// Shared by every role that receives or sends tables; applying enforces the version rule.
struct TableStore: Sendable {
    /// Bookkeeping for one origin of one table (assembled from ``Stored``'s per-slot arrays).
    struct OriginRecord: Sendable {
        /// How older versions can be reached, and the delta to forward.
        var kept = Kept()
        /// When the origin last confirmed its rows.
        var confirmedAt: Instant
        /// The sender scope the origin belongs to (its edge, its cluster, or the whole table).
        var scope: NodeID
    }

    /// What a sender keeps of one origin to bring receivers up to date.
    struct Kept: Sendable {
        /// How older versions can be reached, at most ``TableStore/historyDepth``.
        var history = History()
        /// The copy that produced the current version, if it was a delta applied by replacing the
        /// rows (forwarded unchanged to receivers that acknowledged its base); a delta applied in
        /// place is the newest ``history`` step instead.
        var replacingDelta: TableCopy?
    }

    /// One table and its origins' bookkeeping, in arrays indexed by the table's slots (each a
    /// plain array, so reading one origin's scope or confirmation copies nothing else).
    struct Stored: Sendable {
        var table: Table
        /// Slot → the origin's scope, `nil` while the origin has no bookkeeping (is not held).
        private(set) var scopes: [NodeID?] = []
        /// Slot → when the origin last confirmed its rows.
        private(set) var confirmed: [Instant] = []
        /// Slot → what is kept to bring receivers up to date.
        private(set) var kept: [Kept] = []
        /// Slot → the last copy made from the kept history for a receiver (see ``MadeCopy``), if
        /// any; valid only while the origin's version is the copy's.
        private(set) var made: [MadeCopy?] = []
        /// The held origins' slots in the origins' sorted order, cached until the set of origins
        /// changes (`nil`: stale).
        var sortedSlots: [Int]? = []
        /// Sender index → the slot of the sender's own origin (a hint, see ``knownSlot(of:scope:sender:)``; `-1`: none).
        var senderSlots: [Int] = []
        /// The slot ``slotAfterLastFound(_:)`` found last (a hint, checked before use; `-1`: none).
        var lastFoundSlot = -1
        /// The versions of origins whose rows were removed here (the sender said so, or left them
        /// out of an entry replacing its scope), until rows of the same version or a newer one are
        /// applied: a full copy of an older version is refused as stale. An origin's versions never
        /// go back, so an older copy is out of date (a lagging proxy or TLA failed over to), and
        /// holding nothing for the origin is truer than holding rows it has since replaced.
        var removedVersions: [NodeID: Version] = [:]

        init(table: Table) { self.table = table }

        /// Whether the origin in `slot` has bookkeeping.
        func hasRecord(_ slot: Int) -> Bool { slot < scopes.count && scopes[slot] != nil }

        /// The scope of the origin in `slot`, if it has bookkeeping.
        func scope(at slot: Int) -> NodeID? { slot < scopes.count ? scopes[slot] : nil }

        /// When the origin in `slot` last confirmed its rows, if it has bookkeeping.
        func confirmedAt(_ slot: Int) -> Instant? { hasRecord(slot) ? confirmed[slot] : nil }

        /// The bookkeeping of the origin in `slot`, if any (assembled: for checks, not hot paths).
        func record(at slot: Int) -> OriginRecord? {
            guard let scope = scope(at: slot) else { return nil }
            return OriginRecord(kept: kept[slot], confirmedAt: confirmed[slot], scope: scope)
        }

        /// Origin → bookkeeping (a view looking each origin up by name).
        var origins: Records { Records(stored: self) }

        /// The origins' bookkeeping, looked up by origin.
        struct Records {
            let stored: Stored
            subscript(origin: NodeID) -> OriginRecord? {
                guard let slot = stored.table.slot(of: origin) else { return nil }
                return stored.record(at: slot)
            }
        }

        /// Gives the origin in `slot` bookkeeping (confirmed at `confirmedAt`, in `scope`) unless it has some.
        mutating func ensureRecord(at slot: Int, confirmedAt: Instant, scope: NodeID) {
            guard scopes[slot] == nil else { return }
            scopes[slot] = scope
            confirmed[slot] = confirmedAt
            kept[slot] = Kept()
            forgetMade(slot)
        }

        /// Bookkeeping for a copy applied to the origin in `slot`: as ``ensureRecord(at:confirmedAt:scope:)``
        /// then ``setScope(_:at:)`` and ``confirm(_:at:)`` at `publishedAt`, in one pass.
        mutating func noteApplied(at slot: Int, scope: NodeID, confirmedAt: Instant, publishedAt: Instant) {
            if scopes[slot] == nil {
                scopes[slot] = scope
                confirmed[slot] = max(confirmedAt, publishedAt)
                kept[slot] = Kept()
                forgetMade(slot)
                return
            }
            if scopes[slot] != scope { scopes[slot] = scope }
            if confirmed[slot] < publishedAt { confirmed[slot] = publishedAt }
        }

        /// Sets the scope of the origin in `slot` (which has bookkeeping).
        mutating func setScope(_ scope: NodeID, at slot: Int) {
            if scopes[slot] != scope { scopes[slot] = scope }
        }

        /// Moves the confirmation of the origin in `slot` (which has bookkeeping) forward to `time`.
        mutating func confirm(_ slot: Int, at time: Instant) {
            if confirmed[slot] < time { confirmed[slot] = time }
        }

        /// Sets the confirmation of the origin in `slot` (which has bookkeeping).
        mutating func setConfirmed(_ slot: Int, _ time: Instant) { confirmed[slot] = time }

        /// Updates what is kept of the origin in `slot` in place.
        mutating func updateKept(_ slot: Int, _ body: (inout Kept) -> Void) {
            body(&kept[slot])
            forgetMade(slot)
        }

        /// Keeps `copy` (applied to the origin in `slot`, which has bookkeeping, having `replaced`
        /// what was held) as ``TableStore/update(_:with:replaced:)`` says, moved in place, and
        /// forgets the remembered copy.
        mutating func keepApplied(_ copy: consuming TableCopy, replaced: consuming Table.Replaced, at slot: Int) {
            TableStore.update(&kept[slot], with: copy, replaced: replaced)
            forgetMade(slot)
        }

        /// Forgets what is kept of every origin, and the remembered copies.
        mutating func forgetKept() {
            for slot in kept.indices where kept[slot].history.last != nil || kept[slot].replacingDelta != nil {
                kept[slot] = Kept()
            }
            for slot in made.indices where made[slot] != nil { made[slot] = nil }
        }

        /// Forgets the copy remembered for the origin in `slot` (its rows changed).
        mutating func forgetMade(_ slot: Int) {
            if slot < made.count, made[slot] != nil { made[slot] = nil }
        }

        /// Remembers `copy` (made for the origin in its slot, which holds the copy's version).
        mutating func remember(_ copy: MadeCopy) {
            guard copy.slot < made.count, let slice = table.slice(at: copy.slot), slice.version == copy.to else { return }
            made[copy.slot] = copy
        }

        /// Makes the per-slot arrays cover every slot of ``table``.
        mutating func coverSlots() {
            let missing = table.slotCount - scopes.count
            guard missing > 0 else { return }
            if missing == 1 {
                // One new origin (the usual case): plain appends, not the generic repeated-element path.
                scopes.append(nil)
                confirmed.append(.zero)
                kept.append(Kept())
                made.append(nil)
                return
            }
            scopes.append(contentsOf: repeatElement(nil, count: missing))
            confirmed.append(contentsOf: repeatElement(.zero, count: missing))
            kept.append(contentsOf: repeatElement(Kept(), count: missing))
            made.append(contentsOf: repeatElement(nil, count: missing))
        }

        /// Removes the origin in `slot`: its rows and its bookkeeping. Returns whether rows were held.
        mutating func remove(slot: Int) -> Bool {
            if let version = table.version(at: slot) {
                let origin = table.origin(at: slot)
                removedVersions[origin] = max(version, removedVersions[origin] ?? 0)
            }
            if slot < scopes.count, scopes[slot] != nil {
                scopes[slot] = nil
                kept[slot] = Kept()
            }
            forgetMade(slot)
            return table.removeSlice(at: slot) != nil
        }

        /// Compacts the slots once many are unused (see ``Table/compactSlots()``), bookkeeping included.
        mutating func compactIfSparse() {
            guard table.slotsAreSparse else { return }
            coverSlots()
            let oldSlots = table.compactSlots()
            scopes = oldSlots.map { scopes[$0] }
            confirmed = oldSlots.map { confirmed[$0] }
            kept = oldSlots.map { kept[$0] }
            made = oldSlots.map { made[$0] }
            sortedSlots = nil
        }
    }

    /// A copy a sender made from an origin's kept history (a diff from older rows, or deltas
    /// composed) for a receiver that acknowledged `from`: remembered so that the next receiver
    /// that acknowledged the same version gets it without making it again.
    struct MadeCopy: Sendable {
        /// The origin's slot.
        var slot: Int
        /// The version the receiver acknowledged (the copy's base, or what a full copy replaces).
        var from: Version
        /// The copy, to the origin's version when it was made.
        var copy: TableCopy
        /// The version the copy brings a receiver to.
        var to: Version { copy.version }
    }

    /// Remembers copies made for receivers of `name` (see ``MadeCopy``).
    mutating func remember(_ copies: [MadeCopy], of name: TableName) {
        guard let index = tables.index(forKey: name) else { return }
        for copy in copies { tables.values[index].remember(copy) }
    }

    /// What applying one entry did.
    struct ApplyReport: Sendable {
        var rowsMerged = 0
        var applied = 0
        var stale = 0
        var removed = 0
        /// Origins whose delta did not fit the held version.
        var resync: [NodeID] = []
        /// Copies refused for another reason (schema mismatch), with why.
        var refused: [String] = []
    }

    /// How many older versions each origin keeps for diffing (as rows or as the deltas applied since).
    static let historyDepth = 2

    private(set) var tables = Tables()
    /// Whether to keep older versions and forwarded deltas (senders do; a SQL node does not; a
    /// sender whose receivers are all standbys stops, see ``keepHistory(_:)``).
    private(set) var keepsHistory: Bool
    /// Tables applied all-or-nothing (machines, clusters, configuration: one designated source).
    let sourced: Set<TableName>
    /// How many tables this store created: each gets its own range of slot layouts, so a table
    /// created again under an old name is not taken for the old one.
    private var tablesCreated: UInt64 = 0

    init(keepsHistory: Bool, sourced: Set<TableName> = []) {
        self.keepsHistory = keepsHistory
        self.sourced = sourced
    }

    subscript(name: TableName) -> Stored? { tables[name] }

    /// Starts or stops keeping older versions and forwarded deltas.
    ///
    /// A sender none of whose receivers is served (all are standbys, which get heartbeats) has no
    /// use for them: stopping forgets what is kept, so nothing stale is used once it keeps them
    /// again; until the history has grown back, a receiver that acknowledged an older version gets
    /// a full copy (as one that acknowledged a version past the history does). The rows held are
    /// the same either way.
    mutating func keepHistory(_ keep: Bool) {
        guard keep != keepsHistory else { return }
        keepsHistory = keep
        guard !keep else { return }
        for index in tables.values.indices { tables.values[index].forgetKept() }
    }

    /// The table names held, sorted.
    var names: [TableName] { tables.keys.sorted() }

    /// A new empty table named `name`, with slot layouts no other table of this store used.
    private mutating func newTable(_ name: TableName, schema: Schema) -> Table {
        tablesCreated += 1
        return Table(name: name, schema: schema, slotLayout: tablesCreated << 32)
    }

    /// The held origins' slots of `name` in the origins' sorted order (cached; re-sorted only after
    /// origins come or go).
    ///
    /// - Complexity: O(1) when unchanged, O(n log n) after a change.
    mutating func sortedSlots(of name: TableName) -> [Int] {
        guard let index = tables.index(forKey: name) else { return [] }
        if let cached = tables.values[index].sortedSlots, cached.count == tables.values[index].table.heldCount {
            return cached
        }
        let sorted = tables.values[index].table.sortedSlots()
        tables.values[index].sortedSlots = sorted
        return sorted
    }

    /// The origins of `name` in sorted order.
    mutating func sortedOrigins(of name: TableName) -> [NodeID] {
        let slots = sortedSlots(of: name)
        guard let table = tables[name]?.table else { return [] }
        return slots.map { table.origin(at: $0) }
    }

    /// Whether `origin`'s rows of `name` are held.
    func holds(_ name: TableName, origin: NodeID) -> Bool { tables[name]?.table.slices[origin] != nil }

    /// Forgets a table's rows and bookkeeping, keeping only the versions its origins had (see
    /// ``Stored/removedVersions``): should the table be held again, older copies of an origin are
    /// out of date (a sender that lags behind the one the rows came from before).
    mutating func forget(_ name: TableName) {
        guard let stored = tables.removeValue(forKey: name) else { return }
        var versions = stored.removedVersions
        for slot in 0..<stored.table.slotCount {
            guard let version = stored.table.version(at: slot) else { continue }
            let origin = stored.table.origin(at: slot)
            versions[origin] = max(version, versions[origin] ?? 0)
        }
        if !versions.isEmpty { forgottenVersions[name] = versions }
    }

    /// The removed versions (``Stored/removedVersions``) of tables forgotten here, taken up again
    /// when the table is held again.
    private var forgottenVersions: [TableName: [NodeID: Version]] = [:]

    /// Applies an entry received from a sender whose origins belong to `scope`.
    ///
    /// Copies are applied under the version rule; a delta whose base is not the held version is
    /// reported for resync; removals and (for a `replacesScope` entry) unlisted origins of `scope`
    /// are removed.
    ///
    /// - Parameter sender: the sender's dense index at the receiving role, if it has one: the slot
    ///   of an origin that is the sender's own scope is then found through a hint kept per sender
    ///   (checked against the slot's origin) instead of a lookup by name. Results are the same.
    mutating func apply(_ entry: TableEntry, scope: NodeID, now: Instant, sender: Int? = nil) -> ApplyReport {
        var report = ApplyReport()
        let confirmed = entry.completeness.newestPublish ?? now
        // One lookup of the table by name in the usual case (held, not sourced).
        var found = tables.index(forKey: entry.table)
        if found == nil, let first = entry.copies.first {
            var stored = Stored(table: newTable(entry.table, schema: first.copy.schema))
            if let versions = forgottenVersions.removeValue(forKey: entry.table) { stored.removedVersions = versions }
            tables[entry.table] = stored
            found = tables.index(forKey: entry.table)
        }
        let isSourced = !sourced.isEmpty && sourced.contains(entry.table)
        if isSourced, !entry.copies.isEmpty {
            applySourced(entry, scope: scope, confirmed: confirmed, into: &report)
            found = tables.index(forKey: entry.table)
        }
        guard let index = found else { return report }
        // In place (through the dictionary's values): the table is not moved out and back.
        Self.apply(
            entry, to: &tables.values[index], scope: scope, sender: sender, confirmed: confirmed,
            isSourced: isSourced, keepsHistory: keepsHistory, into: &report)
        return report
    }

    /// ``apply(_:scope:now:)`` on the stored table (a sourced table's copies are applied already).
    private static func apply(
        _ entry: TableEntry,
        to stored: inout Stored,
        scope: NodeID,
        sender: Int?,
        confirmed: Instant,
        isSourced: Bool,
        keepsHistory: Bool,
        into report: inout ApplyReport
    ) {
        // The scope's slot when the scope is an origin here (an edge's entry), found with its copy.
        var scopeSlot: Int?
        // The slots of the copies' origins (`-1`: none), for a `replacesScope` entry's removals.
        var copySlots: [Int] = []
        let listsSlots = entry.replacesScope && !entry.copies.isEmpty
        if listsSlots { copySlots.reserveCapacity(entry.copies.count) }
        if !isSourced {
            // A delta is applied into the held rows unless they must be kept whole: a sender keeps
            // the deltas of a keyed table (which compose), but the rows of a keyless one.
            let inPlace = !keepsHistory || stored.table.schema.isKeyed
            // Through a buffer pointer: each copy is passed on in place, not copied out of the entry.
            entry.copies.withUnsafeBufferPointer { copies in
                // The rows are asked for ahead of the apply (several origins' at once, see ``Prefetcher``).
                var prefetcher = withUnsafePointer(to: &stored) { Prefetcher(copies, in: $0, scope: scope, sender: sender) }
                for index in copies.indices {
                    withUnsafePointer(to: &stored) { prefetcher.advance(to: index, in: $0) }
                    let origin = copies[index].origin
                    let publishedAt = copies[index].publishedAt
                    // The origin's one lookup by name in this update; everything after goes by slot.
                    let slot: Int
                    if let known = stored.knownSlot(of: origin, scope: scope, sender: sender) {
                        slot = known
                    } else if copies[index].copy.isFull {
                        slot = stored.table.assignSlot(origin)
                        stored.coverSlots()
                        if let sender, origin == scope { stored.noteSenderSlot(slot, sender: sender) }
                    } else {
                        if listsSlots { copySlots.append(-1) }
                        report.resync.append(origin)  // a delta for an origin never held
                        continue
                    }
                    if listsSlots { copySlots.append(slot) }
                    if origin == scope { scopeSlot = slot }
                    if !stored.removedVersions.isEmpty, let floor = stored.removedVersions[origin] {
                        // Rows removed here at `floor`: an older copy is out of date (see ``Stored/removedVersions``).
                        if copies[index].copy.version < floor {
                            report.stale += 1
                            continue
                        }
                        stored.removedVersions[origin] = nil
                    }
                    let outcome: ApplyOutcome
                    if keepsHistory {
                        // Copied out of the entry once (a delta retains its two segments): applying it
                        // and keeping it read this local copy, which is then moved into the history.
                        // (Read from the entry on each use, the compiler copies it for every call that
                        // also mutates the store.)
                        let copy = copies[index].copy
                        let result: (outcome: ApplyOutcome, replaced: Table.Replaced)
                        do throws(QueryError) {
                            result = try stored.table.applyReporting(
                                copy,
                                slot: slot,
                                publishedAt: publishedAt,
                                inPlace: inPlace
                            )
                        } catch {
                            report.refused.append("\(origin): \(error.message)")
                            continue
                        }
                        outcome = result.outcome
                        if case .applied = outcome {
                            Self.record(
                                copy, publishedAt: publishedAt, slot: slot, replaced: result.replaced, scope: scope,
                                confirmed: confirmed, keepsHistory: true, in: &stored, into: &report)
                        }
                    } else {
                        // Nothing is kept: the copy is applied where it lies in the entry, not copied out.
                        do throws(QueryError) {
                            outcome = try stored.table.applyReporting(
                                copies[index].copy,
                                slot: slot,
                                publishedAt: publishedAt,
                                inPlace: true
                            ).outcome
                        } catch {
                            report.refused.append("\(origin): \(error.message)")
                            continue
                        }
                        if case .applied = outcome {
                            report.applied += 1
                            report.rowsMerged += copies[index].copy.rowsCarried
                            stored.noteApplied(at: slot, scope: scope, confirmedAt: confirmed, publishedAt: publishedAt)
                            stored.forgetMade(slot)
                        }
                    }
                    switch outcome {
                    case .applied:
                        break
                    case .rejectedStale:
                        report.stale += 1
                    case .needsResync:
                        report.resync.append(origin)
                    }
                }
            }
        }
        if entry.replacesScope || !entry.removed.isEmpty {
            stored.coverSlots()
            var toRemove: [Int] = []
            for origin in entry.removed {
                if let slot = stored.table.slot(of: origin) { toRemove.append(slot) }
            }
            if entry.replacesScope {
                // The copies' slots, found above (a sourced entry's are looked up: its copies were
                // applied as a whole); assigned slots stay, so they still name the same origins.
                if isSourced || copySlots.count != entry.copies.count {
                    copySlots = entry.copies.indices.map { stored.table.slot(of: entry.copies[$0].origin) ?? -1 }
                }
                Self.unlistedSlots(of: scope, listed: copySlots, in: stored, into: &toRemove)
            }
            for slot in toRemove where !stored.hasRecord(slot) || stored.scope(at: slot) == scope {
                if stored.remove(slot: slot) { report.removed += 1 }
            }
        }
        // An edge's entry (scope = the origin itself) confirms its rows as of the entry, changed or not.
        let slot = scopeSlot ?? stored.knownSlot(of: scope, scope: scope, sender: sender)
        if let slot, stored.scope(at: slot) == scope {
            stored.confirm(slot, at: confirmed)
        }
        // An edge's entry without a copy confirms rows the edge believes acknowledged here: if none
        // are held (lost with a forgotten table, say), they are asked for in full.
        if sender != nil, entry.copies.isEmpty, entry.removed.isEmpty, !entry.replacesScope,
            slot.map({ stored.table.version(at: $0) == nil }) ?? true
        {
            report.resync.append(scope)
        }
        if report.removed > 0 || stored.table.heldCount != stored.sortedSlots?.count { stored.sortedSlots = nil }
        if report.removed > 0 { stored.compactIfSparse() }
    }

    /// Appends the slots whose origin is in `scope` and not among the `listed` slots (`-1`: none).
    ///
    /// A few listed slots (an edge's entry lists one) are searched linearly; many are flagged.
    static func unlistedSlots(of scope: NodeID, listed: [Int], in stored: Stored, into slots: inout [Int]) {
        let count = stored.table.slotCount
        if listed.count <= 8 {
            for slot in 0..<count where stored.scope(at: slot) == scope && !listed.contains(slot) {
                slots.append(slot)
            }
            return
        }
        var flags = [Bool](repeating: false, count: count)
        for slot in listed where slot >= 0 && slot < count { flags[slot] = true }
        for slot in 0..<count where !flags[slot] && stored.scope(at: slot) == scope { slots.append(slot) }
    }

    /// A sourced table's entry is applied all-or-nothing: every copy or none.
    private mutating func applySourced(
        _ entry: TableEntry,
        scope: NodeID,
        confirmed: Instant,
        into report: inout ApplyReport
    ) {
        var stored = tables.removeValue(forKey: entry.table)!
        defer { tables[entry.table] = stored }
        let held = entry.copies.map { stored.table.slices[$0.origin] }
        let outcome: ApplyOutcome
        do {
            outcome = try stored.table.applyAll(entry.copies.map { ($0.origin, $0.copy, $0.publishedAt) })
        } catch {
            report.refused.append("sourced table refused as a whole: \(error.message)")
            return
        }
        switch outcome {
        case .applied:
            stored.coverSlots()
            entry.copies.withUnsafeBufferPointer { copies in
                for (index, held) in zip(copies.indices, held) {
                    let replaced = held.map { Table.Replaced.rows(version: $0.version, segment: $0.segment) } ?? .nothing
                    Self.record(
                        copies[index].copy, publishedAt: copies[index].publishedAt,
                        slot: stored.table.slot(of: copies[index].origin)!,
                        replaced: replaced, scope: scope, confirmed: confirmed, keepsHistory: keepsHistory,
                        in: &stored, into: &report)
                }
            }
        case .rejectedStale:
            report.stale += entry.copies.count
        case .needsResync:
            report.resync = entry.copies.map(\.origin)
        }
    }

    /// Bookkeeping for the applied `copy` (published at `publishedAt`): history for diffing, the
    /// delta to forward, the scope. The copy is moved into what is kept, not copied again.
    private static func record(
        _ copy: consuming TableCopy,
        publishedAt: Instant,
        slot: Int,
        replaced: Table.Replaced,
        scope: NodeID,
        confirmed: Instant,
        keepsHistory: Bool,
        in stored: inout Stored,
        into report: inout ApplyReport
    ) {
        report.applied += 1
        report.rowsMerged += copy.rowsCarried
        // One pass over the slot's bookkeeping (as `ensureRecord`, `setScope`, `confirm`), and
        // what is kept updated in place, so the history is not copied on every apply.
        stored.noteApplied(at: slot, scope: scope, confirmedAt: confirmed, publishedAt: publishedAt)
        guard keepsHistory else {
            stored.forgetMade(slot)
            return
        }
        // Forgets the remembered copy too.
        stored.keepApplied(copy, replaced: replaced, at: slot)
    }

    /// What is kept of an origin after `copy` was applied, having `replaced` what was held.
    fileprivate static func update(_ kept: inout Kept, with copy: consuming TableCopy, replaced: consuming Table.Replaced) {
        switch consume replaced {
        case .nothing:
            kept.history.removeAll()
            kept.replacingDelta = copy.isDelta ? copy : nil
        case .rows(let version, let segment):
            kept.history.push(.rows(version: version, segment: segment))
            kept.replacingDelta = copy.isDelta ? copy : nil
        case .inPlace(let inserted):
            kept.history.push(.applied(delta: copy, inserted: inserted))
            if kept.replacingDelta != nil { kept.replacingDelta = nil }
        }
    }

    /// Sets `origin`'s rows of `name` to `segment` (an edge publishing), creating a new version only
    /// if the rows changed. Returns whether they changed.
    ///
    /// - Throws: ``QueryError`` if the segment cannot be held (schema clash).
    mutating func publish(
        _ name: TableName,
        origin: NodeID,
        segment: Segment,
        now: Instant
    ) throws(QueryError) -> Bool {
        let nextVersion = { (held: Version) -> Version in
            max(held &+ 1, Version(max(0, now.milliseconds)))
        }
        guard var stored = tables.removeValue(forKey: name) else {
            var table = newTable(name, schema: segment.schema)
            try table.replace(origin: origin, version: nextVersion(0), segment: segment, publishedAt: now)
            var stored = Stored(table: table)
            stored.coverSlots()
            stored.ensureRecord(at: table.slot(of: origin)!, confirmedAt: now, scope: origin)
            tables[name] = stored
            return true
        }
        defer { tables[name] = stored }
        let slot = stored.table.assignSlot(origin)
        stored.coverSlots()
        guard let held = stored.table.slice(at: slot) else {
            try stored.table.replace(slot: slot, version: nextVersion(0), segment: segment, publishedAt: now)
            stored.ensureRecord(at: slot, confirmedAt: now, scope: origin)
            stored.setConfirmed(slot, now)
            stored.forgetMade(slot)
            return true
        }
        // One diff tells both whether the rows changed and what to send (an empty diff means the
        // same rows, compared exactly); a diff that cannot be made (a key held twice) falls back to
        // comparing the rows as multisets and sending full copies.
        var delta: TableCopy?
        let version = nextVersion(held.version)
        if held.segment.schema == segment.schema {
            if let (upserts, deletes) = try? held.segment.diff(to: segment) {
                if upserts.isEmpty && deletes.isEmpty {
                    stored.ensureRecord(at: slot, confirmedAt: now, scope: origin)
                    stored.setConfirmed(slot, now)
                    return false
                }
                delta = TableCopy.make(base: held.version, to: (version, segment), upserts: upserts, deletes: deletes)
            } else if held.segment.hasSameRows(as: segment) {
                stored.ensureRecord(at: slot, confirmedAt: now, scope: origin)
                stored.setConfirmed(slot, now)
                return false
            }
        }
        if segment.schema != stored.table.schema && stored.table.heldCount == 1 {
            // The only origin changes its schema: start over with the new one (slots are kept).
            stored.table.startOver(schema: segment.schema)
        }
        try stored.table.replace(slot: slot, version: version, segment: segment, publishedAt: now)
        stored.ensureRecord(at: slot, confirmedAt: now, scope: origin)
        stored.setConfirmed(slot, now)
        stored.updateKept(slot) { kept in
            kept.history.push(.rows(version: held.version, segment: held.segment))
            kept.replacingDelta = delta.flatMap { $0.isDelta ? $0 : nil }
        }
        return true
    }

    /// Marks `origin`'s rows of `name` confirmed at `time` without a change.
    mutating func confirm(_ name: TableName, origin: NodeID, at time: Instant) {
        guard let index = tables.index(forKey: name), let slot = tables.values[index].table.slot(of: origin),
            tables.values[index].hasRecord(slot)
        else { return }
        tables.values[index].confirm(slot, at: time)
    }

    /// The copy that brings a receiver holding `acked` of `origin`'s rows to the current version,
    /// or `nil` if it already holds it (or the origin is not held).
    ///
    /// Reuses the received delta when its base is what the receiver holds, diffs against an older
    /// kept version when possible, and sends a full copy otherwise.
    func copy(of name: TableName, origin: NodeID, acked: Version?) -> TableCopy? {
        guard let stored = tables[name], let slot = stored.table.slot(of: origin),
            let slice = stored.table.slice(at: slot)
        else { return nil }
        if acked == slice.version { return nil }
        return Self.copy(of: slice, kept: stored.hasRecord(slot) ? stored.kept[slot] : nil, acked: acked)
    }

    /// The copy that brings a receiver holding `acked` of an origin's rows to `slice` (the origin's
    /// current rows, with what is `kept` of it); `acked` is not `slice`'s version.
    ///
    /// The delta that produced `slice` when the receiver holds its base; otherwise a delta from the
    /// kept history (a diff from older rows, or the deltas applied since `acked` composed into one);
    /// otherwise a full copy.
    static func copy(of slice: Table.Slice, record: OriginRecord?, acked: Version?) -> TableCopy {
        copy(of: slice, kept: record?.kept, acked: acked)
    }

    /// ``copy(of:record:acked:)`` given only what is kept of the origin.
    static func copy(of slice: Table.Slice, kept: Kept?, acked: Version?) -> TableCopy {
        if let acked, let kept { return kept.copy(to: slice, acked: acked).copy }
        return .full(version: slice.version, segment: slice.segment)
    }

    /// Removes `origin` from every table (a crashed edge restarting keeps nothing).
    mutating func removeOrigin(_ origin: NodeID) {
        for index in tables.values.indices {
            if let slot = tables.values[index].table.slot(of: origin) {
                _ = tables.values[index].remove(slot: slot)
                tables.values[index].sortedSlots = nil
                tables.values[index].compactIfSparse()
            }
        }
    }
}
