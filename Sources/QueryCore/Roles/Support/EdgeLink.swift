/// What an edge knows about one receiver (a proxy): which tables it asked for and until when, which
/// version of the edge's rows it acknowledged, and what each unacknowledged update carried.
///
/// The single-origin counterpart of ``Downstream``, with the same rules (an edge is the only origin
/// of what it sends, so "what the receiver holds" is one version per table, not a dictionary of
/// origins), its tables in a small sorted array instead of a dictionary. `EdgeLinkTests` hold it to
/// ``Downstream`` over random sequences of requests, resets, reconnects, expiries, entries,
/// acknowledgements and resyncs.
struct EdgeLink: Sendable {
    /// Everything known about the receiver and one table.
    struct TableState: Sendable {
        let name: TableName
        /// When the interest lapses (`nil`: none, or lapsed).
        var interest: Instant?
        /// The version of the edge's rows the receiver holds, as acknowledged (`nil`: none).
        var acked: Version?
        /// The newest generation acknowledged (older acknowledgements are ignored).
        var ackedGeneration: UInt64?
        /// What the unacknowledged updates carried, oldest generation first: the version sent (or
        /// `nil` when an update carried no copy) and whether the entry replaced the receiver's scope.
        var pending: [(generation: UInt64, version: Version?, replaced: Bool)] = []
        /// The next entry replaces the receiver's scope (after a reset, a lapse or a full resync).
        var replaceScope = false
        /// Sent at least once; the first entry of a table always replaces the receiver's scope.
        var everSent = false
        /// Every entry replaces the receiver's scope until one that did is acknowledged (as in
        /// ``Downstream``).
        var replaceUntilAcknowledged = false
        /// Where ``name`` was found among the edge's published tables (`nil`: not published), valid
        /// while their ``PublishedTables/layout`` is `publishedLayout` (names are compared once,
        /// not every generation).
        var publishedIndex: Int?
        var publishedLayout = -1

        init(name: TableName) { self.name = name }

        /// Forgets what the receiver acknowledged and what is pending.
        mutating func forgetAcknowledged() {
            acked = nil
            ackedGeneration = nil
            pending.removeAll(keepingCapacity: true)
        }

        func pendingIndex(_ generation: UInt64) -> Int? {
            for i in pending.indices where pending[i].generation == generation { return i }
            return nil
        }

        /// See ``EdgeLink/sent(at:version:generation:merge:)``.
        mutating func sent(version sent: Version?, generation: UInt64, merge: Bool) {
            let replaces = replaceScope || !everSent || replaceUntilAcknowledged
            if replaces {
                acked = nil
                replaceUntilAcknowledged = true
            }
            everSent = true
            // As in ``Downstream/entry``: a second entry of one generation may arrive in either
            // order, so the next one replaces the receiver's scope.
            var orderUnknown = false
            if let index = pendingIndex(generation) {
                if merge {
                    orderUnknown = replaces || sent != nil || pending[index].version != nil
                    if let sent { pending[index].version = sent }
                    pending[index].replaced = pending[index].replaced && replaces
                } else {
                    pending[index].version = sent
                    pending[index].replaced = replaces
                }
            } else {
                // Room for a few generations at once: growing from empty one by one reallocated
                // the list three times per table.
                if pending.capacity == 0 { pending.reserveCapacity(4) }
                pending.append((generation, sent, replaces))
            }
            replaceScope = orderUnknown
        }

        /// See ``EdgeLink/acknowledge(generation:tables:excludingSelf:)``.
        mutating func acknowledge(generation: UInt64, excludingSelf: Bool) {
            if let newest = ackedGeneration, generation < newest { return }
            guard let index = pendingIndex(generation) else { return }
            ackedGeneration = generation
            if pending[index].replaced { replaceUntilAcknowledged = false }
            if !excludingSelf, let version = pending[index].version { acked = version }
            // Older unacknowledged updates are superseded, as in ``Downstream/acknowledge``.
            pending.removeAll { $0.generation <= generation }
        }
    }

    /// The tables, sorted by name.
    private(set) var tables: [TableState] = []
    /// The receiver only keeps interest warm (a standby).
    var standby = false
    /// When the receiver last asked for anything.
    var lastRequest: Instant

    init(now: Instant) { self.lastRequest = now }

    /// The index of `name`'s state, if any (a linear scan: a handful of tables).
    func index(of name: TableName) -> Int? {
        for i in tables.indices where tables[i].name == name { return i }
        return nil
    }

    /// The index of `name`'s state, created (in sorted position) if missing.
    private mutating func slot(_ name: TableName) -> Int {
        if let index = index(of: name) { return index }
        let position = tables.firstIndex { name < $0.name } ?? tables.endIndex
        if position == tables.endIndex {
            tables.append(TableState(name: name))  // requests list their tables sorted: the usual case
        } else {
            tables.insert(TableState(name: name), at: position)
        }
        return position
    }

    /// The index among `published`'s tables of the table at `index` of ``tables`` (`nil`: not
    /// published), looked up by name only after `published` gained a table (`layout` is its
    /// ``PublishedTables/layout``; one link is used with one edge's tables).
    mutating func publishedIndex(at index: Int, in published: PublishedTables, layout: Int) -> Int? {
        if tables[index].publishedLayout == layout { return tables[index].publishedIndex }
        let found = published.index(of: tables[index].name)
        tables[index].publishedIndex = found
        tables[index].publishedLayout = layout
        return found
    }

