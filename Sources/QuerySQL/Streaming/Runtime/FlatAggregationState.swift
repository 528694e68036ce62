import QueryCore

/// The state of an ``AggregatingInput``: its groups' accumulators and its place in the window,
/// all in arrays of plain values so an update is one exclusive access to the input's one stored
/// property and allocates nothing unless it produces a row.
///
/// - The window's entries (time, group, sequence), the group numbering and each group's latest
///   event live in an ``AggregationView``, possibly shared with other statements; this state
///   reads its window from its cursor in the view's ring on.
/// - `count`, `sum`, `avg` and `total` (not `distinct`) keep a ``RunningSum`` per group and
///   aggregate in one flat array; other aggregates keep the general ``Accumulator``.
/// - Aggregate arguments and the single `GROUP BY` field that are plain fields are read from the
///   event directly; `WHERE` runs as an ``EventPredicate``.
/// - `HAVING` conjuncts `aggregate op constant` are checked against the one aggregate they read;
///   the aggregate values and the result row are built only for groups that pass.
struct FlatAggregationState {
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
    fileprivate enum Kind {
        /// `count(*)` or `count(x)`: the ``RunningSum``'s count.
        case count
        /// `sum`, `avg`, `total`: the ``RunningSum``.
        case sum(AggregateFunction)
        /// `min`, `max` and `distinct` aggregates: an ``Accumulator``.
        case general
    }

    let plan: StreamSelectPlan
    let window: AggregatingInput.Window
    /// The window's entries and groups; unowned: the input holds it (``AggregatingInput/view``).
    unowned(unsafe) let view: AggregationView
    /// The view's state, read in place on the per-event path (calls on ``view`` would retain it).
    private let shared: UnsafeMutablePointer<AggregationView.State>
    /// This statement's slot in the view.
    private let slot: Int
    /// Whether the statement groups (else group 0 lives for ever).
    private let isGrouped: Bool
    private let specs: [StreamAggregateSpec]
    private let arguments: [Argument]
    /// Per aggregate, the field its argument is (≥ 0), ``rowArgument`` for `count(*)` or
    /// ``expressionArgument``: the common cases without copying an ``Argument`` (which may
    /// retain a compiled expression).
    private let argumentFields: [Int]
    private static let rowArgument = -1
    private static let expressionArgument = -2
    private let kinds: [Kind]
    private let usesGeneral: Bool
    /// The `aggregate op constant` conjuncts of `HAVING`, one entry per conjunct in three plain
    /// arrays (reading them retains nothing, unlike iterating ``AggregateCondition/parts``).
    private let havingSlots: [Int]
    private let havingTests: [EventPredicate.Test]
    private let havingConstants: [Value]
    /// The conjuncts among those whose constant is a number (the usual `avg(x) > 90`), as plain
    /// values read without copying a ``Value``; ``havingSlots`` and its siblings hold the others.
    private let numericHaving: PlainBuffer<NumericComparison>
    /// The other conjuncts of `HAVING`, evaluated after the comparisons (conjuncts are pure, so
    /// the order does not change the result).
    private let havingGeneral: [CompiledExpression]
    /// Whether `HAVING` has conjuncts other than ``numericHaving``.
    private let hasOtherHaving: Bool
    private let selectExpressions: [CompiledExpression]
    private let fifo: Bool
    private let retains: Bool
    /// Aggregates per group.
    private let k: Int

    /// Per group number: this statement's entries in the group, and whether the group is live
    /// for this statement (it had entries since its storage was last reset).
    ///
    /// The per-group state of the per-event path is in ``PlainBuffer``s (plain values at a fixed
    /// address: no uniqueness check or reference counting per access), freed by ``free()``.
    private var rowCounts = PlainBuffer<Int>()
    private var live = PlainBuffer<Bool>()
    private var liveCount = 0
    /// The absolute position of this statement's oldest entry in the view's ring.
    private var cursor: Int
    /// `k` per group; the slots of ``Kind/general`` aggregates are unused.
    private var sums = PlainBuffer<RunningSum>()
    /// `k` per group when some aggregate is ``Kind/general``, else empty.
    private var accumulators: [Accumulator] = []
    private var touchStamps = PlainBuffer<UInt64>()
    private var stamp: UInt64 = 0
    /// The groups the current update touched: the first ``touchedCount`` entries (the buffer is
    /// reused, never shrunk).
    private var touched = PlainBuffer<Int32>()
    private var touchedCount = 0
    /// Set when the statement stops: nothing enters or leaves any more.
    var stopped = false
    /// Set by ``free()``.
    private var freed = false

