extension TableStore {
    /// What taking in one update did, per table.
    struct Intake: Sendable {
        var reports = Reports()
        var rowsMerged: Int { reports.values.reduce(0) { $0 + $1.rowsMerged } }

        /// Table → what applying its entry did, in the update's order (an update names a handful
        /// of tables: a list searched linearly, no hashing of names per update).
        struct Reports: Sendable {
            private(set) var tables: [TableName] = []
            private(set) var values: [ApplyReport] = []

            /// The report for `table` (the last, should an update name it twice).
            subscript(table: TableName) -> ApplyReport? {
                get { tables.lastIndex(of: table).map { values[$0] } }
                set {
                    if let index = tables.lastIndex(of: table) {
                        if let newValue { values[index] = newValue } else {
                            tables.remove(at: index)
                            values.remove(at: index)
                        }
                    } else if let newValue {
                        tables.append(table)
                        values.append(newValue)
                    }
                }
            }

            /// Makes room for `count` reports.
            mutating func reserveCapacity(_ count: Int) {
                tables.reserveCapacity(count)
                values.reserveCapacity(count)
            }
        }
    }

    /// Applies `entries` of an update from `peer`, then acknowledges it: one ``TableAck`` for the
    /// tables applied in full and one ``ResyncRequest`` per table with origins whose delta did not fit.
    ///
    /// - Parameters:
    ///   - scope: the scope of the entries' origins at this receiver (the sender's edge, cluster or
    ///     child, or the receiver itself).
    ///   - acknowledge: tables acknowledged without being applied here (relayed to a child).
    ///   - sendAck: whether to acknowledge at all (a child's relayed entries were acknowledged by its TLA).
    ///   - resyncTo: where resync requests go (default `peer`).
    ///   - keepReports: collect each table's ``ApplyReport`` in the returned ``Intake`` (roles that
    ///     discard it pass `false`).
    ///   - sender: the sender's dense index at this role (see ``apply(_:scope:now:sender:)``), if it has one.
    mutating func intake(
        _ entries: [TableEntry],
        generation: UInt64,
        from peer: NodeID,
        scope: NodeID,
        acknowledge relayed: [TableName] = [],
        sendAck: Bool = true,
        resyncTo: NodeID? = nil,
        keepReports: Bool = true,
        sender: Int? = nil,
        role: String,
        now: Instant,
        into actions: inout [RoleAction]
    ) -> Intake {
        var intake = Intake()
        // The counters of the whole update, reported once (not once per table).
        var total = ApplyReport()
        let replies = intakeCounting(
            entries, generation: generation, from: peer, scope: scope, acknowledge: relayed, sendAck: sendAck,
            resyncTo: resyncTo, keepReports: keepReports, sender: sender, now: now, intake: &intake, total: &total,
            into: &actions)
        // The counters go before the acknowledgement and the resync requests (moved there by swaps:
        // a couple of actions each way, no array made for them).
        let counters = actions.count
        RoleMetrics.applied(total, role: role, into: &actions)
        for moved in counters..<actions.count {
            var k = moved
            while k > replies + (moved - counters) {
                actions.swapAt(k, k - 1)
                k -= 1
            }
        }
        return intake
    }

    /// ``intake(_:generation:from:scope:acknowledge:sendAck:resyncTo:keepReports:sender:role:now:into:)``
    /// adding its counters to `total` instead of reporting them.
    ///
    /// - Returns: Where in `actions` its acknowledgement and resync requests start (after its logs).
    private mutating func intakeCounting(
        _ entries: [TableEntry],
        generation: UInt64,
        from peer: NodeID,
        scope: NodeID,
        acknowledge relayed: [TableName],
        sendAck: Bool,
        resyncTo: NodeID?,
        keepReports: Bool,
        sender: Int?,
        now: Instant,
        intake: inout Intake,
        total: inout ApplyReport,
        into actions: inout [RoleAction]
    ) -> Int {
        if keepReports { intake.reports.reserveCapacity(entries.count) }
        var acked: [TableName] = relayed
        acked.reserveCapacity(relayed.count + entries.count)
        var resyncs: [ResyncRequest] = []
        // By index: each entry is borrowed from the update, not copied out of it.
        for e in entries.indices {
            let report = apply(entries[e], scope: scope, now: now, sender: sender)
            let table = entries[e].table
            if keepReports { intake.reports[table] = report }
            total.rowsMerged += report.rowsMerged
            total.stale += report.stale
            if !report.resync.isEmpty { total.resync += report.resync }
            if !report.refused.isEmpty { Self.logRefusals(report.refused, table: table, peer: peer, into: &actions) }
            if report.resync.isEmpty {
                acked.append(table)
            } else {
                resyncs.append(ResyncRequest(generation: generation, table: table, origins: report.resync))
            }
        }
        // An update that changed nothing leaves nothing pending at the sender: no acknowledgement needed.
        var changedSomething = !relayed.isEmpty
        for e in entries.indices where !changedSomething {
            changedSomething =
                !entries[e].copies.isEmpty || !entries[e].removed.isEmpty || entries[e].replacesScope
        }
        let replies = actions.count
        if sendAck, changedSomething {
            actions.append(.send(.ack(TableAck(generation: generation, possiblySorted: consume acked)), to: peer))
        }
        for request in resyncs { actions.append(.send(.resync(request), to: resyncTo ?? peer)) }
        return replies
    }

