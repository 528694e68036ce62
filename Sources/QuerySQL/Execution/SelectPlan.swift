import QueryCore

/// The executable form of a (compound) select: cores, set operators, ORDER BY and LIMIT.
final class SelectPlan {
    struct SortKey {
        var index: Int
        var descending: Bool
        var nullsFirst: Bool
    }

    let columns: [String]
    let affinities: [Affinity]
    var cores: [CorePlan] = []
    var operators: [CompoundOperator] = []
    var sortKeys: [SortKey] = []
    var limit: Eval?
    var offset: Eval?
    /// Whether the plan reads rows of an enclosing query (then it runs once per outer row).
    var correlated = false

    init(columns: [String], affinities: [Affinity]) {
        self.columns = columns
        self.affinities = affinities
    }

    func execute(outer: Frame?, context: ExecutionContext, maxRows: Int?) throws(QueryError) -> [[Value]] {
        let frame = Frame(row: [], outer: outer, context: context)
        var limitCount: Int?
        var skip = 0
        if let limit {
            let v = try limit(frame)
            guard let n = SQLValue.integer(v), !v.isNull else {
                throw QueryError(.runtimeError, "LIMIT must be an integer, got \(v)")
            }
            if n >= 0 { limitCount = Int(n) }
        }
        if let offset {
            let v = try offset(frame)
            guard let n = SQLValue.integer(v), !v.isNull else {
                throw QueryError(.runtimeError, "OFFSET must be an integer, got \(v)")
            }
            skip = Int(max(0, n))
        }
        if let maxRows { limitCount = min(limitCount ?? Int.max, maxRows) }
        let n = columns.count
        var rows: [[Value]]
        if cores.count == 1 {
            let core = cores[0]
            let streaming = sortKeys.isEmpty && !core.distinct && !core.isAggregate
            let hint = streaming ? limitCount.map { $0 &+ skip } : nil
            if let limitCount, let first = sortKeys.first,
                let candidates = try core.columnarTopCandidates(first, limitCount &+ skip, frame)
            {
                rows = candidates
            } else {
                rows = try core.execute(outer: outer, context: context, limitHint: hint)
            }
        } else {
            rows = try cores[0].execute(outer: outer, context: context, limitHint: nil)
            for (i, op) in operators.enumerated() {
                let right = try cores[i + 1].execute(outer: outer, context: context, limitHint: nil)
                rows = SelectPlan.combine(rows, right, op)
            }
        }
        if !sortKeys.isEmpty {
            if let limitCount, limitCount &+ skip < rows.count / 4 {
                rows = topK(rows, limitCount &+ skip)
            } else {
                sort(&rows)
            }
        }
        if skip > 0 { rows = skip >= rows.count ? [] : Array(rows[skip...]) }
        if let limitCount, rows.count > limitCount { rows = Array(rows[0..<limitCount]) }
        if let first = rows.first, first.count > n { rows = rows.map { Array($0[0..<n]) } }
        return rows
    }

    static func combine(_ left: [[Value]], _ right: [[Value]], _ op: CompoundOperator) -> [[Value]] {
        var result: [[Value]]
        switch op {
        case .unionAll:
            return left + right
        case .union:
            var seen = Set<[Value]>()
            result = (left + right).filter { seen.insert($0).inserted }
        case .intersect:
            let r = Set(right)
            var seen = Set<[Value]>()
            result = left.filter { r.contains($0) && seen.insert($0).inserted }
        case .except:
            let r = Set(right)
            var seen = Set<[Value]>()
            result = left.filter { !r.contains($0) && seen.insert($0).inserted }
        }
        // SQLite emits distinct compound results in key order.
        result.sort { a, b in
            for i in a.indices {
                let c = Value.compare(a[i], b[i])
                if c != 0 { return c < 0 }
            }
            return false
        }
        return result
    }

    /// Whether row `x` (at position `i`) sorts before row `y` (at position `j`); ties keep input order.
    @inline(__always)
    private func precedes(_ x: [Value], _ i: Int, _ y: [Value], _ j: Int) -> Bool {
        for k in sortKeys {
            let a = x[k.index], b = y[k.index]
            if a.isNull || b.isNull {
                if a.isNull && b.isNull { continue }
                return a.isNull == k.nullsFirst
            }
            let d = Value.compare(a, b)
            if d != 0 { return k.descending ? d > 0 : d < 0 }
        }
        return i < j
    }

    private func sort(_ rows: inout [[Value]]) {
        let indexed = rows.enumerated().sorted { x, y in precedes(x.element, x.offset, y.element, y.offset) }
        rows = indexed.map(\.element)
    }

    /// The first `k` rows in sort order, without sorting everything (bounded insertion).
    private func topK(_ rows: [[Value]], _ k: Int) -> [[Value]] {
        guard k > 0 else { return [] }
        var best: [(Int, [Value])] = []
        best.reserveCapacity(k + 1)
        for (i, row) in rows.enumerated() {
            if best.count == k, let last = best.last, !precedes(row, i, last.1, last.0) { continue }
            // Binary search for the insertion point.
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if precedes(best[mid].1, best[mid].0, row, i) { lo = mid + 1 } else { hi = mid }
            }
            best.insert((i, row), at: lo)
            if best.count > k { best.removeLast() }
        }
        return best.map(\.1)
    }
}