    /// Whether any table has live interest at `now`.
    func hasLiveTables(at now: Instant) -> Bool {
        tables.contains { $0.interest.map { $0 > now } ?? false }
    }

    /// The tables with live interest at `now`, sorted.
    func liveTables(at now: Instant) -> [TableName] {
        tables.compactMap { state in state.interest.flatMap { $0 > now ? state.name : nil } }
    }

    /// Records a request.
    mutating func record(_ request: TableRequest, now: Instant) {
        record(request, now: now, expiry: now + request.lease)
    }

    /// Records a request whose interest lapses at `expiry` (`now` plus the request's lease, which
    /// the caller may have converted once for many requests).
    mutating func record(_ request: TableRequest, now: Instant, expiry: Instant) {
        lastRequest = now
        standby = request.standby
        if request.reset {
            for i in tables.indices { tables[i].forgetAcknowledged() }
        }
        if tables.isEmpty { tables.reserveCapacity(request.tables.count) }
        for table in request.tables {
            let i = slot(table)
            tables[i].interest = max(tables[i].interest ?? expiry, expiry)
            if request.reset { tables[i].replaceScope = true }
        }
    }

    /// Starts over with a receiver that reconnected: nothing it acknowledged is relied on, and every
    /// table's next entry is a full copy replacing its scope.
    mutating func startOver() {
        for i in tables.indices {
            tables[i].forgetAcknowledged()
            if tables[i].interest != nil { tables[i].replaceScope = true }
        }
    }

    /// Forgets lapsed interest (and what was acknowledged for those tables).
    mutating func expire(at now: Instant) {
        for i in tables.indices {
            guard let expiry = tables[i].interest, expiry <= now else { continue }
            tables[i].interest = nil
            tables[i].acked = nil
            tables[i].ackedGeneration = nil
            tables[i].replaceScope = true
        }
    }

    /// Forgets what was pending for generations more than ``Downstream/pendingDepth`` before
    /// `generation`, for every table (an update is acknowledged as a whole).
    mutating func forgetOldPending(before generation: UInt64) {
        guard generation > Downstream.pendingDepth else { return }
        for i in tables.indices
        where tables[i].pending.contains(where: { $0.generation + Downstream.pendingDepth < generation }) {
            tables[i].pending.removeAll { $0.generation + Downstream.pendingDepth < generation }
        }
    }

    /// What the next entry of `name` to this receiver is based on: the version it holds (after a
    /// scope replacement, none) and whether the entry replaces its scope. Entries with the same
    /// basis are identical, so a sender builds one and sends it to every receiver with that basis.
    func basis(of name: TableName) -> (acked: Version?, replaces: Bool) {
        guard let i = index(of: name) else { return (nil, true) }
        return basis(at: i)
    }

    /// ``basis(of:)`` for the table at `index` of ``tables``.
    func basis(at index: Int) -> (acked: Version?, replaces: Bool) {
        let replaces = tables[index].replaceScope || !tables[index].everSent || tables[index].replaceUntilAcknowledged
        return (replaces ? nil : tables[index].acked, replaces)
    }

    /// Records that the entry of `name` for `generation` was built on ``basis(of:)`` and carried
    /// version `sent` of the edge's rows (`nil`: no copy, the receiver holds the current one).
    ///
    /// Call ``forgetOldPending(before:)`` for the generation first.
    ///
    /// - Parameter merge: add to what is already pending for this generation (a resync reply)
    ///   instead of replacing it.
    mutating func sent(_ name: TableName, version sent: Version?, generation: UInt64, merge: Bool) {
        self.sent(at: slot(name), version: sent, generation: generation, merge: merge)
    }

    /// ``sent(_:version:generation:merge:)`` for the table at `i` of ``tables``.
    mutating func sent(at i: Int, version sent: Version?, generation: UInt64, merge: Bool) {
        tables[i].sent(version: sent, generation: generation, merge: merge)  // one access to the array
    }

    /// Promotes what the acknowledged update carried for `names` into what the receiver holds
    /// (unless `excludingSelf`: a resync said the edge's rows did not fit).
    mutating func acknowledge(generation: UInt64, tables names: [TableName], excludingSelf: Bool = false) {
        for name in names {
            guard let i = index(of: name) else { continue }
            tables[i].acknowledge(generation: generation, excludingSelf: excludingSelf)
        }
    }

    /// Handles a resync from the receiver for the edge `origin`: acknowledges the rest of that
    /// generation's entry and forgets what the receiver was believed to hold if the request lists
    /// `origin` (or no origin at all, which also replaces the receiver's scope).
    mutating func resync(_ request: ResyncRequest, origin: NodeID, generation: UInt64) {
        if request.origins.isEmpty {
            let i = slot(request.table)
            tables[i].acked = nil
            if let index = tables[i].pendingIndex(generation) { tables[i].pending.remove(at: index) }
            tables[i].replaceScope = true
            return
        }
        let listed = request.origins.contains(origin)
        acknowledge(generation: generation, tables: [request.table], excludingSelf: listed)
        if listed, let i = index(of: request.table) { tables[i].acked = nil }
    }
}
