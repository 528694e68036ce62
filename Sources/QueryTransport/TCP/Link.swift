import DequeModule
import NIOCore
import QueryCore
import Synchronization

/// One live, greeted connection and its bounded outbound queue.
///
/// Back-pressure: ``send(_:bytes:)`` never blocks. Frames wait here until the connection's writer
/// task can hand them to NIO, which accepts more only while the socket is writable. When the queue
/// holds ``frameLimit`` frames or ``byteLimit`` bytes, a new frame is refused (tail drop): the
/// caller counts it as `queue_full`. Frames still queued when the connection closes are dropped.
/// ``sendWhenRoom(_:bytes:)`` waits for room instead (a subscription's writer, whose own bounded
/// queue decides what to drop).
final class Link: Sendable {
    /// A process-unique connection number.
    let id: UInt64
    /// The remote address, for logs.
    let remote: String
    /// Who the other side said it is.
    let party: TransportFrame.Hello.Party
    /// The nodes the other side hosts.
    let nodes: Set<NodeID>
    /// The underlying channel (closed on shutdown).
    let channel: any Channel
    /// Who the connection's query-manager requests act as.
    let identity: RequestIdentity

    private let frameLimit: Int
    private let byteLimit: Int
    private let state = Mutex(State())

    private struct State {
        var queue: Deque<(frame: TransportFrame, bytes: Int)> = []
        var queuedBytes = 0
        var waiter: CheckedContinuation<Void, Never>?
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var subscriptions: [UInt64: RemoteSubscription] = [:]
    }

    init(
        id: UInt64, remote: String, hello: TransportFrame.Hello, channel: any Channel,
        identity: RequestIdentity = .claimed, frameLimit: Int, byteLimit: Int
    ) {
        self.identity = identity
        self.id = id
        self.remote = remote
        self.party = hello.party
        self.nodes = Set(hello.nodes)
        self.channel = channel
        self.frameLimit = max(1, frameLimit)
        self.byteLimit = max(1, byteLimit)
    }

    /// Queues `frame` (about `bytes` long on the wire) for the writer.
    func send(_ frame: TransportFrame, bytes: Int) -> SendOutcome {
        let (outcome, waiter): (SendOutcome, CheckedContinuation<Void, Never>?) = state.withLock { state in
            if state.closed { return (.dropped(.unreachable), nil) }
            // An empty queue always takes one frame, so a frame below the frame limit but above the
            // byte budget still goes out.
            if !state.queue.isEmpty
                && (state.queue.count >= frameLimit || state.queuedBytes + bytes > byteLimit)
            {
                return (.dropped(.queueFull), nil)
            }
            state.queue.append((frame, bytes))
            state.queuedBytes += bytes
            let waiter = state.waiter
            state.waiter = nil
            return (.enqueued, waiter)
        }
        waiter?.resume()
        return outcome
    }

    /// Queues `frame`, first waiting while the queue is full.
    /// - Returns: `false` if the link closed (or the caller was cancelled) before it was queued.
    func sendWhenRoom(_ frame: TransportFrame, bytes: Int) async -> Bool {
        while true {
            if Task.isCancelled { return false }
            let full: Bool = state.withLock { state in
                !state.closed && !state.queue.isEmpty
                    && (state.queue.count >= frameLimit || state.queuedBytes + bytes > byteLimit)
            }
            if !full {
                switch send(frame, bytes: bytes) {
                case .enqueued: return true
                case .dropped(.queueFull): continue  // another sender filled it first
                case .dropped: return false
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = state.withLock { state in
                        if state.closed || state.queue.count < frameLimit && state.queuedBytes + bytes <= byteLimit {
                            return true
                        }
                        state.roomWaiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.wakeRoomWaiters()
            }
        }
    }

    private func wakeRoomWaiters() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Subscriptions forwarded on this connection

    func addSubscription(_ subscription: RemoteSubscription, id: UInt64) {
        state.withLock { $0.subscriptions[id] = subscription }
    }

    var subscriptionCount: Int { state.withLock { $0.subscriptions.count } }

    func hasSubscription(_ id: UInt64) -> Bool {
        state.withLock { $0.subscriptions[id] != nil }
    }

    func removeSubscription(_ id: UInt64) -> RemoteSubscription? {
        state.withLock { $0.subscriptions.removeValue(forKey: id) }
    }

    func removeAllSubscriptions() -> [RemoteSubscription] {
        state.withLock { state in
            defer { state.subscriptions = [:] }
            return Array(state.subscriptions.values)
        }
    }

    /// The number of frames waiting.
    var queuedFrames: Int { state.withLock { $0.queue.count } }

    /// Waits for frames and takes up to `maximumFrames` of them (at least one), or returns `nil`
    /// once the link is closed.
    func nextBatch(maximumFrames: Int = 64, maximumBytes: Int = 1 << 20) async -> [TransportFrame]? {
        while true {
            enum Step {
                case batch([TransportFrame])
                case closed
                case wait
            }
            let step: Step = state.withLock { state in
                if state.closed { return .closed }
                guard !state.queue.isEmpty else { return .wait }
                var batch: [TransportFrame] = []
                var bytes = 0
                while let first = state.queue.first, batch.count < maximumFrames,
                    batch.isEmpty || bytes + first.bytes <= maximumBytes
                {
                    state.queue.removeFirst()
                    batch.append(first.frame)
                    bytes += first.bytes
                }
                state.queuedBytes -= bytes
                return .batch(batch)
            }
            switch step {
            case .batch(let batch):
                wakeRoomWaiters()
                return batch
            case .closed: return nil
            case .wait:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow: Bool = state.withLock { state in
                            if state.closed || !state.queue.isEmpty { return true }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    _ = self.close()
                }
            }
        }
    }

    /// Closes the queue: the writer stops, new sends are refused.
    /// - Returns: The number of frames dropped from the queue.
    @discardableResult
    func close() -> Int {
        let (dropped, waiter): (Int, CheckedContinuation<Void, Never>?) = state.withLock { state in
            let dropped = state.queue.count
            state.closed = true
            state.queue.removeAll()
            state.queuedBytes = 0
            let waiter = state.waiter
            state.waiter = nil
            return (dropped, waiter)
        }
        waiter?.resume()
        wakeRoomWaiters()
        return dropped
    }
}
