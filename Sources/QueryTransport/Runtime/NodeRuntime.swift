import CoreMetrics
import Logging
import QueryCore
import ServiceLifecycle
import Synchronization

/// The shell that drives roles with a real clock, timers and a ``QueryCore/Transport``.
///
/// One runtime hosts the roles of one process (a SQL node, or an edge process with hundreds of
/// simulated machines), all attached to one transport. It follows postgres-nio's
/// `ConnectionPool`: each role lives in a `Mutex`; an input is handled under that role's lock and
/// the returned actions are carried out after releasing it:
/// - `.send` → ``QueryCore/Transport/send(_:from:to:)`` (drops are counted by the transport),
/// - `.setTimer`/`.cancelTimer` → a child task sleeping on the injected `Clock` in a discarding task
///   group (a replaced or cancelled timer's task is woken and ends without firing),
/// - `.answer` → the waiting caller of ``query(_:at:)`` or the client behind a
///   ``QueryCore/ClientQuery``; `.redirect` → the same caller, as a `.redirect` error naming the
///   endpoints of the partition's nodes from ``Configuration/directory``,
/// - `.log` → swift-log with the record's dotted metadata plus `node.id`,
/// - `.metric` → swift-metrics through the injected factory.
///
/// `now` for the roles is the wall-clock time at construction plus the time elapsed on `clock`, so
/// a test clock moves role time exactly as far as the test advances it.
///
/// Concurrency: inputs to *different* roles run in parallel; inputs to one role are serialized by
/// its lock. Actions of two concurrent inputs to the same role may be performed interleaved; the
/// roles' version rule makes message reordering harmless.
///
/// Lifecycle: ``run()`` (a swift-service-lifecycle `Service`) feeds `.started` to every role, runs
/// the transport and the timers, and returns after ``beginGracefulShutdown()`` (or a graceful
/// shutdown signal, or cancellation) once the transport has closed. Pending queries then fail
/// with `.cancelled`.
public final class NodeRuntime<T: Transport, C: Clock>: Service where C.Duration == Duration {
    /// Settings of a runtime.
    public struct Configuration: Sendable {
        /// The local node that answers client queries which name no node. Default: the first
        /// hosted node in sorted order.
        public var queryNode: NodeID?
        /// A query the role has not answered after this long fails with `.timeout` (a safety net;
        /// roles time queries out themselves). Default 60 s; `nil` waits forever.
        public var queryDeadline: Duration?

        /// Where other nodes accept client connections, so a role's redirect can name endpoints a
        /// client can follow (``QueryCore/QueryError/redirectTargets``). Default empty.
        public var directory: [NodeID: Endpoint]

        /// Creates a configuration.
        public init(
            queryNode: NodeID? = nil, queryDeadline: Duration? = .seconds(60), directory: [NodeID: Endpoint] = [:]
        ) {
            self.queryNode = queryNode
            self.queryDeadline = queryDeadline
            self.directory = directory
        }
    }

    /// The transport this runtime sends and receives through.
    public let transport: T
    /// The nodes hosted here, in sorted order.
    public let nodes: [NodeID]

    let clock: C
    let logger: Logger
    let configuration: Configuration
    let cells: [NodeID: RoleCell]
    let state = Mutex(State())
    let timerRequests: AsyncStream<TimerRequest>
    let timerRequestSink: AsyncStream<TimerRequest>.Continuation
    let clockOrigin: C.Instant
    let epochOrigin: Instant
    let roleMetrics: RoleMetrics
    let metrics: RuntimeMetrics

