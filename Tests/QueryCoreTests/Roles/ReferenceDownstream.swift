@testable import QueryCore

/// The sender-side bookkeeping as it was before it was kept per table (``Downstream``): the
/// reference that `DownstreamTests` holds the new layout to. Test-only.
///
/// What a sender knows about one receiver: which tables it asked for and until when, what it has
/// acknowledged per origin, and what each unacknowledged update carried.
///
/// Every update lists *all* differences between what the receiver acknowledged and what the sender
/// holds now, so a lost update or acknowledgement costs only a resend, never a divergence.
struct ReferenceDownstream: Sendable {
    /// One change an update carried: the origin's version, or `nil` for a removal.
    struct Change: Sendable {
        var origin: NodeID
        var version: Version?
    }

    /// Table → when the interest lapses.
    var interest: [TableName: Instant] = [:]
    /// The receiver only keeps interest warm (a standby); it gets heartbeats, not updates.
    var standby = false
    /// Table → origin → acknowledged version.
    var acked: [TableName: [NodeID: Version]] = [:]
    /// Table → newest generation acknowledged (older acknowledgements are ignored).
    var ackedGeneration: [TableName: UInt64] = [:]
    /// Generation → table → what that update carried.
    var pending: [UInt64: [TableName: [Change]]] = [:]
    /// Tables whose next entry lists every origin (after a reset or a full resync).
    var replaceScope: Set<TableName> = []
    /// Tables sent at least once; the first entry of a table always replaces the receiver's scope
    /// (a restarted sender must not leave behind origins it no longer knows).
    var everSent: Set<TableName> = []
    /// Tables whose every entry replaces the receiver's scope until one that did is acknowledged.
    var replaceUntilAcknowledged: Set<TableName> = []
    /// Generation → the tables whose pending entry replaced the receiver's scope.
    var pendingReplaced: [UInt64: Set<TableName>] = [:]
    /// When the receiver last asked for anything.
    var lastRequest: Instant

    init(now: Instant) { self.lastRequest = now }

    /// How many unacknowledged generations are remembered.
    static let pendingDepth: UInt64 = 4

    /// The tables with live interest at `now`, sorted.
    func liveTables(at now: Instant) -> [TableName] {
        interest.filter { $0.value > now }.keys.sorted()
    }

    /// Records a request.
    mutating func record(_ request: TableRequest, now: Instant) {
        lastRequest = now
        standby = request.standby
        let expiry = now + request.lease
        for table in request.tables { interest[table] = max(interest[table] ?? expiry, expiry) }
        if request.reset {
            acked.removeAll()
            ackedGeneration.removeAll()
            pending.removeAll()
            pendingReplaced.removeAll()
            replaceScope.formUnion(request.tables)
        }
    }

    /// Starts over with a receiver that reconnected (it may have restarted or missed updates in
    /// flight): nothing it acknowledged is relied on, and every table's next entry is a full copy
    /// replacing its scope.
    mutating func startOver() {
        acked.removeAll()
        ackedGeneration.removeAll()
        pending.removeAll()
        pendingReplaced.removeAll()
        replaceScope.formUnion(interest.keys)
    }

