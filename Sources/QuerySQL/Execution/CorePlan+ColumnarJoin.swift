import QueryCore

/// The rows of a core's FROM/WHERE as row indices into its sources' relations (late
/// materialization): joined row `i` is row `indices[s][i]` of source `s`, for every source.
struct ColumnarRows {
    var relations: [Relation]
    var indices: [[Int]]
    var count: Int
}

/// Columnar joins: when every source is a QueryCore table and every join condition is
/// `column = column` between two sources, the sources are filtered to selection vectors and joined
/// on their typed key columns, producing row-index tuples instead of row arrays. Sources are joined
/// in exactly the general path's order (smallest first, then the smallest connected source), and the
/// joined rows come out in the general path's order (current rows in order, each followed by its
/// matches in source order), so every result, bare columns and group order included, is the same.
extension CorePlan {
    /// The joined rows as index tuples, or nil when the core's shape needs the general path.
    func columnarRows(_ frame: Frame) throws(QueryError) -> ColumnarRows? {
        guard !fixedOrder, !sources.isEmpty else { return nil }
        var relations: [Relation] = []
        for source in sources {
            guard case .relation(let relation) = source.produce, relation.segment != nil, source.lookup == nil,
                source.filters.isEmpty, !source.leftJoined
            else { return nil }
            relations.append(relation)
        }
        for c in conjuncts {
            guard let e = c.equi, e.leftSingle != nil, e.rightSingle != nil, e.leftColumn != nil, e.rightColumn != nil else {
                return nil
            }
        }
        let n = sources.count
        for c in constantFilters where SQLValue.truth(try c(frame)) != true {
            return ColumnarRows(relations: relations, indices: Array(repeating: [], count: n), count: 0)
        }
        var selections: [[Int]] = []
        for s in 0..<n { selections.append(try selection(s, relations[s], frame)) }
        if n == 1 { return ColumnarRows(relations: relations, indices: selections, count: selections[0].count) }

        let context = frame.context
        var first = 0
        for i in 1..<n where selections[i].count < selections[first].count { first = i }
        var indices = [[Int]](repeating: [], count: n)
        indices[first] = selections[first]
        var count = selections[first].count
        var joined: Set<Int> = [first]
        var applied = [Bool](repeating: false, count: conjuncts.count)
        while joined.count < n {
            if count == 0 { return ColumnarRows(relations: relations, indices: Array(repeating: [], count: n), count: 0) }
            // The general path's choice: the smallest source connected by an equality, else the smallest.
            var connected: [Int: [Int]] = [:]
            for (k, c) in conjuncts.enumerated() where !applied[k] {
                let e = c.equi!
                if let j = e.rightSingle, !joined.contains(j), e.leftSources.isSubset(of: joined) {
                    connected[j, default: []].append(k)
                } else if let j = e.leftSingle, !joined.contains(j), e.rightSources.isSubset(of: joined) {
                    connected[j, default: []].append(k)
                }
            }
            var next = -1
            var keys: [Int] = []
            if connected.isEmpty {
                for j in 0..<n where !joined.contains(j) {
                    if next < 0 || selections[j].count < selections[next].count { next = j }
                }
            } else {
                for (j, ks) in connected.sorted(by: { $0.key < $1.key }) {
                    if next < 0 || selections[j].count < selections[next].count {
                        next = j
                        keys = ks
                    }
                }
            }
            let right = selections[next]
            let joinedSources = joined.sorted()
            if keys.isEmpty {
                try context.charge(count * right.count)
                for s in joinedSources {
                    let column = indices[s]
                    var out: [Int] = []
                    out.reserveCapacity(count * right.count)
                    for p in 0..<count { out.append(contentsOf: repeatElement(column[p], count: right.count)) }
                    indices[s] = out
                }
                var out: [Int] = []
                out.reserveCapacity(count * right.count)
                for _ in 0..<count { out.append(contentsOf: right) }
                indices[next] = out
                count *= right.count
            } else {
                try context.charge(count + right.count)
                // Key columns: the current side reads joined sources through `indices`, the new side its selection.
                var currentKeys: [KeyColumn] = []
                var nextKeys: [KeyColumn] = []
                for k in keys {
                    let e = conjuncts[k].equi!
                    let (l, lc, la) = (e.leftSingle!, e.leftColumn!, e.leftAffinity)
                    let (r, rc, ra) = (e.rightSingle!, e.rightColumn!, e.rightAffinity)
                    if r == next {
                        currentKeys.append(KeyColumn(relations[l].segment!.columns[lc], indices[l], la))
                        nextKeys.append(KeyColumn(relations[r].segment!.columns[rc], right, ra))
                    } else {
                        currentKeys.append(KeyColumn(relations[r].segment!.columns[rc], indices[r], ra))
                        nextKeys.append(KeyColumn(relations[l].segment!.columns[lc], right, la))
                    }
                }
                let table = HashJoin.BuildTable(nextKeys, right.count)
                let slots = table.slots(currentKeys, count)
                var total = 0
                for slot in slots where slot >= 0 { total += table.start[slot + 1] - table.start[slot] }
                try context.charge(total)
                // The joined tuples: each current tuple once per match, matches in the new source's order.
                table.start.withUnsafeBufferPointer { start in
                    slots.withUnsafeBufferPointer { slots in
                        for s in joinedSources {
                            indices[s] = indices[s].withUnsafeBufferPointer { column in
                                [Int](unsafeUninitializedCapacity: total) { buffer, initialized in
                                    var w = 0
                                    for p in 0..<count where slots[p] >= 0 {
                                        for _ in start[slots[p]]..<start[slots[p] + 1] {
                                            buffer[w] = column[p]
                                            w += 1
                                        }
                                    }
                                    initialized = w
                                }
                            }
                        }
                        indices[next] = [Int](unsafeUninitializedCapacity: total) { buffer, initialized in
                            var w = 0
                            table.positions.withUnsafeBufferPointer { positions in
                                right.withUnsafeBufferPointer { right in
                                    for p in 0..<count where slots[p] >= 0 {
                                        for b in start[slots[p]]..<start[slots[p] + 1] {
                                            buffer[w] = right[positions[b]]
                                            w += 1
                                        }
                                    }
                                }
                            }
                            initialized = w
                        }
                    }
                }
                count = total
                for k in keys { applied[k] = true }
            }
            joined.insert(next)
            // Equalities between sources joined by now that were not used as keys: filters.
            for (k, c) in conjuncts.enumerated() where !applied[k] && c.sources.isSubset(of: joined) {
                applied[k] = true
                let e = c.equi!
                let l = KeyColumn(relations[e.leftSingle!].segment!.columns[e.leftColumn!], indices[e.leftSingle!], e.leftAffinity)
                let r = KeyColumn(relations[e.rightSingle!].segment!.columns[e.rightColumn!], indices[e.rightSingle!], e.rightAffinity)
                var kept: [Int] = []
                for i in 0..<count {
                    let x = l.value(i), y = r.value(i)
                    if !x.isNull, !y.isNull, Value.compare(x, y) == 0 { kept.append(i) }
                }
                for s in joined { indices[s] = kept.map { [indices] in indices[s][$0] } }
                count = kept.count
            }
        }
        return ColumnarRows(relations: relations, indices: indices, count: count)
    }

