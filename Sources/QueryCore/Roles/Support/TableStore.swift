/// The tables a role holds, per origin, with what it needs to send them on: the last few versions
/// of each origin's rows, or the deltas that led from them to the current rows (to bring a receiver
/// that acknowledged an older version up to date), and the copy that produced the current version
/// (forwarded as is when a receiver acknowledged its base).
///
/// Shared by every role that receives or sends tables; applying enforces the version rule.
struct TableStore: Sendable {
    /// Bookkeeping for one origin of one table.
    struct OriginRecord: Sendable {
        /// How older versions can be reached, oldest first, at most ``TableStore/historyDepth``.
        var history: [HistoryStep] = []
        /// The copy that produced the current version, if it was a delta applied by replacing the
        /// rows (forwarded unchanged to receivers that acknowledged its base); a delta applied in
        /// place is the last ``history`` step instead.
        var replacingDelta: TableCopy?
        /// When the origin last confirmed its rows.
        var confirmedAt: Instant
        /// The sender scope the origin belongs to (its edge, its cluster, or the whole table).
        var scope: NodeID
    }

    /// One table and its origins' bookkeeping.
    struct Stored: Sendable {
        var table: Table
        var origins: [NodeID: OriginRecord] = [:]
        /// The table's origins sorted, cached until the set of origins changes (`nil`: stale).
        var sortedOrigins: [NodeID]? = []
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

    private(set) var tables: [TableName: Stored] = [:]
    /// Whether to keep older versions and forwarded deltas (senders do; a SQL node does not).
    let keepsHistory: Bool
    /// Tables applied all-or-nothing (machines, clusters, configuration: one designated source).
    let sourced: Set<TableName>

    init(keepsHistory: Bool, sourced: Set<TableName> = []) {
        self.keepsHistory = keepsHistory
        self.sourced = sourced
    }

    subscript(name: TableName) -> Stored? { tables[name] }

    /// The table names held, sorted.
    var names: [TableName] { tables.keys.sorted() }

    /// The origins of `name` in sorted order (cached; re-sorted only after origins come or go).
    ///
    /// - Complexity: O(1) when unchanged, O(n log n) after a change.
    mutating func sortedOrigins(of name: TableName) -> [NodeID] {
        guard let stored = tables[name] else { return [] }
        if let cached = stored.sortedOrigins, cached.count == stored.table.slices.count { return cached }
        let sorted = stored.table.slices.keys.sorted()
        tables[name]!.sortedOrigins = sorted
        return sorted
    }

    /// Whether `origin`'s rows of `name` are held.
    func holds(_ name: TableName, origin: NodeID) -> Bool { tables[name]?.table.slices[origin] != nil }

    /// Forgets a table entirely.
    mutating func forget(_ name: TableName) { tables.removeValue(forKey: name) }

    /// Applies an entry received from a sender whose origins belong to `scope`.
    ///
    /// Copies are applied under the version rule; a delta whose base is not the held version is
    /// reported for resync; removals and (for a `replacesScope` entry) unlisted origins of `scope`
    /// are removed.
    mutating func apply(_ entry: TableEntry, scope: NodeID, now: Instant) -> ApplyReport {
        var report = ApplyReport()
        let confirmed = entry.completeness.newestPublish ?? now
        if let first = entry.copies.first, tables.index(forKey: entry.table) == nil {
            tables[entry.table] = Stored(table: Table(name: entry.table, schema: first.copy.schema))
        }
        let isSourced = !sourced.isEmpty && sourced.contains(entry.table)
        if isSourced, !entry.copies.isEmpty {
            applySourced(entry, scope: scope, confirmed: confirmed, into: &report)
        }
        guard let index = tables.index(forKey: entry.table) else { return report }
        // In place (through the dictionary's values): the table is not moved out and back.
        Self.apply(
            entry, to: &tables.values[index], scope: scope, confirmed: confirmed, isSourced: isSourced,
            keepsHistory: keepsHistory, into: &report)
        return report
    }

