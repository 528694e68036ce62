import QueryCore

/// The state of an ``AggregatingInput``: groups, their accumulators, and the window's entries,
/// all in arrays of plain values so an update is one exclusive access to the input's one stored
/// property and allocates nothing unless it produces a row.
///
/// - Groups are numbered by a ``GroupTable`` over the typed key values (a single field is read
///   in place; no `GroupKey` is built).
/// - `count`, `sum`, `avg` and `total` (not `distinct`) keep a ``RunningSum`` per group and
///   aggregate in one flat array; other aggregates keep the general ``Accumulator``.
/// - Aggregate arguments and the single `GROUP BY` field that are plain fields are read from the
///   event directly; `WHERE` runs as an ``EventPredicate``.
/// - `HAVING` conjuncts `aggregate op constant` are checked against the one aggregate they read;
///   the aggregate values and the result row are built only for groups that pass.
struct FlatAggregationState {
    /// One event held by the window.
    private struct Entry {
        /// When it entered, in nanoseconds since the epoch.
        var time: Int64
        /// Its group, or -1 if it did not pass `WHERE` (it still occupies a length window slot).
        var group: Int32
        var sequence: UInt64
    }

    /// Where an aggregate's argument comes from.
    private enum Argument {
        /// `count(*)`: no argument.
        case row
        /// A field of the event.
        case field(Int)
        /// Any other expression over the event.
        case expression(CompiledExpression)
    }

    /// How an aggregate is kept.
    private enum Kind {
        /// `count(*)` or `count(x)`: the ``RunningSum``'s count.
        case count
        /// `sum`, `avg`, `total`: the ``RunningSum``.
        case sum(AggregateFunction)
        /// `min`, `max` and `distinct` aggregates: an ``Accumulator``.
        case general
    }

    /// How the group key is found.
    private enum Key {
        /// No `GROUP BY`: one group, number 0.
        case none
        /// `GROUP BY field`.
        case field(Int)
        /// `GROUP BY expression`.
        case expression(CompiledExpression)
        /// Several `GROUP BY` expressions.
        case many([CompiledExpression])
    }

    let plan: StreamSelectPlan
    let window: AggregatingInput.Window
    private let wherePredicate: EventPredicate?
    private let key: Key
    private let specs: [StreamAggregateSpec]
    private let arguments: [Argument]
    private let kinds: [Kind]
    private let usesGeneral: Bool
    private let having: AggregateCondition?
    private let selectExpressions: [CompiledExpression]
    private let fifo: Bool
    private let retains: Bool
    /// Aggregates per group.
    private let k: Int

    private var groups: GroupTable
    private var rowCounts: [Int] = []
    private var representatives: [Event?] = []
    /// `k` per group; the slots of ``Kind/general`` aggregates are unused.
    private var sums: [RunningSum] = []
    /// `k` per group when some aggregate is ``Kind/general``, else empty.
    private var accumulators: [Accumulator] = []
    private var touchStamps: [UInt64] = []
    private var stamp: UInt64 = 0
    /// The groups the current update touched: the first ``touchedCount`` entries (the array is
    /// reused, never shrunk).
    private var touched: [Int32] = []
    private var touchedCount = 0
    private var keyScratch: [Value] = []
    /// Set when the statement stops: nothing enters or leaves any more.
    var stopped = false

    private var entries = RingBuffer<Entry>()
    /// Aggregate arguments of the held events, `k` per event.
    private var heldArguments = RingBuffer<Value>()

