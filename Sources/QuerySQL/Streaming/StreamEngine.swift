public import QueryCore

/// Identifies a statement registered with a ``StreamEngine``.
public struct StatementID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Numbered from 1 in registration order.
    public let rawValue: Int

    /// Creates an identity.
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    public var description: String { "s\(rawValue)" }
    public static func < (lhs: StatementID, rhs: StatementID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A trigger: rows a statement produced at one moment of engine time.
public struct StreamOutput: Sendable, Hashable {
    /// The statement that produced the rows.
    public var statement: StatementID
    /// Engine time when they were produced (event time, or the time the engine was advanced to).
    public var time: Instant
    /// Result column names.
    public var columns: [String]
    /// The rows, each with `columns.count` values.
    public var rows: [[Value]]

    /// Creates an output.
    public init(statement: StatementID, time: Instant, columns: [String], rows: [[Value]]) {
        self.statement = statement
        self.time = time
        self.columns = columns
        self.rows = rows
    }

    /// The rows as `column → value` dictionaries.
    public var namedRows: [[String: Value]] {
        rows.map { Dictionary(zip(columns, $0), uniquingKeysWith: { a, _ in a }) }
    }
}

/// A resolved stream, for sending many events without looking the name up each time.
public struct StreamHandle: Sendable, Hashable {
    let index: Int
    /// The stream's name as declared.
    public let name: String
}

/// The continuous-query engine: streams with schemas, statements over their events with data
/// windows, joins, patterns and rate limiting, and the results ("triggers") they produce.
///
/// Nothing is stored beyond what windows retain. The engine is a sans-I/O state machine: it never
/// reads a clock; time is the time of the events sent (event time) or what ``advance(to:)`` says
/// (an injected clock, such as QuerySim's virtual clock). Time never goes back: an event older
/// than the engine's time is treated as arriving now.
///
/// Filters are indexed across statements: an event is checked only against the statements whose
/// stream filters (or, for statements without a data window, `WHERE` clauses) it can satisfy
/// through an equality on a field, plus those with no such equality.
///
/// - Important: Not thread-safe; confine it to one task or wrap it (``QueryManager`` does).
public final class StreamEngine {
    final class StreamType {
        let index: Int
        let name: String
        let schema: Schema
        /// The schema's column types, for validating events without copying the schema.
        let types: [ColumnType]
        let filters = FilterIndex()
        var namedWindow: NamedWindowRuntime?

        /// Whether `values` fit the schema as they are (no coercion needed).
        @inline(__always)
        func accepts(_ values: [Value]) -> Bool {
            guard values.count == types.count else { return false }
            for i in values.indices {
                let type = types[i]
                if type == .any { continue }
                switch values[i] {
                case .null: continue
                case .integer: if type != .integer { return false }
                case .real: if type != .real { return false }
                case .text: if type != .text { return false }
                case .boolean: if type != .boolean { return false }
                }
            }
            return true
        }

        init(index: Int, name: String, schema: Schema) {
            self.index = index
            self.name = name
            self.schema = schema
            self.types = schema.columns.map(\.type)
        }
    }

    /// The engine's mutable state, held in one struct behind a pointer the engine owns: every
    /// access below goes through the pointer, so the per-event path pays no dynamic exclusivity
    /// check (class stored properties cost one `swift_beginAccess` per access, dozens per event).
    ///
    /// Safety: the engine is confined to one task (it is not `Sendable`), and each access through
    /// the accessors below is instantaneous or a short `modify` that calls no runtime code that
    /// could re-enter the engine, so no two accesses to one field overlap.
    /// What routing an event of one stream needs, without reference counting per event.
    ///
    /// Safety of the unowned references: `State.streams` holds every stream type for the engine's
    /// life (streams are never taken out of it), each type owns its filter index, and a named
    /// window is held by its stream type's `namedWindow`, which is only changed together with
    /// the route (``attachNamedWindow(_:to:)``, ``removeStatement(_:)``). None of these change
    /// while an event is routed: consumers never define streams or add or remove statements.
    struct StreamRoute {
        unowned(unsafe) let type: StreamType
        unowned(unsafe) let filters: FilterIndex
        unowned(unsafe) var namedWindow: NamedWindowRuntime?
    }

    struct State {
        var streams: [StreamType] = []
        /// Parallel to `streams`.
        var routes: [StreamRoute] = []
        var streamsByName: [String: Int] = [:]
        var statements: [StatementID: StatementRuntime] = [:]
        var registrations: [StatementID: [(stream: Int, consumer: ObjectIdentifier)]] = [:]
        var patternStatements: [PatternStatementRuntime] = []
        var nextStatement = 1
        var timers = DeadlineHeap<any TimerTarget>()
        /// Time-window expiries of aggregating inputs, one queue per window length.
        var expiryQueues: [ExpiryQueue] = []
        /// Views aggregating statements share, by sharing key (views without statements are dropped).
        var views: [String: AggregationView] = [:]
        var scheduled: [ObjectIdentifier: Instant] = [:]
        var queue = EventQueue()
        /// Triggers produced and not yet handed out.
        var pending = StreamOutputBuffer()
        var sequence: UInt64 = 0
        var now: Instant?
    }

    private let state: UnsafeMutablePointer<State> = {
        let p = UnsafeMutablePointer<State>.allocate(capacity: 1)
        p.initialize(to: State())
        return p
    }()

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    private(set) var streams: [StreamType] {
        _read { yield state.pointee.streams }
        _modify { yield &state.pointee.streams }
    }
    private var streamsByName: [String: Int] {
        _read { yield state.pointee.streamsByName }
        _modify { yield &state.pointee.streamsByName }
    }
    private var statements: [StatementID: StatementRuntime] {
        _read { yield state.pointee.statements }
        _modify { yield &state.pointee.statements }
    }
    private var registrations: [StatementID: [(stream: Int, consumer: ObjectIdentifier)]] {
        _read { yield state.pointee.registrations }
        _modify { yield &state.pointee.registrations }
    }
    private var patternStatements: [PatternStatementRuntime] {
        _read { yield state.pointee.patternStatements }
        _modify { yield &state.pointee.patternStatements }
    }
    private var nextStatement: Int {
        get { state.pointee.nextStatement }
        set { state.pointee.nextStatement = newValue }
    }
    private var timers: DeadlineHeap<any TimerTarget> {
        _read { yield state.pointee.timers }
        _modify { yield &state.pointee.timers }
    }
    private var expiryQueues: [ExpiryQueue] {
        _read { yield state.pointee.expiryQueues }
        _modify { yield &state.pointee.expiryQueues }
    }
    private var scheduled: [ObjectIdentifier: Instant] {
        _read { yield state.pointee.scheduled }
        _modify { yield &state.pointee.scheduled }
    }
    private var queue: EventQueue {
        _read { yield state.pointee.queue }
        _modify { yield &state.pointee.queue }
    }
    private var sequence: UInt64 {
        get { state.pointee.sequence }
        set { state.pointee.sequence = newValue }
    }

    /// Whether statements that qualify run on ``AggregatingInput`` (flat per-group state); `false`
    /// forces the general row pipeline (differential tests compare the two).
    var usesFlatAggregation = true

    /// Whether aggregating statements with the same stream, filter, window, `WHERE` and `GROUP BY`
    /// share one ``AggregationView`` (the window's entries and group numbering); `false` gives
    /// every statement its own (differential tests compare the two).
    var sharesViews = true

    /// Whether single-stream statements without aggregates evaluate events through
    /// ``EventFilter``; `false` forces ``RowPipeline/processOne(_:entering:engine:)`` (differential
    /// tests compare the two).
    var usesEventFilters = true

    /// The engine's time: the newest event time or clock time seen, `nil` before the first.
    public private(set) var now: Instant? {
        get { state.pointee.now }
        set { state.pointee.now = newValue }
    }

    /// Creates an empty engine.
    public init() {}

    // MARK: Streams

    /// Declares a stream (a registered metric) and its schema.
    ///
    /// - Throws: ``QueryError`` `.alreadyExists` if a stream of that name exists with another
    ///   schema; `.invalidArgument` for a bad name. Declaring the same schema again is a no-op.
    @discardableResult
    public func defineStream(_ name: String, schema: Schema) throws(QueryError) -> StreamHandle {
        let key = name.lowercased()
        guard !name.isEmpty, name.utf8.count <= 128 else {
            throw QueryError(.invalidArgument, "invalid stream name '\(name.prefix(40))'")
        }
        if let index = streamsByName[key] {
            guard streams[index].schema == schema else {
                throw QueryError(
                    .alreadyExists, "stream '\(name)' already exists with schema \(streams[index].schema)")
            }
            return StreamHandle(index: index, name: streams[index].name)
        }
        let type = StreamType(index: streams.count, name: name, schema: schema)
        streams.append(type)
        state.pointee.routes.append(StreamRoute(type: type, filters: type.filters, namedWindow: nil))
        streamsByName[key] = type.index
        return StreamHandle(index: type.index, name: name)
    }

    /// The stream called `name` (case-insensitive), if declared.
    public func stream(named name: String) -> StreamHandle? {
        streamsByName[name.lowercased()].map { StreamHandle(index: $0, name: streams[$0].name) }
    }

    /// The schema of a stream.
    public func schema(of stream: StreamHandle) -> Schema { streams[stream.index].schema }

    /// Every declared stream (including derived `insert into` streams and named windows).
    public var streamNames: [String] { streams.map(\.name) }

    /// Removes a stream that no statement uses.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` if the stream is unknown or still in use.
    public func removeStream(_ name: String) throws(QueryError) {
        guard let index = streamsByName[name.lowercased()] else {
            throw QueryError(.invalidArgument, "unknown stream '\(name)'")
        }
        let type = streams[index]
        guard type.filters.count == 0, type.namedWindow == nil,
            !statements.values.contains(where: { $0.insertInto == index })
        else {
            throw QueryError(.invalidArgument, "stream '\(name)' is still used by a statement")
        }
        streamsByName.removeValue(forKey: name.lowercased())
    }

    // MARK: Statements

    /// Compiles and starts a statement: `create schema`, `create window`, `on … delete`, or
    /// `[insert into X] select …` over streams, named windows or a pattern.
    ///
    /// - Returns: the statement's identity (its triggers carry it).
    /// - Throws: ``QueryError`` with the position of the problem: `.syntaxError`,
    ///   `.unknownTable` (unknown stream), `.unknownColumn`, `.semanticError`, `.unsupported`.
    @discardableResult
    public func createStatement(_ text: String) throws(QueryError) -> StatementID {
        var parser = try EPLParser(text)
        let ast = try parser.parseStatement()
        let id = StatementID(nextStatement)
        let runtime = try plan(ast, id: id, text: text)
        nextStatement += 1
        statements[id] = runtime
        runtime.start(engine: self)
        if let pattern = runtime as? PatternStatementRuntime {
            patternStatements.append(pattern)
            pattern.flushMatches(engine: self)
        }
        drain()
        return id
    }

    /// Checks a statement without registering it.
    ///
    /// - Throws: the error ``createStatement(_:)`` would throw.
    public func validate(_ text: String) throws(QueryError) {
        var parser = try EPLParser(text)
        let ast = try parser.parseStatement()
        if case .createSchema = ast { return }
        if case .createWindow = ast { return }
        _ = try planDryRun(ast, text: text)
    }

    /// Stops a statement and forgets it; unknown identities are ignored.
    public func removeStatement(_ id: StatementID) {
        guard let runtime = statements.removeValue(forKey: id) else { return }
        runtime.stop(engine: self)
        for (stream, consumer) in registrations.removeValue(forKey: id) ?? [] {
            streams[stream].filters.remove { ObjectIdentifier($0) == consumer }
        }
        patternStatements.removeAll { $0 === runtime }
        if let view = (runtime as? SelectStatementRuntime)?.aggregating?.view, view.attachedCount == 0 {
            state.pointee.views = state.pointee.views.filter { $0.value !== view }
        }
        if let named = runtime as? NamedWindowRuntime, streams[named.stream].namedWindow === named {
            streams[named.stream].namedWindow = nil
            state.pointee.routes[named.stream].namedWindow = nil
        }
    }

    /// The registered statements, in registration order.
    public var statementIDs: [StatementID] { statements.keys.sorted() }

    /// The text a statement was registered with.
    public func text(of id: StatementID) -> String? { statements[id]?.text }

    /// A statement's runtime (tests and diagnostics).
    func statementRuntime(_ id: StatementID) -> StatementRuntime? { statements[id] }

    /// A statement's result column names.
    public func columns(of id: StatementID) -> [String]? { statements[id]?.columns }

    // MARK: Events and time

    /// Sends one event with values in schema order.
    ///
    /// - Parameters:
    ///   - time: the event time; `nil` means the engine's current time.
    /// - Returns: the triggers the event (and any timers due before it) produced, in order.
    /// - Throws: ``QueryError`` `.invalidArgument` for an unknown stream or wrong value count,
    ///   `.typeMismatch` for a value that does not fit its field.
    public func send(_ stream: String, _ values: [Value], at time: Instant? = nil) throws(QueryError) -> [StreamOutput] {
        guard let handle = self.stream(named: stream) else {
            throw QueryError(.invalidArgument, "unknown stream '\(stream)'")
        }
        return try send(handle, values, at: time)
    }

    /// Sends one event given as `field → value`; missing fields are `NULL`.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` for an unknown stream or field.
    public func send(_ stream: String, fields: [String: Value], at time: Instant? = nil) throws(QueryError) -> [StreamOutput] {
        guard let handle = self.stream(named: stream) else {
            throw QueryError(.invalidArgument, "unknown stream '\(stream)'")
        }
        let schema = streams[handle.index].schema
        var values = [Value](repeating: .null, count: schema.count)
        for (name, value) in fields {
            guard let i = schema.index(of: name) else {
                throw QueryError(.invalidArgument, "stream '\(handle.name)' has no field '\(name)'")
            }
            values[i] = value
        }
        return try send(handle, values, at: time)
    }

    /// Sends one event to a resolved stream.
    public func send(_ stream: StreamHandle, _ values: [Value], at time: Instant? = nil) throws(QueryError) -> [StreamOutput] {
        if state.pointee.routes[stream.index].type.accepts(values) {
            sendUnchecked(stream.index, values, at: time)
        } else {
            sendUnchecked(stream.index, try conformed(values, to: stream), at: time)
        }
        return takeOutputs()
    }

    /// Sends one event to a resolved stream and appends the triggers it produced (with any timers
    /// due before it) to `outputs`: the same triggers as ``send(_:_:at:)-(StreamHandle,_,_)``
    /// returns, in flat storage a caller can reuse so that delivering them allocates nothing.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` for a wrong value count, `.typeMismatch` for a
    ///   value that does not fit its field; then nothing is appended.
    public func send(
        _ stream: StreamHandle, _ values: [Value], at time: Instant? = nil, into outputs: inout StreamOutputBuffer
    ) throws(QueryError) {
        let checked = state.pointee.routes[stream.index].type.accepts(values) ? values : try conformed(values, to: stream)
        // Triggers are appended to the caller's buffer directly; anything produced earlier and not
        // yet taken (by `advance` or a statement's creation) comes first, as `send` would return it.
        takePending(into: &outputs)
        swap(&outputs, &state.pointee.pending)
        sendUnchecked(stream.index, checked, at: time)
        swap(&outputs, &state.pointee.pending)
    }

    /// Moves engine time forward like ``advance(to:)`` and appends the triggers produced to
    /// `outputs`.
    public func advance(to time: Instant, into outputs: inout StreamOutputBuffer) {
        takePending(into: &outputs)
        swap(&outputs, &state.pointee.pending)
        if now == nil || time >= now! {
            fireTimers(until: time)
            now = time
        }
        swap(&outputs, &state.pointee.pending)
    }

    /// Moves triggers not yet handed out to the end of `outputs`.
    private func takePending(into outputs: inout StreamOutputBuffer) {
        if state.pointee.pending.isEmpty { return }
        for t in state.pointee.pending.indices {
            outputs.append(
                statement: state.pointee.pending.statement(at: t), time: state.pointee.pending.time(at: t),
                columns: state.pointee.pending.columns(at: t), rows: state.pointee.pending[t].rows)
        }
        state.pointee.pending.removeAll()
    }

    /// `values` with each value coerced to its field's type.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` for a wrong value count, `.typeMismatch` for a
    ///   value that does not fit its field.
    private func conformed(_ values: [Value], to stream: StreamHandle) throws(QueryError) -> [Value] {
        let type = streams[stream.index]
        let types = type.types
        guard values.count == types.count else {
            throw QueryError(
                .invalidArgument, "stream '\(stream.name)' has \(types.count) fields; the event has \(values.count) values")
        }
        var values = values
        for i in values.indices {
            switch (types[i], values[i]) {
            case (_, .null), (.any, _), (.integer, .integer), (.real, .real), (.text, .text), (.boolean, .boolean): continue
            default: break
            }
            let column = type.schema.columns[i]
            guard let v = SQLArithmetic.coerce(values[i], to: column.type) else {
                throw QueryError(
                    .typeMismatch,
                    "field '\(column.name)' of stream '\(stream.name)' is \(column.type); got \(values[i].typeName) '\(values[i].description.prefix(40))'")
            }
            values[i] = v
        }
        return values
    }

    /// Sends an event whose values are known to fit the schema (benchmarks, internal producers).
    package func sendUnchecked(_ stream: Int, _ values: [Value], at time: Instant?) {
        let now = self.now
        let t = max(time ?? now ?? .zero, now ?? time ?? .zero)
        if hasTimers { fireTimers(until: t) }
        state.pointee.now = t
        state.pointee.sequence &+= 1
        let event = Event(stream: stream, time: t, sequence: state.pointee.sequence, values: values)
        if queue.isEmpty {
            // Nothing is waiting: routing the event at once is what draining the queue would do.
            route(event)
            drain()
        } else {
            queue.append(event)
            drain()
        }
    }

    /// Moves engine time forward to `time`, firing due window expiries, batches, pattern timers
    /// and output intervals; earlier times are ignored.
    ///
    /// - Returns: the triggers produced.
    public func advance(to time: Instant) -> [StreamOutput] {
        if let now, time < now { return takeOutputs() }
        fireTimers(until: time)
        now = time
        return takeOutputs()
    }

    /// The triggers produced since the last call (for callers using ``sendUnchecked``).
    package func takeOutputs() -> [StreamOutput] {
        if state.pointee.pending.isEmpty { return [] }
        let taken = state.pointee.pending.outputs
        state.pointee.pending.removeAll()
        return taken
    }

    /// The earliest pending timer, if any (so a shell can sleep until then).
    public var nextTimer: Instant? {
        var next = timers.peek?.0
        for queue in expiryQueues {
            if let d = queue.nextDeadline, next == nil || d < next!.nanosecondsSinceEpoch {
                next = Instant(nanosecondsSinceEpoch: d)
            }
        }
        return next
    }

    // MARK: Internals used by runtimes

    func schedule(_ target: any TimerTarget, at time: Instant) {
        let key = ObjectIdentifier(target)
        if let held = scheduled[key], held <= time { return }
        scheduled[key] = time
        timers.push(time, target)
    }

    func emit(_ statement: StatementRuntime, rows: [[Value]]) {
        guard !rows.isEmpty else { return }
        let time = now ?? .zero
        if let target = statement.insertInto {
            let width = streams[target].schema.count
            for row in rows {
                var values = [Value](repeating: .null, count: width)
                for (i, field) in statement.insertMapping.enumerated() {
                    if let field, i < row.count {
                        let type = streams[target].schema.columns[field].type
                        values[field] = SQLArithmetic.coerce(row[i], to: type) ?? SQLArithmetic.cast(row[i], to: type)
                    }
                }
                sequence &+= 1
                queue.append(Event(stream: target, time: time, sequence: sequence, values: values))
            }
        }
        state.pointee.pending.append(statement: statement.id, time: time, columns: statement.columns, rows: rows)
    }

    /// Whether any timer or expiry queue exists (otherwise an event need not look for due timers).
    private var hasTimers: Bool { !state.pointee.timers.isEmpty || !state.pointee.expiryQueues.isEmpty }

    /// The one result row of `filter` for `event` (which passed it), for a statement that inserts
    /// into no stream (the per-event path of filters): written straight into the pending triggers.
    @inline(__always)
    func emitResult(_ statement: StatementID, columns: [String], of filter: borrowing EventFilter, for event: Event) {
        state.pointee.pending.beginOneRowTrigger(statement: statement, time: state.pointee.now ?? .zero, columns: columns)
        // Appending the row evaluates only the select list (no engine access) while the buffer is
        // held.
        filter.appendRow(event, to: &state.pointee.pending.values)
        state.pointee.pending.endRow()
    }

    private func fireTimers(until time: Instant) {
        let limit = time.nanosecondsSinceEpoch
        while true {
            // The earliest expiry queue head, if it is due and earlier than the timer heap's top
            // (ties go to the heap).
            var bestQueue = -1
            var best = Int64.max
            // Indexed in place: iterating a copy of the array would retain and release it (and
            // only the chosen queue is taken out of the array).
            for i in 0..<state.pointee.expiryQueues.count {
                if let d = state.pointee.expiryQueues[i].nextDeadline, d < best {
                    best = d
                    bestQueue = i
                }
            }
            // Unmanaged: the engine holds its expiry queues for its whole life, so firing one
            // needs no retain.
            var queue: Unmanaged<ExpiryQueue>? =
                bestQueue >= 0 && best <= limit ? Unmanaged.passUnretained(state.pointee.expiryQueues[bestQueue]) : nil
            let top = state.pointee.timers.firstDeadline
            if let top, top.nanosecondsSinceEpoch <= best { queue = nil }
            if queue == nil, top == nil || top! > time { return }
            if let queue {
                let at = Instant(nanosecondsSinceEpoch: best)
                if now == nil || at > now! { now = at }
                queue._withUnsafeGuaranteedRef { $0.fireFirst(at: at, engine: self) }
                flushPatterns()
                drain()
                continue
            }
            guard let (at, target) = timers.peek, at <= time else { return }
            timers.pop()
            let key = ObjectIdentifier(target)
            guard scheduled[key] == at else { continue }
            scheduled.removeValue(forKey: key)
            if now == nil || at > now! { now = at }
            target.timerFired(at: at, engine: self)
            flushPatterns()
            drain()
        }
    }

    /// Lets pattern statements process matches their timers found.
    @inline(__always)
    private func flushPatterns() {
        if state.pointee.patternStatements.isEmpty { return }
        for pattern in patternStatements { pattern.flushMatches(engine: self) }
    }

    private func drain() {
        while !state.pointee.queue.isEmpty, let event = state.pointee.queue.popFirst() {
            route(event)
        }
    }

    private func route(_ event: Event) {
        let route = state.pointee.routes[event.stream]
        route.namedWindow?.consume(event, engine: self)
        // Through `Unmanaged`: the stream type holds its index (see `StreamRoute`), so the calls
        // need no retain.
        Unmanaged.passUnretained(route.filters)._withUnsafeGuaranteedRef { filters in
            if filters.count == 0 { return }
            filters.route(event, engine: self)
        }
    }

    func register(_ statement: StatementID, stream: Int, consumer: any EventConsumer, filter: CompiledExpression?) {
        streams[stream].filters.add(consumer: consumer, filter: filter)
        registrations[statement, default: []].append((stream, ObjectIdentifier(consumer)))
    }

    /// The view an aggregating statement over `stream` with this filter, plan and window attaches
    /// to: an existing one with the same sharing key (``AggregationView/sharingKey(stream:filter:plan:window:)``)
    /// while ``sharesViews`` is set, else a new one.
    func aggregationView(
        stream: Int, filter: CompiledExpression?, plan: StreamSelectPlan, window: AggregatingInput.Window
    ) -> AggregationView {
        let key = sharesViews ? AggregationView.sharingKey(stream: stream, filter: filter, plan: plan, window: window) : nil
        if let key, let view = state.pointee.views[key] { return view }
        let view = AggregationView(plan: plan, window: window)
        if let key { state.pointee.views[key] = view }
        return view
    }

    /// The expiry queue shared by aggregating inputs with time windows of `duration` nanoseconds.
    func expiryQueue(duration: Int64) -> ExpiryQueue {
        if let queue = expiryQueues.first(where: { $0.duration == duration }) { return queue }
        let queue = ExpiryQueue(duration: duration)
        expiryQueues.append(queue)
        return queue
    }

    func streamIndex(_ name: String) -> Int? { streamsByName[name.lowercased()] }

    func addDerivedStream(_ name: String, schema: Schema) -> Int {
        let type = StreamType(index: streams.count, name: name, schema: schema)
        streams.append(type)
        state.pointee.routes.append(StreamRoute(type: type, filters: type.filters, namedWindow: nil))
        streamsByName[name.lowercased()] = type.index
        return type.index
    }

    func attachNamedWindow(_ window: NamedWindowRuntime, to stream: Int) {
        streams[stream].namedWindow = window
        state.pointee.routes[stream].namedWindow = window
    }
}
