import QueryCore

/// `column <op> constant` evaluated over a segment's typed column arrays: the columnar fast path
/// of filters on base tables (no closures, no `Value` per row for integer, real and text columns).
struct ColumnPredicate {
    /// The column index in the source's rows (and segment).
    var column: Int
    /// One of `=`, `<>`, `<`, `<=`, `>`, `>=`, or `LIKE` / `NOT LIKE` with a `prefix%` pattern.
    var op: String
    /// The constant, already converted by the comparison's affinity (never NULL).
    var constant: Value
    /// For `column [NOT] IN (uncorrelated subquery)` (`op` is `IN`): the subquery's values.
    var membership: Membership? = nil

    /// The rows of `selection` (ascending row indices) that satisfy the predicate.
    func select(_ segment: Segment, _ selection: [Int], _ frame: Frame) throws(QueryError) -> [Int] {
        if let membership { return try membership.select(segment.columns[column], selection, frame) }
        return select(segment, selection)
    }

    /// The rows of the segment (ascending) that satisfy every predicate, tested in order.
    static func select(_ predicates: [ColumnPredicate], _ segment: Segment, _ frame: Frame) throws(QueryError) -> [Int] {
        guard let first = predicates.first else { return Array(0..<segment.rowCount) }
        var selection = try first.selectAll(segment, frame)
        for predicate in predicates.dropFirst() { selection = try predicate.select(segment, selection, frame) }
        return selection
    }

    /// The rows of the whole segment that satisfy the predicate (ascending).
    func selectAll(_ segment: Segment, _ frame: Frame) throws(QueryError) -> [Int] {
        if let membership { return try membership.select(segment.columns[column], 0..<segment.rowCount, frame) }
        return select(segment, 0..<segment.rowCount)
    }

    /// The rows of `selection` (ascending row indices) that satisfy a comparison or LIKE predicate.
    private func select<Rows: Collection<Int>>(_ segment: Segment, _ selection: Rows) -> [Int] {
        let column = segment.columns[self.column]
        let nulls = column.nulls
        var out: [Int] = []
        out.reserveCapacity(selection.count)
        @inline(__always) func keep(_ c: Int) -> Bool {
            switch op {
            case "=": c == 0
            case "<>": c != 0
            case "<": c < 0
            case "<=": c <= 0
            case ">": c > 0
            default: c >= 0
            }
        }
        if op == "LIKE" || op == "NOT LIKE" {
            return selectLike(column, selection, negated: op == "NOT LIKE")
        }
        switch (column.storage, constant) {
        case (.integer(let values), .integer(let k)):
            values.withUnsafeBufferPointer { v in
                switch op {
                case "=": for i in selection where v[i] == k && !(nulls?.isNull(i) ?? false) { out.append(i) }
                case "<>": for i in selection where v[i] != k && !(nulls?.isNull(i) ?? false) { out.append(i) }
                case "<": for i in selection where v[i] < k && !(nulls?.isNull(i) ?? false) { out.append(i) }
                case "<=": for i in selection where v[i] <= k && !(nulls?.isNull(i) ?? false) { out.append(i) }
                case ">": for i in selection where v[i] > k && !(nulls?.isNull(i) ?? false) { out.append(i) }
                default: for i in selection where v[i] >= k && !(nulls?.isNull(i) ?? false) { out.append(i) }
                }
            }
        case (.integer(let values), .real(let k)):
            for i in selection where !(nulls?.isNull(i) ?? false) && keep(Value.compareIntDouble(values[i], k)) { out.append(i) }
        case (.real(let values), .real(let k)):
            for i in selection where !(nulls?.isNull(i) ?? false) && keep(Value.compareDoubles(values[i], k)) { out.append(i) }
        case (.real(let values), .integer(let k)):
            for i in selection where !(nulls?.isNull(i) ?? false) && keep(-Value.compareIntDouble(k, values[i])) { out.append(i) }
        case (.text(let text), .text(let k)):
            var key = k
            key.withUTF8 { kb in
                text.bytes.withUnsafeBufferPointer { bytes in
                    for i in selection where !(nulls?.isNull(i) ?? false) {
                        let start = Int(text.offsets[i]), end = Int(text.offsets[i + 1])
                        let c = Value.compareBytes(UnsafeBufferPointer(rebasing: bytes[start..<end]), kb)
                        if keep(c) { out.append(i) }
                    }
                }
            }
        default:
            for i in selection {
                let v = column[i]
                if !v.isNull && keep(Value.compare(v, constant)) { out.append(i) }
            }
        }
        return out
    }

