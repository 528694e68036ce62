import QueryCore

/// Columnar hash aggregation: `GROUP BY column, …` with count/sum/total/avg/min/max over columns of
/// one QueryCore table, filtered only by `column <op> constant` predicates. Group ids come from
/// the typed key columns (integer keys hashed as `Int64`, others as `Value`), aggregates read the
/// typed arrays directly. The result rows are exactly those of the general path: the group's last
/// input row followed by the aggregate values, groups in order of first appearance.
extension CorePlan {
    /// The grouped rows, or nil when the query's shape needs the general (row-at-a-time) path.
    func columnarAggregate(_ frame: Frame) throws(QueryError) -> [[Value]]? {
        guard isAggregate, sources.count == 1, conjuncts.isEmpty, constantFilters.isEmpty, bareFromAggregate == nil,
            groupKeyColumns.count == groupKeys.count
        else { return nil }
        let source = sources[0]
        guard case .relation(let relation) = source.produce, let segment = relation.segment, source.offset == 0,
            source.lookup == nil, source.filters.isEmpty, source.staticPredicates.count == source.staticFilters.count,
            source.staticPredicates.allSatisfy({ $0 != nil })
        else { return nil }
        let columnCount = segment.columns.count
        var keyColumns: [Int] = []
        for k in groupKeyColumns {
            guard let k, k < columnCount else { return nil }
            keyColumns.append(k)
        }
        for a in aggregates {
            switch a.kind {
            case .countStar: break
            case .count, .sum, .total, .avg, .min, .max:
                guard let c = a.argumentColumn, c < columnCount else { return nil }
            case .groupConcat: return nil
            }
        }

        let context = frame.context
        try context.charge(segment.rowCount)
        var selection = Array(0..<segment.rowCount)
        for predicate in source.staticPredicates { selection = predicate!.select(segment, selection) }

        // Group id of every selected row (parallel to `selection`).
        var groupOf = [Int](repeating: 0, count: selection.count)
        var groupCount = keyColumns.isEmpty ? 1 : 0
        for (n, column) in keyColumns.enumerated() {
            let ids = Self.keyIds(segment.columns[column], selection)
            if n == 0 {
                groupOf = ids.ids
                groupCount = ids.distinct
                continue
            }
            // Combine the groups so far with this column's ids, numbering in order of first appearance.
            var combined: [Int: Int] = [:]
            let width = ids.distinct
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

        // The general path's representative is the last row of each group.
        var last = [Int](repeating: -1, count: groupCount)
        for (i, row) in selection.enumerated() { last[groupOf[i]] = row }

        let nAgg = aggregates.count
        var results = [Value](repeating: .null, count: groupCount * nAgg)
        for (a, spec) in aggregates.enumerated() {
            let values = try Self.aggregateColumn(spec, spec.argumentColumn.map { segment.columns[$0] }, selection, groupOf, groupCount)
            for g in 0..<groupCount { results[g * nAgg + a] = values[g] }
        }

        var out: [[Value]] = []
        out.reserveCapacity(groupCount)
        let emptyRow = [Value](repeating: .null, count: width)
        for g in 0..<groupCount {
            var row = last[g] >= 0 ? relation.rows[last[g]] : emptyRow
            row.append(contentsOf: results[(g * nAgg)..<(g * nAgg + nAgg)])
            out.append(row)
        }
        return out
    }

    /// Dense ids (in order of first appearance) of a key column's values at the selected rows.
    private static func keyIds(_ column: Column, _ selection: [Int]) -> (ids: [Int], distinct: Int) {
        var ids = [Int](repeating: 0, count: selection.count)
        let nulls = column.nulls
        switch column.storage {
        case .integer(let values):
            var map: [Int64: Int] = [:]
            var nullId = -1
            var next = 0
            values.withUnsafeBufferPointer { v in
                for (n, i) in selection.enumerated() {
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
            for (n, i) in selection.enumerated() {
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