    /// Aggregate arguments of this statement's held events, `k` per event.
    private var heldArguments = Ring<Value>()

    /// Attaches to `view` (which holds the same window, `WHERE` and `GROUP BY` as `plan`).
    init(plan: StreamSelectPlan, view: AggregationView) {
        self.plan = plan
        self.window = view.window
        self.view = view
        self.shared = view.storage
        self.slot = view.attach()
        self.cursor = view.cursor(slot)
        self.isGrouped = !plan.groupBy.isEmpty
        self.specs = plan.aggregates
        self.k = plan.aggregates.count
        self.arguments = plan.aggregates.map { (spec) -> Argument in
            switch spec.argument {
            case nil: return .row
            case .field(0, let c)?: return .field(c)
            case let e?: return .expression(e)
            }
        }
        self.argumentFields = arguments.map { (argument) -> Int in
            switch argument {
            case .row: return Self.rowArgument
            case .field(let c): return c
            case .expression: return Self.expressionArgument
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
        let having = plan.having.map(AggregateCondition.init)
        var slots: [Int] = [], tests: [EventPredicate.Test] = [], constants: [Value] = []
        var general: [CompiledExpression] = []
        var numeric = PlainBuffer<NumericComparison>(capacity: 2)
        for part in having?.parts ?? [] {
            switch part {
            case .compare(let slot, let test, .integer(let i)):
                let shape = NumericComparison.shape(of: slot < kinds.count ? kinds[slot] : nil, integer: i)
                numeric.append(NumericComparison(slot: slot, test: test, shape: shape, isInteger: true, integer: i, real: Double(i)))
            case .compare(let slot, let test, .real(let r)):
                let shape = NumericComparison.shape(of: slot < kinds.count ? kinds[slot] : nil, integer: nil)
                numeric.append(NumericComparison(slot: slot, test: test, shape: shape, isInteger: false, integer: 0, real: r))
            case .compare(let slot, let test, let constant):
                slots.append(slot)
                tests.append(test)
                constants.append(constant)
            case .general(let e): general.append(e)
            }
        }
        numericHaving = numeric
        hasOtherHaving = !slots.isEmpty || !general.isEmpty
        havingSlots = slots
        havingTests = tests
        havingConstants = constants
        havingGeneral = general
        self.selectExpressions = plan.selectExpressions
        self.fifo = plan.fifo
        if case .none = window { retains = false } else { retains = true }
        if plan.groupBy.isEmpty { addGroupStorage(0) }
    }

    /// Detaches from the view; nothing enters or leaves any more.
    mutating func stop() {
        guard !stopped else { return }
        stopped = true
        view.detach(slot)
        accumulators = []
    }

    /// Frees the per-group buffers and the held arguments (the owning input calls this once, when
    /// it is deinitialised); nothing may use the state afterwards.
    mutating func free() {
        guard !freed else { return }
        freed = true
        rowCounts.free()
        live.free()
        sums.free()
        touchStamps.free()
        touched.free()
        heldArguments.free()
        numericHaving.free()
    }

    // MARK: Events

    /// Enters `event`; returns whether it entered a time window (so needs an expiry). Result rows
    /// are left in ``rows`` (see ``takeRows()``).
    mutating func consume(_ event: Event, now: Instant) -> Bool {
        if stopped { return false }
        // The view enters the event once for all its statements; this statement's window is
        // what lies between its cursor and the event's position (or the ring's end).
        let group: Int32, position: Int
        if shared.pointee.lastSequence == event.sequence {
            (group, position) = (shared.pointee.lastGroup, shared.pointee.lastPosition)
        } else {
            // Called without a retain: the input holds the view.
            (group, position) = Unmanaged.passUnretained(view)._withUnsafeGuaranteedRef { $0.enterFirst(event, now: now) }
        }
        let end = position >= 0 ? position : shared.pointee.base &+ shared.pointee.entries.count
        var leaving = 0
        switch window {
        case .none: break
        case .length(let n): leaving = end &- cursor >= n ? end &- cursor &- n &+ 1 : 0
        case .time(let d): leaving = due(at: now.nanosecondsSinceEpoch, duration: d, before: end)
        }
        if leaving == 0 { return enterOnly(event, group: group, held: position >= 0) }
        return update(leaving: leaving, entering: event, group: group, held: position >= 0)
    }

    /// Lets the events that expired by `time` leave; result rows are left in ``rows``.
    mutating func expire(at time: Instant) {
        guard !stopped, case .time(let d) = window else { return }
        let n = due(at: time.nanosecondsSinceEpoch, duration: d, before: shared.pointee.base &+ shared.pointee.entries.count)
        if n == 1 {
            leaveOne()
        } else if n > 0 {
            _ = update(leaving: n, entering: nil, group: -1, held: false)
        }
    }

    /// Rows produced by the last ``consume(_:now:)`` or ``expire(at:)`` and not yet taken.
    private(set) var rows: [[Value]] = []

    /// Whether ``rows`` holds rows (checked without touching the array's reference count).
    private(set) var hasRows = false

    /// Takes the rows produced (``hasRows`` is set).
    mutating func takeRows() -> [[Value]] {
        hasRows = false
        var taken: [[Value]] = []
        swap(&taken, &rows)
        return taken
    }

    @inline(__always)
    private mutating func appendRow(_ g: Int32) {
        rows.append(resultRow(g))
        hasRows = true
    }

    /// How many of this statement's held events before position `end` have expired by `t`.
    @inline(__always)
    private func due(at t: Int64, duration: Int64, before end: Int) -> Int {
        var n = 0
        let base = shared.pointee.base
        while cursor &+ n < end, shared.pointee.entries[cursor &+ n &- base].time &+ duration <= t { n += 1 }
        return n
    }

    /// One window update: the `leaving` oldest events leave, then `entering` (whose group the
    /// view found, -1 if it failed `WHERE`; `held`: the view's window holds it) enters; returns
    /// one result row per touched group that satisfies `HAVING` (in ``rows``), and whether
    /// `entering` entered a time window.
    private mutating func update(leaving: Int, entering: Event?, group: Int32, held: Bool) -> Bool {
        stamp &+= 1
        touchedCount = 0
        var entered = false
        let oldCursor = cursor
        for _ in 0..<leaving {
            let g = leaveNext()
            if g >= 0 { touch(g) }
        }
        if let event = entering {
            if group >= 0 {
                enterEvent(event, group: group)
                touch(group)
            }
            switch window {
            case .none: break
            case .length:
                if group < 0 { for _ in 0..<k { heldArguments.append(.null) } }
            case .time:
                entered = held
            }
        }
        if touchedCount == 0 {
            if cursor != oldCursor { advanceCursor(from: oldCursor) }
            return entered
        }
        for t in 0..<touchedCount {
            let g = touched[t]
            if passesHaving(g) { appendRow(g) }
            if isGrouped && rowCounts[Int(g)] <= 0 { releaseGroup(g) }
        }
        // Entries this statement no longer holds may be dropped now that its rows are built (they
        // read the view's representatives).
        if cursor != oldCursor { advanceCursor(from: oldCursor) }
        return entered
    }

    /// ``update(leaving:entering:group:held:)`` with nothing leaving: the entering event touches
    /// at most its own group, so no touched-group bookkeeping is needed (the same rows, in the
    /// same order).
    @inline(__always)
    private mutating func enterOnly(_ event: Event, group: Int32, held: Bool) -> Bool {
        if group >= 0 {
            enterEvent(event, group: group)
            // The group now has an entry, so it stays live.
            if passesHaving(group) { appendRow(group) }
        } else if case .length = window {
            for _ in 0..<k { heldArguments.append(.null) }
        }
        if case .time = window { return held }
        return false
    }

    /// ``update(leaving:entering:group:held:)`` with one entry leaving and nothing entering (the
    /// usual expiry): at most one group is touched.
    @inline(__always)
    private mutating func leaveOne() {
        let oldCursor = cursor
        let g = leaveNext()
        if g >= 0 {
            if passesHaving(g) { appendRow(g) }
            if isGrouped && rowCounts[Int(g)] <= 0 { releaseGroup(g) }
        }
        advanceCursor(from: oldCursor)
    }

    /// Takes the entry at the cursor out of its group's aggregates (releasing its held arguments)
    /// and moves the cursor past it; returns the entry's group (negative: none).
    @inline(__always)
    private mutating func leaveNext() -> Int32 {
        let entry = shared.pointee.entries[cursor &- shared.pointee.base]
        cursor &+= 1
        let g = entry.group
        if g >= 0 {
            let gi = Int(g)
            rowCounts[gi] -= 1
            for a in 0..<k {
                let v = heldArguments.removeFirst()
                leave(v, slot: gi &* k &+ a, aggregate: a, sequence: entry.sequence)
            }
        } else {
            for _ in 0..<k { _ = heldArguments.removeFirst() }
        }
        return g
    }

    /// Counts `event` in `group` (making the group's storage live if needed) and enters its
    /// arguments.
    @inline(__always)
    private mutating func enterEvent(_ event: Event, group: Int32) {
        let gi = Int(group)
        if gi >= rowCounts.count || !live[gi] { addGroupStorage(group) }
        rowCounts[gi] += 1
        enterArguments(of: event, group: gi)
    }

    /// Enters the aggregate arguments of `event` into group `gi`'s aggregates (and holds them,
    /// for a window).
    @inline(__always)
    private mutating func enterArguments(of event: Event, group gi: Int) {
        for a in 0..<k {
            let v: Value
            let c = argumentFields[a]
            if c >= 0 {
                v = c < event.values.count ? event.values[c] : .null
            } else if c == Self.rowArgument {
                v = .null
            } else if case .expression(let e) = arguments[a] {
                v = e.evaluate(.one(event))
            } else {
                v = .null
            }
            enter(v, slot: gi &* k &+ a, aggregate: a, sequence: event.sequence)
            if retains { heldArguments.append(v) }
        }
    }

    /// Publishes this statement's cursor to the view and lets it drop entries no statement holds.
    @inline(__always)
    private func advanceCursor(from old: Int) {
        shared.pointee.cursors[slot] = cursor
        if old == shared.pointee.base { shared.pointee.trim() }
    }

    @inline(__always)
    private mutating func enter(_ v: Value, slot: Int, aggregate a: Int, sequence: UInt64) {
        if argumentFields[a] == Self.rowArgument {
            // `count(*)`: every row counts.
            if case .general = kinds[a] { enterGeneralRow(slot) } else { sums.pointer(slot).pointee.count += 1 }
            return
        }
        switch kinds[a] {
        case .count: if !v.isNull { sums.pointer(slot).pointee.count += 1 }
        case .sum: if !v.isNull { sums.pointer(slot).pointee.add(v) }
        case .general: enterGeneral(v, slot: slot, sequence: sequence)
        }
    }

    @inline(__always)
    private mutating func leave(_ v: Value, slot: Int, aggregate a: Int, sequence: UInt64) {
        if argumentFields[a] == Self.rowArgument {
            if case .general = kinds[a] { leaveGeneralRow(slot) } else { sums.pointer(slot).pointee.count -= 1 }
            return
        }
        switch kinds[a] {
        case .count: if !v.isNull { sums.pointer(slot).pointee.count -= 1 }
        case .sum: if !v.isNull { sums.pointer(slot).pointee.remove(v) }
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

    private mutating func aggregateValues(_ g: Int32) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(k)
        for a in 0..<k { values.append(aggregateValue(g, a)) }
        return values
    }

    /// Whether group `g` satisfies `HAVING` (as `CompiledExpression.isTrue(row, aggregates)` would
    /// say): comparisons of one aggregate with a constant read just that aggregate.
    ///
    /// `mutating` though it only reads: called from ``update(leaving:entering:now:)``, a
    /// non-mutating call may pass a copy of the whole state (retaining every array in it).
    @inline(__always)
    private mutating func passesHaving(_ g: Int32) -> Bool {
        // The usual single numeric conjunct is checked inline; anything else out of line.
        let comparisons = numericHaving.count
        if comparisons > 0 {
            let c = numericHaving.pointer(0)
            if c.pointee.slot < k, case .average = c.pointee.shape {
                guard let a = sums[Int(g) &* k &+ c.pointee.slot].average,
                    c.pointee.test.holds(Value.compareDoubles(a, c.pointee.real))
                else { return false }
                return comparisons > 1 || hasOtherHaving ? passesRestOfHaving(g, from: 1) : true
            }
        }
        return comparisons > 0 || hasOtherHaving ? passesRestOfHaving(g, from: 0) : true
    }

    /// The `HAVING` conjuncts from the `first` numeric comparison on (see ``passesHaving(_:)``).
    @inline(never)
    private mutating func passesRestOfHaving(_ g: Int32, from first: Int) -> Bool {
        for i in first..<numericHaving.count {
            let c = numericHaving[i]
            guard c.slot < k else { return false }
            switch c.shape {
            case .average:
                // `avg` is NULL (never satisfies a comparison) or `.real(average)`, compared with
                // the constant as a double (exact: see `NumericComparison.Shape`).
                guard let a = sums[Int(g) &* k &+ c.slot].average else { return false }
                if !c.test.holds(Value.compareDoubles(a, c.real)) { return false }
            case .count:
                let n = sums[Int(g) &* k &+ c.slot].count
                if !c.test.holds(n < c.integer ? -1 : (n == c.integer ? 0 : 1)) { return false }
            case .value:
                let constant: Value = c.isInteger ? .integer(c.integer) : .real(c.real)
                if !AggregateCondition.holds(aggregateValue(g, c.slot), c.test, constant) { return false }
            }
        }
        for i in 0..<havingSlots.count {
            let slot = havingSlots[i]
            guard slot < k else { return false }
            if !AggregateCondition.holds(aggregateValue(g, slot), havingTests[i], havingConstants[i]) { return false }
        }
        if havingGeneral.isEmpty { return true }
        return passesGeneralHaving(g)
    }

    /// The conjuncts of `HAVING` other than `aggregate op constant`.
    @inline(never)
    private mutating func passesGeneralHaving(_ g: Int32) -> Bool {
        let values = aggregateValues(g)
        let row = shared.pointee.representatives[Int(g)].map { Row.one($0) }
        for e in havingGeneral where !e.isTrue(row, values) { return false }
        return true
    }

    /// The select list for group `g`.
    private mutating func resultRow(_ g: Int32) -> [Value] {
        let values = aggregateValues(g)
        let source = shared.pointee.representatives[Int(g)].map { Row.one($0) }
        return selectExpressions.map { $0.evaluate(source, values) }
    }

    // MARK: Groups

    /// Whether two values have the same representation (same case and bits, text with the same
    /// raw bits), so any expression gives the same result for either.
    @inline(__always)
    static func identical(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.text(let x), .text(let y)): return GroupTable.rawBits(x) == GroupTable.rawBits(y)
        case (.integer(let x), .integer(let y)): return x == y
        case (.real(let x), .real(let y)): return x.bitPattern == y.bitPattern
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// Fresh per-group state for group number `g`, which becomes live for this statement (storage
    /// is appended up to `g`, or reset when the number is reused).
    @inline(never)
    private mutating func addGroupStorage(_ g: Int32) {
        let gi = Int(g)
        while rowCounts.count <= gi {
            rowCounts.append(0)
            live.append(false)
            touchStamps.append(0)
            for _ in 0..<k { sums.append(RunningSum()) }
            if usesGeneral { for a in 0..<k { accumulators.append(Accumulator(specs[a], fifo: fifo)) } }
        }
        rowCounts[gi] = 0
        for a in 0..<k { sums[gi &* k &+ a] = RunningSum() }
        if usesGeneral { for a in 0..<k { accumulators[gi &* k &+ a] = Accumulator(specs[a], fifo: fifo) } }
        live[gi] = true
        liveCount += 1
    }

    /// Group `g` has no entries left in this statement's window: its storage is reset when it
    /// becomes live again.
    private mutating func releaseGroup(_ g: Int32) {
        live[Int(g)] = false
        liveCount -= 1
    }

    /// The number of live groups.
    var groupCount: Int { isGrouped ? liveCount : 0 }
}

/// A `HAVING` conjunct `aggregate op number`, in plain values (see
/// ``FlatAggregationState/passesHaving(_:)``): the constant is `.integer(integer)` or
/// `.real(real)`.
struct NumericComparison {
    /// How the comparison reads the aggregate; each shape gives exactly what
    /// ``AggregateCondition/holds(_:_:_:)`` gives for the aggregate's ``Value``.
    enum Shape {
        /// `avg` (a ``RunningSum``) against a real, or an integer of magnitude at most 2^53: the
        /// average as a double against ``real`` (the integer converted exactly), with `NULL` (an
        /// empty group) never satisfying it. `compareIntDouble(c, a)` orders an exactly
        /// convertible `c` and any `a` (NaN included) as `compareDoubles(Double(c), a)` does.
        case average
        /// `count` against an integer: integer comparison of the count.
        case count
        /// Anything else: the aggregate's ``Value`` through ``AggregateCondition/holds(_:_:_:)``.
        case value
    }

    var slot: Int
    var test: EventPredicate.Test
    var shape: Shape
    var isInteger: Bool
    var integer: Int64
    /// The constant as a double (for an integer constant, `Double(integer)`).
    var real: Double

    /// The shape for an aggregate kept as `kind`, against an integer constant (`nil`: a real one).
    fileprivate static func shape(of kind: FlatAggregationState.Kind?, integer: Int64?) -> Shape {
        switch kind {
        case .sum(.avg)?:
            if let i = integer, i.magnitude > 1 << 53 { return .value }
            return .average
        case .count?: return integer == nil ? .value : .count
        default: return .value
        }
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