    /// Creates a runtime for `roles` (distinct ids) over `transport`.
    ///
    /// - Parameters:
    ///   - roles: The roles to host; their ids should be in `transport.localNodes`.
    ///   - transport: The transport (run by ``run()``).
    ///   - clock: The clock timers sleep on (`ContinuousClock` in production, a manual clock in
    ///     tests).
    ///   - wallClockNow: The wall-clock time that corresponds to `clock.now`.
    ///   - configuration: Query routing and deadlines.
    ///   - logger: Where role logs go; `node.id` is added to each record.
    ///   - metricsFactory: Where role and runtime metrics go.
    public init(
        roles: [any Role],
        transport: T,
        clock: C,
        wallClockNow: Instant = .wallClockNow(),
        configuration: Configuration = .init(),
        logger: Logger = Logger(label: "query.runtime"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        var cells: [NodeID: RoleCell] = [:]
        for role in roles { cells[role.id] = RoleCell(role) }
        self.cells = cells
        self.nodes = cells.keys.sorted()
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.configuration = configuration
        (self.timerRequests, self.timerRequestSink) = AsyncStream.makeStream(of: TimerRequest.self)
        self.clockOrigin = clock.now
        self.epochOrigin = wallClockNow
        let roleName = roles.first.map { String(describing: type(of: $0)).lowercased() } ?? "none"
        self.roleMetrics = RoleMetrics(factory: metricsFactory, role: roleName)
        self.metrics = RuntimeMetrics(factory: metricsFactory, role: roleName)
    }

    /// Role time now: the wall-clock origin plus the time elapsed on `clock`.
    public func now() -> Instant {
        epochOrigin.advanced(by: clockOrigin.duration(to: clock.now))
    }

    /// A copy of the hosted role `node`'s current state (roles are values), for inspection.
    public func role(_ node: NodeID) -> (any Role)? {
        cells[node]?.role.withLock { $0 }
    }

    /// Feeds `input` to the hosted role `node` and performs the actions it returns.
    ///
    /// Use it for `.publish` on edges; ``run()`` feeds messages, peers and timers itself.
    /// - Returns: `false` if `node` is not hosted here.
    @discardableResult
    public func deliver(_ input: RoleInput, to node: NodeID) -> Bool {
        guard let cell = cells[node] else { return false }
        let now = self.now()
        var watch = false
        if case .received(.update, _) = input { watch = state.withLock { !$0.generationObservers.isEmpty } }
        let (actions, snapshot): ([RoleAction], GenerationSnapshot?) = cell.role.withLock { role in
            guard watch, let before = role as? any SnapshotServing else { return (role.handle(input, now: now), nil) }
            let previous = before.servedGeneration
            let actions = role.handle(input, now: now)
            guard let serving = role as? any SnapshotServing, let generation = serving.servedGeneration,
                previous.map({ $0 < generation }) ?? true
            else { return (actions, nil) }
            return (actions, GenerationSnapshot(node: node, generation: generation, catalog: serving.servedSnapshot))
        }
        perform(actions, from: node)
        if let snapshot {
            for observer in state.withLock({ $0.generationObservers }) { observer(snapshot) }
        }
        return true
    }

    /// Calls `observer` each time a hosted SQL node (a ``SnapshotServing`` role) applies a newer
    /// generation, with its snapshot catalog, once per generation number, right after the update
    /// that brought it and on the task that consumes transport events (keep it short, or hand the
    /// snapshot to a task of your own).
    ///
    /// Snapshot persistent queries (``QueryManagerService/generationArrived(_:at:)``) and event
    /// sources that turn each generation of a table into events plug in here.
    public func onNewGeneration(_ observer: @escaping @Sendable (GenerationSnapshot) -> Void) {
        state.withLock { $0.generationObservers.append(observer) }
    }

    /// Publishes the current rows of `table` on the edge role `node`.
    @discardableResult
    public func publish(_ table: TableName, _ rows: Segment, at node: NodeID) -> Bool {
        deliver(.publish(table, rows), to: node)
    }

    /// Asks a hosted SQL node a query and waits for its answer.
    ///
    /// - Parameters:
    ///   - sql: The query text.
    ///   - node: The node to ask; default ``Configuration/queryNode``.
    /// - Returns: The answer.
    /// - Throws: ``QueryCore/QueryError``: the role's error, `.unavailable` if the node is not
    ///   hosted, `.timeout` past ``Configuration/queryDeadline``, `.cancelled` on cancellation or
    ///   shutdown.
    public func query(_ sql: String, at node: NodeID? = nil) async throws(QueryError) -> QueryAnswer {
        let key = QueryKey.next()
        let result: Result<QueryAnswer, QueryError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                submit(sql: sql, node: node, key: key) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            self.complete(key, with: .failure(QueryError(.cancelled, "query cancelled by its caller")))
        }
        return try result.get()
    }

    /// Registers a waiter for `key`, feeds the query to the role, and arms the deadline.
    func submit(
        sql: String, node requested: NodeID?, key: QueryKey,
        deliver: @escaping @Sendable (Result<QueryAnswer, QueryError>) -> Void
    ) {
        guard let node = requested ?? configuration.queryNode ?? nodes.first, cells[node] != nil else {
            let name = requested.map { "'\($0)'" } ?? "any node"
            deliver(.failure(QueryError(.unavailable, "\(name) is not hosted by this process")))
            return
        }
        let deadline = configuration.queryDeadline.map { now().advanced(by: $0) }
        let accepted: Bool = state.withLock { state in
            guard state.phase.acceptsWork else { return false }
            state.queries[key] = QueryWaiter(node: node, queryID: key.queryID, deliver: deliver)
            return true
        }
        guard accepted else {
            deliver(.failure(QueryError(.cancelled, "node is shutting down")))
            return
        }
        metrics.queries.increment()
        if let deadline { schedule(.queryDeadline(key), at: deadline) }
        self.deliver(.query(QueryRequest(id: key.queryID, sql: sql)), to: node)
    }

    /// Resolves the waiter for `key`, if it is still waiting.
    func complete(_ key: QueryKey, with result: Result<QueryAnswer, QueryError>) {
        guard let waiter = state.withLock({ $0.queries.removeValue(forKey: key) }) else { return }
        cancelTimer(.queryDeadline(key))
        if case .failure = result { metrics.queryFailures.increment() }
        waiter.deliver(result)
    }

