import QueryCore

/// A registered statement as the engine runs it.
class StatementRuntime {
    let id: StatementID
    let text: String
    /// Result column names (empty for statements that produce no rows).
    var columns: [String] = []
    /// The stream (or named window) results are inserted into, if any.
    var insertInto: Int? = nil
    /// For each result column, the field of the insert target it fills (or `nil` to drop it).
    var insertMapping: [Int?] = []

    init(id: StatementID, text: String) {
        self.id = id
        self.text = text
    }

    /// Called once after registration.
    func start(engine: StreamEngine) {}
    /// Releases everything; no output follows.
    func stop(engine: StreamEngine) {}
}

/// A statement that does nothing at run time (`create schema`).
final class InertStatement: StatementRuntime {}

/// One stream of a `SELECT`'s `FROM` clause: its filter, its data window, and where updates go.
final class StreamInput: EventConsumer, TimerTarget {
    // The statement owns its inputs and outlives them in the engine; a stopped input never
    // touches it (timers may still hold a stopped input).
    unowned(unsafe) let statement: SelectStatementRuntime
    let position: Int
    let stream: Int
    let window: DataWindow
    let retains: Bool
    var stopped = false

    /// - Parameter compilesEvents: whether a pass-through statement without aggregates may use its
    ///   ``EventFilter`` (otherwise it goes through the row pipeline).
    init(statement: SelectStatementRuntime, position: Int, stream: Int, window: WindowSpec, compilesEvents: Bool = true) {
        self.statement = statement
        self.position = position
        self.stream = stream
        self.window = window.make()
        self.retains = window.retains
        if case .none = window {
            passesThrough = statement.pipeline.plan.width == 1 && statement.pipeline.allowsFastPath
        } else {
            passesThrough = false
        }
        // The statement's output settings are final before its inputs are made.
        if compilesEvents, passesThrough, statement.insertInto == nil, let filter = statement.pipeline.eventFilter {
            eventFilter = filter
            columns = statement.columns
        } else {
            eventFilter = nil
            columns = []
        }
    }

    /// Whether events go straight to ``RowPipeline/processOne(_:entering:engine:)``.
    private let passesThrough: Bool
    /// For a pass-through statement without aggregates or `insert into`: its `WHERE`, `HAVING`
    /// and select list compiled over the event, and its result columns.
    private let eventFilter: EventFilter?
    private let columns: [String]

    func consume(_ event: Event, engine: StreamEngine) {
        guard !stopped, let now = engine.now else { return }
        if let eventFilter {
            // What `processOne` does for such a statement, without forming a row.
            if eventFilter.passes(event) { engine.emitResult(statement.id, columns: columns, of: eventFilter, for: event) }
            return
        }
        if passesThrough {
            // No window and one position: the event is the whole update.
            statement.pipeline.processOne(.one(event), entering: true, engine: engine)
            return
        }
        var update = WindowUpdate()
        window.insert(event, now: now, into: &update)
        if let deadline = window.nextDeadline { engine.schedule(self, at: deadline) }
        if !update.isEmpty { statement.process(position: position, update: update, engine: engine) }
    }

    func timerFired(at time: Instant, engine: StreamEngine) {
        guard !stopped, let due = window.nextDeadline, due <= time else { return }
        var update = WindowUpdate()
        window.expire(now: time, into: &update)
        if let deadline = window.nextDeadline { engine.schedule(self, at: deadline) }
        if !update.isEmpty { statement.process(position: position, update: update, engine: engine) }
    }
}

/// A `SELECT … FROM stream[.window], …` statement (also a consumer of named windows).
final class SelectStatementRuntime: StatementRuntime {
    let pipeline: RowPipeline
    var inputs: [StreamInput] = []
    /// The flat aggregating input that replaces ``inputs`` and the pipeline, if the statement
    /// qualifies (see ``AggregatingInput``).
    var aggregating: AggregatingInput?
    /// Named-window positions: consumed through the window's updates, not an own window.
    var namedWindowPositions: [Int: NamedWindowRuntime] = [:]
    var filters: [(stream: Int, filter: CompiledExpression?, position: Int)] = []

    init(id: StatementID, text: String, plan: StreamSelectPlan) {
        self.pipeline = RowPipeline(plan: plan)
        super.init(id: id, text: text)
        self.columns = plan.columns
    }

    /// Contents of the window at `position`.
    func contents(_ position: Int) -> [Event] {
        if let named = namedWindowPositions[position] { return named.window.contents }
        return inputs.first { $0.position == position }?.window.contents ?? []
    }

    /// Rows currently retained: the product of every position's contents.
    func currentRows() -> [Row] {
        let width = pipeline.plan.width
        if width == 1 { return contents(0).map { .one($0) } }
        var rows: [[Event?]] = [[Event?](repeating: nil, count: width)]
        for p in 0..<width {
            let events = contents(p)
            var next: [[Event?]] = []
            for partial in rows {
                for e in events {
                    var r = partial
                    r[p] = e
                    next.append(r)
                }
            }
            rows = next
        }
        return rows.map { .many($0) }
    }

    /// The rows an event at `position` forms with the other positions' current contents.
    private func joined(_ event: Event, at position: Int) -> [Row] {
        let width = pipeline.plan.width
        var rows: [[Event?]] = [[Event?](repeating: nil, count: width)]
        rows[0][position] = event
        for p in 0..<width where p != position {
            let events = contents(p)
            if events.isEmpty { return [] }
            var next: [[Event?]] = []
            next.reserveCapacity(rows.count * events.count)
            for partial in rows {
                for e in events {
                    var r = partial
                    r[p] = e
                    next.append(r)
                }
            }
            rows = next
        }
        return rows.map { .many($0) }
    }