    /// The wide rows of joined index tuples (each source's row at its offset).
    func materialize(_ input: ColumnarRows) -> [[Value]] {
        if sources.count == 1, sources[0].offset == 0, sources[0].width == width {
            return input.relations[0].rows(at: input.indices[0])
        }
        var out: [[Value]] = []
        out.reserveCapacity(input.count)
        for i in 0..<input.count { out.append(wideRow(input, i)) }
        return out
    }

    /// The wide row of joined tuple `i`.
    func wideRow(_ input: ColumnarRows, _ i: Int) -> [Value] {
        if sources.count == 1, sources[0].offset == 0, sources[0].width == width {
            return input.relations[0].row(input.indices[0][i])
        }
        var row = [Value](repeating: .null, count: width)
        for (s, source) in sources.enumerated() {
            let narrow = input.relations[s].row(input.indices[s][i])
            row.replaceSubrange(source.offset..<(source.offset + narrow.count), with: narrow)
        }
        return row
    }

    /// The rows of source `s` that pass its static filters (typed predicates when all have one),
    /// cached across executions like the general path's source rows.
    private func selection(_ s: Int, _ relation: Relation, _ frame: Frame) throws(QueryError) -> [Int] {
        let source = sources[s]
        if let cached = source.cache.selection { return cached }
        let context = frame.context
        try context.charge(relation.rowCount)
        // The leading filters with a typed form run over the column arrays; the rest per row on the
        // survivors (the same filters in the same order, each row stopping at its first failure).
        let typed = source.staticPredicates.prefix { $0 != nil }.map { $0! }
        var selection: [Int]
        if let segment = relation.segment, !typed.isEmpty {
            selection = try ColumnPredicate.select(typed, segment, frame)
        } else {
            selection = Array(0..<relation.rowCount)
        }
        let rest = source.staticFilters.dropFirst(typed.count)
        if !rest.isEmpty {
            var kept: [Int] = []
            for (i, row) in zip(selection, relation.rows(at: selection)) {
                frame.row = row
                var ok = true
                for f in rest where SQLValue.truth(try f(frame)) != true {
                    ok = false
                    break
                }
                if ok { kept.append(i) }
            }
            selection = kept
        }
        source.cache.selection = selection
        return selection
    }
}

