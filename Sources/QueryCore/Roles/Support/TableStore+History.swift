extension TableStore {
    /// How one older version of an origin's rows can be reached from the current rows.
    enum HistoryStep: Sendable {
        /// The rows at `version`, kept whole (they were replaced by a full copy, a published
        /// segment or a delta applied by gathering).
        case rows(version: Version, segment: Segment)
        /// A delta that was applied in place to the rows at its base (which are gone); `inserted`
        /// says which of its upserts added a new key (the others replaced a held row).
        case applied(delta: TableCopy, inserted: InsertedRows)

        /// The older version this step leads from.
        var version: Version {
            switch self {
            case .rows(let version, _): version
            case .applied(let delta, _): delta.baseVersion ?? 0
            }
        }
    }
}

extension TableStore {
    /// The last ``TableStore/historyDepth`` (two) steps of an origin, in two fixed places: pushing
    /// moves the newer step to the older place (no array to shift, grow or copy).
    struct History: Sendable {
        /// The older kept step.
        private(set) var older: HistoryStep?
        /// The newest step.
        private(set) var newer: HistoryStep?

        /// Adds the newest step, dropping the oldest beyond two.
        mutating func push(_ step: consuming HistoryStep) {
            // Moved, not copied: the newer step becomes the older one by a swap (no retain of its
            // delta's or rows' buffers), and the oldest is dropped where `newer` is overwritten
            // (a concrete destroy, not the generic `Optional.take()`).
            swap(&older, &newer)
            newer = step
        }

        /// Forgets every step.
        mutating func removeAll() {
            older = nil
            newer = nil
        }

        /// The newest step.
        var last: HistoryStep? { newer ?? older }

        /// The steps, oldest first.
        var steps: [HistoryStep] { [older, newer].compactMap { $0 } }

        /// The steps from the newest one leading from `version` to the newest, oldest first;
        /// empty if no kept step leads from `version`.
        func steps(from version: Version) -> [HistoryStep] {
            if let newer, newer.version == version { return [newer] }
            if let older, older.version == version { return newer.map { [older, $0] } ?? [older] }
            return []
        }
    }
}

extension TableStore.Kept {
    /// The copy that produced the current version when it was a delta (to forward unchanged to
    /// receivers that acknowledged its base).
    var lastDelta: TableCopy? {
        if let replacingDelta { return replacingDelta }
        // The newest step (``History/last``), matched in place rather than copied out.
        switch history.newer {
        case .applied(let delta, _)?: return delta
        case .rows?: return nil
        case nil:
            if case .applied(let delta, _)? = history.older { return delta }
            return nil
        }
    }

    /// The copy that brings a receiver holding `acked` (not `slice`'s version) to `slice` (this
    /// origin's rows now): the delta that produced `slice` when its base is `acked`, else a delta
    /// made from the history, else a full copy; `made` says whether it was made from the history
    /// (the costly case, worth remembering for another receiver).
    func copy(to slice: Table.Slice, acked: Version) -> (copy: TableCopy, made: Bool) {
        // ``lastDelta``'s versions are matched in place first, so the usual case (the receiver
        // holds the last delta's base) copies nothing but the delta it returns.
        if lastDeltaLeads(from: acked, to: slice.version), let delta = lastDelta { return (delta, false) }
        if let delta = delta(from: acked, to: slice) { return (delta, true) }
        return (.full(version: slice.version, segment: slice.segment), false)
    }

    /// Whether ``lastDelta`` exists and leads from `base` to `version` (its versions read in place).
    func lastDeltaLeads(from base: Version, to version: Version) -> Bool {
        if let replacingDelta {
            guard case .delta(let from, let to, _, _) = replacingDelta else { return false }
            return from == base && to == version
        }
        switch history.newer {
        case .applied(.delta(let from, let to, _, _), _)?: return from == base && to == version
        case .applied?, .rows?: return false
        case nil:
            if case .applied(.delta(let from, let to, _, _), _)? = history.older { return from == base && to == version }
            return false
        }
    }