    /// An update from one source, received and not applied yet (see ``intake(_:role:into:fresh:)``).
    struct PendingIntake: Sendable {
        /// The update's entries.
        var entries: [TableEntry]
        /// The update's sequence number (see ``SenderSequences``).
        var sequence: UInt64
        /// The update's generation.
        var generation: UInt64
        /// The source, which is also the scope of its origins (a machine at a proxy).
        var peer: NodeID
        /// The source's dense index at the role.
        var sender: Int
        /// When it arrived.
        var arrived: Instant
        /// Tables asked of the source, if this is its newest update (which lists every table it
        /// publishes): its rows of those not listed, if any are held, are removed after its
        /// entries are applied (it stopped publishing them). Judged only from the newest update;
        /// otherwise an edge, believing its acknowledged rows held here, would never resend a table
        /// that no longer changes.
        var expected: [TableName] = []
    }

    /// Applies updates received one by one and held back, in the order received: each one's
    /// `fresh` entries (those not duplicated or reordered, see ``SenderSequences``) as
    /// ``intake(_:generation:from:scope:acknowledge:sendAck:resyncTo:keepReports:sender:role:now:into:)``
    /// does (acknowledged, or resyncs asked for), then its unlisted tables removed. The counters
    /// (bytes in, entries skipped, rows merged) are reported once for all.
    ///
    /// A proxy's machines' updates arrive between thousands of other nodes' steps, each touching
    /// rows last touched a generation ago. Applied together, the rows of the updates a few places
    /// ahead are fetched (see ``Prefetcher``) while one is applied, so that the misses overlap.
    mutating func intake(
        _ pending: [PendingIntake],
        role: String,
        into actions: inout [RoleAction],
        fresh: (borrowing PendingIntake) -> (entries: [TableEntry], skipped: Int)
    ) {
        var total = ApplyReport()
        var ignored = Intake()
        var bytes = 0
        var skipped = 0
        // No closure around the loop: one capturing the store would copy it for the reads below.
        for i in pending.indices {
            // Each step of the fetch reads what the step before brought: the updates' entries,
            // their copy arrays, the copies' and held rows' column arrays, then the buffers those
            // point to.
            if i + 4 < pending.count { pending.withUnsafeBufferPointer { Self.prefetchEntries(of: $0, at: i + 4, copies: false) } }
            if i + 3 < pending.count { pending.withUnsafeBufferPointer { Self.prefetchEntries(of: $0, at: i + 3, copies: true) } }
            if i + 2 < pending.count {
                prefetch(pending[i + 2].entries, scope: pending[i + 2].peer, sender: pending[i + 2].sender, buffers: false)
            }
            if i + 1 < pending.count {
                prefetch(pending[i + 1].entries, scope: pending[i + 1].peer, sender: pending[i + 1].sender, buffers: true)
            }
            // Sized, and sorted from duplicates, here rather than as it arrived: its entries are
            // at hand now.
            bytes += GenerationUpdate.estimatedBytes(of: pending[i].entries)
            let kept = fresh(pending[i])
            skipped += kept.skipped
            _ = intakeCounting(
                kept.entries, generation: pending[i].generation, from: pending[i].peer, scope: pending[i].peer,
                acknowledge: [], sendAck: true, resyncTo: nil, keepReports: false, sender: pending[i].sender,
                now: pending[i].arrived, intake: &ignored, total: &total, into: &actions)
            for name in pending[i].expected where !Self.lists(pending[i].entries, name) && holds(name, origin: pending[i].peer) {
                _ = apply(
                    TableEntry(table: name, copies: [], removed: [pending[i].peer], completeness: TableCompleteness()),
                    scope: pending[i].peer,
                    now: pending[i].arrived
                )
            }
        }
        actions.append(RoleMetrics.counter("query.bytes_in", bytes, role: role))
        if skipped > 0 { actions.append(RoleMetrics.counter("query.stale_rejections", skipped, role: role)) }
        RoleMetrics.applied(total, role: role, into: &actions)
    }

    /// Whether `entries` has an entry for `table` (a handful of entries: searched linearly).
    private static func lists(_ entries: [TableEntry], _ table: TableName) -> Bool {
        for e in entries.indices where entries[e].table == table { return true }
        return false
    }

    private static func logRefusals(
        _ refused: [String], table: TableName, peer: NodeID, into actions: inout [RoleAction]
    ) {
        for refusal in refused {
            actions.append(
                .log(
                    LogRecord(
                        .warning,
                        "copy refused: \(refusal)",
                        metadata: ["table": table.rawValue, "peer": peer.rawValue]
                    )
                )
            )
        }
    }
}

extension TableAck {
    /// ``init(generation:tables:)`` without allocating when `tables` (a handful, an update's entries
    /// in their order) is sorted already, which a comparison per table finds; otherwise they are
    /// sorted in place by insertion, which gives what `sorted()` gives (the sort is stable).
    init(generation: UInt64, possiblySorted tables: consuming [TableName]) {
        var sorted = true
        var i = 1
        while sorted, i < tables.count {
            sorted = !(tables[i] < tables[i - 1])
            i += 1
        }
        var tables = tables
        if !sorted {
            tables.withUnsafeMutableBufferPointer { names in
                for i in 1..<names.count where names[i] < names[i - 1] {
                    var j = i
                    while j > 0, names[j] < names[j - 1] {
                        names.swapAt(j, j - 1)
                        j -= 1
                    }
                }
            }
        }
        self.init(generation: generation, tables: [])
        self.tables = tables
    }
}