    init(plan: StreamSelectPlan, window: AggregatingInput.Window) {
        self.plan = plan
        self.window = window
        self.wherePredicate = plan.whereClause.map(EventPredicate.init)
        switch plan.groupBy.count {
        case 0: key = .none
        case 1:
            if case .field(0, let c) = plan.groupBy[0] { key = .field(c) } else { key = .expression(plan.groupBy[0]) }
        default: key = .many(plan.groupBy)
        }
        self.specs = plan.aggregates
        self.k = plan.aggregates.count
        self.arguments = plan.aggregates.map { (spec) -> Argument in
            switch spec.argument {
            case nil: return .row
            case .field(0, let c)?: return .field(c)
            case let e?: return .expression(e)
            }
        }
        let kinds = plan.aggregates.map { (spec) -> Kind in
            if spec.distinct { return .general }
            switch spec.function {
            case .count: return .count
            case .sum, .avg, .total: return .sum(spec.function)
            case .min, .max: return .general
            }
        }
        self.kinds = kinds
        self.usesGeneral = kinds.contains { if case .general = $0 { return true } else { return false } }
        self.having = plan.having.map(AggregateCondition.init)
        self.selectExpressions = plan.selectExpressions
        self.fifo = plan.fifo
        if case .none = window { retains = false } else { retains = true }
        self.groups = GroupTable(width: plan.groupBy.count)
        self.keyScratch = [Value](repeating: .null, count: plan.groupBy.count)
        if plan.groupBy.isEmpty { addGroupStorage(0) }
    }

    // MARK: Events

    /// Returns the result rows and whether the event entered a time window (so needs an expiry).
    mutating func consume(_ event: Event, now: Instant) -> ([[Value]], Bool) {
        if stopped { return ([], false) }
        var leaving = 0
        switch window {
        case .none: break
        case .length(let n): leaving = entries.count >= n ? entries.count - n + 1 : 0
        case .time(let d): leaving = due(at: now.nanosecondsSinceEpoch, duration: d)
        }
        return update(leaving: leaving, entering: event, now: now)
    }

    mutating func expire(at time: Instant) -> [[Value]] {
        guard !stopped, case .time(let d) = window else { return [] }
        let n = due(at: time.nanosecondsSinceEpoch, duration: d)
        return n > 0 ? update(leaving: n, entering: nil, now: time).0 : []
    }

    /// How many held events have expired by `t`.
    @inline(__always)
    private func due(at t: Int64, duration: Int64) -> Int {
        var n = 0
        while n < entries.count, entries[n].time &+ duration <= t { n += 1 }
        return n
    }

    /// One window update: the `leaving` oldest events leave, then `entering` enters; returns one
    /// result row per touched group that satisfies `HAVING`, and whether `entering` entered a time
    /// window.
    private mutating func update(leaving: Int, entering: Event?, now: Instant) -> ([[Value]], Bool) {
        stamp &+= 1
        touchedCount = 0
        var entered = false
        for _ in 0..<leaving {
            let entry = entries.popFirst()!
            let g = entry.group
            if g >= 0 {
                let gi = Int(g)
                rowCounts[gi] -= 1
                for a in 0..<k {
                    let v = heldArguments.popFirst()!
                    leave(v, slot: gi &* k &+ a, aggregate: a, sequence: entry.sequence)
                }
                touch(g)
            } else {
                for _ in 0..<k { heldArguments.popFirst() }
            }
        }
        if let event = entering {
            var group: Int32 = -1
            if wherePredicate?.isTrue(event) ?? true {
                let g = groupNumber(for: event)
                let gi = Int(g)
                rowCounts[gi] += 1
                representatives[gi] = event
                for a in 0..<k {
                    let v: Value
                    switch arguments[a] {
                    case .row: v = .null
                    case .field(let c): v = c < event.values.count ? event.values[c] : .null
                    case .expression(let e): v = e.evaluate(.one(event))
                    }
                    enter(v, slot: gi &* k &+ a, aggregate: a, sequence: event.sequence)
                    if retains { heldArguments.append(v) }
                }
                touch(g)
                group = g
            }
            switch window {
            case .none: break
            case .length:
                if group < 0 { for _ in 0..<k { heldArguments.append(.null) } }
                entries.append(Entry(time: now.nanosecondsSinceEpoch, group: group, sequence: event.sequence))
            case .time:
                if group >= 0 {
                    entries.append(Entry(time: now.nanosecondsSinceEpoch, group: group, sequence: event.sequence))
                    entered = true
                }
            }
        }
        if touchedCount == 0 { return ([], entered) }
        var rows: [[Value]] = []
        for t in 0..<touchedCount {
            let g = touched[t]
            if passesHaving(g) { rows.append(resultRow(g)) }
            if case .none = key {} else if rowCounts[Int(g)] <= 0 { releaseGroup(g) }
        }
        return (rows, entered)
    }

