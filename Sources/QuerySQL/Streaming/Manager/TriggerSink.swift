import QueryCore
import Synchronization

/// What happened to one trigger handed to a sink.
public enum TriggerDeliveryResult: Sendable, Hashable {
    /// Queued or sent.
    case delivered
    /// The sink's queue was full and a trigger was dropped (see the sink's policy).
    case dropped
    /// The sink is closed (subscriber gone or disconnected); the manager removes it.
    case closed
}

/// A destination for a topic's triggers: an in-process subscriber, a TCP connection, a webhook.
///
/// - Important: ``deliver(_:)`` must not block: the engine calls it on its own path, and a slow
///   consumer must never slow the engine. Queue, drop, or disconnect instead.
public protocol TriggerSink: Sendable {
    /// Hands over one trigger without blocking.
    func deliver(_ trigger: Trigger) -> TriggerDeliveryResult
}

/// What a bounded subscriber queue does when it is full.
public enum OverflowPolicy: Sendable, Hashable {
    /// Drop the oldest queued trigger to make room (monitoring wants the newest state); count it.
    case dropOldest
    /// Close the subscription: the subscriber sees the sequence end and must resubscribe.
    case disconnect
}

/// An in-process subscription to a topic: an `AsyncSequence` of ``Trigger``s over a bounded
/// queue.
///
/// The queue holds at most `capacity` triggers. When the subscriber falls behind, the
/// ``OverflowPolicy`` applies: by default the oldest queued trigger is dropped and
/// ``droppedCount`` grows (gaps also show in ``Trigger/sequence``). The engine never waits.
public struct TriggerSubscription: AsyncSequence, Sendable {
    public typealias Element = Trigger

    let stream: AsyncStream<Trigger>
    let state: SubscriptionState

    /// Triggers dropped because the queue was full.
    public var droppedCount: Int { state.dropped.withLock { $0 } }
    /// Whether the subscription was closed by the `.disconnect` policy or by unsubscribing.
    public var isClosed: Bool { state.closed.withLock { $0 } }
    /// The topic.
    public var topic: TopicHandle { state.topic }

    public func makeAsyncIterator() -> AsyncStream<Trigger>.AsyncIterator { stream.makeAsyncIterator() }
}

/// Shared state of a subscription and its sink.
final class SubscriptionState: Sendable {
    let topic: TopicHandle
    let dropped = Mutex(0)
    let closed = Mutex(false)

    init(topic: TopicHandle) { self.topic = topic }
}

/// The sink behind a ``TriggerSubscription``.
struct SubscriptionSink: TriggerSink {
    let continuation: AsyncStream<Trigger>.Continuation
    let state: SubscriptionState
    let policy: OverflowPolicy

    /// Creates a subscription and the sink feeding it.
    static func make(topic: TopicHandle, capacity: Int, policy: OverflowPolicy) -> (TriggerSubscription, SubscriptionSink) {
        let state = SubscriptionState(topic: topic)
        let buffering: AsyncStream<Trigger>.Continuation.BufferingPolicy =
            policy == .dropOldest ? .bufferingNewest(max(1, capacity)) : .bufferingOldest(max(1, capacity))
        let (stream, continuation) = AsyncStream<Trigger>.makeStream(bufferingPolicy: buffering)
        continuation.onTermination = { [state] _ in state.closed.withLock { $0 = true } }
        return (TriggerSubscription(stream: stream, state: state), SubscriptionSink(continuation: continuation, state: state, policy: policy))
    }

    func deliver(_ trigger: Trigger) -> TriggerDeliveryResult {
        switch continuation.yield(trigger) {
        case .enqueued:
            return .delivered
        case .dropped:
            state.dropped.withLock { $0 += 1 }
            if policy == .disconnect {
                continuation.finish()
                return .closed
            }
            return .dropped
        case .terminated:
            return .closed
        @unknown default:
            return .closed
        }
    }

    func close() { continuation.finish() }
}
