public import QueryCore
import Synchronization

extension QueryManager {
    /// The schema of a registered metric (or any stream the engine knows, such as an
    /// `insert into` target), if there is one.
    public func schema(ofMetric name: String) -> Schema? {
        state.withLock { s in s.engine.stream(named: name).map { s.engine.schema(of: $0) } }
    }

    /// Publishes a batch of events in order under one lock and delivers the triggers they cause.
    ///
    /// Rights are checked for every event before any is published, so a refused batch publishes
    /// nothing. Values must be in schema order (see ``SourceEvent/init(stream:time:fields:schema:)``).
    ///
    /// - Returns: the triggers, in order.
    /// - Throws: ``QueryError`` `.permissionDenied` if `principal` may not publish to one of the
    ///   streams; the engine's error for the first event it refuses (the events before it are
    ///   published and their triggers delivered), prefixed with the event's position.
    @discardableResult
    public func publish(_ events: [SourceEvent], as principal: Principal) throws(QueryError) -> [Trigger] {
        var failure: QueryError?
        let pending = try state.withLock { (s: inout State) throws(QueryError) -> [Delivery] in
            for event in events {
                if let metric = s.metrics[event.stream.lowercased()], !metric.publishers.allows(principal) {
                    throw QueryError(
                        .permissionDenied,
                        "principal '\(principal)' may not publish to metric '\(metric.name)'"
                    )
                }
            }
            var outputs: [StreamOutput] = []
            for (index, event) in events.enumerated() {
                do throws(QueryError) {
                    outputs.append(contentsOf: try s.engine.send(event.stream, event.values, at: event.time))
                } catch {
                    failure = QueryError(error.code, "event \(index + 1) of \(events.count): \(error.message)")
                    break
                }
            }
            return QueryManager.triggers(outputs, in: &s)
        }
        let triggers = deliver(pending)
        if let failure { throw failure }
        return triggers
    }

    /// Registers a metric unless a stream of that name exists, in one step (two sources declaring
    /// the same stream at once cannot overwrite each other's rights).
    ///
    /// - Throws: ``QueryError`` `.alreadyExists` if the stream exists with another schema.
    func declareMetric(_ name: String, schema: Schema, publisher: Principal) throws(QueryError) {
        try state.withLock { (s: inout State) throws(QueryError) in
            if let existing = s.engine.stream(named: name) {
                let held = s.engine.schema(of: existing)
                guard held == schema else {
                    throw QueryError(
                        .alreadyExists,
                        "stream '\(name)' already exists with schema \(held); the source has \(schema)"
                    )
                }
                return
            }
            try s.engine.defineStream(name, schema: schema)
            s.metrics[name.lowercased()] = MetricInfo(name: name, schema: schema, publishers: .only([publisher]))
        }
    }

    /// An ``EventSink`` that publishes into this manager as `principal`; streams it declares are
    /// registered as metrics that only `principal` may publish to.
    public func eventSink(as principal: Principal) -> Publisher {
        Publisher(manager: self, principal: principal)
    }

    /// The ``EventSink`` of a ``QueryManager``: event sources publish through it.
    public struct Publisher: EventSink {
        /// The manager events go to.
        public let manager: QueryManager
        /// Who publishes.
        public let principal: Principal

        public func schema(ofStream name: String) -> Schema? { manager.schema(ofMetric: name) }

        public func declareStream(_ name: String, schema: Schema) throws(QueryError) {
            try manager.declareMetric(name, schema: schema, publisher: principal)
        }

        public func publish(_ events: [SourceEvent]) throws(QueryError) {
            try manager.publish(events, as: principal)
        }

        public func advance(to time: Instant) { manager.advance(to: time) }
    }
}
