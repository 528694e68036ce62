import DequeModule
import QueryCore
import Synchronization

/// The bounded queue between a transport's connections and the one task consuming its events.
///
/// Back-pressure: a connection's read loop hands each decoded frame over with
/// ``enqueue(_:bytes:)``, which suspends while the queue holds ``frameLimit`` events or
/// ``byteLimit`` bytes. A suspended read loop stops pulling from its `NIOAsyncChannel`, whose
/// inbound buffer then stops asking the socket for more (NIO's high-watermark back-pressure), so
/// the kernel's receive window closes and a peer that floods the node stalls on its own bounded
/// outbound queue instead of making this node buffer without bound. An event larger than the
/// byte limit still enters an empty queue.
///
/// Events the transport raises itself (peers up and down, local sends between hosted nodes) use
/// ``enqueueNow(_:)``, which never waits: they come from the node's own roles or from connection
/// changes, both bounded by the process, and waiting there could deadlock the consumer.
///
/// One consumer; ``finish()`` ends the sequence after the queued events and wakes every waiting
/// producer (their events are dropped).
public final class InboundQueue: AsyncSequence, Sendable {
    public typealias Element = TransportEvent

    /// Events held before producers wait.
    public let frameLimit: Int
    /// Bytes (as reported by producers) held before producers wait.
    public let byteLimit: Int

    private let state = Mutex(State())

    private struct State {
        var events: Deque<(event: TransportEvent, bytes: Int)> = []
        var bytes = 0
        var finished = false
        var intakeClosed = false
        var consumer: CheckedContinuation<TransportEvent?, Never>?
        var producers: Deque<(id: UInt64, continuation: CheckedContinuation<Bool, Never>)> = []
        var nextProducer: UInt64 = 0
        var highWater = 0
    }

    /// Creates a queue.
    public init(frameLimit: Int = 1024, byteLimit: Int = 64 << 20) {
        self.frameLimit = Swift.max(1, frameLimit)
        self.byteLimit = Swift.max(1, byteLimit)
    }

    /// Events waiting for the consumer.
    public var count: Int { state.withLock { $0.events.count } }
    /// Producers waiting for room.
    public var waitingProducers: Int { state.withLock { $0.producers.count } }
    /// The most events ever held at once (for tests and metrics).
    public var highWaterMark: Int { state.withLock { $0.highWater } }

    /// Queues `event`, waiting while the queue is full.
    ///
    /// - Returns: `false` if the queue finished (the event is dropped) or the caller was cancelled
    ///   while waiting.
    @discardableResult
    public func enqueue(_ event: TransportEvent, bytes: Int) async -> Bool {
        while true {
            enum Step {
                case done(Bool)
                case handed(CheckedContinuation<TransportEvent?, Never>)
                case wait
            }
            let step: Step = state.withLock { state in
                if state.finished || state.intakeClosed { return .done(false) }
                if let consumer = state.consumer {
                    state.consumer = nil
                    return .handed(consumer)
                }
                if !state.events.isEmpty && (state.events.count >= frameLimit || state.bytes + bytes > byteLimit) {
                    return .wait
                }
                Self.append(event, bytes: bytes, to: &state)
                return .done(true)
            }
            switch step {
            case .done(let accepted):
                return accepted
            case .handed(let consumer):
                consumer.resume(returning: event)
                return true
            case .wait:
                guard await waitForRoom() else { return false }
            }
        }
    }

    /// Queues `event` without waiting (see the type's discussion).
    /// - Returns: `false` if the queue finished.
    @discardableResult
    public func enqueueNow(_ event: TransportEvent) -> Bool {
        let outcome: (Bool, CheckedContinuation<TransportEvent?, Never>?) = state.withLock { state in
            if state.finished { return (false, nil) }
            if let consumer = state.consumer {
                state.consumer = nil
                return (true, consumer)
            }
            Self.append(event, bytes: 0, to: &state)
            return (true, nil)
        }
        outcome.1?.resume(returning: event)
        return outcome.0
    }

    /// Refuses further ``enqueue(_:bytes:)`` calls and wakes waiting producers with `false` (their
    /// events are dropped), so connections blocked on a stalled consumer can close at shutdown;
    /// ``enqueueNow(_:)`` still works until ``finish()``.
    public func closeIntake() {
        let producers: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            state.intakeClosed = true
            defer { state.producers = [] }
            return state.producers.map(\.continuation)
        }
        for producer in producers { producer.resume(returning: false) }
    }

    /// Ends the sequence once the queued events are consumed; waiting producers return `false`.
    public func finish() {
        let (consumer, producers): (CheckedContinuation<TransportEvent?, Never>?, [CheckedContinuation<Bool, Never>]) =
            state.withLock { state in
                state.finished = true
                let consumer = state.events.isEmpty ? state.consumer : nil
                if consumer != nil { state.consumer = nil }
                defer { state.producers = [] }
                return (consumer, state.producers.map(\.continuation))
            }
        consumer?.resume(returning: nil)
        for producer in producers { producer.resume(returning: false) }
    }

    private static func append(_ event: TransportEvent, bytes: Int, to state: inout State) {
        state.events.append((event, bytes))
        state.bytes += bytes
        state.highWater = Swift.max(state.highWater, state.events.count)
    }

    /// Suspends until the consumer takes an event (`true`) or the queue finishes or the task is
    /// cancelled (`false`).
    private func waitForRoom() async -> Bool {
        let id: UInt64 = state.withLock { state in
            state.nextProducer += 1
            return state.nextProducer
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeWith: Bool? = state.withLock { state in
                    if state.finished || state.intakeClosed || Task.isCancelled { return false }
                    if state.events.count < frameLimit && state.bytes < byteLimit { return true }
                    state.producers.append((id, continuation))
                    return nil
                }
                if let resumeWith { continuation.resume(returning: resumeWith) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
                guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.producers.remove(at: index).continuation
            }
            waiter?.resume(returning: false)
        }
    }

    /// Takes the next event, waiting for one; `nil` once finished and drained.
    func next() async -> TransportEvent? {
        enum Step {
            case event(TransportEvent, CheckedContinuation<Bool, Never>?)
            case finished
            case wait
        }
        let step: Step = state.withLock { state in
            if let first = state.events.popFirst() {
                state.bytes -= first.bytes
                // One event out makes room for one waiting producer.
                let producer = state.producers.popFirst()?.continuation
                return .event(first.event, producer)
            }
            return state.finished ? .finished : .wait
        }
        switch step {
        case .event(let event, let producer):
            producer?.resume(returning: true)
            return event
        case .finished:
            return nil
        case .wait:
            return await withCheckedContinuation { (continuation: CheckedContinuation<TransportEvent?, Never>) in
                let ready: (TransportEvent?, CheckedContinuation<Bool, Never>?)? = state.withLock { state in
                    if let first = state.events.popFirst() {
                        state.bytes -= first.bytes
                        return (first.event, state.producers.popFirst()?.continuation)
                    }
                    if state.finished { return (nil, nil) }
                    state.consumer = continuation
                    return nil
                }
                if let (event, producer) = ready {
                    producer?.resume(returning: true)
                    continuation.resume(returning: event)
                }
            }
        }
    }

    /// Iterates the events (one consumer).
    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: InboundQueue

        public mutating func next() async -> TransportEvent? { await queue.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: self) }
}