/// One side of a join key: a column read at given row indices, with the comparison's affinity.
struct KeyColumn {
    let column: Column
    let rows: [Int]
    let affinity: Affinity

    init(_ column: Column, _ rows: [Int], _ affinity: Affinity) {
        self.column = column
        self.rows = rows
        self.affinity = affinity
    }

    /// The key of position `i`, converted by the comparison affinity.
    func value(_ i: Int) -> Value { affinity.apply(column[rows[i]]) }

    /// The integer array, when comparing the column's values needs no conversion.
    var integers: [Int64]? {
        guard case .integer(let values) = column.storage, affinity != .text, affinity != .real else { return nil }
        return values
    }
}

/// Equi-join of index tuples on typed keys (see ``CorePlan/columnarRows(_:)``): a table over the
/// new source's keys, probed once per current tuple, so matches come out in the general path's
/// order (current tuples in order, each followed by its matches in the new source's order).
enum HashJoin {
    /// Positions of the build side grouped by key (CSR layout): `positions[start[slot]..<start[slot + 1]]`
    /// are the positions (ascending) whose key has that slot.
    struct BuildTable {
        enum Slots {
            /// Integer keys in a dense range: the slot is `key - base`.
            case dense(base: Int64, range: Int)
            /// Integer keys: a hash map from key to slot.
            case integers([Int64: Int])
            /// Any keys (text, mixed types, several columns), compared as SQLite does.
            case values([HashKey: Int])
        }

        var slots: Slots
        var start: [Int]
        var positions: [Int]

        init(_ keys: [KeyColumn], _ count: Int) {
            var slotOf: [Int] = []
            var slotCount = 0
            if keys.count == 1, let values = keys[0].integers {
                let column = keys[0]
                let nulls = column.column.nulls
                var low = Int64.max, high = Int64.min
                values.withUnsafeBufferPointer { v in
                    column.rows.withUnsafeBufferPointer { rows in
                        for i in 0..<count {
                            if let nulls, nulls.isNull(rows[i]) { continue }
                            low = min(low, v[rows[i]])
                            high = max(high, v[rows[i]])
                        }
                    }
                }
                let (span, overflow) = high.subtractingReportingOverflow(low)
                if low <= high, !overflow, span < Int64(max(2 * count, 1024)) {
                    // Dense keys: a counting sort of the positions by key, without hashing.
                    let range = Int(span) + 1
                    slots = .dense(base: low, range: range)
                    var start = [Int](repeating: 0, count: range + 1)
                    var positions = [Int](repeating: 0, count: count)
                    var filled = 0
                    values.withUnsafeBufferPointer { v in
                        column.rows.withUnsafeBufferPointer { rows in
                            start.withUnsafeMutableBufferPointer { start in
                                for i in 0..<count {
                                    if let nulls, nulls.isNull(rows[i]) { continue }
                                    start[Int(v[rows[i]] &- low) + 1] += 1
                                }
                                for k in 0..<range { start[k + 1] += start[k] }
                                filled = start[range]
                                var fill = Array(start[0..<range])
                                positions.withUnsafeMutableBufferPointer { positions in
                                    fill.withUnsafeMutableBufferPointer { fill in
                                        for i in 0..<count {
                                            if let nulls, nulls.isNull(rows[i]) { continue }
                                            let slot = Int(v[rows[i]] &- low)
                                            positions[fill[slot]] = i
                                            fill[slot] += 1
                                        }
                                    }
                                }
                            }
                        }
                    }
                    positions.removeLast(count - filled)
                    self.start = start
                    self.positions = positions
                    return
                } else {
                    slotOf = [Int](repeating: -1, count: count)
                    var map: [Int64: Int] = [:]
                    for i in 0..<count where !(nulls?.isNull(column.rows[i]) ?? false) {
                        let v = values[column.rows[i]]
                        if let s = map[v] {
                            slotOf[i] = s
                        } else {
                            slotOf[i] = map.count
                            map[v] = map.count
                        }
                    }
                    slotCount = map.count
                    slots = .integers(map)
                }
            } else {
                slotOf = [Int](repeating: -1, count: count)
                var map: [HashKey: Int] = [:]
                outer: for i in 0..<count {
                    var key: [Value] = []
                    for k in keys {
                        let v = k.value(i)
                        if v.isNull { continue outer }
                        key.append(v)
                    }
                    let h = HashKey(key)
                    if let s = map[h] {
                        slotOf[i] = s
                    } else {
                        slotOf[i] = map.count
                        map[h] = map.count
                    }
                }
                slotCount = map.count
                slots = .values(map)
            }
            var start = [Int](repeating: 0, count: slotCount + 1)
            for s in slotOf where s >= 0 { start[s + 1] += 1 }
            for i in 0..<slotCount { start[i + 1] += start[i] }
            var fill = start
            var positions = [Int](repeating: 0, count: start[slotCount])
            for (i, s) in slotOf.enumerated() where s >= 0 {
                positions[fill[s]] = i
                fill[s] += 1
            }
            self.start = start
            self.positions = positions
        }