    /// ``apply(_:scope:now:)`` on the stored table (a sourced table's copies are applied already).
    private static func apply(
        _ entry: TableEntry,
        to stored: inout Stored,
        scope: NodeID,
        confirmed: Instant,
        isSourced: Bool,
        keepsHistory: Bool,
        into report: inout ApplyReport
    ) {
        if !isSourced {
            // By index: the copies are borrowed from the entry, not copied one by one.
            // A delta is applied into the held rows unless they must be kept whole: a sender keeps
            // the deltas of a keyed table (which compose), but the rows of a keyless one.
            let inPlace = !keepsHistory || stored.table.schema.isKeyed
            for index in entry.copies.indices {
                let origin = entry.copies[index].origin
                let result: (outcome: ApplyOutcome, replaced: Table.Replaced)
                do {
                    result = try stored.table.applyReporting(
                        entry.copies[index].copy,
                        origin: origin,
                        publishedAt: entry.copies[index].publishedAt,
                        inPlace: inPlace
                    )
                } catch {
                    report.refused.append("\(origin): \(error.message)")
                    continue
                }
                switch result.outcome {
                case .applied:
                    record(
                        entry.copies[index], replaced: result.replaced, scope: scope, confirmed: confirmed,
                        keepsHistory: keepsHistory, in: &stored, into: &report)
                case .rejectedStale:
                    report.stale += 1
                case .needsResync:
                    report.resync.append(origin)
                }
            }
        }
        if entry.replacesScope || !entry.removed.isEmpty {
            var toRemove = entry.removed
            if entry.replacesScope {
                let listed = Set(entry.copies.map(\.origin))
                for (origin, record) in stored.origins where record.scope == scope && !listed.contains(origin) {
                    toRemove.append(origin)
                }
            }
            for origin in toRemove where stored.origins[origin]?.scope == scope || stored.origins[origin] == nil {
                if stored.table.removeOrigin(origin) != nil { report.removed += 1 }
                stored.origins.removeValue(forKey: origin)
            }
        }
        // An edge's entry (scope = the origin itself) confirms its rows as of the entry, changed or not.
        if let index = stored.origins.index(forKey: scope), stored.origins.values[index].scope == scope,
            stored.origins.values[index].confirmedAt < confirmed
        {
            stored.origins.values[index].confirmedAt = confirmed
        }
        if report.removed > 0 || stored.table.slices.count != stored.sortedOrigins?.count { stored.sortedOrigins = nil }
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
            for (item, held) in zip(entry.copies, held) {
                let replaced = held.map { Table.Replaced.rows(version: $0.version, segment: $0.segment) } ?? .nothing
                Self.record(
                    item, replaced: replaced, scope: scope, confirmed: confirmed, keepsHistory: keepsHistory,
                    in: &stored, into: &report)
            }
        case .rejectedStale:
            report.stale += entry.copies.count
        case .needsResync:
            report.resync = entry.copies.map(\.origin)
        }
    }

    /// Bookkeeping for an applied copy: history for diffing, the delta to forward, the scope.
    private static func record(
        _ item: OriginCopy,
        replaced: Table.Replaced,
        scope: NodeID,
        confirmed: Instant,
        keepsHistory: Bool,
        in stored: inout Stored,
        into report: inout ApplyReport
    ) {
        report.applied += 1
        report.rowsMerged += item.copy.rowsCarried
        // Updated in place (through the dictionary's values, one lookup), so the history array is not
        // copied on every apply.
        if let index = stored.origins.index(forKey: item.origin) {
            Self.update(&stored.origins.values[index], with: item, replaced: replaced, scope: scope, keepsHistory: keepsHistory)
        } else {
            var fresh = OriginRecord(confirmedAt: confirmed, scope: scope)
            Self.update(&fresh, with: item, replaced: replaced, scope: scope, keepsHistory: keepsHistory)
            stored.origins[item.origin] = fresh
        }
    }