    /// Forgets lapsed interest (and what was acknowledged for those tables).
    mutating func expire(at now: Instant) {
        for (table, expiry) in interest where expiry <= now {
            interest.removeValue(forKey: table)
            acked.removeValue(forKey: table)
            ackedGeneration.removeValue(forKey: table)
            replaceScope.insert(table)
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
        let replaces =
            replaceScope.contains(table) || !everSent.contains(table) || replaceUntilAcknowledged.contains(table)
        everSent.insert(table)
        if replaces {
            acked[table] = [:]
            replaceUntilAcknowledged.insert(table)
        }
        let held = acked[table] ?? [:]
        var copies: [OriginCopy] = []
        var changes: [Change] = []
        var heldAndIncluded = 0
        // Origins whose removal an unacknowledged (still remembered) update carried: the receiver
        // may hold them or not, so they are sent in full.
        var removalsInFlight: Set<NodeID> = []
        var addedInFlight: Set<NodeID> = []
        for (pendingGeneration, byTable) in pending
        where generation <= ReferenceDownstream.pendingDepth || pendingGeneration + ReferenceDownstream.pendingDepth >= generation {
            for change in byTable[table] ?? [] {
                if change.version == nil { removalsInFlight.insert(change.origin) } else { addedInFlight.insert(change.origin) }
            }
        }
        if let stored = store[table] {
            for origin in origins {
                guard let slice = stored.table.slices[origin] else { continue }
                var ackedVersion = held[origin]
                if ackedVersion != nil { heldAndIncluded += 1 }
                if removalsInFlight.contains(origin) { ackedVersion = nil }
                if ackedVersion == slice.version { continue }
                guard let copy = store.copy(of: table, origin: origin, acked: ackedVersion) else { continue }
                copies.append(OriginCopy(origin: origin, copy: copy, publishedAt: slice.publishedAt))
                changes.append(Change(origin: origin, version: slice.version))
            }
        }
        var removed: [NodeID] = []
        if heldAndIncluded < held.count || !addedInFlight.isEmpty {
            // Some acknowledged (or possibly held) origins are no longer sent: remove them.
            let included = Set(origins)
            removed = Set(held.keys).union(addedInFlight)
                .filter { !included.contains($0) || store[table]?.table.slices[$0] == nil }.sorted()
            for origin in removed { changes.append(Change(origin: origin, version: nil)) }
        }
        var orderUnknown = false
        if merge, let earlier = pending[generation]?[table] {
            orderUnknown = replaces || !earlier.isEmpty || !changes.isEmpty
            pending[generation, default: [:]][table] = earlier + changes
            if !replaces { pendingReplaced[generation]?.remove(table) }
        } else {
            pending[generation, default: [:]][table] = changes
            if replaces {
                pendingReplaced[generation, default: []].insert(table)
            } else {
                pendingReplaced[generation]?.remove(table)
            }
        }
        if generation > ReferenceDownstream.pendingDepth {
            for old in pending.keys where old + ReferenceDownstream.pendingDepth < generation {
                pending.removeValue(forKey: old)
                pendingReplaced.removeValue(forKey: old)
            }
        }
        replaceScope.remove(table)
        if orderUnknown { replaceScope.insert(table) }
        return TableEntry(
            table: table,
            copies: copies,
            removed: removed,
            replacesScope: replaces,
            completeness: completeness
        )
    }

    /// Promotes what the acknowledged update carried for `tables` (except `excluding` origins) into
    /// what the receiver holds.
    mutating func acknowledge(generation: UInt64, tables: [TableName], excluding: Set<NodeID> = []) {
        for table in tables {
            if let newest = ackedGeneration[table], generation < newest { continue }
            guard let changes = pending[generation]?[table] else { continue }
            ackedGeneration[table] = generation
            if pendingReplaced[generation]?.contains(table) == true { replaceUntilAcknowledged.remove(table) }
            // Mutate in place: a copy of the table's acknowledged versions (one per origin, up to a
            // whole fleet at a TLA) would be duplicated on every acknowledgement.
            if acked[table] == nil { acked[table] = [:] }
            for change in changes where excluding.isEmpty || !excluding.contains(change.origin) {
                acked[table]![change.origin] = change.version
            }
            pending[generation]?[table] = nil
            pendingReplaced[generation]?.remove(table)
            // Older unacknowledged updates are superseded (this one listed every difference).
            for older in pending.keys where older < generation {
                pending[older]?[table] = nil
                pendingReplaced[older]?.remove(table)
            }
        }
    }

    /// Handles a resync: acknowledges the rest of that generation's entry and forgets what the
    /// receiver was believed to hold of the listed origins (all of them if none are listed).
    mutating func resync(_ request: ResyncRequest, generation: UInt64) {
        if request.origins.isEmpty {
            acked[request.table] = [:]
            pending[generation]?[request.table] = nil
            pendingReplaced[generation]?.remove(request.table)
            replaceScope.insert(request.table)
            return
        }
        acknowledge(generation: generation, tables: [request.table], excluding: Set(request.origins))
        for origin in request.origins { acked[request.table]?.removeValue(forKey: origin) }
    }
}
