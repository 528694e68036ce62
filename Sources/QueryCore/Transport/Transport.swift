/// The seam between roles and the network: something that carries ``Message``s between nodes and
/// reports which peers are reachable.
///
/// A transport is a network attachment point that hosts one or more *local* nodes (a SQL node, or
/// an edge process hosting hundreds of simulated machines). It is not a connection: it owns every
/// connection it needs, all of them children of ``run()``, after grpc-swift-2's
/// `ServerTransport`/`ClientTransport`.
///
/// Implementations: QueryTransport's `InProcessTransport` (one process, no sockets) and
/// `TCPTransport` (SwiftNIO, length-prefixed frames carrying the wire codec); QuerySim's network
/// can conform over virtual time, since this protocol needs nothing but the standard library.
///
/// Lifecycle: call ``run()`` once (it returns after ``beginGracefulShutdown()`` once every
/// connection is closed); consume ``events`` from one task. ``send(_:from:to:)`` may be called
/// from any task, before, during or after `run()`.
public protocol Transport: Sendable {
    /// The sequence of ``TransportEvent``s for the local nodes; it finishes when ``run()`` returns.
    associatedtype Events: AsyncSequence<TransportEvent, Never>, Sendable

    /// The nodes this transport hosts; messages addressed to them arrive on ``events``.
    var localNodes: Set<NodeID> { get }

    /// Everything that happens to the local nodes: messages, peers coming and going, and user
    /// queries arriving from clients. Consume it from a single task.
    var events: Events { get }

    /// Hands `message` from the local node `from` to the transport for delivery to `to`.
    ///
    /// Never blocks and never buffers without bound: when the peer is unreachable or its outbound
    /// queue is full the message is dropped, counted, and the reason returned. Delivery is
    /// best-effort and in order per (connection, peer); the roles' version rule and resync make a
    /// dropped message a delay, not a corruption.
    ///
    /// - Parameters:
    ///   - message: The message.
    ///   - from: A node in ``localNodes``.
    ///   - to: The destination (may be local).
    /// - Returns: Whether the message was queued for delivery, or why it was dropped.
    @discardableResult
    func send(_ message: Message, from: NodeID, to: NodeID) -> SendOutcome

    /// Runs the transport: listens, connects to peers, reconnects, and delivers ``events``.
    /// Returns after ``beginGracefulShutdown()`` once every connection is closed, or throws if it
    /// cannot start (for example, the listen address is in use).
    func run() async throws

    /// Stops accepting and connecting, closes every connection, and makes ``run()`` return.
    /// Idempotent; may be called before `run()`.
    func beginGracefulShutdown()
}

/// What a ``Transport`` reports to the local nodes it hosts.
public enum TransportEvent: Sendable {
    /// A message from the peer `from` to the local node `to`.
    case received(Message, from: NodeID, to: NodeID)
    /// The peer became reachable from every local node.
    case peerUp(NodeID)
    /// The peer is no longer reachable (connection lost, or silent past the idle timeout).
    case peerDown(NodeID)
    /// A client asked a SQL query; answer it through `responder` exactly once.
    case query(ClientQuery)
}

/// A SQL query that arrived from a client (the `query` CLI, another process), with the way back.
public struct ClientQuery: Sendable {
    /// The SQL text.
    public var sql: String
    /// Where the caller wants the answer (a local node), if it named one; `nil` means "any
    /// node here that answers queries".
    public var node: NodeID?
    /// Delivers the answer to the client.
    public var responder: QueryResponder

    /// Creates a client query.
    public init(sql: String, node: NodeID? = nil, responder: QueryResponder) {
        self.sql = sql
        self.node = node
        self.responder = responder
    }
}

/// The way back to a client that asked a query.
///
/// - Important: Call it exactly once per ``ClientQuery``; transports ignore later calls.
public struct QueryResponder: Sendable {
    private let deliver: @Sendable (Result<QueryAnswer, QueryError>) -> Void

    /// Creates a responder from a closure that sends the answer to the client.
    public init(_ deliver: @escaping @Sendable (Result<QueryAnswer, QueryError>) -> Void) {
        self.deliver = deliver
    }

    /// Sends the answer.
    public func callAsFunction(_ result: Result<QueryAnswer, QueryError>) {
        deliver(result)
    }
}

/// The result of ``Transport/send(_:from:to:)``.
public enum SendOutcome: Sendable, Hashable {
    /// The message is queued for delivery (delivery is still best-effort).
    case enqueued
    /// The message was dropped, and counted.
    case dropped(DropReason)

    /// Why a message was dropped.
    public enum DropReason: String, Sendable, Hashable, CustomStringConvertible {
        /// No connection to the destination exists (peer down, or never seen).
        case unreachable
        /// The destination's outbound queue is full (a slow reader); the new message is dropped.
        case queueFull = "queue_full"
        /// The message encodes to more bytes than the transport's frame limit.
        case tooLarge = "too_large"
        /// The transport is shutting down or has stopped.
        case shuttingDown = "shutting_down"
        /// The message could not be encoded.
        case encodingFailed = "encoding_failed"

        public var description: String { rawValue }
    }
}
