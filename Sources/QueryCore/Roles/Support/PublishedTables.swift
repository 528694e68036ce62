/// The tables an edge publishes: for each, its one origin's (the machine's own) current rows, the
/// last few versions (to diff against what a receiver acknowledged) and the delta that produced the
/// current version (sent as is to receivers that acknowledged its base).
///
/// The single-origin counterpart of ``TableStore/publish(_:origin:segment:now:)`` and
/// ``TableStore/copy(of:record:acked:)``: the same versions, the same deltas, the same full copies,
/// without per-origin dictionaries (an edge publishes a handful of tables and is their only origin).
/// `EdgeAgentDifferentialTests` holds the edge built on it to the one built on ``TableStore``.
struct PublishedTables: Sendable {
    /// One published table.
    struct Published: Sendable {
        let name: TableName
        /// The current version.
        var version: Version
        /// The current rows.
        var segment: Segment
        /// When the current version was published.
        var publishedAt: Instant
        /// When the rows were last published, changed or not.
        var confirmedAt: Instant
        /// Older versions, oldest first, at most ``TableStore/historyDepth``.
        var previous: [(version: Version, segment: Segment)] = []
        /// The delta that produced the current version, if it was one.
        var lastDelta: TableCopy?
        /// The current rows hold no key twice, as the keyed diff that produced them found (`false`:
        /// not known, e.g. a first publish). Lets the next diff match rows by position when the
        /// key columns did not change (``DiffHints/oldKeysUnique``).
        var keysUnique = false

        /// The copy that brings a receiver holding `acked` to the current version (`acked` is not
        /// the current version): the last delta when its base is `acked`, a diff from a kept older
        /// version, or a full copy.
        func copy(acked: Version?) -> TableCopy {
            withUnsafePointer(to: self) { Self.copy(of: $0, acked: acked) }
        }

        /// ``copy(acked:)`` of the table at `table`, read in place (a method called on a pointer's
        /// `pointee` copied the whole table first).
        static func copy(of table: UnsafePointer<Published>, acked: Version?) -> TableCopy {
            let version = table.pointee.version
            if let acked {
                if let delta = table.pointee.lastDelta, delta.baseVersion == acked, delta.version == version {
                    return delta
                }
                if let old = table.pointee.previous.last(where: { $0.version == acked }),
                    let delta = TableCopy.between(base: old, target: (version, table.pointee.segment))
                {
                    return delta
                }
            }
            return .full(version: version, segment: table.pointee.segment)
        }
    }

    /// The tables, sorted by name (a handful: looked up by a linear scan).
    private(set) var tables: [Published] = []
    /// Changes whenever a table is added (and so the indices of the names may move): a receiver's
    /// link remembers where each of its tables is until it changes.
    private(set) var layout = 0

    /// The index of `name`, if published.
    ///
    /// - Complexity: O(tables), comparing precomputed name hashes first.
    func index(of name: TableName) -> Int? {
        for i in tables.indices where tables[i].name == name { return i }
        return nil
    }

    subscript(name: TableName) -> Published? { index(of: name).map { tables[$0] } }

    /// Sets the rows of `name` to `segment`, creating a new version only if the rows changed;
    /// returns whether they changed. Versions rise by at least one and are at least `now` in
    /// milliseconds, so they never go back, even across a restart.
    ///
    /// One pass over both versions position by position (``Segment/positionalChanges(to:oldKeysUnique:)``)
    /// tells both whether the rows changed and, when their keys line up or rows were replaced, what
    /// to send; otherwise the general diff does (an empty diff means the same rows, compared
    /// exactly), and a diff that cannot be made (a key held twice) falls back to comparing the rows
    /// as multisets and sending full copies. A changed schema starts the table over.
    mutating func publish(_ name: TableName, segment: Segment, now: Instant) -> Bool {
        let floor = Version(max(0, now.milliseconds))
        guard let index = index(of: name) else {
            let fresh = Published(
                name: name, version: max(1, floor), segment: segment, publishedAt: now, confirmedAt: now)
            let position = tables.firstIndex { name < $0.name } ?? tables.endIndex
            if position == tables.endIndex {
                if tables.isEmpty { tables.reserveCapacity(4) }  // a machine publishes a handful
                tables.append(fresh)
            } else {
                tables.insert(fresh, at: position)
            }
            layout += 1
            return true
        }
        return Self.publish(&tables[index], segment: segment, now: now, floor: floor)
    }

    /// ``publish(_:segment:now:)`` on one table, in place.
    private static func publish(_ table: inout Published, segment: Segment, now: Instant, floor: Version) -> Bool {
        let version = max(table.version &+ 1, floor)
        var delta: TableCopy?
        var keysUnique = false
        // The held rows (read whole by the diff) and the oldest kept version (released if the rows
        // changed) were last touched a generation ago: their buffers are asked for at once.
        let columnCount = table.segment.schema.count
        withUnsafePointer(to: &table.segment) { TableStore.prefetch(segment: $0, columnCount: columnCount) }
        if table.previous.count >= TableStore.historyDepth {
            let oldestCount = table.previous[0].segment.schema.count
            withUnsafePointer(to: &table.previous[0].segment) { TableStore.prefetch(segment: $0, columnCount: oldestCount) }
        }
        if table.segment.schema == segment.schema {
            // One pass over both versions, position by position, says whether the rows changed
            // and, usually (the same keys in the same places, or a few rows replaced), what to
            // send; otherwise it tells the general diff which columns it need not compare.
            switch table.segment.positionalChanges(to: segment, oldKeysUnique: table.keysUnique) {
            case .unchanged:
                table.confirmedAt = now
                return false
            case .changed(let upserts, let deletes):
                keysUnique = true  // the pass found every new key different
                delta = TableCopy.make(
                    base: table.version, to: (version, segment), upserts: upserts, deletes: deletes)
            case .general(let hints):
                if let (upserts, deletes) = try? table.segment.diff(to: segment, strategy: .automatic, hints: hints) {
                    if upserts.isEmpty && deletes.isEmpty {
                        table.confirmedAt = now
                        table.keysUnique = segment.schema.isKeyed  // the diff checked the current keys
                        return false
                    }
                    keysUnique = segment.schema.isKeyed
                    delta = TableCopy.make(
                        base: table.version, to: (version, segment), upserts: upserts, deletes: deletes)
                } else if table.segment.hasSameRows(as: segment) {
                    table.confirmedAt = now
                    return false
                }
            }
        }
        if table.previous.count >= TableStore.historyDepth { table.previous.removeFirst() }
        table.previous.append((table.version, table.segment))
        table.lastDelta = delta.flatMap { $0.isDelta ? $0 : nil }
        table.keysUnique = keysUnique
        table.version = version
        table.segment = segment
        table.publishedAt = now
        table.confirmedAt = now
        return true
    }
}
