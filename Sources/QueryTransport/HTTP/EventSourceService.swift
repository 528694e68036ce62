public import QuerySQL
public import ServiceLifecycle

/// Runs an ``QuerySQL/EventSource`` as a swift-service-lifecycle `Service`, so a node's
/// `ServiceGroup` starts it with the node and stops it on graceful shutdown (which cancels the
/// source's ``QuerySQL/EventSource/run(into:)``).
public struct EventSourceService<Source: EventSource, Sink: EventSink>: Service {
    /// The source.
    public let source: Source
    /// Where its events go.
    public let sink: Sink

    /// Runs `source` into `sink`.
    public init(source: Source, sink: Sink) {
        self.source = source
        self.sink = sink
    }

    /// Runs the source until graceful shutdown or cancellation.
    ///
    /// - Throws: the source's ``QueryCore/QueryError`` if it cannot run at all.
    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await source.run(into: sink) }
    }
}
