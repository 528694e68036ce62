import QueryCore

/// The input of a single-stream aggregating statement (`select k, avg(x) from S.win:time(20 sec)
/// group by k having …`), with its window and aggregate state kept flat.
///
/// It replaces a ``StreamInput`` plus the statement's ``RowPipeline`` for statements without a
/// join, named window, `output`, `DISTINCT`, `ORDER BY`, `LIMIT` or ungrouped fields in the select
/// list, over no window, `win:length(n)` or `win:time(d)`, and produces exactly the rows the general
/// path produces (a differential test checks this):
/// - groups are numbered; a hash map takes a group key to its number, and each group's
///   ``Accumulator``s sit in one array at `group × aggregates`;
/// - the window keeps, per event, only its time, group number, sequence and aggregate arguments
///   (a ring buffer), never the event itself, so an event leaving costs no lookup;
/// - time-window expiries go through the engine's shared ``ExpiryQueue`` for the window length
///   rather than one timer per statement;
/// - `HAVING` and the select list are evaluated only for the groups an update touched, against
///   the group's current aggregates.
final class AggregatingInput: EventConsumer {
    /// The window kinds this input supports.
    enum Window {
        case none
        case length(Int)
        /// Nanoseconds.
        case time(Int64)
    }

    // The statement owns its input and outlives it in the engine; a stopped input never touches it.
    unowned(unsafe) let statement: SelectStatementRuntime
    let window: Window
    /// All mutable state, in one struct so an update is one exclusive access rather than one per
    /// field touched (class properties are checked at run time).
    private var state: FlatAggregationState
    private let expiry: ExpiryQueue?
    private let expirySlot: Int32

    /// Whether a statement with this plan and window can use this input.
    static func supports(_ plan: StreamSelectPlan, window: WindowSpec) -> Window? {
        guard plan.width == 1, plan.isAggregated, !plan.hasUngroupedProperties, plan.output == nil, !plan.distinct,
            plan.orderBy.isEmpty, plan.limit == nil, plan.fifo,
            plan.whereClause?.isDeterministic ?? true, plan.groupBy.allSatisfy(\.isDeterministic)
        else { return nil }
        switch window {
        case .none: return Window.none
        case .length(let n): return .length(n)
        case .time(let ns): return .time(ns)
        default: return nil
        }
    }

    /// - Parameter expiry: the engine's expiry queue for the window's length (time windows).
    init(statement: SelectStatementRuntime, plan: StreamSelectPlan, window: Window, expiry: ExpiryQueue?) {
        self.statement = statement
        self.window = window
        self.state = FlatAggregationState(plan: plan, window: window)
        self.expiry = expiry
        self.expirySlot = expiry?.reserveSlot() ?? 0
        expiry?.bind(expirySlot, to: self)
    }

    func stop() {
        state = FlatAggregationState(plan: state.plan, window: window)
        state.stopped = true
    }

    var stopped: Bool { state.stopped }

    func consume(_ event: Event, engine: StreamEngine) {
        guard let now = engine.now else { return }
        let (rows, entered) = state.consume(event, now: now)
        if entered, case .time(let d) = window {
            expiry?.push(deadline: now.nanosecondsSinceEpoch &+ d, slot: expirySlot)
        }
        if !rows.isEmpty { engine.emit(statement, rows: rows) }
    }

    /// Called by the expiry queue when a deadline of this input's window passed.
    func expire(at time: Instant, engine: StreamEngine) {
        let rows = state.expire(at: time)
        if !rows.isEmpty { engine.emit(statement, rows: rows) }
    }

    /// The number of live groups (tests).
    var groupCount: Int { state.groupCount }
}

/// The state of an ``AggregatingInput``: groups, their accumulators, and the window's entries.
struct FlatAggregationState {
    /// One event held by the window.
    private struct Entry {
        /// When it entered, in nanoseconds since the epoch.
        var time: Int64
        /// Its group, or -1 if it did not pass `WHERE` (it still occupies a length window slot).
        var group: Int32
        var sequence: UInt64
    }

    let plan: StreamSelectPlan
    let window: AggregatingInput.Window
    private let whereClause: CompiledExpression?
    private let groupBy: [CompiledExpression]
    private let specs: [StreamAggregateSpec]
    private let arguments: [CompiledExpression?]
    private let having: AggregateCondition?
    private let selectExpressions: [CompiledExpression]
    private let fifo: Bool
    private let retains: Bool
    /// The single `GROUP BY` field, when the key is one field of the event.
    private let groupField: Int?

