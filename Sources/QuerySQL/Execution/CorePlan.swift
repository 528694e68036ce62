import QueryCore

/// The executable form of one select core: sources, join conditions, grouping, projection.
final class CorePlan {
    /// Where a source's rows come from.
    enum Producer {
        case relation(Relation)
        case plan(SelectPlan)

        func rows(_ outer: Frame?, _ context: ExecutionContext) throws(QueryError) -> [[Value]] {
            switch self {
            case .relation(let relation): relation.rows
            case .plan(let plan): try plan.execute(outer: outer, context: context, maxRows: nil)
            }
        }
    }

    struct Source {
        var produce: Producer
        var width: Int
        var offset: Int
        /// Filters over this source's own (narrow) rows that read no enclosing query: applied once
        /// per plan (the result is cached across executions of a correlated subquery).
        var staticFilters: [Eval] = []
        /// The typed form of each static filter, when it is `column <op> constant`.
        var staticPredicates: [ColumnPredicate?] = []
        /// Filters over this source's own rows that read an enclosing query's row.
        var filters: [Eval] = []
        /// `column = outer value`: a hash index probed per execution instead of a scan.
        var lookup: Lookup?
        /// Rows after ``staticFilters`` and the lookup index, computed on first use.
        var cache: SourceCache = SourceCache()
        var leftJoined = false
        /// `ON` conditions of a LEFT JOIN (evaluated on combined rows).
        var onConjuncts: [Conjunct] = []
    }

    /// `inner = outer` of a correlated subquery (see ``Source/lookup``).
    struct Lookup {
        var inner: Eval
        var innerAffinity: Affinity
        var outer: Eval
        var outerAffinity: Affinity
    }

    /// Cached rows of a source whose rows do not depend on enclosing queries.
    final class SourceCache {
        var rows: [[Value]]?
        /// Row indices (into the relation) that pass the static filters (columnar joins).
        var selection: [Int]?
        var index: [Value: [Int]]?
    }

    /// One `AND` term of WHERE or of an inner join's ON.
    struct Conjunct {
        var sources: Set<Int>
        var wide: Eval
        var equi: Equi?
    }

    /// `lhs = rhs` where the sides read disjoint sources: usable as a hash-join key.
    struct Equi {
        var leftSources: Set<Int>
        var leftWide: Eval
        var leftNarrow: Eval?
        var rightSources: Set<Int>
        var rightWide: Eval
        var rightNarrow: Eval?
        var leftAffinity: Affinity
        var rightAffinity: Affinity
        /// When the left side is a plain column of its single source: its index in that source's rows.
        var leftColumn: Int? = nil
        /// When the right side is a plain column of its single source: its index in that source's rows.
        var rightColumn: Int? = nil

        /// The source the left side reads, if it reads exactly one (and has a narrow form).
        var leftSingle: Int? { leftNarrow == nil ? nil : leftSources.first }
        /// The source the right side reads, if it reads exactly one (and has a narrow form).
        var rightSingle: Int? { rightNarrow == nil ? nil : rightSources.first }
    }

    var sources: [Source] = []
    var conjuncts: [Conjunct] = []
    var constantFilters: [Eval] = []
    var width = 0
    var fixedOrder = false

    var isAggregate = false
    var groupKeys: [Eval] = []
    /// For each group key that is a plain column of the current row: its index (columnar grouping).
    var groupKeyColumns: [Int?] = []
    var aggregates: [AggregateSpec] = []
    var having: Eval?
    /// Index of the single min()/max() aggregate whose row supplies bare columns, if any.
    var bareFromAggregate: Int?

    var items: [Eval] = []
    var extras: [Eval] = []
    /// For each of ``items`` then ``extras`` that is a plain column of the current row: its index.
    var itemColumns: [Int?] = []
    var distinct = false

    // MARK: - Execution

