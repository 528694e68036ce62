public import QueryCore
import Synchronization

/// The query manager: registers metrics (streams) and persistent queries, gives each query a
/// topic, and delivers its triggers to the topic's subscribers and sinks.
///
/// Thread-safe; all state is behind one lock, and sinks are called after it is released, so a
/// sink may call back into the manager. Delivery never blocks the engine (see ``TriggerSink``).
///
/// Registering a statement identical to one already registered (same tokens, ignoring case,
/// whitespace and comments) returns the existing topic and adds the caller as an owner; the
/// statement runs once and stops when its last owner unregisters it.
public final class QueryManager: Sendable {
    /// Defaults for subscriptions.
    public struct Configuration: Sendable {
        /// Triggers a subscriber's queue holds before the overflow policy applies. Default 1,024.
        public var subscriberCapacity = 1024
        /// What a full subscriber queue does. Default ``OverflowPolicy/dropOldest``.
        public var overflowPolicy = OverflowPolicy.dropOldest
        /// The most statements (topics) at once. Default 100,000.
        public var maximumStatements = 100_000

        /// The defaults.
        public init() {}
    }

    /// A registered metric.
    public struct MetricInfo: Sendable, Hashable {
        public var name: String
        public var schema: Schema
        /// Who may publish events to it.
        public var publishers: AccessList
    }

    /// A registered persistent query.
    public struct StatementInfo: Sendable, Hashable {
        public var topic: TopicHandle
        public var text: String
        /// Hash of the normalised statement (duplicates share it).
        public var hash: String
        public var owners: [Principal]
        /// Whether it is a snapshot query (re-evaluated per generation).
        public var isSnapshot: Bool
        public var access: TopicAccess
    }

    struct Topic {
        var info: StatementInfo
        var ownerCounts: [Principal: Int]
        var statement: StatementID?
        var snapshot: SnapshotQuery?
        var sinks: [(id: UInt64, sink: any TriggerSink)] = []
        var sequence: UInt64 = 0
        var dropped = 0
    }

    struct State {
        var engine = StreamEngine()
        var metrics: [String: MetricInfo] = [:]
        var topics: [String: Topic] = [:]
        var topicByHash: [String: String] = [:]
        var topicByStatement: [StatementID: String] = [:]
        var nextSink: UInt64 = 0
    }

    let state: Mutex<State>
    /// The configuration.
    public let configuration: Configuration