    /// Carries out a role's actions, in order.
    func perform(_ actions: [RoleAction], from node: NodeID) {
        for action in actions {
            switch action {
            case .send(let message, let peer):
                let outcome = transport.send(message, from: node, to: peer)
                if case .dropped(let reason) = outcome {
                    metrics.dropped(reason)
                    logger.trace(
                        "message dropped",
                        metadata: ["node.id": "\(node)", "peer": "\(peer)", "reason": "\(reason)"])
                }
            case .setTimer(let timer, let instant):
                schedule(.role(node, timer), at: instant)
            case .cancelTimer(let timer):
                cancelTimer(.role(node, timer))
            case .answer(let queryID, let result):
                complete(QueryKey(queryID: queryID), with: result)
            case .redirect(let queryID, let redirect):
                let targets = redirect.nodes.compactMap { configuration.directory[$0] }
                complete(QueryKey(queryID: queryID), with: .failure(.redirect(redirect.description, to: targets)))
            case .log(let record):
                var metadata: Logger.Metadata = ["node.id": "\(node)"]
                for (key, value) in record.metadata { metadata[key] = "\(value)" }
                logger.log(level: record.level.loggerLevel, "\(record.message)", metadata: metadata)
            case .metric(let record):
                roleMetrics.record(record)
            }
        }
    }

    /// Runs the roles until graceful shutdown.
    ///
    /// - Throws: What the transport's `run()` throws (for example, its listen address is taken).
    public func run() async throws {
        let started: Bool = state.withLock { state in
            guard case .idle = state.phase else { return false }
            state.phase = .running
            return true
        }
        guard started else { return }
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask {
                        defer { self.beginGracefulShutdown() }
                        try await self.transport.run()
                    }
                    group.addTask {
                        await self.consumeEvents()
                    }
                    for node in self.nodes { self.deliver(.started, to: node) }
                    for await request in self.timerRequests {
                        group.addTask { await self.runTimer(request) }
                    }
                }
            } onCancel: {
                self.beginGracefulShutdown()
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
        state.withLock { $0.phase = .stopped }
    }

    /// Stops intake: fails pending queries with `.cancelled`, wakes every timer without firing
    /// it, and shuts the transport down, which makes ``run()`` return. Idempotent.
    public func beginGracefulShutdown() {
        let (timers, queries): ([TimerEntry], [QueryWaiter]) = state.withLock { state in
            guard state.phase.acceptsWork else { return ([], []) }
            state.phase = .stopping
            defer {
                state.timers = [:]
                state.queries = [:]
            }
            return (Array(state.timers.values), Array(state.queries.values))
        }
        timerRequestSink.finish()
        for timer in timers { timer.cancellation.cancel() }
        for waiter in queries {
            waiter.deliver(.failure(QueryError(.cancelled, "node is shutting down")))
        }
        transport.beginGracefulShutdown()
    }

    private func consumeEvents() async {
        for await event in transport.events {
            switch event {
            case .received(let message, let peer, let node):
                metrics.messagesReceived.increment()
                deliver(.received(message, from: peer), to: node)
            case .peerUp(let peer):
                logger.debug("peer up", metadata: ["peer": "\(peer)"])
                for node in nodes where node != peer { deliver(.peerUp(peer), to: node) }
            case .peerDown(let peer):
                logger.info("peer down", metadata: ["peer": "\(peer)"])
                for node in nodes where node != peer { deliver(.peerDown(peer), to: node) }
            case .query(let query):
                let responder = query.responder
                submit(sql: query.sql, node: query.node, key: .next()) { responder($0) }
            }
        }
    }
}

extension NodeRuntime {
    /// The runtime's mutable bookkeeping (roles live in their own cells).
    struct State {
        var phase: Phase = .idle
        var timers: [TimerKey: TimerEntry] = [:]
        var nextTimerToken: UInt64 = 0
        var queries: [QueryKey: QueryWaiter] = [:]
        var generationObservers: [@Sendable (GenerationSnapshot) -> Void] = []
    }

    /// Where the runtime is in its life. Can transition: idle → running → stopping → stopped, or
    /// idle/running → stopping.
    enum Phase {
        case idle, running, stopping, stopped

        var acceptsWork: Bool {
            switch self {
            case .idle, .running: true
            case .stopping, .stopped: false
            }
        }
    }

    /// A caller waiting for an answer.
    struct QueryWaiter: Sendable {
        var node: NodeID
        var queryID: QueryID
        var deliver: @Sendable (Result<QueryAnswer, QueryError>) -> Void
    }
}

/// One hosted role behind its lock.
final class RoleCell: Sendable {
    let role: Mutex<any Role>

    init(_ role: any Role) { self.role = Mutex(role) }
}

/// A runtime-unique query identity (query ids are unique per runtime, across all sources).
struct QueryKey: Hashable, Sendable {
    var queryID: QueryID

    private static let counter = Atomic<UInt64>(0)

    static func next() -> QueryKey {
        QueryKey(queryID: QueryID(counter.wrappingAdd(1, ordering: .relaxed).newValue))
    }
}

extension LogLevel {
    var loggerLevel: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}