    /// Output rows (items followed by extra sort keys).
    func execute(outer: Frame?, context: ExecutionContext, limitHint: Int?) throws(QueryError) -> [[Value]] {
        let frame = Frame(row: [], outer: outer, context: context)
        if let limitHint, !isAggregate, !distinct, sources.count == 1 {
            return try streamSingleSource(frame, limit: limitHint)
        }
        var rows: [[Value]]
        if let input = try columnarRows(frame) {
            // QueryCore tables joined on plain columns: index tuples, materialized only as needed.
            if isAggregate, let grouped = try columnarAggregate(input, frame) {
                rows = grouped
            } else {
                rows = materialize(input)
                if isAggregate { rows = try aggregate(rows, frame) }
            }
        } else {
            rows = try joinedRows(frame)
            if isAggregate { rows = try aggregate(rows, frame) }
        }
        if isAggregate {
            if let having {
                var kept: [[Value]] = []
                for r in rows {
                    frame.row = r
                    if SQLValue.truth(try having(frame)) == true { kept.append(r) }
                }
                rows = kept
            }
        }
        var output: [[Value]] = []
        output.reserveCapacity(min(rows.count, limitHint ?? Int.max))
        let all = items + extras
        for r in rows {
            if let limitHint, output.count >= limitHint { break }
            frame.row = r
            var out: [Value] = []
            out.reserveCapacity(all.count)
            for e in all { out.append(try e(frame)) }
            output.append(out)
        }
        try context.charge(output.count)
        if distinct {
            var seen = Set<ArraySlice<Value>>()
            let n = items.count
            output = output.filter { seen.insert($0[0..<n]).inserted }
        }
        return output
    }

    /// Scans one source, filtering and projecting until `limit` rows are produced (early LIMIT).
    private func streamSingleSource(_ frame: Frame, limit: Int) throws(QueryError) -> [[Value]] {
        let context = frame.context
        for c in constantFilters where SQLValue.truth(try c(frame)) != true { return [] }
        let rows = try sourceRows(sources[0], frame)
        let filters = conjuncts.map(\.wide)
        let all = items + extras
        var output: [[Value]] = []
        var scanned = 0
        for r in rows {
            if output.count >= limit { break }
            scanned += 1
            frame.row = r
            var ok = true
            for f in filters where SQLValue.truth(try f(frame)) != true {
                ok = false
                break
            }
            if !ok { continue }
            var out: [Value] = []
            out.reserveCapacity(all.count)
            for e in all { out.append(try e(frame)) }
            output.append(out)
        }
        try context.charge(scanned + output.count)
        return output
    }

    /// A source's rows after its pushed-down filters (static ones cached, lookup probed).
    private func sourceRows(_ source: Source, _ frame: Frame) throws(QueryError) -> [[Value]] {
        let context = frame.context
        var base: [[Value]]
        let cacheable: Bool
        if case .plan(let plan) = source.produce, plan.correlated { cacheable = false } else { cacheable = true }
        if cacheable, let cached = source.cache.rows {
            base = cached
        } else {
            if case .relation(let relation) = source.produce, let segment = relation.segment, !source.staticPredicates.isEmpty,
                source.staticPredicates.allSatisfy({ $0 != nil })
            {
                // Columnar scan: a selection vector over the typed column arrays.
                try context.charge(relation.rowCount)
                let selection = try ColumnPredicate.select(source.staticPredicates.map { $0! }, segment, frame)
                base = relation.rows(at: selection)
            } else {
                let rows = try source.produce.rows(frame.outer, context)
                try context.charge(rows.count)
                base = try filter(rows, source.staticFilters, frame)
            }
            if cacheable { source.cache.rows = base }
        }
        if let lookup = source.lookup {
            let index: [Value: [Int]]
            if cacheable, let cached = source.cache.index {
                index = cached
            } else {
                var built: [Value: [Int]] = [:]
                for (i, r) in base.enumerated() {
                    frame.row = r
                    let v = lookup.innerAffinity.apply(try lookup.inner(frame))
                    if !v.isNull { built[v, default: []].append(i) }
                }
                index = built
                if cacheable { source.cache.index = built }
            }
            let key = lookup.outerAffinity.apply(try lookup.outer(frame))
            let matches = key.isNull ? [] : (index[key] ?? [])
            try context.charge(matches.count + 1)
            base = matches.map { base[$0] }
        } else if !source.filters.isEmpty {
            try context.charge(base.count)
        }
        return try filter(base, source.filters, frame)
    }

