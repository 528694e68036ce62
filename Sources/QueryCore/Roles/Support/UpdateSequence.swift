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
        guard start < actions.endIndex else { return }
        // In place, through the buffer: an action is tested where it lies (most are metrics and
        // acknowledgements, left untouched), and an update is moved out, stamped and moved back
        // (reading `actions[i]` copied every send's message and peer, retains included, to test it).
        actions.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for i in start..<buffer.count {
                guard case .send(.update, _) = base[i] else { continue }
                let slot = base + i
                guard case .send(.update(var update), let peer) = slot.move() else {
                    preconditionFailure("the action at \(i) was tested to be an update")
                }
                update.sequence = next(now: now)
                slot.initialize(to: .send(.update(update), to: peer))
            }
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
    /// What was applied from one sender: a handful of tables, searched linearly.
    private struct Sender: Sendable {
        var appliedAt: Instant?
        var tables: [(table: TableName, sequence: UInt64)] = []
    }

    /// Each sender's position in ``states`` (senders are never removed, so positions are stable).
    private var positions: [NodeID: Int] = [:]
    /// The senders, at their positions.
    private var names: [NodeID] = []
    /// What was applied from each sender, at its position.
    private var states: [Sender] = []
    /// Caller's index → position in ``states`` (`-1`: none): a shortcut for callers that know a
    /// dense index of the sender, checked against the sender's name before use.
    private var hints: [Int] = []

    /// The entries of an update from `sender` stamped `sequence` that are newer than what was
    /// applied of their tables, recording them as applied; `skipped` counts the others.
    ///
    /// One dictionary access per update (it runs on every update a receiver takes in), none when
    /// the caller passes the sender's dense index at the role (`index`) and it was seen before.
    mutating func fresh(
        _ entries: [TableEntry], sequence: UInt64, from sender: NodeID, index: Int? = nil, now: Instant,
        forgetAfter: Duration
    ) -> (entries: [TableEntry], skipped: Int) {
        guard sequence != 0, !entries.isEmpty else { return (entries, 0) }
        let position = position(of: sender, index: index)
        let stale = Self.record(
            entries, sequence: sequence, in: &states[position], now: now, forgetAfter: forgetAfter)
        guard !stale.isEmpty else { return (entries, 0) }
        var kept = entries
        for i in stale.reversed() { kept.remove(at: i) }
        return (kept, stale.count)
    }

    /// The position of `sender` in ``states``, added if new; found through the hint for `index` when it names `sender`.
    private mutating func position(of sender: NodeID, index: Int?) -> Int {
        if let index, index >= 0, index < hints.count {
            let hint = hints[index]
            if hint >= 0, names[hint] == sender { return hint }
        }
        let position: Int
        if let known = positions[sender] {
            position = known
        } else {
            position = states.count
            positions[sender] = position
            names.append(sender)
            states.append(Sender())
        }
        if let index, index >= 0 {
            if index >= hints.count { hints.append(contentsOf: repeatElement(-1, count: index + 1 - hints.count)) }
            hints[index] = position
        }
        return position
    }

    /// Records the fresh entries in `state`; returns the indices of the stale ones.
    private static func record(
        _ entries: [TableEntry], sequence: UInt64, in state: inout Sender, now: Instant, forgetAfter: Duration
    ) -> [Int] {
        if let at = state.appliedAt, now - at >= forgetAfter { state.tables.removeAll() }
        var stale: [Int] = []
        for i in entries.indices {
            let table = entries[i].table
            if let j = state.tables.firstIndex(where: { $0.table == table }) {
                if state.tables[j].sequence >= sequence {
                    stale.append(i)
                    continue
                }
                state.tables[j].sequence = sequence
            } else {
                state.tables.append((table, sequence))
            }
        }
        if stale.count < entries.count { state.appliedAt = now }
        return stale
    }
}
