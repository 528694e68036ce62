/// The agent on one publishing machine: holds the current rows of each locally published table and,
/// at the start of every generation, sends each requested table to every proxy that asked, as a
/// delta against what that proxy acknowledged (a full copy the first time and after a resync).
///
/// A table's version increases only when its rows change, and never goes back, even across a
/// restart (versions are at least the publish time in milliseconds).
///
/// Inputs: ``RoleInput/publish(_:_:)`` (the machine's current rows of a table), requests, acks and
/// resync requests from proxies, and its generation timer.
public struct EdgeAgent: Role {
    /// Edge settings.
    public struct Configuration: Sendable {
        /// When generations start.
        public var schedule: GenerationSchedule
        /// Fault isolation: serve only these proxies (`nil`: every proxy that asks).
        public var pinnedProxies: Set<NodeID>?

        /// Creates a configuration.
        public init(schedule: GenerationSchedule = GenerationSchedule(), pinnedProxies: Set<NodeID>? = nil) {
            self.schedule = schedule
            self.pinnedProxies = pinnedProxies
        }
    }

    /// The timer that fires at every generation start.
    public static let generationTimer = TimerID("edge.generation")

    public let id: NodeID
    /// The settings.
    public let configuration: Configuration
    /// The machine's own tables (it is their only origin).
    private var published = PublishedTables()
    /// The proxies that asked, sorted by node (a couple: a small array, not a dictionary).
    private var receivers: [(peer: NodeID, link: EdgeLink)] = []
    /// Numbers the updates sent to proxies.
    private var sequencer = UpdateSequencer()
    /// The schedule's edge times in integer nanoseconds.
    private let clock: EdgeClock
    /// The last lease a proxy asked for, in nanoseconds (proxies ask for the same lease every time,
    /// and converting a `Duration` divides 128-bit numbers).
    private var lease: (duration: Duration, nanoseconds: Int64)?

    /// Creates an edge agent.
    public init(id: NodeID, configuration: Configuration = Configuration()) {
        self.id = id
        self.configuration = configuration
        self.clock = EdgeClock(configuration.schedule)
    }

    /// The tables this machine publishes, sorted.
    public var publishedTables: [TableName] { published.tables.map(\.name) }

    /// The current version of a published table, if any.
    public func version(of table: TableName) -> Version? { published[table]?.version }

    /// The proxies with live interest at `now`, sorted.
    public func requesters(at now: Instant) -> [NodeID] {
        receivers.filter { $0.link.hasLiveTables(at: now) }.map(\.peer)
    }

