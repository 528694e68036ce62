import QueryCore

/// Columnar top-k: for `SELECT columns FROM table [WHERE column <op> constant …] ORDER BY intcol … LIMIT k`
/// over a QueryCore table, only the rows that can be among the first `k` by the first sort key
/// are projected (every row whose key is at least as good as the k-th best, plus NULLs where they
/// may sort first). The caller's sort then orders the candidates by all keys; candidates keep
/// their input order, so ties resolve exactly as over all rows.
extension CorePlan {
    /// Output rows (items then extras) of the candidate rows, or nil when the general path is needed.
    func columnarTopCandidates(_ key: SelectPlan.SortKey, _ k: Int, _ frame: Frame) throws(QueryError) -> [[Value]]? {
        guard k > 0, !isAggregate, !distinct, sources.count == 1, conjuncts.isEmpty, constantFilters.isEmpty,
            itemColumns.count == items.count + extras.count, key.index < itemColumns.count
        else { return nil }
        let source = sources[0]
        guard case .relation(let relation) = source.produce, let segment = relation.segment, source.offset == 0,
            source.lookup == nil, source.filters.isEmpty, source.staticPredicates.count == source.staticFilters.count,
            source.staticPredicates.allSatisfy({ $0 != nil })
        else { return nil }
        guard k <= 10_000, k < segment.rowCount / 4 else { return nil }
        var columns: [Int] = []
        for c in itemColumns {
            guard let c, c < segment.columns.count else { return nil }
            columns.append(c)
        }
        let keyColumn = segment.columns[columns[key.index]]
        guard case .integer(let values) = keyColumn.storage else { return nil }
        let nulls = keyColumn.nulls

        try frame.context.charge(segment.rowCount)
        let selection = try ColumnPredicate.select(source.staticPredicates.map { $0! }, segment, frame)

        // The k best non-NULL keys (best first), by bounded insertion.
        let descending = key.descending
        var best: [Int64] = []
        best.reserveCapacity(k + 1)
        var nonNull = 0
        values.withUnsafeBufferPointer { v in
            for i in selection where !(nulls?.isNull(i) ?? false) {
                nonNull += 1
                let x = v[i]
                if best.count == k, descending ? x <= best[k - 1] : x >= best[k - 1] { continue }
                var lo = 0, hi = best.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if descending ? best[mid] >= x : best[mid] <= x { lo = mid + 1 } else { hi = mid }
                }
                best.insert(x, at: lo)
                if best.count > k { best.removeLast() }
            }
        }
        let threshold: Int64? = nonNull > k ? best[k - 1] : nil
        let includeNulls = key.nullsFirst || nonNull < k

        var out: [[Value]] = []
        values.withUnsafeBufferPointer { v in
            for i in selection {
                if nulls?.isNull(i) ?? false {
                    if !includeNulls { continue }
                } else if let threshold, descending ? v[i] < threshold : v[i] > threshold {
                    continue
                }
                let row = relation.row(i)
                out.append(columns.map { row[$0] })
            }
        }
        try frame.context.charge(out.count)
        return out
    }
}
