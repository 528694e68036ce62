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

    private let frameLimit: Int
    private let byteLimit: Int
    private let state = Mutex(State())

    private struct State {
        var queue: Deque<(frame: TransportFrame, bytes: Int)> = []
        var queuedBytes = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    init(
        id: UInt64, remote: String, hello: TransportFrame.Hello, channel: any Channel, frameLimit: Int, byteLimit: Int
    ) {
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
            case .batch(let batch): return batch
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
        return dropped
    }
}
