import QueryCore

/// The running state of one aggregate over one group, with SQLite's results.
struct AggregateState {
    var count = 0
    var integerSum: Int64 = 0
    var realSum = 0.0
    var approximate = false
    var overflow = false
    var best: Value = .null
    var text: [UInt8] = []
    var seen: Set<Value>?

    init(distinct: Bool) {
        if distinct { seen = [] }
    }

    /// Adds the current row; returns whether a min()/max() result changed.
    mutating func step(_ spec: AggregateSpec, _ frame: Frame) throws(QueryError) -> Bool {
        if spec.kind == .countStar {
            count += 1
            return false
        }
        let v = try spec.arguments[0](frame)
        if spec.kind == .groupConcat {
            // The separator is evaluated only for values that are added (as SQLite does).
            if v.isNull { return false }
            if seen != nil, !seen!.insert(v).inserted { return false }
            var separator: Value = .text(",")
            if spec.arguments.count > 1 { separator = try spec.arguments[1](frame) }
            if count > 0, !separator.isNull { text.append(contentsOf: SQLValue.text(separator).utf8) }
            text.append(contentsOf: SQLValue.text(v).utf8)
            count += 1
            return false
        }
        return add(v, spec.kind)
    }

    /// Adds one argument value (already evaluated); returns whether a min()/max() result changed.
    mutating func add(_ v: Value, _ kind: AggregateSpec.Kind) -> Bool {
        if kind == .countStar {
            count += 1
            return false
        }
        if v.isNull { return false }
        if seen != nil {
            if !seen!.insert(v).inserted { return false }
        }
        switch kind {
        case .countStar, .count:
            count += 1
        case .sum, .total, .avg:
            count += 1
            var numeric = v
            if case .text(let s) = v { numeric = SQLValue.parseNumber(s, requireWhole: true) ?? v }
            switch numeric {
            case .integer(let i):
                realSum += Double(i)
                if !approximate && !overflow {
                    let (r, o) = integerSum.addingReportingOverflow(i)
                    if o { overflow = true } else { integerSum = r }
                }
            case .boolean(let b):
                realSum += b ? 1 : 0
                if !approximate && !overflow { integerSum += b ? 1 : 0 }
            default:
                realSum += SQLValue.double(numeric) ?? 0
                approximate = true
            }
        case .min:
            if best.isNull || Value.compare(v, best) < 0 {
                best = v
                return true
            }
        case .max:
            if best.isNull || Value.compare(v, best) > 0 {
                best = v
                return true
            }
        case .groupConcat:
            if count > 0 { text.append(UInt8(ascii: ",")) }
            text.append(contentsOf: SQLValue.text(v).utf8)
            count += 1
        }
        return false
    }

    /// The aggregate's result.
    func finish(_ spec: AggregateSpec) throws(QueryError) -> Value {
        switch spec.kind {
        case .countStar, .count:
            return .integer(Int64(count))
        case .sum:
            if count == 0 { return .null }
            if overflow { throw QueryError(.runtimeError, "integer overflow") }
            if approximate { return .real(realSum) }
            return .integer(integerSum)
        case .total:
            return .real(realSum)
        case .avg:
            if count == 0 { return .null }
            return .real(realSum / Double(count))
        case .min, .max:
            return best
        case .groupConcat:
            if count == 0 { return .null }
            return .text(String(decoding: text, as: UTF8.self))
        }
    }
}