        /// The slot of every probe position's key (`-1`: no match, or a NULL key).
        func slots(_ keys: [KeyColumn], _ count: Int) -> [Int] {
            var out = [Int](repeating: -1, count: count)
            switch slots {
            case .dense(let base, let range):
                guard let values = keys.count == 1 ? keys[0].integers : nil else { return slotValues(keys, count) }
                let column = keys[0]
                let nulls = column.column.nulls
                values.withUnsafeBufferPointer { v in
                    column.rows.withUnsafeBufferPointer { rows in
                        for p in 0..<count {
                            let row = rows[p]
                            if let nulls, nulls.isNull(row) { continue }
                            let (offset, overflow) = v[row].subtractingReportingOverflow(base)
                            if overflow || offset < 0 || offset >= Int64(range) { continue }
                            out[p] = Int(offset)
                        }
                    }
                }
            case .integers(let map):
                guard let values = keys.count == 1 ? keys[0].integers : nil else { return slotValues(keys, count) }
                let column = keys[0]
                let nulls = column.column.nulls
                for p in 0..<count {
                    let row = column.rows[p]
                    if let nulls, nulls.isNull(row) { continue }
                    out[p] = map[values[row]] ?? -1
                }
            case .values:
                return slotValues(keys, count)
            }
            return out
        }

        /// The integer a key value compares equal to, if any (integers, integral reals, booleans).
        private static func integerKey(_ v: Value) -> Int64? {
            switch v {
            case .integer(let i): i
            case .real(let d): Value.exactInteger(d)
            case .boolean(let b): b ? 1 : 0
            default: nil
            }
        }

        /// Slots of keys compared as values (any key types; SQLite's equality, 1 = 1.0).
        private func slotValues(_ keys: [KeyColumn], _ count: Int) -> [Int] {
            var out = [Int](repeating: -1, count: count)
            outer: for p in 0..<count {
                var key: [Value] = []
                for k in keys {
                    let v = k.value(p)
                    if v.isNull { continue outer }
                    key.append(v)
                }
                let slot: Int?
                switch slots {
                case .values(let map): slot = map[HashKey(key)]
                case .integers(let map):
                    // The build keys are integers: only keys equal to an integer can match.
                    slot = Self.integerKey(key[0]).flatMap { map[$0] }
                case .dense(let base, let range):
                    if let i = Self.integerKey(key[0]), case let (o, false) = i.subtractingReportingOverflow(base), o >= 0,
                        o < Int64(range)
                    {
                        slot = Int(o)
                    } else {
                        slot = nil
                    }
                }
                out[p] = slot ?? -1
            }
            return out
        }
    }
}