    func process(position: Int, update: WindowUpdate, engine: StreamEngine, silent: Bool = false) {
        if pipeline.plan.width == 1 {
            if !silent && update.entered.count + update.left.count == 1 && pipeline.allowsFastPath {
                if let e = update.entered.first {
                    pipeline.processOne(.one(e), entering: true, engine: engine)
                } else {
                    pipeline.processOne(.one(update.left[0]), entering: false, engine: engine)
                }
                return
            }
            pipeline.process(
                entered: update.entered.map { .one($0) }, left: update.left.map { .one($0) }, engine: engine,
                silent: silent)
            return
        }
        // Leaving rows are formed before entering ones, against the same contents of the other
        // positions, so every combined row that entered earlier leaves exactly once.
        var left: [Row] = []
        for e in update.left { left.append(contentsOf: joined(e, at: position)) }
        var entered: [Row] = []
        for e in update.entered { entered.append(contentsOf: joined(e, at: position)) }
        pipeline.process(entered: entered, left: left, engine: engine, silent: silent)
    }

    override func start(engine: StreamEngine) {
        pipeline.currentRows = { [unowned self] in self.currentRows() }
        pipeline.limiter?.start(now: engine.now, engine: engine)
        for (position, named) in namedWindowPositions.sorted(by: { $0.key < $1.key }) {
            named.consumers.append((self, position))
            let existing = named.window.contents
            if !existing.isEmpty {
                process(position: position, update: WindowUpdate(entered: existing, left: []), engine: engine, silent: true)
            }
        }
    }

    override func stop(engine: StreamEngine) {
        for input in inputs { input.stopped = true }
        aggregating?.stop()
        pipeline.limiter?.stop()
        for named in namedWindowPositions.values { named.consumers.removeAll { $0.0 === self } }
    }
}

/// A `SELECT … FROM PATTERN […]` statement.
final class PatternStatementRuntime: StatementRuntime, EventConsumer {
    let pipeline: RowPipeline
    let matcher: PatternMatcher

    init(id: StatementID, text: String, plan: StreamSelectPlan, pattern: PatternSpec) {
        self.pipeline = RowPipeline(plan: plan)
        self.matcher = PatternMatcher(spec: pattern, width: plan.width)
        super.init(id: id, text: text)
        self.columns = plan.columns
    }

    override func start(engine: StreamEngine) {
        pipeline.limiter?.start(now: engine.now, engine: engine)
        matcher.start(engine: engine)
        flushMatches(engine: engine)
    }

    func consume(_ event: Event, engine: StreamEngine) {
        matcher.consume(event, engine: engine)
        flushMatches(engine: engine)
    }

    /// Processes matches found by events or timers.
    func flushMatches(engine: StreamEngine) {
        let matches = matcher.takeMatches()
        if !matches.isEmpty {
            pipeline.process(entered: matches.map { .many($0) }, left: [], engine: engine)
        }
    }

    override func stop(engine: StreamEngine) {
        matcher.stop()
        pipeline.limiter?.stop()
    }
}

/// A named window (`create window`): one data window shared by the statements that select from
/// it, filled by `insert into` and by events published to its name, emptied by expiry and
/// `on … delete`.
final class NamedWindowRuntime: StatementRuntime, EventConsumer, TimerTarget {
    let window: DataWindow
    let stream: Int
    var consumers: [(SelectStatementRuntime, Int)] = []
    var stopped = false

    init(id: StatementID, text: String, stream: Int, window: WindowSpec) {
        self.window = window.make()
        self.stream = stream
        super.init(id: id, text: text)
    }

    func consume(_ event: Event, engine: StreamEngine) {
        guard !stopped, let now = engine.now else { return }
        var update = WindowUpdate()
        window.insert(event, now: now, into: &update)
        publish(update, engine: engine)
    }

    func timerFired(at time: Instant, engine: StreamEngine) {
        guard !stopped, let due = window.nextDeadline, due <= time else { return }
        var update = WindowUpdate()
        window.expire(now: time, into: &update)
        publish(update, engine: engine)
    }

    /// Removes events matching `predicate` and tells the consumers.
    func delete(where predicate: (Event) -> Bool, engine: StreamEngine) -> [Event] {
        var update = WindowUpdate()
        window.remove(where: predicate, into: &update)
        publish(update, engine: engine)
        return update.left
    }

    private func publish(_ update: WindowUpdate, engine: StreamEngine) {
        if let deadline = window.nextDeadline { engine.schedule(self, at: deadline) }
        guard !update.isEmpty else { return }
        for (consumer, position) in consumers {
            consumer.process(position: position, update: update, engine: engine)
        }
    }

    override func stop(engine: StreamEngine) { stopped = true }
}

/// `on Trigger delete from Window where …`: each trigger event deletes the window's matching
/// events; the deleted events are this statement's output.
final class OnDeleteRuntime: StatementRuntime, EventConsumer {
    unowned let window: NamedWindowRuntime
    /// Over positions 0 (trigger) and 1 (window event).
    let condition: CompiledExpression?
    var stopped = false

    init(id: StatementID, text: String, window: NamedWindowRuntime, condition: CompiledExpression?, columns: [String]) {
        self.window = window
        self.condition = condition
        super.init(id: id, text: text)
        self.columns = columns
    }

    func consume(_ event: Event, engine: StreamEngine) {
        guard !stopped else { return }
        let deleted = window.delete(
            where: { candidate in condition?.isTrue(.many([event, candidate])) ?? true }, engine: engine)
        if !deleted.isEmpty { engine.emit(self, rows: deleted.map(\.values)) }
    }

    override func stop(engine: StreamEngine) { stopped = true }
}
