import QueryCore

/// An `ORDER BY` key: a result column (by alias or ordinal) or an expression over the row.
enum OrderKey: Sendable {
    case column(Int)
    case expression(CompiledExpression)
}

/// A compiled `SELECT`: what each part of the statement does, independent of where rows come from.
struct StreamSelectPlan: Sendable {
    var columns: [String]
    var selectExpressions: [CompiledExpression]
    var whereClause: CompiledExpression?
    var groupBy: [CompiledExpression]
    var having: CompiledExpression?
    var aggregates: [StreamAggregateSpec]
    var orderBy: [(OrderKey, descending: Bool)]
    var distinct: Bool
    var limit: Int?
    var output: EPLOutput?
    /// Whether there are aggregates or a `GROUP BY`.
    var isAggregated: Bool
    /// Whether the select list reads fields outside aggregates that are not grouped (then a row is
    /// produced per arriving row rather than per group).
    var hasUngroupedProperties: Bool
    /// Whether rows leave aggregates in the order they entered (monotonic min/max).
    var fifo: Bool
    /// Number of row positions.
    var width: Int
}

/// A group's key: one value without an array for the common single `GROUP BY` expression.
enum GroupKey: Hashable {
    case one(Value)
    case many([Value])

    init(_ values: [Value]) { self = values.count == 1 ? .one(values[0]) : .many(values) }

    var values: [Value] {
        switch self {
        case .one(let v): [v]
        case .many(let vs): vs
        }
    }
}

/// A result row on its way out, with what `ORDER BY` and `output last` need.
struct OutputCandidate: Sendable {
    var values: [Value]
    var sortKeys: [Value]
    var groupKey: [Value]?
}

/// Turns rows entering and leaving a statement into output: `WHERE`, incremental aggregation per
/// group, `HAVING`, the select list, then `output` rate limiting, `DISTINCT`, `ORDER BY`, `LIMIT`.
///
/// Output rules (as in Esper's default insert stream):
/// - without aggregates, each row that enters (and passes `WHERE`) produces a result row;
/// - fully aggregated statements produce one row per update (ungrouped) or one row per group the
///   update touched (grouped) — on enter and on leave, so an expiring window also triggers;
/// - aggregated statements that also select ungrouped fields produce one row per entering row,
///   with the aggregates after the update.
final class RowPipeline {
    let plan: StreamSelectPlan
    private var groups: [GroupKey: GroupState] = [:]
    private var ungrouped: GroupState?
    private var stamp: UInt64 = 0
    var limiter: OutputLimiter?
    /// The rows currently retained (for `output snapshot`), supplied by the statement.
    var currentRows: () -> [Row] = { [] }
    /// Receives finished result rows.
    var emit: ([[Value]], StreamEngine) -> Void = { _, _ in }

    /// The statement compiled for single events, when it reads one stream and has no aggregates.
    let eventFilter: EventFilter?

    init(plan: StreamSelectPlan) {
        self.plan = plan
        self.eventFilter = EventFilter(plan)
        if plan.isAggregated && plan.groupBy.isEmpty {
            ungrouped = GroupState(key: [], specs: plan.aggregates, fifo: plan.fifo)
        }
    }

