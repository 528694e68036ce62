import QueryCore
import Synchronization

/// A ``QueryCore/Transport`` for several roles in one process: no sockets, no encoding; messages
/// are passed as values.
///
/// Transports attach to a shared ``Network`` while they run. Every running transport sees every
/// node of every other running transport as a peer (``QueryCore/TransportEvent/peerUp(_:)``);
/// shutting one down reports its nodes down to the others, which is how tests "kill" a node.
///
/// Back-pressure: each transport's inbound event buffer holds at most
/// ``Configuration/inboundCapacity`` events; a send into a full buffer is dropped
/// (``QueryCore/SendOutcome/DropReason/queueFull``) and counted in ``droppedCount``.
public final class InProcessTransport: Transport {
    /// Tuning for an in-process transport.
    public struct Configuration: Sendable {
        /// How many undelivered events a transport buffers before new sends to it are dropped.
        /// Default 65,536.
        public var inboundCapacity: Int

        /// Creates a configuration.
        public init(inboundCapacity: Int = 65_536) {
            self.inboundCapacity = max(1, inboundCapacity)
        }
    }

    /// The shared medium that in-process transports attach to.
    public final class Network: Sendable {
        private let attached = Mutex<[NodeID: InProcessTransport]>([:])

        /// Creates an empty network.
        public init() {}

        /// Asks `node` a SQL query as a client would, through its transport's event stream.
        ///
        /// - Parameters:
        ///   - sql: The query text.
        ///   - node: A node hosted by a running transport on this network.
        /// - Returns: The node's answer.
        /// - Throws: ``QueryCore/QueryError`` `.unavailable` if no running transport hosts
        ///   `node`, or whatever error the node answered with.
        public func query(_ sql: String, to node: NodeID) async throws(QueryError) -> QueryAnswer {
            guard let transport = attached.withLock({ $0[node] }) else {
                throw QueryError(.unavailable, "no running in-process transport hosts node '\(node)'")
            }
            let result: Result<QueryAnswer, QueryError> = await withCheckedContinuation { continuation in
                let once = Once()
                let responder = QueryResponder { result in
                    if once.claim() { continuation.resume(returning: result) }
                }
                if !transport.deliver(.query(ClientQuery(sql: sql, node: node, responder: responder))) {
                    responder(.failure(QueryError(.unavailable, "node '\(node)' is not accepting queries")))
                }
            }
            return try result.get()
        }

        /// Registers `transport`'s nodes and exchanges peer-up events with every other running
        /// transport, atomically with respect to other attaches and detaches.
        fileprivate func attach(_ transport: InProcessTransport) throws(QueryError) {
            let outcome: Result<Void, QueryError> = attached.withLock { attached in
                if let clash = transport.localNodes.first(where: { attached[$0] != nil }) {
                    return .failure(QueryError(.alreadyExists, "node '\(clash)' is already attached to this network"))
                }
                var others: [ObjectIdentifier: InProcessTransport] = [:]
                for other in attached.values { others[ObjectIdentifier(other)] = other }
                for node in transport.localNodes { attached[node] = transport }
                for other in others.values {
                    for node in other.localNodes.sorted() { _ = transport.deliver(.peerUp(node)) }
                    for node in transport.localNodes.sorted() { _ = other.deliver(.peerUp(node)) }
                }
                return .success(())
            }
            try outcome.get()
        }

        /// Removes `transport`'s nodes and reports them down to every other running transport.
        fileprivate func detach(_ transport: InProcessTransport) {
            attached.withLock { attached in
                for node in transport.localNodes where attached[node] === transport {
                    attached[node] = nil
                }
                var others: [ObjectIdentifier: InProcessTransport] = [:]
                for other in attached.values { others[ObjectIdentifier(other)] = other }
                for other in others.values {
                    for node in transport.localNodes.sorted() { _ = other.deliver(.peerDown(node)) }
                }
            }
        }

