/// Stamps every ``GenerationUpdate`` a role sends with a sequence number larger than the one
/// before, as the update leaves the role.
///
/// The number is the larger of the previous one plus one and `now` in nanoseconds since the epoch,
/// so it also keeps growing across a restart that lost the counter (a restart takes longer than
/// the updates sent before it could have added). Receivers keep the newest number they applied per
/// sender and table (``SenderSequences``).
struct UpdateSequencer: Sendable {
    /// The last number stamped.
    private(set) var last: UInt64 = 0

    /// The next number at `now`.
    mutating func next(now: Instant) -> UInt64 {
        let clock = UInt64(clamping: now.nanosecondsSinceEpoch)
        last = Swift.max(last &+ 1, clock)
        return last
    }

    /// Stamps each update sent in `actions` from index `start` on. An update sent to several peers
    /// in one step gets one number per send.
    mutating func stamp(_ actions: inout [RoleAction], from start: Int = 0, now: Instant) {
        var i = start
        while i < actions.endIndex {
            if case .send(.update(var update), let peer) = actions[i] {
                update.sequence = next(now: now)
                actions[i] = .send(.update(update), to: peer)
            }
            i += 1
        }
    }
}

/// The newest ``GenerationUpdate/sequence`` a receiver applied, per sender and table.
///
/// The network may duplicate or reorder updates. The version rule protects each origin's rows, but
/// an entry that replaces the sender's scope (a full resend) also removes the origins it does not
/// list: a stale copy of one, delivered after a newer entry added origins, would remove rows the
/// sender believes are held. A receiver therefore applies an entry only if its sequence is newer
/// than the last one it applied for that table from that sender; an older one is skipped and not
/// acknowledged. Sequence `0` (unstamped) is always applied.
///
/// A sender none of whose entries was applied for `forgetAfter` (the receiver's drop timeout) is
/// treated as new: it may have restarted with a clock that went backwards, and its numbers must not
/// be ignored for ever.
struct SenderSequences: Sendable {
    private struct Sender: Sendable {
        var appliedAt: Instant
        var tables: [TableName: UInt64]
    }

    private var senders: [NodeID: Sender] = [:]

    /// The entries of an update from `sender` stamped `sequence` that are newer than what was
    /// applied of their tables, recording them as applied; `skipped` counts the others.
    mutating func fresh(
        _ entries: [TableEntry], sequence: UInt64, from sender: NodeID, now: Instant, forgetAfter: Duration
    ) -> (entries: [TableEntry], skipped: Int) {
        guard sequence != 0, !entries.isEmpty else { return (entries, 0) }
        if let known = senders[sender], now - known.appliedAt >= forgetAfter {
            senders.removeValue(forKey: sender)
        }
        var stale: [Int] = []
        for i in entries.indices {
            let table = entries[i].table
            if let last = senders[sender]?.tables[table], last >= sequence {
                stale.append(i)
            } else {
                senders[sender, default: Sender(appliedAt: now, tables: [:])].tables[table] = sequence
            }
        }
        if stale.count < entries.count { senders[sender]!.appliedAt = now }
        guard !stale.isEmpty else { return (entries, 0) }
        var kept = entries
        for i in stale.reversed() { kept.remove(at: i) }
        return (kept, stale.count)
    }
}