    @inline(__always)
    private mutating func enter(_ v: Value, slot: Int, aggregate a: Int, sequence: UInt64) {
        if case .row = arguments[a] {
            // `count(*)`: every row counts.
            if case .general = kinds[a] { enterGeneralRow(slot) } else { sums[slot].count += 1 }
            return
        }
        switch kinds[a] {
        case .count: if !v.isNull { sums[slot].count += 1 }
        case .sum: if !v.isNull { sums[slot].add(v) }
        case .general: enterGeneral(v, slot: slot, sequence: sequence)
        }
    }

    @inline(__always)
    private mutating func leave(_ v: Value, slot: Int, aggregate a: Int, sequence: UInt64) {
        if case .row = arguments[a] {
            if case .general = kinds[a] { leaveGeneralRow(slot) } else { sums[slot].count -= 1 }
            return
        }
        switch kinds[a] {
        case .count: if !v.isNull { sums[slot].count -= 1 }
        case .sum: if !v.isNull { sums[slot].remove(v) }
        case .general: leaveGeneral(v, slot: slot, sequence: sequence)
        }
    }

    // The general accumulators stay out of line: inlined, the optimiser hoists making their
    // (usually empty, so never uniquely referenced) array mutable to the top of every update,
    // which copies it each time.
    @inline(never)
    private mutating func enterGeneral(_ v: Value, slot: Int, sequence: UInt64) {
        accumulators[slot].enter(v, sequence: sequence)
    }

    @inline(never)
    private mutating func enterGeneralRow(_ slot: Int) { accumulators[slot].enterRow() }

    @inline(never)
    private mutating func leaveGeneralRow(_ slot: Int) { accumulators[slot].leaveRow() }

    @inline(never)
    private mutating func leaveGeneral(_ v: Value, slot: Int, sequence: UInt64) {
        accumulators[slot].leave(v, sequence: sequence)
    }

    @inline(__always)
    private mutating func touch(_ g: Int32) {
        if touchStamps[Int(g)] != stamp {
            touchStamps[Int(g)] = stamp
            if touchedCount < touched.count { touched[touchedCount] = g } else { touched.append(g) }
            touchedCount += 1
        }
    }

    // MARK: Results

    /// The current value of aggregate `a` of group `g`.
    @inline(__always)
    private func aggregateValue(_ g: Int32, _ a: Int) -> Value {
        let slot = Int(g) &* k &+ a
        switch kinds[a] {
        case .count: return .integer(sums[slot].count)
        case .sum(let function): return sums[slot].value(function)
        case .general: return accumulators[slot].value
        }
    }

