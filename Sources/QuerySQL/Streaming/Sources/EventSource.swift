public import QueryCore

/// Something that feeds events into streams: an in-process producer (``InProcessEventSource``),
/// the collection tree (``CollectionTreeEventSource``), a Prometheus scraper or a JSON push
/// endpoint (QueryTransport's `PrometheusScraper` and `EventPushServer`).
///
/// A source is started by calling ``run(into:)`` in a task of the caller's (a task group child,
/// or a `ServiceGroup` service) and stopped by cancelling that task, or by the source's own
/// `finish`/`stop` where it has one: structured concurrency, no background tasks of its own.
/// Problems with single events or fetches (a malformed exposition, a field of the wrong type) do
/// not stop a source; they are counted in its ``statistics``.
public protocol EventSource: Sendable {
    /// Runs the source, publishing into `sink`, until it ends or the calling task is cancelled.
    ///
    /// - Throws: ``QueryError`` if the source cannot run at all (an address that cannot be
    ///   bound, a bad configuration); cancellation is a normal return.
    func run(into sink: some EventSink) async throws(QueryError)

    /// What the source has done so far.
    var statistics: EventSourceStatistics { get }
}

/// Counters of an ``EventSource``.
public struct EventSourceStatistics: Sendable, Hashable {
    /// Events published into the sink.
    public var events = 0
    /// Batches (generations, scrapes, requests, in-process events) that reached the sink.
    public var batches = 0
    /// Batches or events refused (bad input, schema errors); see ``lastError``.
    public var rejected = 0
    /// Batches dropped because the source's bounded queue was full (the oldest goes first).
    public var dropped = 0
    /// The last problem, if any.
    public var lastError: QueryError?

    /// All zero.
    public init() {}
}