    /// Creates an empty manager.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.state = Mutex(State())
    }

    // MARK: Metrics

    /// Registers a metric: a stream name and its schema. Registering the same schema again is a
    /// no-op.
    ///
    /// - Throws: ``QueryError`` `.alreadyExists` if the name exists with another schema.
    public func registerMetric(_ name: String, schema: Schema, publishers: AccessList = .anyone) throws(QueryError) {
        try state.withLock { (s: inout State) throws(QueryError) in
            try s.engine.defineStream(name, schema: schema)
            s.metrics[name.lowercased()] = MetricInfo(name: name, schema: schema, publishers: publishers)
        }
    }

    /// Unregisters a metric no statement uses.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` if unknown or still used.
    public func unregisterMetric(_ name: String) throws(QueryError) {
        try state.withLock { (s: inout State) throws(QueryError) in
            try s.engine.removeStream(name)
            s.metrics.removeValue(forKey: name.lowercased())
        }
    }

    /// The registered metrics, by name.
    public var metrics: [MetricInfo] {
        state.withLock { $0.metrics.values.sorted { $0.name.lowercased() < $1.name.lowercased() } }
    }

    // MARK: Statements

    /// Registers a continuous query and returns its topic.
    ///
    /// - Parameters:
    ///   - access: the topic's rights; by default only `owner` may subscribe.
    /// - Throws: ``QueryError`` from the parser and planner, with the position of the problem;
    ///   `.limitExceeded` above ``Configuration/maximumStatements``.
    public func registerStatement(_ text: String, owner: Principal, access: TopicAccess? = nil) throws(QueryError) -> TopicHandle {
        let hash = try QueryManager.hash(text)
        return try state.withLock { (s: inout State) throws(QueryError) -> TopicHandle in
            if let name = s.topicByHash[hash] {
                s.topics[name]!.ownerCounts[owner, default: 0] += 1
                s.topics[name]!.info.owners = s.topics[name]!.ownerCounts.keys.sorted { $0.name < $1.name }
                return s.topics[name]!.info.topic
            }
            guard s.topics.count < configuration.maximumStatements else {
                throw QueryError(.limitExceeded, "at most \(configuration.maximumStatements) statements may be registered")
            }
            let id = try s.engine.createStatement(text)
            let topic = TopicHandle(name: "pq.\(hash)")
            let info = StatementInfo(
                topic: topic, text: text, hash: hash, owners: [owner], isSnapshot: false,
                access: access ?? .owner(owner))
            s.topics[topic.name] = Topic(info: info, ownerCounts: [owner: 1], statement: id)
            s.topicByHash[hash] = topic.name
            s.topicByStatement[id] = topic.name
            return topic
        }
    }

    /// Registers a snapshot persistent query, evaluated by ``evaluateSnapshots(in:at:)``.
    ///
    /// - Throws: ``QueryError`` `.syntaxError` with the position if the SQL does not parse.
    public func registerSnapshotQuery(
        _ sql: String, evaluator: any QueryEvaluator, owner: Principal, access: TopicAccess? = nil
    ) throws(QueryError) -> TopicHandle {
        let query = try SnapshotQuery(sql: sql, evaluator: evaluator)
        let hash = "s" + (try QueryManager.hash(sql))
        return try state.withLock { (s: inout State) throws(QueryError) -> TopicHandle in
            if let name = s.topicByHash[hash] {
                s.topics[name]!.ownerCounts[owner, default: 0] += 1
                s.topics[name]!.info.owners = s.topics[name]!.ownerCounts.keys.sorted { $0.name < $1.name }
                return s.topics[name]!.info.topic
            }
            guard s.topics.count < configuration.maximumStatements else {
                throw QueryError(.limitExceeded, "at most \(configuration.maximumStatements) statements may be registered")
            }
            let topic = TopicHandle(name: "pq.\(hash)")
            let info = StatementInfo(
                topic: topic, text: sql, hash: hash, owners: [owner], isSnapshot: true, access: access ?? .owner(owner))
            s.topics[topic.name] = Topic(info: info, ownerCounts: [owner: 1], statement: nil, snapshot: query)
            s.topicByHash[hash] = topic.name
            return topic
        }
    }

    /// Drops one registration of `principal`; the statement stops when no owner is left, and its
    /// subscriptions end.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` for an unknown topic, `.permissionDenied` if
    ///   `principal` does not own it.
    public func unregisterStatement(_ topic: TopicHandle, by principal: Principal) throws(QueryError) {
        let closing = try state.withLock { (s: inout State) throws(QueryError) -> [any TriggerSink] in
            guard var entry = s.topics[topic.name] else {
                throw QueryError(.invalidArgument, "unknown topic '\(topic.name)'")
            }
            guard let count = entry.ownerCounts[principal] else {
                throw QueryError(
                    .permissionDenied, "principal '\(principal)' does not own topic '\(topic.name)' and cannot unregister it")
            }
            if count > 1 { entry.ownerCounts[principal] = count - 1 } else { entry.ownerCounts.removeValue(forKey: principal) }
            entry.info.owners = entry.ownerCounts.keys.sorted { $0.name < $1.name }
            guard entry.ownerCounts.isEmpty else {
                s.topics[topic.name] = entry
                return []
            }
            s.topics.removeValue(forKey: topic.name)
            s.topicByHash.removeValue(forKey: entry.info.hash)
            if let id = entry.statement {
                s.engine.removeStatement(id)
                s.topicByStatement.removeValue(forKey: id)
            }
            return entry.sinks.map(\.sink)
        }
        for sink in closing { (sink as? SubscriptionSink)?.close() }
    }

    /// The registered statements, by topic name.
    public var statements: [StatementInfo] {
        state.withLock { $0.topics.values.map(\.info).sorted { $0.topic.name < $1.topic.name } }
    }

    /// Checks a statement without registering it.
    ///
    /// - Throws: the positioned error registration would throw.
    public func validate(_ text: String) throws(QueryError) {
        try state.withLock { (s: inout State) throws(QueryError) in try s.engine.validate(text) }
    }

    // MARK: Subscriptions

    /// Subscribes to a topic as an `AsyncSequence` with a bounded queue.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` for an unknown topic; `.permissionDenied` if
    ///   `principal` may not subscribe to it.
    public func subscribe(
        _ topic: TopicHandle, as principal: Principal, capacity: Int? = nil, policy: OverflowPolicy? = nil
    ) throws(QueryError) -> TriggerSubscription {
        let (subscription, sink) = SubscriptionSink.make(
            topic: topic, capacity: capacity ?? configuration.subscriberCapacity,
            policy: policy ?? configuration.overflowPolicy)
        try addSink(sink, to: topic, as: principal)
        return subscription
    }

    /// Attaches a sink (webhook, TCP connection, …) to a topic.
    ///
    /// - Returns: an identity for ``removeSink(_:from:)``.
    /// - Throws: ``QueryError`` `.invalidArgument` for an unknown topic; `.permissionDenied` if
    ///   `principal` may not subscribe to it.
    @discardableResult
    public func addSink(_ sink: any TriggerSink, to topic: TopicHandle, as principal: Principal) throws(QueryError) -> UInt64 {
        try state.withLock { (s: inout State) throws(QueryError) -> UInt64 in
            guard s.topics[topic.name] != nil else {
                throw QueryError(.invalidArgument, "unknown topic '\(topic.name)'")
            }
            guard s.topics[topic.name]!.info.access.subscribers.allows(principal) else {
                throw QueryError(
                    .permissionDenied, "principal '\(principal)' may not subscribe to topic '\(topic.name)'")
            }
            s.nextSink += 1
            s.topics[topic.name]!.sinks.append((s.nextSink, sink))
            return s.nextSink
        }
    }

    /// Detaches a sink.
    public func removeSink(_ id: UInt64, from topic: TopicHandle) {
        state.withLock { s in s.topics[topic.name]?.sinks.removeAll { $0.id == id } }
    }

    /// Triggers dropped so far on `topic` because sinks were full.
    public func droppedTriggers(on topic: TopicHandle) -> Int {
        state.withLock { $0.topics[topic.name]?.dropped ?? 0 }
    }

    // MARK: Events and time

    /// Publishes one event to a metric and delivers the triggers it causes.
    ///
    /// - Returns: the triggers, in order.
    /// - Throws: ``QueryError`` `.permissionDenied` if `principal` may not publish to the metric;
    ///   the engine's errors for bad events.
    @discardableResult
    public func publish(
        _ stream: String, fields: [String: Value], at time: Instant? = nil, as principal: Principal
    ) throws(QueryError) -> [Trigger] {
        let pending = try state.withLock { (s: inout State) throws(QueryError) -> [Delivery] in
            if let metric = s.metrics[stream.lowercased()], !metric.publishers.allows(principal) {
                throw QueryError(.permissionDenied, "principal '\(principal)' may not publish to metric '\(metric.name)'")
            }
            let outputs = try s.engine.send(stream, fields: fields, at: time)
            return QueryManager.triggers(outputs, in: &s)
        }
        return deliver(pending)
    }

    /// Moves engine time forward (the injected clock) and delivers the triggers of windows,
    /// patterns and output intervals that fall due.
    @discardableResult
    public func advance(to time: Instant) -> [Trigger] {
        let pending = state.withLock { s in QueryManager.triggers(s.engine.advance(to: time), in: &s) }
        return deliver(pending)
    }

    /// Publishes rows to a topic by hand (an external producer).
    ///
    /// - Throws: ``QueryError`` `.permissionDenied` if `principal` may not publish to the topic.
    public func publish(
        rows: [[Value]], columns: [String], to topic: TopicHandle, at time: Instant, as principal: Principal
    ) throws(QueryError) {
        let pending = try state.withLock { (s: inout State) throws(QueryError) -> [Delivery] in
            guard var entry = s.topics[topic.name] else { throw QueryError(.invalidArgument, "unknown topic '\(topic.name)'") }
            guard entry.info.access.publishers.allows(principal) else {
                throw QueryError(.permissionDenied, "principal '\(principal)' may not publish to topic '\(topic.name)'")
            }
            entry.sequence += 1
            let trigger = Trigger(topic: topic.name, kind: .rows, sequence: entry.sequence, time: time, columns: columns, rows: rows)
            s.topics[topic.name] = entry
            return [Delivery(trigger: trigger, sinks: entry.sinks)]
        }
        _ = deliver(pending)
    }

    /// Re-evaluates every snapshot query against a new generation's tables and delivers the
    /// raise/update/clear triggers.
    @discardableResult
    public func evaluateSnapshots(in catalog: any TableCatalog, at time: Instant) -> [Trigger] {
        let pending = state.withLock { s -> [Delivery] in
            var result: [Delivery] = []
            for name in s.topics.keys.sorted() {
                guard var entry = s.topics[name], var query = entry.snapshot else { continue }
                let transition = query.evaluate(in: catalog)
                entry.snapshot = query
                if let transition {
                    entry.sequence += 1
                    let trigger: Trigger
                    switch transition {
                    case .raised(let r):
                        trigger = Trigger(topic: name, kind: .raised, sequence: entry.sequence, time: time, columns: r.columns, rows: r.rows)
                    case .updated(let r):
                        trigger = Trigger(topic: name, kind: .updated, sequence: entry.sequence, time: time, columns: r.columns, rows: r.rows)
                    case .cleared:
                        trigger = Trigger(topic: name, kind: .cleared, sequence: entry.sequence, time: time, columns: [], rows: [])
                    }
                    result.append(Delivery(trigger: trigger, sinks: entry.sinks))
                }
                s.topics[name] = entry
            }
            return result
        }
        return deliver(pending)
    }

    // MARK: Delivery

    struct Delivery {
        var trigger: Trigger
        var sinks: [(id: UInt64, sink: any TriggerSink)]
    }

    static func triggers(_ outputs: [StreamOutput], in s: inout State) -> [Delivery] {
        var result: [Delivery] = []
        for output in outputs {
            guard let name = s.topicByStatement[output.statement], var entry = s.topics[name] else { continue }
            entry.sequence += 1
            result.append(
                Delivery(
                    trigger: Trigger(
                        topic: name, kind: .rows, sequence: entry.sequence, time: output.time, columns: output.columns,
                        rows: output.rows),
                    sinks: entry.sinks))
            s.topics[name] = entry
        }
        return result
    }

    /// Hands triggers to sinks outside the lock, then records drops and removes closed sinks.
    func deliver(_ deliveries: [Delivery]) -> [Trigger] {
        var drops: [String: Int] = [:]
        var closed: [String: Set<UInt64>] = [:]
        for d in deliveries {
            for (id, sink) in d.sinks {
                switch sink.deliver(d.trigger) {
                case .delivered: break
                case .dropped: drops[d.trigger.topic, default: 0] += 1
                case .closed:
                    drops[d.trigger.topic, default: 0] += 1
                    closed[d.trigger.topic, default: []].insert(id)
                }
            }
        }
        if !drops.isEmpty || !closed.isEmpty {
            state.withLock { s in
                for (topic, n) in drops { s.topics[topic]?.dropped += n }
                for (topic, ids) in closed { s.topics[topic]?.sinks.removeAll { ids.contains($0.id) } }
            }
        }
        return deliveries.map(\.trigger)
    }

    /// A stable hash of a statement's tokens (case, whitespace and comments ignored outside
    /// string literals): FNV-1a, 64 bits, as 16 hex digits.
    static func hash(_ text: String) throws(QueryError) -> String {
        var lexer = EPLLexer(text)
        let tokens = try lexer.tokenize()
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ s: String) {
            for b in s.utf8 {
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01B3
            }
            h ^= 0x1F
            h = h &* 0x0000_0100_0000_01B3
        }
        for token in tokens {
            switch token.kind {
            case .identifier(let s): mix("i" + s.lowercased())
            case .quotedIdentifier(let s): mix("q" + s)
            case .integer(let i): mix("n\(i)")
            case .real(let d): mix("r\(d)")
            case .string(let s): mix("s" + s)
            case .symbol(let s): mix(s == "==" ? "=" : (s == "<>" ? "!=" : s))
            case .end: break
            }
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