    public mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        switch input {
        case .started:
            scheduleNext(after: now, into: &actions)
        case .timerFired(let timer) where timer == Self.generationTimer:
            onGeneration(now: now, into: &actions)
        case .publish(let table, let segment):
            _ = published.publish(table, segment: segment, now: now)
        case .received(let message, let peer):
            onMessage(message, from: peer, now: now, into: &actions)
        case .peerUp(let peer):
            // A reconnected receiver gets the full state in the next generation.
            if let i = receiverIndex(peer) { receivers[i].link.startOver() }
        case .timerFired, .peerDown, .query:
            break
        }
        // No `sequencer.stamp(&actions, now:)` here: the only updates an edge sends (a generation's
        // and a resync reply) are numbered as they are appended (``stamped(_:now:)``), in the
        // order `stamp` would number them, without walking and copying every action again.
        return actions
    }

    /// `update` with the next sequence number: what ``UpdateSequencer/stamp(_:from:now:)`` gives
    /// the update when it is the next one sent.
    private mutating func stamped(_ update: GenerationUpdate, now: Instant) -> GenerationUpdate {
        var update = update
        update.sequence = sequencer.next(now: now)
        return update
    }

    /// The index of `peer` among the receivers, if it asked.
    private func receiverIndex(_ peer: NodeID) -> Int? {
        for i in receivers.indices where receivers[i].peer == peer { return i }
        return nil
    }

    private mutating func onMessage(
        _ message: Message,
        from peer: NodeID,
        now: Instant,
        into actions: inout [RoleAction]
    ) {
        switch message {
        case .request(let request):
            if let pinned = configuration.pinnedProxies, !pinned.contains(peer) {
                actions.append(
                    .log(LogRecord(.debug, "request from unpinned proxy ignored", metadata: ["peer": peer.rawValue]))
                )
                return
            }
            let expiry = now.advanced(byNanoseconds: request.lease.nanoseconds(cachedIn: &lease))
            if let i = receiverIndex(peer) {
                receivers[i].link.record(request, now: now, expiry: expiry)
            } else {
                var link = EdgeLink(now: now)
                link.record(request, now: now, expiry: expiry)
                let position = receivers.firstIndex { peer < $0.peer } ?? receivers.endIndex
                receivers.insert((peer, link), at: position)
            }
        case .ack(let ack):
            if let i = receiverIndex(peer) { receivers[i].link.acknowledge(generation: ack.generation, tables: ack.tables) }
        case .resync(let request):
            guard let i = receiverIndex(peer) else { return }
            receivers[i].link.resync(request, origin: id, generation: request.generation)
            actions.append(RoleMetrics.counter("query.resyncs", 1, role: "edge"))
            guard let t = published.index(of: request.table) else { return }
            receivers[i].link.forgetOldPending(before: request.generation)
            let reply = entry(t, basis: receivers[i].link.basis(of: request.table))
            receivers[i].link.sent(
                request.table, version: reply.copies.first?.copy.version, generation: request.generation, merge: true)
            let update = GenerationUpdate(
                generation: clock.generation(request.generation),
                entries: [reply]
            )
            RoleMetrics.send(stamped(update, now: now), to: peer, role: "edge", into: &actions)
        default:
            break
        }
    }

    private mutating func onGeneration(now: Instant, into actions: inout [RoleAction]) {
        let number = clock.latestNumber(at: now)
        let generation = clock.generation(number)
        var bytes = 0
        // Entries with the same basis are identical: built once per table and basis, shared by the
        // receivers (usually every proxy acknowledged the same version). Their keys are kept apart
        // from the entries, so the search for a built entry reads plain values and copies nothing.
        var builtEntries: [TableEntry] = []
        builtEntries.reserveCapacity(published.tables.count)
        actions.reserveCapacity(actions.count + receivers.count + 2)
        var width = 1
        for r in receivers.indices { width = max(width, receivers[r].link.tables.count) }
        let layout = published.layout
        // At most one built entry per receiver and table: their keys on the stack.
        withUnsafeTemporaryAllocation(of: BuiltKey.self, capacity: max(1, receivers.count) * width) { builtKeys in
            var builtCount = 0
            // Each receiver's picks (indices into the built entries, in table order) and the previous
            // receiver's, on the stack: the previous receiver's update is reused when the picks are
            // the same.
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * width) { buffer in
                var picks = UnsafeMutableBufferPointer(rebasing: buffer[0..<width])
                var previousPicks = UnsafeMutableBufferPointer(rebasing: buffer[width...])
                var previousCount = -1
                var previous: (update: GenerationUpdate, bytes: Int)?
                // Tables a receiver asked for that this machine does not publish (usually none):
                // named in its update, so its proxy does not wait for them.
                var notPublished: [TableName] = []
                var i = receivers.startIndex
                while i < receivers.endIndex {
                    receivers[i].link.expire(at: now)
                    guard receivers[i].link.hasLiveTables(at: now) else {
                        receivers.remove(at: i)  // no live interest left: forget the proxy
                        continue
                    }
                    var count = 0
                    var pruned = false
                    if !notPublished.isEmpty { notPublished.removeAll(keepingCapacity: true) }
                    // By index: the link's tables are updated in place while they are walked.
                    for j in receivers[i].link.tables.indices {
                        guard let expiry = receivers[i].link.tables[j].interest, expiry > now else { continue }
                        guard let t = receivers[i].link.publishedIndex(at: j, in: published, layout: layout) else {
                            notPublished.append(receivers[i].link.tables[j].name)
                            continue
                        }
                        if !pruned {
                            receivers[i].link.forgetOldPending(before: number)
                            pruned = true
                        }
                        let basis = receivers[i].link.basis(at: j)
                        var pick = -1
                        for b in 0..<builtCount
                        where builtKeys[b].table == t && builtKeys[b].acked == basis.acked
                            && builtKeys[b].replaces == basis.replaces
                        {
                            pick = b
                            break
                        }
                        if pick < 0 {
                            pick = builtCount
                            // Through a pointer and a static function: the table is read in place (not
                            // copied with all its versions), and so is the agent.
                            let origin = id
                            let made = published.tables.withUnsafeBufferPointer {
                                Self.built($0.baseAddress! + t, origin: origin, basis: basis)
                            }
                            (builtKeys.baseAddress! + builtCount).initialize(
                                to: BuiltKey(
                                    table: t, acked: basis.acked, replaces: basis.replaces,
                                    sentVersion: made.sentVersion))
                            builtCount += 1
                            builtEntries.append(made.entry)
                        }
                        receivers[i].link.sent(
                            at: j, version: builtKeys[pick].sentVersion, generation: number, merge: false)
                        picks[count] = Int32(truncatingIfNeeded: pick)
                        count += 1
                    }
                    let peer = receivers[i].peer
                    if let previous, previousCount == count,
                        UnsafeMutableBufferPointer(rebasing: picks[0..<count]).elementsEqual(previousPicks[0..<count]),
                        previous.update.notPublished == notPublished
                    {
                        bytes += previous.bytes
                        actions.append(.send(.update(stamped(previous.update, now: now)), to: peer))
                    } else {
                        // The entries are in table order already (the link's tables are sorted), and
                        // so are the tables not published.
                        var update = GenerationUpdate(generation: generation, entries: [])
                        if !notPublished.isEmpty { update.notPublished = notPublished }
                        if Self.picksAll(UnsafeMutableBufferPointer(rebasing: picks[0..<count]), of: builtCount) {
                            // The usual first receiver: it picked every entry built so far, in
                            // order. Its update shares the built entries' array (nothing copied).
                            update.entries = builtEntries
                        } else {
                            update.entries.reserveCapacity(count)
                            for k in 0..<count { update.entries.append(builtEntries[Int(picks[k])]) }
                        }
                        let size = update.estimatedBytes
                        previous = (update, size)
                        previousCount = count
                        swap(&picks, &previousPicks)
                        bytes += size
                        actions.append(.send(.update(stamped(update, now: now)), to: peer))
                    }
                    i += 1
                }
            }
        }
        if bytes > 0 {
            var record = Self.bytesOutTemplate
            record.value = Double(bytes)
            actions.append(.metric(record))
        }
        scheduleNext(after: now, into: &actions)
    }

    /// Whether `picks` are `0, 1, …, count - 1`: every built entry, in order.
    private static func picksAll(_ picks: UnsafeMutableBufferPointer<Int32>, of count: Int) -> Bool {
        guard picks.count == count else { return false }
        for k in 0..<count where picks[k] != Int32(truncatingIfNeeded: k) { return false }
        return true
    }

    /// What an entry built in a generation was built for (plain values: compared without copying
    /// the entry).
    private struct BuiltKey {
        let table: Int
        let acked: Version?
        let replaces: Bool
        /// The version its copy carries (`nil`: no copy).
        let sentVersion: Version?
    }

    /// The entry of the published table at `index` for a receiver holding `basis.acked` of it
    /// (`replaces`: the entry replaces the receiver's scope).
    private func entry(_ index: Int, basis: (acked: Version?, replaces: Bool)) -> TableEntry {
        let origin = id
        return published.tables.withUnsafeBufferPointer {
            Self.built($0.baseAddress! + index, origin: origin, basis: basis).entry
        }
    }

    /// The `query.bytes_out` counter of every generation, but its value: the record
    /// `RoleMetrics.counter("query.bytes_out", _, role: "edge")` makes, made once (finding the
    /// role's dimensions compares strings).
    private static let bytesOutTemplate = MetricRecord(
        "query.bytes_out", .counter, 0, dimensions: RoleMetrics.dimensions("edge"))

    /// What a table's entry reports about completeness, but the publish times: one machine.
    private static let completenessTemplate = TableCompleteness(machinesContributing: 1, machinesKnown: 1)

    /// The entry of `table` from `origin` for a receiver holding `basis.acked` of it (`replaces`:
    /// the entry replaces the receiver's scope), and the version its copy carries (`nil`: none).
    ///
    /// Reads the table's fields in place through the pointer (calling a method on `pointee` copied
    /// the whole table, its versions included).
    private static func built(
        _ table: UnsafePointer<PublishedTables.Published>,
        origin: NodeID,
        basis: (acked: Version?, replaces: Bool)
    ) -> (sentVersion: Version?, entry: TableEntry) {
        let confirmedAt = table.pointee.confirmedAt
        var completeness = completenessTemplate
        completeness.oldestPublish = confirmedAt
        completeness.newestPublish = confirmedAt
        var copies: [OriginCopy] = []
        var sentVersion: Version?
        if basis.acked != table.pointee.version {
            let copy = PublishedTables.Published.copy(of: table, acked: basis.acked)
            sentVersion = copy.version
            copies = [OriginCopy(origin: origin, copy: copy, publishedAt: table.pointee.publishedAt)]
        }
        return (
            sentVersion,
            TableEntry(
                table: table.pointee.name,
                copies: copies,
                removed: [],
                replacesScope: basis.replaces,
                completeness: completeness
            )
        )
    }

    private func scheduleNext(after now: Instant, into actions: inout [RoleAction]) {
        actions.append(.setTimer(Self.generationTimer, at: clock.nextStart(after: now)))
    }
}