    private static func update(
        _ record: inout OriginRecord,
        with item: OriginCopy,
        replaced: Table.Replaced,
        scope: NodeID,
        keepsHistory: Bool
    ) {
        record.scope = scope
        record.confirmedAt = max(record.confirmedAt, item.publishedAt)
        guard keepsHistory else { return }
        switch replaced {
        case .nothing:
            record.history.removeAll()
            record.replacingDelta = item.copy.isDelta ? item.copy : nil
        case .rows(let version, let segment):
            record.push(.rows(version: version, segment: segment))
            record.replacingDelta = item.copy.isDelta ? item.copy : nil
        case .inPlace(let inserted):
            record.push(.applied(delta: item.copy, inserted: inserted))
            record.replacingDelta = nil
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
            var table = Table(name: name, schema: segment.schema)
            try table.replace(origin: origin, version: nextVersion(0), segment: segment, publishedAt: now)
            var stored = Stored(table: table)
            stored.origins[origin] = OriginRecord(confirmedAt: now, scope: origin)
            tables[name] = stored
            return true
        }
        defer { tables[name] = stored }
        let fresh = OriginRecord(confirmedAt: now, scope: origin)
        guard let held = stored.table.slices[origin] else {
            try stored.table.replace(origin: origin, version: nextVersion(0), segment: segment, publishedAt: now)
            stored.origins[origin, default: fresh].confirmedAt = now
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
                    stored.origins[origin, default: fresh].confirmedAt = now
                    return false
                }
                delta = TableCopy.make(base: held.version, to: (version, segment), upserts: upserts, deletes: deletes)
            } else if held.segment.hasSameRows(as: segment) {
                stored.origins[origin, default: fresh].confirmedAt = now
                return false
            }
        }
        if segment.schema != stored.table.schema && stored.table.slices.count == 1 {
            // The only origin changes its schema: start over with the new one.
            stored.table = Table(name: name, schema: segment.schema)
        }
        try stored.table.replace(origin: origin, version: version, segment: segment, publishedAt: now)
        Self.remember(
            &stored.origins[origin, default: fresh], held: held, now: now, delta: delta.flatMap { $0.isDelta ? $0 : nil })
        return true
    }

    /// Records a published change in place: the previous rows join the history, `delta` is what
    /// produced the new rows.
    private static func remember(_ record: inout OriginRecord, held: Table.Slice, now: Instant, delta: TableCopy?) {
        record.confirmedAt = now
        record.push(.rows(version: held.version, segment: held.segment))
        record.replacingDelta = delta
    }

    /// Marks `origin`'s rows of `name` confirmed at `time` without a change.
    mutating func confirm(_ name: TableName, origin: NodeID, at time: Instant) {
        guard tables[name]?.origins[origin] != nil else { return }
        tables[name]!.origins[origin]!.confirmedAt = max(tables[name]!.origins[origin]!.confirmedAt, time)
    }

    /// The copy that brings a receiver holding `acked` of `origin`'s rows to the current version,
    /// or `nil` if it already holds it (or the origin is not held).
    ///
    /// Reuses the received delta when its base is what the receiver holds, diffs against an older
    /// kept version when possible, and sends a full copy otherwise.
    func copy(of name: TableName, origin: NodeID, acked: Version?) -> TableCopy? {
        guard let stored = tables[name], let slice = stored.table.slices[origin] else { return nil }
        if acked == slice.version { return nil }
        return Self.copy(of: slice, record: stored.origins[origin], acked: acked)
    }

    /// The copy that brings a receiver holding `acked` of an origin's rows to `slice` (the origin's
    /// current rows, with its bookkeeping `record`); `acked` is not `slice`'s version.
    ///
    /// The delta that produced `slice` when the receiver holds its base; otherwise a delta from the
    /// kept history (a diff from older rows, or the deltas applied since `acked` composed into one);
    /// otherwise a full copy.
    static func copy(of slice: Table.Slice, record: OriginRecord?, acked: Version?) -> TableCopy {
        if let acked, let record {
            if let delta = record.lastDelta, delta.baseVersion == acked, delta.version == slice.version {
                return delta
            }
            if let delta = record.delta(from: acked, to: slice) { return delta }
        }
        return .full(version: slice.version, segment: slice.segment)
    }

    /// Removes `origin` from every table (a crashed edge restarting keeps nothing).
    mutating func removeOrigin(_ origin: NodeID) {
        for name in names {
            tables[name]!.table.removeOrigin(origin)
            tables[name]!.origins.removeValue(forKey: origin)
            tables[name]!.sortedOrigins = nil
        }
    }
}