    /// `LIKE 'prefix%'` (SQLite's ASCII case folding) over the selected rows; NULLs never match.
    private func selectLike<Rows: Collection<Int>>(_ column: Column, _ selection: Rows, negated: Bool) -> [Int] {
        let nulls = column.nulls
        guard case .text(let pattern) = constant else { return [] }
        let patternBytes = Array(pattern.utf8)
        @inline(__always) func fold(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b + 32 : b }
        let prefix = patternBytes.dropLast().map(fold)
        var out: [Int] = []
        out.reserveCapacity(selection.count)
        switch column.storage {
        case .text(let text):
            text.bytes.withUnsafeBufferPointer { bytes in
                for i in selection where !(nulls?.isNull(i) ?? false) {
                    let start = Int(text.offsets[i]), end = Int(text.offsets[i + 1])
                    var match = end - start >= prefix.count
                    if match {
                        for j in 0..<prefix.count where fold(bytes[start + j]) != prefix[j] {
                            match = false
                            break
                        }
                    }
                    if match != negated { out.append(i) }
                }
            }
        default:
            for i in selection {
                let v = column[i]
                if v.isNull { continue }
                if PatternMatch.like(Array(SQLValue.text(v).utf8), patternBytes, escape: nil) != negated { out.append(i) }
            }
        }
        return out
    }
}

/// `x [NOT] IN (subquery)` where the subquery reads no enclosing row: its values are computed once
/// per execution, and a column is tested against them with a typed probe (a bitmap or a set of
/// integers for integer columns).
final class Membership {
    /// The subquery's values (after the comparison affinity), whether it returned a NULL, and
    /// whether it returned no rows; cached by the compiled expression.
    let values: (Frame) throws(QueryError) -> (Set<Value>, Bool, Bool)
    /// The affinity applied to the tested column's values.
    let affinity: Affinity
    let negated: Bool

    init(values: @escaping (Frame) throws(QueryError) -> (Set<Value>, Bool, Bool), affinity: Affinity, negated: Bool) {
        self.values = values
        self.affinity = affinity
        self.negated = negated
    }

    /// The rows of `selection` for which `column [NOT] IN (…)` is true (SQLite's three-valued rules:
    /// a NULL operand, or a miss when the subquery returned a NULL, is not true).
    func select<Rows: Collection<Int>>(_ column: Column, _ selection: Rows, _ frame: Frame) throws(QueryError) -> [Int] {
        // Like the row path, the subquery runs only if some row reaches this test.
        if selection.isEmpty { return [] }
        let (set, hasNull, isEmpty) = try values(frame)
        if isEmpty { return negated ? Array(selection) : [] }
        let nulls = column.nulls
        // A row is kept when found != negated, except that a miss with a NULL in the set is NULL.
        let keepMiss = negated && !hasNull
        let keepHit = !negated
        var out: [Int] = []
        if case .integer(let values) = column.storage, affinity != .text, affinity != .real {
            // Integer values are unchanged by the affinity: only integer-valued members can match.
            var members: [Int64] = []
            for v in set {
                switch v {
                case .integer(let i): members.append(i)
                case .real(let d): if let i = Value.exactInteger(d) { members.append(i) }
                case .boolean(let b): members.append(b ? 1 : 0)
                default: break
                }
            }
            let low = members.min() ?? 0, high = members.max() ?? 0
            let (span, overflow) = high.subtractingReportingOverflow(low)
            if !members.isEmpty, !overflow, span < 1 << 26 {
                var bits = [UInt64](repeating: 0, count: Int(span) / 64 + 1)
                for m in members {
                    let o = Int(m - low)
                    bits[o >> 6] |= 1 << UInt64(o & 63)
                }
                values.withUnsafeBufferPointer { v in
                    for i in selection {
                        if let nulls, nulls.isNull(i) { continue }
                        let (o, overflow) = v[i].subtractingReportingOverflow(low)
                        let hit = !overflow && o >= 0 && o <= span && bits[Int(o) >> 6] & (1 << UInt64(Int(o) & 63)) != 0
                        if hit ? keepHit : keepMiss { out.append(i) }
                    }
                }
            } else {
                let integers = Set(members)
                for i in selection where !(nulls?.isNull(i) ?? false) {
                    if integers.contains(values[i]) ? keepHit : keepMiss { out.append(i) }
                }
            }
            return out
        }
        for i in selection {
            let v = affinity.apply(column[i])
            if v.isNull { continue }
            if set.contains(v) ? keepHit : keepMiss { out.append(i) }
        }
        return out
    }
}
