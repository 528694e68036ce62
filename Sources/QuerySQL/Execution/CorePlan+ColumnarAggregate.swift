import QueryCore

/// Columnar hash aggregation: `GROUP BY column, …` with count/sum/total/avg/min/max over columns of
/// QueryCore tables, over the core's rows as index tuples (one table's selection vector, or a
/// columnar join's output, see ``CorePlan/columnarRows(_:)``). Group ids come from the typed key
/// columns (text keys through cached dictionary codes, integer keys through a direct array or a
/// hash map, others as `Value`), aggregates read the typed arrays directly. The result rows are
/// exactly those of the general path: the group's last input row followed by the aggregate
/// values, groups in order of first appearance.
extension CorePlan {
    /// The grouped rows of `input` (the core's joined rows as index tuples), or nil when the
    /// grouping or an aggregate needs the general (row-at-a-time) path.
    func columnarAggregate(_ input: ColumnarRows, _ frame: Frame) throws(QueryError) -> [[Value]]? {
        guard isAggregate, bareFromAggregate == nil, groupKeyColumns.count == groupKeys.count else { return nil }
        // Each wide column index names a source and a column of its segment.
        func locate(_ wide: Int) -> (source: Int, column: Int)? {
            for (s, source) in sources.enumerated() where wide >= source.offset && wide < source.offset + source.width {
                guard let segment = input.relations[s].segment, wide - source.offset < segment.columns.count else { return nil }
                return (s, wide - source.offset)
            }
            return nil
        }
        var keyColumns: [(source: Int, column: Int)] = []
        for k in groupKeyColumns {
            guard let k, let located = locate(k) else { return nil }
            keyColumns.append(located)
        }
        var argumentColumns: [(source: Int, column: Int)?] = []
        for a in aggregates {
            switch a.kind {
            case .countStar: argumentColumns.append(nil)
            case .count, .sum, .total, .avg, .min, .max:
                guard let c = a.argumentColumn, let located = locate(c) else { return nil }
                argumentColumns.append(located)
            case .groupConcat: return nil
            }
        }
        let count = input.count

        // Group id of every joined row.
        var groupOf = [Int](repeating: 0, count: count)
        var groupCount = keyColumns.isEmpty ? 1 : 0
        for (n, key) in keyColumns.enumerated() {
            let relation = input.relations[key.source]
            let ids = Self.keyIds(relation, key.column, input.indices[key.source])
            if n == 0 {
                groupOf = ids.ids
                groupCount = ids.distinct
                continue
            }
            // Combine the groups so far with this column's ids, numbering in order of first appearance.
            let width = ids.distinct
            if groupCount * width <= 1 << 22 {
                var combined = [Int](repeating: -1, count: groupCount * width)
                var next = 0
                for i in groupOf.indices {
                    let pair = groupOf[i] * width + ids.ids[i]
                    if combined[pair] < 0 {
                        combined[pair] = next
                        next += 1
                    }
                    groupOf[i] = combined[pair]
                }
                groupCount = next
            } else {
                var combined: [Int: Int] = [:]
                for i in groupOf.indices {
                    let pair = groupOf[i] * width + ids.ids[i]
                    if let g = combined[pair] {
                        groupOf[i] = g
                    } else {
                        let g = combined.count
                        combined[pair] = g
                        groupOf[i] = g
                    }
                }
                groupCount = combined.count
            }
        }

        // The general path's representative is the last row of each group.
        var last = [Int](repeating: -1, count: groupCount)
        for i in 0..<count { last[groupOf[i]] = i }

        let nAgg = aggregates.count
        var results = [Value](repeating: .null, count: groupCount * nAgg)
        for (a, spec) in aggregates.enumerated() {
            let column = argumentColumns[a].map { input.relations[$0.source].segment!.columns[$0.column] }
            let rows = argumentColumns[a].map { input.indices[$0.source] } ?? []
            let values = try Self.aggregateColumn(spec, column, rows, groupOf, groupCount)
            for g in 0..<groupCount { results[g * nAgg + a] = values[g] }
        }

        var out: [[Value]] = []
        out.reserveCapacity(groupCount)
        let emptyRow = [Value](repeating: .null, count: width)
        for g in 0..<groupCount {
            var row = last[g] >= 0 ? wideRow(input, last[g]) : emptyRow
            row.append(contentsOf: results[(g * nAgg)..<(g * nAgg + nAgg)])
            out.append(row)
        }
        return out
    }