    /// Applies one update. `silent` loads state without producing output (a statement joining a
    /// named window that already holds events).
    func process(entered: [Row], left: [Row], engine: StreamEngine, silent: Bool = false) {
        var entered = entered, left = left
        if let w = plan.whereClause {
            entered.removeAll { !w.isTrue($0) }
            left.removeAll { !w.isTrue($0) }
        }
        if entered.isEmpty && left.isEmpty { return }
        var candidates: [OutputCandidate] = []
        if !plan.isAggregated {
            if silent { return }
            for row in entered {
                if let c = candidate(row, [], nil) { candidates.append(c) }
            }
        } else {
            stamp &+= 1
            var touched: [GroupState] = []
            var enteredGroups: [GroupState] = []
            for row in left {
                guard let group = group(for: row, create: false) else { continue }
                group.leave(row, specs: plan.aggregates, sequence: row.event(0)?.sequence ?? 0)
                if group.touchedStamp != stamp {
                    group.touchedStamp = stamp
                    touched.append(group)
                }
            }
            for row in entered {
                let group = group(for: row, create: true)!
                group.enter(row, specs: plan.aggregates, sequence: row.event(0)?.sequence ?? 0)
                if group.touchedStamp != stamp {
                    group.touchedStamp = stamp
                    touched.append(group)
                }
                enteredGroups.append(group)
            }
            if !silent {
                if plan.hasUngroupedProperties {
                    for (row, group) in zip(entered, enteredGroups) {
                        if let c = candidate(row, group.values, group.key) { candidates.append(c) }
                    }
                } else {
                    for group in touched {
                        if let c = candidate(group.representative, group.values, group.key) { candidates.append(c) }
                    }
                }
            }
            if !plan.groupBy.isEmpty {
                for group in touched where group.rowCount <= 0 { groups.removeValue(forKey: GroupKey(group.key)) }
            }
        }
        if silent || candidates.isEmpty && limiter == nil { return }
        if let limiter {
            limiter.offer(candidates, pipeline: self, engine: engine)
        } else {
            release(candidates, engine: engine)
        }
    }

    /// Whether single-row updates can skip the general path (no rate limiting, ordering,
    /// `DISTINCT`, `LIMIT`, or per-row output of aggregated statements).
    var allowsFastPath: Bool {
        limiter == nil && !plan.distinct && plan.orderBy.isEmpty && plan.limit == nil && !plan.hasUngroupedProperties
    }

    /// One row entering or leaving: the same result as ``process(entered:left:engine:silent:)``
    /// with one row, without its intermediate arrays.
    func processOne(_ row: Row, entering: Bool, engine: StreamEngine) {
        if let w = plan.whereClause, !w.isTrue(row) { return }
        if !plan.isAggregated {
            guard entering else { return }
            if let having = plan.having, !having.isTrue(row) { return }
            emit([plan.selectExpressions.map { $0.evaluate(row) }], engine)
            return
        }
        guard let group = group(for: row, create: entering) else { return }
        let sequence = row.event(0)?.sequence ?? 0
        if entering {
            group.enter(row, specs: plan.aggregates, sequence: sequence)
        } else {
            group.leave(row, specs: plan.aggregates, sequence: sequence)
        }
        let aggregates = group.values
        let source = group.representative
        if !plan.groupBy.isEmpty && group.rowCount <= 0 { groups.removeValue(forKey: GroupKey(group.key)) }
        if let having = plan.having, !having.isTrue(source, aggregates) { return }
        emit([plan.selectExpressions.map { $0.evaluate(source, aggregates) }], engine)
    }

    private func group(for row: Row, create: Bool) -> GroupState? {
        if let ungrouped { return ungrouped }
        let key: GroupKey =
            plan.groupBy.count == 1 ? .one(plan.groupBy[0].evaluate(row)) : .many(plan.groupBy.map { $0.evaluate(row) })
        if let g = groups[key] { return g }
        guard create else { return nil }
        let g = GroupState(key: key.values, specs: plan.aggregates, fifo: plan.fifo)
        groups[key] = g
        return g
    }

    private func candidate(_ row: Row?, _ aggregates: [Value], _ groupKey: [Value]?) -> OutputCandidate? {
        if let having = plan.having, !having.isTrue(row, aggregates) { return nil }
        let values = plan.selectExpressions.map { $0.evaluate(row, aggregates) }
        var sortKeys: [Value] = []
        if !plan.orderBy.isEmpty {
            sortKeys = plan.orderBy.map { key, _ in
                switch key {
                case .column(let i): values[i]
                case .expression(let e): e.evaluate(row, aggregates)
                }
            }
        }
        return OutputCandidate(values: values, sortKeys: sortKeys, groupKey: groupKey)
    }

