public import QueryCore
import Synchronization

/// An ``EventSource`` for producers in the same process: ``publish(_:fields:at:)`` never waits
/// (it queues the event and returns), and ``run(into:)`` hands queued events to the sink in order.
///
/// The queue is bounded: when producers outrun the engine, the oldest queued event is dropped and
/// counted in ``EventSourceStatistics/dropped``. Events whose fields do not fit their stream are
/// counted as rejected, with the reason in ``EventSourceStatistics/lastError``.
public final class InProcessEventSource: EventSource {
    enum Item: Sendable {
        case event(stream: String, time: Instant?, fields: [String: Value])
        case advance(Instant)
    }

    private let items: AsyncStream<Item>
    private let continuation: AsyncStream<Item>.Continuation
    private let counters = Mutex(EventSourceStatistics())
    private let running = Mutex(false)

    /// Creates a source whose queue holds at most `capacity` events.
    public init(capacity: Int = 10_000) {
        (items, continuation) = AsyncStream.makeStream(
            of: Item.self,
            bufferingPolicy: .bufferingNewest(max(1, capacity))
        )
    }

    public var statistics: EventSourceStatistics { counters.withLock { $0 } }

    /// Queues one event given as `field → value` (missing fields are `NULL`).
    ///
    /// - Returns: `false` if the source is finished (the event is discarded).
    @discardableResult
    public func publish(_ stream: String, fields: [String: Value], at time: Instant? = nil) -> Bool {
        enqueue(.event(stream: stream, time: time, fields: fields))
    }

    /// Queues a move of engine time to `time`, behind the events already queued.
    @discardableResult
    public func advance(to time: Instant) -> Bool { enqueue(.advance(time)) }

    /// Ends the source: ``run(into:)`` returns once the events queued so far are delivered.
    public func finish() { continuation.finish() }

    private func enqueue(_ item: Item) -> Bool {
        switch continuation.yield(item) {
        case .enqueued: return true
        case .dropped:
            counters.withLock { $0.dropped += 1 }
            return true
        case .terminated: return false
        @unknown default: return false
        }
    }

    /// Delivers queued events until ``finish()`` or cancellation.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` if the source is already running (it can run
    ///   once at a time).
    public func run(into sink: some EventSink) async throws(QueryError) {
        let claimed = running.withLock { running in
            defer { running = true }
            return !running
        }
        guard claimed else { throw QueryError(.invalidArgument, "this in-process event source is already running") }
        defer { running.withLock { $0 = false } }
        var schemas: [String: Schema] = [:]
        for await item in items {
            switch item {
            case .advance(let time):
                sink.advance(to: time)
            case .event(let stream, let time, let fields):
                do throws(QueryError) {
                    let key = stream.lowercased()
                    guard let schema = schemas[key] ?? sink.schema(ofStream: stream) else {
                        throw QueryError(.invalidArgument, "unknown stream '\(stream.prefix(64))'")
                    }
                    schemas[key] = schema
                    let event = try SourceEvent(
                        stream: stream,
                        time: time,
                        fields: fields.map { ($0.key, $0.value) },
                        schema: schema
                    )
                    try sink.publish([event])
                    counters.withLock {
                        $0.events += 1
                        $0.batches += 1
                    }
                } catch {
                    schemas.removeValue(forKey: stream.lowercased())
                    counters.withLock {
                        $0.rejected += 1
                        $0.lastError = error
                    }
                }
            }
        }
    }
}