    /// A delta from the rows at `acked` to `current` (this origin's rows now) made from the history:
    /// a diff from the kept rows at `acked`, or the deltas applied in place since `acked` composed;
    /// `nil` if the history does not reach `acked` (or a diff cannot be made).
    func delta(from acked: Version, to current: Table.Slice) -> TableCopy? {
        let steps = history.steps(from: acked)
        guard let first = steps.first else { return nil }
        switch first {
        case .rows(let version, let segment):
            return TableCopy.between(base: (version, segment), target: (current.version, current.segment))
        case .applied:
            return TableStore.composing(steps[...], to: current)
        }
    }
}

extension TableStore {
    /// One delta equivalent to applying `steps` (deltas of a keyed table applied in place, each from
    /// the version the one before led to) and ending at `current`; `nil` if the steps are not such
    /// a chain.
    ///
    /// A key the steps touched is upserted with its current row if it is held now (in the current
    /// rows' order, so a receiver ends with the rows in the same order as far as the deltas
    /// decide), and deleted if it is gone now but was held at the first base (the first step that
    /// touched it deleted or replaced it); a key inserted and deleted again is not mentioned. Any
    /// other key is unchanged since the first base.
    ///
    /// - Complexity: O(rows carried by the steps + current rows) expected.
    static func composing(_ steps: ArraySlice<HistoryStep>, to current: Table.Slice) -> TableCopy? {
        let segment = current.segment
        let schema = segment.schema
        guard schema.isKeyed, case .applied(let first, _)? = steps.first, let base = first.baseVersion else {
            return nil
        }
        let keyIndices = schema.keyColumns
        var sources: [[Column]] = []
        // The touched keys in first-touch order: where each key is (source, row) and whether it was held at `base`.
        var touched: [(source: Int, row: Int, held: Bool)] = []
        var byHash: [UInt64: [Int]] = [:]
        func touch(_ keys: [Column], hashes: [UInt64], held: (Int) -> Bool) {
            sources.append(keys)
            let source = sources.count - 1
            for row in hashes.indices {
                let candidates = byHash[hashes[row], default: []]
                let seen = candidates.contains { t in
                    RowIdentity.rowsIdentical(sources[touched[t].source], touched[t].row, keys, row)
                }
                if seen { continue }
                byHash[hashes[row], default: []].append(touched.count)
                touched.append((source, row, held(row)))
            }
        }
        var reached = base
        for step in steps {
            guard case .applied(let delta, let inserted) = step,
                case .delta(let from, let version, let upserts, let deletes) = delta,
                from == reached, upserts.schema == schema, deletes.schema == schema.deleteSchema
            else { return nil }
            reached = version
            let upsertKeys = keyIndices.map { upserts.columns[$0] }
            touch(upsertKeys, hashes: RowIdentity.hashes(of: upsertKeys, rowCount: upserts.rowCount)) {
                !inserted.contains($0)
            }
            touch(deletes.columns, hashes: RowIdentity.hashes(of: deletes.columns, rowCount: deletes.rowCount)) { _ in
                true
            }
        }
        guard reached == current.version, current.version > base else { return nil }
        // The current rows with a touched key, in order, are the upserts.
        let currentKeys = keyIndices.map { segment.columns[$0] }
        let currentHashes = RowIdentity.hashes(of: currentKeys, rowCount: segment.rowCount)
        var present = [Bool](repeating: false, count: touched.count)
        var picks: [Int32] = []
        for row in 0..<segment.rowCount {
            guard let candidates = byHash[currentHashes[row]] else { continue }
            for t in candidates
            where RowIdentity.rowsIdentical(sources[touched[t].source], touched[t].row, currentKeys, row) {
                present[t] = true
                picks.append(Column.pickFirst(row))
                break
            }
        }
        // Keys gone now that the receiver holds: deletes.
        var deletes = SegmentBuilder(schema: schema.deleteSchema)
        for t in touched.indices where !present[t] && touched[t].held {
            let keys = sources[touched[t].source]
            do {
                try deletes.append(keys.map { $0[touched[t].row] })
            } catch {
                return nil
            }
        }
        let upserts = Segment.gathering(picks, columns: segment.columns, schema: schema)
        return TableCopy.make(
            base: base, to: (current.version, segment), upserts: upserts, deletes: deletes.finish())
    }
}