        fileprivate func transport(hosting node: NodeID) -> InProcessTransport? {
            attached.withLock { $0[node] }
        }
    }

    private enum Phase {
        case idle
        case running(CheckedContinuation<Void, Never>?)
        case stopped
    }

    /// The nodes this transport hosts.
    public let localNodes: Set<NodeID>
    /// Events for the local nodes.
    public let events: AsyncStream<TransportEvent>

    private let network: Network
    private let continuation: AsyncStream<TransportEvent>.Continuation
    private let phase = Mutex<Phase>(.idle)
    private let drops = Atomic<Int>(0)

    /// Creates a transport hosting `nodes` on `network`. It attaches when ``run()`` starts.
    ///
    /// - Parameters:
    ///   - nodes: The local nodes (at least one).
    ///   - network: The shared network.
    ///   - configuration: Buffer sizes.
    public init(nodes: some Sequence<NodeID>, network: Network, configuration: Configuration = .init()) {
        self.localNodes = Set(nodes)
        self.network = network
        (self.events, self.continuation) = AsyncStream.makeStream(
            of: TransportEvent.self, bufferingPolicy: .bufferingOldest(configuration.inboundCapacity))
    }

    /// Messages dropped by sends from this transport (full receiver buffer, unreachable, stopped).
    public var droppedCount: Int { drops.load(ordering: .relaxed) }

    @discardableResult
    public func send(_ message: Message, from: NodeID, to: NodeID) -> SendOutcome {
        let outcome = route(message, from: from, to: to)
        if case .dropped = outcome { drops.add(1, ordering: .relaxed) }
        return outcome
    }

    private func route(_ message: Message, from: NodeID, to: NodeID) -> SendOutcome {
        let stopped = phase.withLock { if case .stopped = $0 { return true } else { return false } }
        guard !stopped else { return .dropped(.shuttingDown) }
        let target = localNodes.contains(to) ? self : network.transport(hosting: to)
        guard let target else { return .dropped(.unreachable) }
        return target.deliver(.received(message, from: from, to: to)) ? .enqueued : .dropped(.queueFull)
    }

    private var isRunning: Bool {
        phase.withLock { if case .running = $0 { return true } else { return false } }
    }

    /// Yields an event to this transport's consumer; `false` if it was dropped.
    fileprivate func deliver(_ event: TransportEvent) -> Bool {
        guard isRunning else { return false }
        switch continuation.yield(event) {
        case .enqueued: return true
        case .dropped, .terminated: return false
        @unknown default: return false
        }
    }

    public func run() async throws {
        let started: Bool = phase.withLock { phase in
            guard case .idle = phase else { return false }
            phase = .running(nil)
            return true
        }
        guard started else {
            continuation.finish()
            return
        }
        do {
            try network.attach(self)
        } catch {
            phase.withLock { $0 = .stopped }
            continuation.finish()
            throw error
        }

        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = phase.withLock { phase in
                    guard case .running = phase else { return true }
                    phase = .running(waiter)
                    return false
                }
                if resumeNow { waiter.resume() }
            }
        } onCancel: {
            self.beginGracefulShutdown()
        }

        network.detach(self)
        continuation.finish()
    }

    public func beginGracefulShutdown() {
        let waiter: CheckedContinuation<Void, Never>? = phase.withLock { phase in
            switch phase {
            case .idle:
                phase = .stopped
                return nil
            case .running(let waiter):
                phase = .stopped
                return waiter
            case .stopped:
                return nil
            }
        }
        waiter?.resume()
    }
}

/// A flag that can be claimed once, from any thread.
final class Once: Sendable {
    private let claimed = Atomic<Bool>(false)

    /// `true` for the first caller only.
    func claim() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}

extension InProcessTransport.Network {
    /// Whether a running transport on this network hosts `node`.
    public func isAttached(_ node: NodeID) -> Bool {
        transport(hosting: node) != nil
    }
}
