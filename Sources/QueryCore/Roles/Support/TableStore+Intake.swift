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
        if keepReports { intake.reports.reserveCapacity(entries.count) }
        var acked: [TableName] = relayed
        acked.reserveCapacity(relayed.count + entries.count)
        var resyncs: [ResyncRequest] = []
        // The counters of the whole update, reported once (not once per table).
        var total = ApplyReport()
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
        RoleMetrics.applied(total, role: role, into: &actions)
        // An update that changed nothing leaves nothing pending at the sender: no acknowledgement needed.
        var changedSomething = !relayed.isEmpty
        for e in entries.indices where !changedSomething {
            changedSomething =
                !entries[e].copies.isEmpty || !entries[e].removed.isEmpty || entries[e].replacesScope
        }
        if sendAck, changedSomething {
            actions.append(.send(.ack(TableAck(generation: generation, possiblySorted: consume acked)), to: peer))
        }
        for request in resyncs { actions.append(.send(.resync(request), to: resyncTo ?? peer)) }
        return intake
    }

    /// Logs the copies of `table` from `peer` that were refused.
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