    private func aggregateValues(_ g: Int32) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(k)
        for a in 0..<k { values.append(aggregateValue(g, a)) }
        return values
    }

    /// Whether group `g` satisfies `HAVING` (as `CompiledExpression.isTrue(row, aggregates)` would
    /// say): comparisons of one aggregate with a constant read just that aggregate.
    @inline(__always)
    private func passesHaving(_ g: Int32) -> Bool {
        guard let having else { return true }
        var values: [Value]? = nil
        for part in having.parts {
            switch part {
            case .compare(let slot, let test, let constant):
                guard slot < k else { return false }
                if !AggregateCondition.holds(aggregateValue(g, slot), test, constant) { return false }
            case .general(let e):
                if values == nil { values = aggregateValues(g) }
                if !e.isTrue(representatives[Int(g)].map { Row.one($0) }, values!) { return false }
            }
        }
        return true
    }

    /// The select list for group `g`.
    private func resultRow(_ g: Int32) -> [Value] {
        let values = aggregateValues(g)
        let source = representatives[Int(g)].map { Row.one($0) }
        return selectExpressions.map { $0.evaluate(source, values) }
    }

    // MARK: Groups

    private mutating func groupNumber(for event: Event) -> Int32 {
        let found: (Int32, Bool)
        switch key {
        case .none: return 0
        case .field(let c):
            found = groups.group(for: c < event.values.count ? event.values[c] : .null)
        case .expression(let e):
            found = groups.group(for: e.evaluate(.one(event)))
        case .many(let expressions):
            let row = Row.one(event)
            for j in expressions.indices { keyScratch[j] = expressions[j].evaluate(row) }
            found = keyScratch.withUnsafeBufferPointer { groups.group(for: $0) }
        }
        let (g, isNew) = found
        if isNew { addGroupStorage(g) }
        return g
    }

    /// Fresh per-group state for a new group number (appended, or reset when reused).
    private mutating func addGroupStorage(_ g: Int32) {
        let gi = Int(g)
        if gi == rowCounts.count {
            rowCounts.append(0)
            representatives.append(nil)
            touchStamps.append(0)
            for _ in 0..<k { sums.append(RunningSum()) }
            if usesGeneral { for a in 0..<k { accumulators.append(Accumulator(specs[a], fifo: fifo)) } }
        } else {
            rowCounts[gi] = 0
            representatives[gi] = nil
            for a in 0..<k { sums[gi &* k &+ a] = RunningSum() }
            if usesGeneral { for a in 0..<k { accumulators[gi &* k &+ a] = Accumulator(specs[a], fifo: fifo) } }
        }
    }

    private mutating func releaseGroup(_ g: Int32) {
        groups.release(g)
        representatives[Int(g)] = nil
    }

    /// The number of live groups.
    var groupCount: Int {
        if case .none = key { return 0 }
        return groups.count
    }
}

/// A `HAVING` condition evaluated on a group's aggregate values: conjuncts `aggregate op constant`
/// (`avg(cpu) > 90`) compare the value in place; anything else is evaluated as an expression over
/// the group's representative row. Gives exactly what `CompiledExpression.isTrue(row, aggregates)`
/// gives.
struct AggregateCondition {
    enum Part {
        case compare(slot: Int, test: EventPredicate.Test, constant: Value)
        case general(CompiledExpression)
    }

    let parts: [Part]

    init(_ expression: CompiledExpression) {
        parts = expression.conjuncts.map { e in
            guard case .compare(let op, let l, let r) = e, let test = EventPredicate.Test(op) else { return .general(e) }
            switch (l, r) {
            case (.aggregate(let slot), .constant(let v)) where !v.isNull:
                return .compare(slot: slot, test: test, constant: v)
            case (.constant(let v), .aggregate(let slot)) where !v.isNull:
                return .compare(slot: slot, test: test.mirrored, constant: v)
            default:
                return .general(e)
            }
        }
    }

    /// Whether `v test constant` holds (a `NULL` value never does), comparing as
    /// ``Value/compare(_:_:)`` does, with the numeric cases inline.
    @inline(__always)
    static func holds(_ v: Value, _ test: EventPredicate.Test, _ constant: Value) -> Bool {
        switch (v, constant) {
        case (.null, _): return false
        case (.real(let a), .integer(let b)): return test.holds(-Value.compareIntDouble(b, a))
        case (.real(let a), .real(let b)): return test.holds(Value.compareDoubles(a, b))
        case (.integer(let a), .integer(let b)): return test.holds(a < b ? -1 : (a == b ? 0 : 1))
        default: return test.holds(Value.compare(v, constant))
        }
    }

    func isTrue(_ aggregates: [Value], _ representative: Event?) -> Bool {
        for part in parts {
            switch part {
            case .compare(let slot, let test, let constant):
                guard slot < aggregates.count else { return false }
                if !Self.holds(aggregates[slot], test, constant) { return false }
            case .general(let e):
                if !e.isTrue(representative.map { Row.one($0) }, aggregates) { return false }
            }
        }
        return true
    }
}