    /// Dense ids (in order of first appearance) of a key column's values at the given rows: text
    /// keys through the relation's cached dictionary codes, integer keys through a direct array when
    /// their range is small (else a hash map), other keys as `Value`s.
    private static func keyIds(_ relation: Relation, _ columnIndex: Int, _ rows: [Int]) -> (ids: [Int], distinct: Int) {
        let column = relation.segment!.columns[columnIndex]
        var ids = [Int](repeating: 0, count: rows.count)
        let nulls = column.nulls
        if let codes = relation.codes(ofTextColumn: columnIndex) {
            // Code -1 (NULL) maps to slot 0, code c to slot c + 1.
            var map = [Int](repeating: -1, count: codes.distinct + 1)
            var next = 0
            codes.codes.withUnsafeBufferPointer { c in
                for (n, i) in rows.enumerated() {
                    let slot = Int(c[i]) + 1
                    if map[slot] < 0 {
                        map[slot] = next
                        next += 1
                    }
                    ids[n] = map[slot]
                }
            }
            return (ids, next)
        }
        switch column.storage {
        case .integer(let values):
            var nullId = -1
            var next = 0
            var low = Int64.max, high = Int64.min
            for i in rows where !(nulls?.isNull(i) ?? false) {
                low = min(low, values[i])
                high = max(high, values[i])
            }
            let (span, overflow) = high.subtractingReportingOverflow(low)
            values.withUnsafeBufferPointer { v in
                if low <= high, !overflow, span < Int64(max(4 * rows.count, 4096)) {
                    var map = [Int](repeating: -1, count: Int(span) + 1)
                    for (n, i) in rows.enumerated() {
                        if let nulls, nulls.isNull(i) {
                            if nullId < 0 {
                                nullId = next
                                next += 1
                            }
                            ids[n] = nullId
                            continue
                        }
                        let slot = Int(v[i] &- low)
                        if map[slot] < 0 {
                            map[slot] = next
                            next += 1
                        }
                        ids[n] = map[slot]
                    }
                    return
                }
                var map: [Int64: Int] = [:]
                for (n, i) in rows.enumerated() {
                    if let nulls, nulls.isNull(i) {
                        if nullId < 0 {
                            nullId = next
                            next += 1
                        }
                        ids[n] = nullId
                    } else if let g = map[v[i]] {
                        ids[n] = g
                    } else {
                        map[v[i]] = next
                        ids[n] = next
                        next += 1
                    }
                }
            }
            return (ids, next)
        default:
            var map: [Value: Int] = [:]
            for (n, i) in rows.enumerated() {
                let v = column[i]
                if let g = map[v] {
                    ids[n] = g
                } else {
                    let g = map.count
                    map[v] = g
                    ids[n] = g
                }
            }
            return (ids, map.count)
        }
    }

    /// The selected rows (and their groups) holding the first occurrence of their value within their
    /// group; NULLs are dropped (DISTINCT aggregates ignore them).
    private static func firstOccurrences(
        _ values: [Int64], _ nulls: NullBitmap?, _ selection: [Int], _ groupOf: [Int], _ groupCount: Int
    ) -> (rows: [Int], groups: [Int]) {
        var low = Int64.max, high = Int64.min
        for i in selection where !(nulls?.isNull(i) ?? false) {
            low = min(low, values[i])
            high = max(high, values[i])
        }
        var rows: [Int] = []
        var groups: [Int] = []
        if low > high { return (rows, groups) }
        let (span, overflow) = high.subtractingReportingOverflow(low)
        let width = !overflow && span < Int64(max(4 * selection.count, 4096)) ? Int(span) + 1 : Int.max
        let (cells, cellsOverflow) = width.multipliedReportingOverflow(by: groupCount)
        if !cellsOverflow, cells < 1 << 28 {
            // A bitmap over (group, value - low).
            var bits = [UInt64](repeating: 0, count: (width * groupCount) / 64 + 1)
            for (n, i) in selection.enumerated() where !(nulls?.isNull(i) ?? false) {
                let bit = groupOf[n] * width + Int(values[i] &- low)
                let mask: UInt64 = 1 << UInt64(bit & 63)
                if bits[bit >> 6] & mask == 0 {
                    bits[bit >> 6] |= mask
                    rows.append(i)
                    groups.append(groupOf[n])
                }
            }
            return (rows, groups)
        }
        struct Member: Hashable {
            var group: Int
            var value: Int64
        }
        var seen = Set<Member>()
        for (n, i) in selection.enumerated() where !(nulls?.isNull(i) ?? false) {
            if seen.insert(Member(group: groupOf[n], value: values[i])).inserted {
                rows.append(i)
                groups.append(groupOf[n])
            }
        }
        return (rows, groups)
    }