    /// The statement's full current result (for `output snapshot`).
    func snapshot() -> [OutputCandidate] {
        var result: [OutputCandidate] = []
        if !plan.isAggregated || plan.hasUngroupedProperties {
            for row in currentRows() where plan.whereClause?.isTrue(row) ?? true {
                if plan.isAggregated {
                    let key = GroupKey(plan.groupBy.map { $0.evaluate(row) })
                    guard let group = ungrouped ?? groups[key] else { continue }
                    if let c = candidate(row, group.values, group.key) { result.append(c) }
                } else if let c = candidate(row, [], nil) {
                    result.append(c)
                }
            }
        } else if let ungrouped {
            if let c = candidate(ungrouped.representative, ungrouped.values, []) { result.append(c) }
        } else {
            for group in groups.values.sorted(by: { Self.keyLess($0.key, $1.key) }) where group.rowCount > 0 {
                if let c = candidate(group.representative, group.values, group.key) { result.append(c) }
            }
        }
        return result
    }

    private static func keyLess(_ a: [Value], _ b: [Value]) -> Bool {
        for (x, y) in zip(a, b) {
            let c = Value.compare(x, y)
            if c != 0 { return c < 0 }
        }
        return a.count < b.count
    }

    /// Applies `DISTINCT`, `ORDER BY` and `LIMIT` and emits the rows, if any.
    func release(_ candidates: [OutputCandidate], engine: StreamEngine) {
        var rows = candidates
        if plan.distinct {
            var seen = Set<[Value]>()
            rows = rows.filter { seen.insert($0.values).inserted }
        }
        if !plan.orderBy.isEmpty {
            let order = plan.orderBy
            rows = rows.enumerated().sorted { a, b in
                for (i, key) in order.enumerated() {
                    let c = Value.compare(a.element.sortKeys[i], b.element.sortKeys[i])
                    if c != 0 { return key.descending ? c > 0 : c < 0 }
                }
                return a.offset < b.offset
            }.map(\.element)
        }
        if let limit = plan.limit, rows.count > limit { rows = Array(rows.prefix(limit)) }
        guard !rows.isEmpty else { return }
        emit(rows.map(\.values), engine)
    }
}

/// A single-stream statement without aggregates compiled for the per-event path: `WHERE` and
/// `HAVING` as ``EventPredicate``s and the select list as field slots, constants, or (otherwise)
/// expressions. ``result(_:)`` is the row ``RowPipeline/processOne(_:entering:engine:)`` emits
/// for an entering event, or `nil` where it emits nothing (a differential test checks this).
struct EventFilter: Sendable {
    enum Item: Sendable {
        case field(Int)
        case constant(Value)
        case expression(CompiledExpression)
    }

    let whereClause: EventPredicate?
    let having: EventPredicate?
    let items: [Item]

    init?(_ plan: StreamSelectPlan) {
        guard plan.width == 1, !plan.isAggregated else { return nil }
        whereClause = plan.whereClause.map(EventPredicate.init)
        having = plan.having.map(EventPredicate.init)
        items = plan.selectExpressions.map { e in
            switch e {
            case .field(0, let c): .field(c)
            case .constant(let v): .constant(v)
            default: .expression(e)
            }
        }
    }

    /// The result row for `event`, or `nil` if `WHERE` or `HAVING` rejects it.
    func result(_ event: Event) -> [Value]? {
        guard passes(event) else { return nil }
        var row: [Value] = []
        row.reserveCapacity(items.count)
        appendRow(event, to: &row)
        return row
    }

    /// Whether `WHERE` and `HAVING` accept `event`.
    @inline(__always)
    func passes(_ event: Event) -> Bool {
        if let whereClause, !whereClause.isTrue(event) { return false }
        if let having, !having.isTrue(event) { return false }
        return true
    }

    /// Appends the select list's values for `event` (which passed) to `values`.
    @inline(__always)
    func appendRow(_ event: Event, to values: inout [Value]) {
        for item in items {
            switch item {
            case .field(let c): values.append(c < event.values.count ? event.values[c] : .null)
            case .constant(let v): values.append(v)
            case .expression(let e): values.append(e.evaluate(.one(event)))
            }
        }
    }
}
