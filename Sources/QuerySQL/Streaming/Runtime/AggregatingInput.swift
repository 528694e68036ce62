import QueryCore

/// The input of a single-stream aggregating statement (`select k, avg(x) from S.win:time(20 sec)
/// group by k having …`), with its window and aggregate state kept flat.
///
/// It replaces a ``StreamInput`` plus the statement's ``RowPipeline`` for statements without a
/// join, named window, `output`, `DISTINCT`, `ORDER BY`, `LIMIT` or ungrouped fields in the select
/// list, over no window, `win:length(n)` or `win:time(d)`, and produces exactly the rows the general
/// path produces (a differential test checks this):
/// - groups are numbered by a ``GroupTable`` hashing the typed key values directly, and each
///   group's aggregates sit in flat arrays at `group × aggregates` (``RunningSum``s for `count`,
///   `sum`, `avg`, `total`; ``Accumulator``s for the others), see ``FlatAggregationState``;
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
    /// All mutable state, in one struct so an update is one access rather than one per field
    /// touched. Unchecked at run time: every access is a single call (`consume`, `expire`, `stop`)
    /// that ends before anything outside the state runs (triggers are emitted after it), and the
    /// engine is single-threaded, so accesses never overlap; the compiler still checks statically.
    @exclusivity(unchecked) private var state: FlatAggregationState
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

    /// The window's entries and groups, possibly shared with other statements (see
    /// ``AggregationView``).
    let view: AggregationView

    /// - Parameters:
    ///   - view: the window's shared part (same window, `WHERE` and `GROUP BY` as `plan`).
    ///   - expiry: the engine's expiry queue for the window's length (time windows).
    init(statement: SelectStatementRuntime, plan: StreamSelectPlan, view: AggregationView, expiry: ExpiryQueue?) {
        self.statement = statement
        self.window = view.window
        self.view = view
        self.state = FlatAggregationState(plan: plan, view: view)
        self.expiry = expiry
        self.insertsIntoStream = statement.insertInto != nil
        self.expirySlot = expiry?.reserveSlot() ?? 0
        expiry?.bind(expirySlot, to: self)
    }

    /// Whether the statement inserts its rows into a stream (fixed before its inputs are made).
    let insertsIntoStream: Bool

    deinit {
        // The expiry queue holds inputs unowned: a released input must leave it.
        expiry?.unbind(expirySlot)
        state.free()
    }

    /// Stops the input: it leaves its view and its expiry queue (which may outlive the statement).
    func stop() {
        state.stop()
        expiry?.unbind(expirySlot)
    }

    var stopped: Bool { state.stopped }

    func consume(_ event: Event, engine: StreamEngine) {
        guard let now = engine.now else { return }
        let entered = state.consume(event, now: now)
        if entered, case .time(let d) = window {
            expiry?.push(deadline: now.nanosecondsSinceEpoch &+ d, slot: expirySlot)
        }
        if state.hasRows { emitRows(engine) }
    }

    /// Called by the expiry queue when a deadline of this input's window passed.
    func expire(at time: Instant, engine: StreamEngine) {
        state.expire(at: time)
        if state.hasRows { emitRows(engine) }
    }

    @inline(never)
    private func emitRows(_ engine: StreamEngine) {
        let rows = state.takeRows()
        engine.emit(statement, rows: rows)
    }

    /// The number of live groups (tests).
    var groupCount: Int { state.groupCount }
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

    /// Consistent with `Value`'s equality: equal values (`1` and `1.0`, `true` and `1`) hash alike
    /// (the filter index's ``ValueHash``).
    @inline(__always)
    static func hash(_ v: Value) -> Int { ValueHash.of(v) }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    static func == (a: HashedGroupKey, b: HashedGroupKey) -> Bool { a.hash == b.hash && a.key == b.key }
}