    private var groupIDs: [HashedGroupKey: Int32] = [:]
    private var groupKeys: [HashedGroupKey?] = []
    private var freeGroups: [Int32] = []
    private var rowCounts: [Int] = []
    private var representatives: [Event?] = []
    private var accumulators: [Accumulator] = []
    private var touchStamps: [UInt64] = []
    private var stamp: UInt64 = 0
    private var touched: [Int32] = []
    private var aggregateValues: [Value]
    /// Whether the last consumed event entered the window (and so needs an expiry).
    private var lastEntered = false
    /// Set when the statement stops: nothing enters or leaves any more.
    var stopped = false

    private var entries = RingBuffer<Entry>()
    /// Aggregate arguments of the held events, `specs.count` per event.
    private var heldArguments = RingBuffer<Value>()

    init(plan: StreamSelectPlan, window: AggregatingInput.Window) {
        self.plan = plan
        self.window = window
        self.whereClause = plan.whereClause
        self.groupBy = plan.groupBy
        self.specs = plan.aggregates
        self.arguments = plan.aggregates.map(\.argument)
        self.having = plan.having.map(AggregateCondition.init)
        self.selectExpressions = plan.selectExpressions
        self.fifo = plan.fifo
        if case .none = window { retains = false } else { retains = true }
        if plan.groupBy.count == 1, case .field(0, let c) = plan.groupBy[0] { groupField = c } else { groupField = nil }
        self.aggregateValues = [Value](repeating: .null, count: plan.aggregates.count)
        if plan.groupBy.isEmpty { _ = newGroup(HashedGroupKey(.many([]))) }
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
        let rows = update(leaving: leaving, entering: event, now: now)
        return (rows, lastEntered)
    }

    mutating func expire(at time: Instant) -> [[Value]] {
        guard !stopped, case .time(let d) = window else { return [] }
        let n = due(at: time.nanosecondsSinceEpoch, duration: d)
        return n > 0 ? update(leaving: n, entering: nil, now: time) : []
    }

    /// How many held events have expired by `t`.
    private func due(at t: Int64, duration: Int64) -> Int {
        var n = 0
        while n < entries.count, entries[n].time &+ duration <= t { n += 1 }
        return n
    }

    /// One window update: the `leaving` oldest events leave, then `entering` enters; returns one
    /// result row per touched group that satisfies `HAVING`.
    private mutating func update(leaving: Int, entering: Event?, now: Instant) -> [[Value]] {
        stamp &+= 1
        if !touched.isEmpty { touched.removeAll(keepingCapacity: true) }
        lastEntered = false
        let k = specs.count
        for _ in 0..<leaving {
            let entry = entries.popFirst()!
            let g = entry.group
            if g >= 0 {
                let gi = Int(g)
                rowCounts[gi] -= 1
                for a in 0..<k {
                    let v = heldArguments.popFirst()!
                    if arguments[a] != nil {
                        accumulators[gi * k + a].leave(v, sequence: entry.sequence)
                    } else {
                        accumulators[gi * k + a].leaveRow()
                    }
                }
                touch(g)
            } else {
                for _ in 0..<k { heldArguments.popFirst() }
            }
        }
        if let event = entering {
            let row = Row.one(event)
            var group: Int32 = -1
            if whereClause?.isTrue(row) ?? true {
                let g = groupID(for: event, row: row)
                let gi = Int(g)
                rowCounts[gi] += 1
                representatives[gi] = event
                for a in 0..<k {
                    if let argument = arguments[a] {
                        let v = argument.evaluate(row)
                        accumulators[gi * k + a].enter(v, sequence: event.sequence)
                        if retains { heldArguments.append(v) }
                    } else {
                        accumulators[gi * k + a].enterRow()
                        if retains { heldArguments.append(.null) }
                    }
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
                    lastEntered = true
                }
            }
        }
        guard !touched.isEmpty else { return [] }
        var rows: [[Value]] = []
        for g in touched {
            let gi = Int(g)
            for a in 0..<k { aggregateValues[a] = accumulators[gi * k + a].value }
            if having?.isTrue(aggregateValues, representatives[gi]) ?? true {
                let source = representatives[gi].map { Row.one($0) }
                rows.append(selectExpressions.map { $0.evaluate(source, aggregateValues) })
            }
            if !groupBy.isEmpty && rowCounts[gi] <= 0 { releaseGroup(g) }
        }
        return rows
    }

    @inline(__always)
    private mutating func touch(_ g: Int32) {
        if touchStamps[Int(g)] != stamp {
            touchStamps[Int(g)] = stamp
            touched.append(g)
        }
    }

    // MARK: Groups

    private mutating func groupID(for event: Event, row: Row) -> Int32 {
        if groupBy.isEmpty { return 0 }
        let key: GroupKey
        if let c = groupField {
            key = .one(c < event.values.count ? event.values[c] : .null)
        } else if groupBy.count == 1 {
            key = .one(groupBy[0].evaluate(row))
        } else {
            key = .many(groupBy.map { $0.evaluate(row) })
        }
        let hashed = HashedGroupKey(key)
        if let id = groupIDs[hashed] { return id }
        let id = newGroup(hashed)
        groupIDs[hashed] = id
        return id
    }

