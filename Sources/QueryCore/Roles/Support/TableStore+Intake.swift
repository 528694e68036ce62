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
    ///   - scope: the scope of each entry's origins at this receiver.
    ///   - acknowledge: tables acknowledged without being applied here (relayed to a child).
    ///   - sendAck: whether to acknowledge at all (a child's relayed entries were acknowledged by its TLA).
    ///   - resyncTo: where resync requests go (default `peer`).
    mutating func intake(
        _ entries: [TableEntry],
        generation: UInt64,
        from peer: NodeID,
        scope: (TableEntry) -> NodeID,
        acknowledge relayed: [TableName] = [],
        sendAck: Bool = true,
        resyncTo: NodeID? = nil,
        role: String,
        now: Instant,
        into actions: inout [RoleAction]
    ) -> Intake {
        var intake = Intake()
        intake.reports.reserveCapacity(entries.count)
        var acked: [TableName] = relayed
        acked.reserveCapacity(relayed.count + entries.count)
        var resyncs: [ResyncRequest] = []
        // The counters of the whole update, reported once (not once per table).
        var total = ApplyReport()
        // By index: each entry is borrowed from the update, not copied out of it.
        for e in entries.indices {
            let report = apply(entries[e], scope: scope(entries[e]), now: now)
            let table = entries[e].table
            intake.reports[table] = report
            total.rowsMerged += report.rowsMerged
            total.stale += report.stale
            if !report.resync.isEmpty { total.resync += report.resync }
            for refusal in report.refused {
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
            if report.resync.isEmpty {
                acked.append(table)
            } else {
                resyncs.append(ResyncRequest(generation: generation, table: table, origins: report.resync))
            }
        }
        RoleMetrics.applied(total, role: role, into: &actions)
        // An update that changed nothing leaves nothing pending at the sender: no acknowledgement needed.
        let changedSomething =
            !relayed.isEmpty || entries.contains { !$0.copies.isEmpty || !$0.removed.isEmpty || $0.replacesScope }
        if sendAck, changedSomething {
            actions.append(.send(.ack(TableAck(generation: generation, tables: acked)), to: peer))
        }
        for request in resyncs { actions.append(.send(.resync(request), to: resyncTo ?? peer)) }
        return intake
    }
}