    /// One aggregate's result per group, read from the typed column where it has a fast form.
    private static func aggregateColumn(
        _ spec: AggregateSpec, _ column: Column?, _ selection: [Int], _ groupOf: [Int], _ groupCount: Int
    ) throws(QueryError) -> [Value] {
        if spec.kind == .countStar {
            var counts = [Int64](repeating: 0, count: groupCount)
            for g in groupOf { counts[g] += 1 }
            return counts.map { .integer($0) }
        }
        let column = column!
        let nulls = column.nulls
        if spec.distinct, case .integer(let values) = column.storage {
            // DISTINCT over integers: keep each group's first occurrence of every value (the order in
            // which AggregateState's set admits them), then aggregate those rows as usual.
            let (rows, groups) = Self.firstOccurrences(values, nulls, selection, groupOf, groupCount)
            var plain = spec
            plain.distinct = false
            return try aggregateColumn(plain, column, rows, groups, groupCount)
        }
        if !spec.distinct, case .integer(let values) = column.storage {
            switch spec.kind {
            case .count:
                var counts = [Int64](repeating: 0, count: groupCount)
                for (n, i) in selection.enumerated() where !(nulls?.isNull(i) ?? false) { counts[groupOf[n]] += 1 }
                return counts.map { .integer($0) }
            case .sum, .total, .avg:
                var counts = [Int](repeating: 0, count: groupCount)
                var sums = [Int64](repeating: 0, count: groupCount)
                var overflow = [Bool](repeating: false, count: groupCount)
                var reals = [Double](repeating: 0, count: groupCount)
                values.withUnsafeBufferPointer { v in
                    for (n, i) in selection.enumerated() where !(nulls?.isNull(i) ?? false) {
                        let g = groupOf[n], x = v[i]
                        counts[g] += 1
                        reals[g] += Double(x)
                        let (r, o) = sums[g].addingReportingOverflow(x)
                        if o { overflow[g] = true } else { sums[g] = r }
                    }
                }
                var out: [Value] = []
                out.reserveCapacity(groupCount)
                for g in 0..<groupCount {
                    switch spec.kind {
                    case .total: out.append(.real(reals[g]))
                    case .avg: out.append(counts[g] == 0 ? .null : .real(reals[g] / Double(counts[g])))
                    default:
                        if counts[g] == 0 {
                            out.append(.null)
                        } else if overflow[g] {
                            throw QueryError(.runtimeError, "integer overflow")
                        } else {
                            out.append(.integer(sums[g]))
                        }
                    }
                }
                return out
            case .min, .max:
                let isMin = spec.kind == .min
                var best = [Int64](repeating: 0, count: groupCount)
                var seen = [Bool](repeating: false, count: groupCount)
                values.withUnsafeBufferPointer { v in
                    for (n, i) in selection.enumerated() where !(nulls?.isNull(i) ?? false) {
                        let g = groupOf[n], x = v[i]
                        if !seen[g] || (isMin ? x < best[g] : x > best[g]) {
                            best[g] = x
                            seen[g] = true
                        }
                    }
                }
                return (0..<groupCount).map { seen[$0] ? .integer(best[$0]) : .null }
            default:
                break
            }
        }
        if !spec.distinct, case .real(let values) = column.storage {
            // Reals: the same additions in the same order as AggregateState (so the same rounding).
            switch spec.kind {
            case .count, .sum, .total, .avg:
                var counts = [Int](repeating: 0, count: groupCount)
                var sums = [Double](repeating: 0, count: groupCount)
                values.withUnsafeBufferPointer { v in
                    for (n, i) in selection.enumerated() where !(nulls?.isNull(i) ?? false) {
                        let g = groupOf[n]
                        counts[g] += 1
                        sums[g] += v[i]
                    }
                }
                return (0..<groupCount).map { g -> Value in
                    switch spec.kind {
                    case .count: .integer(Int64(counts[g]))
                    case .total: .real(sums[g])
                    case .avg: counts[g] == 0 ? .null : .real(sums[g] / Double(counts[g]))
                    default: counts[g] == 0 ? .null : .real(sums[g])
                    }
                }
            case .min, .max:
                let isMin = spec.kind == .min
                var best = [Double](repeating: 0, count: groupCount)
                var seen = [Bool](repeating: false, count: groupCount)
                values.withUnsafeBufferPointer { v in
                    for (n, i) in selection.enumerated() where !(nulls?.isNull(i) ?? false) {
                        let g = groupOf[n], x = v[i]
                        if !seen[g] || (isMin ? Value.compareDoubles(x, best[g]) < 0 : Value.compareDoubles(x, best[g]) > 0) {
                            best[g] = x
                            seen[g] = true
                        }
                    }
                }
                return (0..<groupCount).map { seen[$0] ? .real(best[$0]) : .null }
            default:
                break
            }
        }
        // Any other column type (or DISTINCT): SQLite's per-value rules, without closures or rows.
        var states = [AggregateState](repeating: AggregateState(distinct: spec.distinct), count: groupCount)
        for (n, i) in selection.enumerated() {
            _ = states[groupOf[n]].add(column[i], spec.kind)
        }
        var out: [Value] = []
        out.reserveCapacity(groupCount)
        for s in states { out.append(try s.finish(spec)) }
        return out
    }
}