    private mutating func newGroup(_ key: HashedGroupKey) -> Int32 {
        let k = specs.count
        if let id = freeGroups.popLast() {
            let gi = Int(id)
            groupKeys[gi] = key
            rowCounts[gi] = 0
            representatives[gi] = nil
            for a in 0..<k { accumulators[gi * k + a] = Accumulator(specs[a], fifo: fifo) }
            return id
        }
        let id = Int32(groupKeys.count)
        groupKeys.append(key)
        rowCounts.append(0)
        representatives.append(nil)
        touchStamps.append(0)
        for a in 0..<k { accumulators.append(Accumulator(specs[a], fifo: fifo)) }
        return id
    }

    private mutating func releaseGroup(_ g: Int32) {
        let gi = Int(g)
        if let key = groupKeys[gi] { groupIDs.removeValue(forKey: key) }
        groupKeys[gi] = nil
        representatives[gi] = nil
        freeGroups.append(g)
    }

    /// The number of live groups.
    var groupCount: Int { groupIDs.count }
}

/// A group key with a cheap precomputed hash (FNV-1a over text bytes, the bits of numbers), so a
/// lookup feeds the hasher one word instead of the whole key. Equality is the key's.
struct HashedGroupKey: Hashable {
    let key: GroupKey
    let hash: Int

    init(_ key: GroupKey) {
        self.key = key
        switch key {
        case .one(let v): hash = Self.hash(v)
        case .many(let vs): hash = vs.reduce(0x2545_F491) { ($0 &* 31) ^ Self.hash($1) }
        }
    }

    /// Consistent with `Value`'s equality: equal values (`1` and `1.0`, `true` and `1`) hash alike.
    static func hash(_ v: Value) -> Int {
        switch v {
        case .null: return 0x1F3D
        case .integer(let i): return Int(truncatingIfNeeded: i) &* 0x9E37_79B9
        case .boolean(let b): return (b ? 1 : 0) &* 0x9E37_79B9
        case .real(let d):
            if let i = Value.exactInteger(d) { return Int(truncatingIfNeeded: i) &* 0x9E37_79B9 }
            return d.isNaN ? 0x7FF8 : Int(truncatingIfNeeded: d.bitPattern)
        case .text(var s):
            return s.withUTF8 { bytes in
                var h: UInt64 = 0xCBF2_9CE4_8422_2325
                for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
                return Int(truncatingIfNeeded: h)
            }
        }
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    static func == (a: HashedGroupKey, b: HashedGroupKey) -> Bool { a.hash == b.hash && a.key == b.key }
}

/// The pending expiries of every ``AggregatingInput`` with a time window of one length, in
/// deadline order (events enter in time order, so appending keeps the order): the engine fires
/// the head instead of keeping one timer per statement. Statements whose events expire at the
/// same instant are expired in the order the events entered them (the timer heap breaks such ties
/// by when the timer was set, so the order among statements can differ from the general path's;
/// each statement's own triggers are the same).
final class ExpiryQueue {
    let duration: Int64
    private var inputs: [AggregatingInput?] = []
    private var deadlines = RingBuffer<Int64>()
    private var slots = RingBuffer<Int32>()

    init(duration: Int64) { self.duration = duration }

    /// A slot for an input that is being created.
    func reserveSlot() -> Int32 {
        inputs.append(nil)
        return Int32(inputs.count - 1)
    }

    func bind(_ slot: Int32, to input: AggregatingInput) { inputs[Int(slot)] = input }

    func push(deadline: Int64, slot: Int32) {
        deadlines.append(deadline)
        slots.append(slot)
    }

    /// The earliest pending deadline, in nanoseconds since the epoch.
    var nextDeadline: Int64? { deadlines.first }

    /// Expires the input whose deadline is first (the engine calls this when that deadline has
    /// come, once per pending deadline, in order).
    func fireFirst(at time: Instant, engine: StreamEngine) {
        guard deadlines.popFirst() != nil, let slot = slots.popFirst() else { return }
        inputs[Int(slot)]?.expire(at: time, engine: engine)
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

    func isTrue(_ aggregates: [Value], _ representative: Event?) -> Bool {
        for part in parts {
            switch part {
            case .compare(let slot, let test, let constant):
                guard slot < aggregates.count else { return false }
                let v = aggregates[slot]
                if v.isNull || !test.holds(Value.compare(v, constant)) { return false }
            case .general(let e):
                if !e.isTrue(representative.map { Row.one($0) }, aggregates) { return false }
            }
        }
        return true
    }
}
