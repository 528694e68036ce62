import DequeModule
import NIOCore
import NIOPosix
public import QueryCore
public import QuerySQL
import ServiceLifecycle
import Synchronization

/// A ``QuerySQL/TriggerSink`` that POSTs each trigger as JSON (``QuerySQL/Trigger/jsonText``) to
/// a URL.
///
/// ``deliver(_:)`` only queues, so the engine never waits on the network. The queue is bounded:
/// when the receiver is slower than the triggers, the oldest queued trigger is dropped to make
/// room, counted in ``Statistics/dropped`` and reported to the manager as `.dropped` (gaps also
/// show in the trigger sequence numbers the receiver sees). ``run()`` sends queued triggers one at
/// a time, in order; a connection failure, a timeout, a 5xx or a 429 is retried with exponential
/// backoff up to ``Configuration/maximumAttempts`` times, another 4xx is not retried; a trigger
/// that cannot be delivered is counted in ``Statistics/failed`` and the next one goes ahead.
/// Deliveries reuse one kept-alive connection (``HTTP1Client``), closed when ``run()`` ends.
public final class WebhookSink: TriggerSink, Service {
    /// Where and how to post.
    public struct Configuration: Sendable {
        /// The receiver.
        public var url: HTTPURL
        /// Triggers queued before the oldest is dropped. Default 1,024.
        public var capacity = 1024
        /// Attempts per trigger, the first included. Default 5.
        public var maximumAttempts = 5
        /// Delays between attempts. Default 100 ms doubling to 5 s, jittered.
        public var backoff = Backoff()
        /// Timeout of one attempt. Default 10 s.
        public var http = HTTP1Client.Configuration()
        /// Extra request headers (an authorization token, …).
        public var headers: [(name: String, value: String)] = []

        /// Posts to `url` with the defaults.
        public init(url: HTTPURL) { self.url = url }
    }

    /// What the sink has done so far.
    public struct Statistics: Sendable, Hashable {
        /// Triggers the receiver accepted (2xx).
        public var delivered = 0
        /// Triggers dropped from a full queue.
        public var dropped = 0
        /// Triggers given up on after their attempts (or refused with a 4xx).
        public var failed = 0
        /// Attempts that were retried.
        public var retries = 0
        /// Triggers waiting.
        public var queued = 0
        /// The last delivery problem.
        public var lastError: QueryError?
    }

    private struct State {
        var queue = Deque<Trigger>()
        var statistics = Statistics()
        var closed = false
    }

    /// The configuration.
    public let configuration: Configuration
    private let client: HTTP1Client
    private let pacer: Pacer
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let random = Mutex(SystemRandomNumberGenerator())

    /// Creates a sink; nothing is sent until ``run()``.
    ///
    /// - Parameters:
    ///   - clock: paces retries (a test clock in tests). Default `ContinuousClock`.
    public init<C: Clock>(
        configuration: Configuration,
        clock: C = ContinuousClock(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) where C.Duration == Duration {
        self.configuration = configuration
        self.client = HTTP1Client(configuration: configuration.http, eventLoopGroup: eventLoopGroup)
        self.pacer = Pacer(clock)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The counters.
    public var statistics: Statistics {
        state.withLock { s in
            var statistics = s.statistics
            statistics.queued = s.queue.count
            return statistics
        }
    }

    /// Queues a trigger without waiting; drops the oldest queued one if the queue is full.
    public func deliver(_ trigger: Trigger) -> TriggerDeliveryResult {
        let result: TriggerDeliveryResult = state.withLock { s in
            if s.closed { return .closed }
            var result = TriggerDeliveryResult.delivered
            if s.queue.count >= max(1, configuration.capacity) {
                s.queue.removeFirst()
                s.statistics.dropped += 1
                result = .dropped
            }
            s.queue.append(trigger)
            return result
        }
        if result != .closed { wake.yield() }
        return result
    }

    /// Sends queued triggers until cancelled or shut down gracefully; after that, ``deliver(_:)``
    /// answers `.closed` and the manager removes the sink.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await sendQueued()
        } onGracefulShutdown: {
            self.wake.finish()
        }
        state.withLock { $0.closed = true }
        client.closeIdleConnections()
    }

    private func sendQueued() async {
        for await _ in wakeups {
            while !Task.isCancelled, let trigger = state.withLock({ $0.queue.popFirst() }) {
                await send(trigger)
            }
            if Task.isCancelled { return }
        }
    }

    private func send(_ trigger: Trigger) async {
        let body = Array(trigger.jsonText.utf8)
        var headers = configuration.headers
        headers.append(("Content-Type", "application/json"))
        var attempt = 0
        while true {
            let error: QueryError
            var retryable = true
            do throws(QueryError) {
                let response = try await client.send("POST", to: configuration.url, headers: headers, body: body)
                if response.isSuccess {
                    state.withLock { $0.statistics.delivered += 1 }
                    return
                }
                retryable = response.status >= 500 || response.status == 429
                error = QueryError(.unavailable, "POST \(configuration.url) answered \(response.status)")
            } catch let failure {
                if failure.code == .cancelled { return }
                error = failure
            }
            attempt += 1
            guard retryable, attempt < configuration.maximumAttempts else {
                state.withLock { s in
                    s.statistics.failed += 1
                    s.statistics.lastError = QueryError(
                        error.code,
                        "trigger \(trigger.sequence) of \(trigger.topic) after \(attempt) attempt(s): \(error.message)"
                    )
                }
                return
            }
            let delay = random.withLock { configuration.backoff.delay(attempt: attempt - 1, using: &$0) }
            state.withLock { s in
                s.statistics.retries += 1
                s.statistics.lastError = error
            }
            do { try await pacer.sleep(delay) } catch { return }
        }
    }
}