    private func filter(_ rows: [[Value]], _ filters: [Eval], _ frame: Frame) throws(QueryError) -> [[Value]] {
        if filters.isEmpty { return rows }
        var kept: [[Value]] = []
        for r in rows {
            frame.row = r
            var ok = true
            for f in filters where SQLValue.truth(try f(frame)) != true {
                ok = false
                break
            }
            if ok { kept.append(r) }
        }
        return kept
    }

    private func joinedRows(_ frame: Frame) throws(QueryError) -> [[Value]] {
        for c in constantFilters where SQLValue.truth(try c(frame)) != true { return [] }
        if sources.isEmpty { return [[]] }
        var relations: [[[Value]]] = []
        for source in sources { relations.append(try sourceRows(source, frame)) }
        let n = sources.count
        var joined = Set<Int>()
        var applied = [Bool](repeating: false, count: conjuncts.count)
        var first = 0
        if !fixedOrder {
            for i in 1..<n where relations[i].count < relations[first].count { first = i }
        }
        if n == 1 { return try filter(relations[0], conjuncts.map(\.wide), frame) }
        var current: [[Value]] = relations[first].map { narrow in
            var r = [Value](repeating: .null, count: width)
            r.replaceSubrange(sources[first].offset..<(sources[first].offset + narrow.count), with: narrow)
            return r
        }
        joined.insert(first)
        current = try applyReady(current, joined, &applied, frame)
        while joined.count < n {
            if current.isEmpty { return [] }
            var next = -1
            var nextKeys: [Int] = []
            if fixedOrder {
                next = joined.count
                nextKeys = equiKeys(for: next, joined, applied, conjuncts: sources[next].leftJoined ? sources[next].onConjuncts : conjuncts)
            } else {
                // Candidates connected to the joined set by an equality, with their key conjuncts.
                var connected: [Int: [Int]] = [:]
                for (k, c) in conjuncts.enumerated() where !applied[k] {
                    guard let e = c.equi else { continue }
                    if let j = e.rightSingle, !joined.contains(j), e.leftSources.isSubset(of: joined) {
                        connected[j, default: []].append(k)
                    } else if let j = e.leftSingle, !joined.contains(j), e.rightSources.isSubset(of: joined) {
                        connected[j, default: []].append(k)
                    }
                }
                if connected.isEmpty {
                    for j in 0..<n where !joined.contains(j) {
                        if next < 0 || relations[j].count < relations[next].count { next = j }
                    }
                } else {
                    for (j, keys) in connected.sorted(by: { $0.key < $1.key }) {
                        if next < 0 || relations[j].count < relations[next].count {
                            next = j
                            nextKeys = keys
                        }
                    }
                }
            }
            let source = sources[next]
            if source.leftJoined {
                current = try leftJoin(current, relations[next], next, nextKeys, frame)
            } else {
                current = try innerJoin(current, relations[next], next, nextKeys, frame)
                for k in nextKeys { applied[k] = true }
            }
            joined.insert(next)
            current = try applyReady(current, joined, &applied, frame)
        }
        return current
    }

    /// Indices of equi conjuncts that join `j` to the `joined` sources.
    private func equiKeys(for j: Int, _ joined: Set<Int>, _ applied: [Bool], conjuncts: [Conjunct]) -> [Int] {
        var keys: [Int] = []
        for (k, c) in conjuncts.enumerated() where (k >= applied.count || !applied[k]) {
            guard let e = c.equi else { continue }
            if e.rightSingle == j, e.leftSources.isSubset(of: joined) {
                keys.append(k)
            } else if e.leftSingle == j, e.rightSources.isSubset(of: joined) {
                keys.append(k)
            }
        }
        return keys
    }

