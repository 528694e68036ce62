extension TableStore {
    /// What taking in one update did, per table.
    struct Intake: Sendable {
        var reports: [TableName: ApplyReport] = [:]
        var rowsMerged: Int { reports.values.reduce(0) { $0 + $1.rowsMerged } }
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
        for entry in entries {
            let report = apply(entry, scope: scope(entry), now: now)
            intake.reports[entry.table] = report
            total.rowsMerged += report.rowsMerged
            total.stale += report.stale
            total.resync += report.resync
            for refusal in report.refused {
                actions.append(
                    .log(
                        LogRecord(
                            .warning,
                            "copy refused: \(refusal)",
                            metadata: ["table": entry.table.rawValue, "peer": peer.rawValue]
                        )
                    )
                )
            }
            if report.resync.isEmpty {
                acked.append(entry.table)
            } else {
                resyncs.append(ResyncRequest(generation: generation, table: entry.table, origins: report.resync))
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
