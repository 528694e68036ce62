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

    /// The rows of `selection` (ascending row indices) that satisfy the predicate.
    func select(_ segment: Segment, _ selection: [Int]) -> [Int] {
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
    private func selectLike(_ column: Column, _ selection: [Int], negated: Bool) -> [Int] {
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