    private func applyReady(_ rows: [[Value]], _ joined: Set<Int>, _ applied: inout [Bool], _ frame: Frame) throws(QueryError) -> [[Value]] {
        var ready: [Eval] = []
        for (k, c) in conjuncts.enumerated() where !applied[k] && c.sources.isSubset(of: joined) {
            applied[k] = true
            ready.append(c.wide)
        }
        return try filter(rows, ready, frame)
    }

    /// The probe-side (wide) and build-side (narrow) key functions of an equi conjunct joining `j`.
    private func keyFunctions(_ c: Conjunct, _ j: Int) -> (probe: Eval, probeAffinity: Affinity, build: Eval, buildAffinity: Affinity) {
        let e = c.equi!
        if e.rightSingle == j {
            return (e.leftWide, e.leftAffinity, e.rightNarrow!, e.rightAffinity)
        }
        return (e.rightWide, e.rightAffinity, e.leftNarrow!, e.leftAffinity)
    }

    private func buildTable(
        _ rows: [[Value]], _ functions: [(probe: Eval, probeAffinity: Affinity, build: Eval, buildAffinity: Affinity)], _ frame: Frame
    ) throws(QueryError) -> [HashKey: [Int]] {
        var table: [HashKey: [Int]] = [:]
        table.reserveCapacity(rows.count)
        outer: for (i, r) in rows.enumerated() {
            frame.row = r
            var key: [Value] = []
            key.reserveCapacity(functions.count)
            for f in functions {
                let v = f.buildAffinity.apply(try f.build(frame))
                if v.isNull { continue outer }
                key.append(v)
            }
            table[HashKey(key), default: []].append(i)
        }
        return table
    }

    private func probeKey(
        _ functions: [(probe: Eval, probeAffinity: Affinity, build: Eval, buildAffinity: Affinity)], _ frame: Frame
    ) throws(QueryError) -> HashKey? {
        var key: [Value] = []
        key.reserveCapacity(functions.count)
        for f in functions {
            let v = f.probeAffinity.apply(try f.probe(frame))
            if v.isNull { return nil }
            key.append(v)
        }
        return HashKey(key)
    }

    private func innerJoin(
        _ current: [[Value]], _ right: [[Value]], _ j: Int, _ keys: [Int], _ frame: Frame
    ) throws(QueryError) -> [[Value]] {
        let context = frame.context
        let offset = sources[j].offset
        var out: [[Value]] = []
        if keys.isEmpty {
            try context.charge(current.count * right.count)
            out.reserveCapacity(current.count * right.count)
            for l in current {
                for r in right {
                    var row = l
                    row.replaceSubrange(offset..<(offset + r.count), with: r)
                    out.append(row)
                }
            }
            return out
        }
        let functions = keys.map { keyFunctions(conjuncts[$0], j) }
        if functions.count == 1 {
            let f = functions[0]
            var table: [Value: [Int]] = [:]
            table.reserveCapacity(right.count)
            for (i, r) in right.enumerated() {
                frame.row = r
                let v = f.buildAffinity.apply(try f.build(frame))
                if !v.isNull { table[v, default: []].append(i) }
            }
            try context.charge(current.count + right.count)
            for l in current {
                frame.row = l
                let v = f.probeAffinity.apply(try f.probe(frame))
                guard !v.isNull, let matches = table[v] else { continue }
                try context.charge(matches.count)
                for m in matches {
                    var row = l
                    let r = right[m]
                    row.replaceSubrange(offset..<(offset + r.count), with: r)
                    out.append(row)
                }
            }
            return out
        }
        let table = try buildTable(right, functions, frame)
        try context.charge(current.count + right.count)
        for l in current {
            frame.row = l
            guard let key = try probeKey(functions, frame), let matches = table[key] else { continue }
            try context.charge(matches.count)
            for m in matches {
                var row = l
                let r = right[m]
                row.replaceSubrange(offset..<(offset + r.count), with: r)
                out.append(row)
            }
        }
        return out
    }

    private func leftJoin(
        _ current: [[Value]], _ right: [[Value]], _ j: Int, _ keys: [Int], _ frame: Frame
    ) throws(QueryError) -> [[Value]] {
        let context = frame.context
        let source = sources[j]
        let offset = source.offset
        let functions = keys.map { keyFunctions(source.onConjuncts[$0], j) }
        let residual = source.onConjuncts.enumerated().filter { !keys.contains($0.offset) }.map(\.element.wide)
        let table = keys.isEmpty ? nil : try buildTable(right, functions, frame)
        var out: [[Value]] = []
        for l in current {
            frame.row = l
            let candidates: [Int]
            if let table {
                if let key = try probeKey(functions, frame) { candidates = table[key] ?? [] } else { candidates = [] }
            } else {
                candidates = Array(right.indices)
            }
            try context.charge(candidates.count + 1)
            var matched = false
            for m in candidates {
                var row = l
                let r = right[m]
                row.replaceSubrange(offset..<(offset + r.count), with: r)
                frame.row = row
                var ok = true
                for f in residual where SQLValue.truth(try f(frame)) != true {
                    ok = false
                    break
                }
                if ok {
                    matched = true
                    out.append(row)
                }
            }
            if !matched { out.append(l) }
        }
        return out
    }

    // MARK: - Aggregation

    private func aggregate(_ rows: [[Value]], _ frame: Frame) throws(QueryError) -> [[Value]] {
        let nAgg = aggregates.count
        var groupIndex: [HashKey: Int] = [:]
        var singleIndex: [Value: Int] = [:]
        let singleKey = groupKeys.count == 1 ? groupKeys[0] : nil
        var representatives: [[Value]] = []
        var states: [AggregateState] = []
        let emptyRow = [Value](repeating: .null, count: width)
        if groupKeys.isEmpty {
            representatives.append(emptyRow)
            states.append(contentsOf: aggregates.map { AggregateState(distinct: $0.distinct) })
        }
        for r in rows {
            frame.row = r
            var g = 0
            if let singleKey {
                let k = try singleKey(frame)
                if let existing = singleIndex[k] {
                    g = existing
                } else {
                    g = representatives.count
                    singleIndex[k] = g
                    representatives.append(r)
                    states.append(contentsOf: aggregates.map { AggregateState(distinct: $0.distinct) })
                }
            } else if !groupKeys.isEmpty {
                var key: [Value] = []
                key.reserveCapacity(groupKeys.count)
                for k in groupKeys { key.append(try k(frame)) }
                let hk = HashKey(key)
                if let existing = groupIndex[hk] {
                    g = existing
                } else {
                    g = representatives.count
                    groupIndex[hk] = g
                    representatives.append(r)
                    states.append(contentsOf: aggregates.map { AggregateState(distinct: $0.distinct) })
                }
            }
            var bareUpdated = false
            for a in 0..<nAgg {
                let changed = try states[g * nAgg + a].step(aggregates[a], frame)
                if a == bareFromAggregate && changed { bareUpdated = true }
            }
            if bareFromAggregate == nil || bareUpdated { representatives[g] = r }
        }
        var out: [[Value]] = []
        out.reserveCapacity(representatives.count)
        for g in representatives.indices {
            var row = representatives[g]
            for a in 0..<nAgg { row.append(try states[g * nAgg + a].finish(aggregates[a])) }
            out.append(row)
        }
        return out
    }
}

/// A hashable grouping/join key (values compare as SQLite does: 1 and 1.0 are equal).
struct HashKey: Hashable {
    let values: [Value]

    init(_ values: [Value]) {
        self.values = values
    }
}

