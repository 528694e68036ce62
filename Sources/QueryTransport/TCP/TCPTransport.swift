import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import QueryCore
import QuerySQL
import Synchronization

/// A ``QueryCore/Transport`` over TCP with SwiftNIO.
///
/// One `TCPTransport` serves one process: it listens (optionally), dials every configured peer
/// address and redials with jittered exponential ``Backoff``. Every connection starts with a
/// `hello` naming the nodes the sender hosts, so one connection carries the messages of all of a
/// process's nodes (an edge process can host hundreds of machines). A remote node is up while at
/// least one greeted connection to its process exists.
///
/// Framing lives in channel handlers (``TransportFrameDecoder``, ``KeepaliveHandler``); connection logic runs in Swift Concurrency over `NIOAsyncChannel`, as
/// NIOCore's concurrency guide recommends.
///
/// - A malformed, oversized or unexpected frame closes that connection with a logged error; the
///   node keeps serving every other connection.
/// - A connection that receives nothing for ``Configuration/idleTimeout`` is closed (its peers go
///   down); an idle writer sends a ping every ``Configuration/keepaliveInterval``.
/// - Back-pressure: each connection has a bounded outbound queue (see ``Configuration``); a send
///   to a full queue is dropped and counted (`query.transport.dropped{reason="queue_full"}`).
///   Inbound, decoded frames wait in one bounded ``InboundQueue`` for the events consumer; while
///   it is full, connections stop reading, so a peer that floods the node is slowed by TCP's
///   window instead of growing this node's memory.
/// - Query manager: given a ``QueryManagerService``, clients register metrics and statements,
///   publish events and subscribe to topics with `.manage` frames; a subscription's triggers
///   flow on the same connection from a bounded queue (the manager's overflow policy, drops
///   counted on the topic), written only as fast as the client reads.
/// - Clients (the `query` CLI, ``QueryClient``) connect to the same port and send queries, which
///   surface as ``QueryCore/TransportEvent/query(_:)``.
/// - Optional TLS (``TLSSettings``), mutual by default: both sides present certificates from the
///   fleet's CA. With TLS, a client's manager requests act as the principal its certificate names
///   (``CertificatePrincipals``); one that claims another principal is refused with
///   `.permissionDenied`. Without TLS they act as the principal they claim (trusted networks only).
public final class TCPTransport: Transport {
    /// Settings of a TCP transport; every value has a documented default.
    public struct Configuration: Sendable {
        /// Where to accept connections, if anywhere. Port 0 picks a free port (see
        /// ``TCPTransport/listeningPort()``).
        public var listen: Endpoint?
        /// Peer processes to connect to (and keep reconnecting to).
        public var peers: [Endpoint]
        /// The largest frame body accepted or sent. Default 64 MiB + 64 KiB (a wire-codec frame of
        /// 64 MiB plus addressing).
        public var maximumFrameLength: Int
        /// Frames a connection's outbound queue holds before new sends are dropped. Default 4,096.
        public var outboundQueueFrames: Int
        /// Bytes a connection's outbound queue holds before new sends are dropped. Default 64 MiB.
        public var outboundQueueBytes: Int
        /// Received events waiting for the consumer before connections stop reading. Default 1,024.
        public var inboundQueueFrames: Int
        /// Received bytes waiting for the consumer before connections stop reading. Default 64 MiB.
        public var inboundQueueBytes: Int
        /// An idle writer sends a ping this often. Default 2 s.
        public var keepaliveInterval: Duration
        /// A connection that receives nothing for this long is closed. Default 10 s.
        public var idleTimeout: Duration
        /// How long a connection attempt may take. Default 5 s.
        public var connectTimeout: Duration
        /// Delays between reconnect attempts.
        public var backoff: Backoff
        /// TLS for every connection (listening and dialled), if set. Default `nil` (plain TCP).
        public var tls: TLSSettings?

        /// Creates a configuration.
        public init(
            listen: Endpoint? = nil,
            peers: [Endpoint] = [],
            maximumFrameLength: Int = (64 << 20) + (64 << 10),
            outboundQueueFrames: Int = 4096,
            outboundQueueBytes: Int = 64 << 20,
            inboundQueueFrames: Int = 1024,
            inboundQueueBytes: Int = 64 << 20,
            keepaliveInterval: Duration = .seconds(2),
            idleTimeout: Duration = .seconds(10),
            connectTimeout: Duration = .seconds(5),
            backoff: Backoff = Backoff(),
            tls: TLSSettings? = nil
        ) {
            self.listen = listen
            self.peers = peers
            self.maximumFrameLength = maximumFrameLength
            self.outboundQueueFrames = outboundQueueFrames
            self.outboundQueueBytes = outboundQueueBytes
            self.inboundQueueFrames = inboundQueueFrames
            self.inboundQueueBytes = inboundQueueBytes
            self.keepaliveInterval = keepaliveInterval
            self.idleTimeout = idleTimeout
            self.connectTimeout = connectTimeout
            self.backoff = backoff
            self.tls = tls
        }
    }

    /// The nodes this process hosts.
    public let localNodes: Set<NodeID>
    /// Events for the local nodes (bounded: see ``InboundQueue``).
    public let events: InboundQueue
    /// The query manager served to clients, if any.
    public let manager: QueryManagerService?

    let configuration: Configuration
    let group: any EventLoopGroup
    let logger: Logger
    let metrics: TransportMetrics
    private let tls: Result<TLSSettings.Contexts, QueryError>?
    private let state = Mutex(State())

    private struct State {
        var phase: Phase = .idle
        var links: [UInt64: Link] = [:]
        var routes: [NodeID: [Link]] = [:]
        var nextLinkID: UInt64 = 0
        var server: (any Channel)?
        var boundPort: Int?
        var portWaiters: [CheckedContinuation<Int?, Never>] = []
        var shutdownWaiter: CheckedContinuation<Void, Never>?
    }

    /// Where the transport is in its life. Can transition: idle → running → stopping → stopped,
    /// or idle → stopped.
    private enum Phase {
        case idle, running, stopping, stopped
    }

    /// Creates a transport for the process hosting `nodes`.
    ///
    /// - Parameters:
    ///   - nodes: The local nodes (announced to every peer).
    ///   - configuration: Addresses, limits and timings.
    ///   - eventLoopGroup: NIO's event loops; default the shared singleton.
    ///   - logger: Connection logs (`peer.address`, `error`).
    ///   - metricsFactory: Where `query.transport.*` metrics go.
    ///   - manager: The query manager clients may use over this transport, if any.
    public init(
        nodes: some Sequence<NodeID>,
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "query.transport"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        manager: QueryManagerService? = nil
    ) {
        self.manager = manager
        self.localNodes = Set(nodes)
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
        self.metrics = TransportMetrics(factory: metricsFactory)
        self.tls = configuration.tls.map { settings in
            Result { () throws(QueryError) in try settings.makeContexts() }
        }
        self.events = InboundQueue(
            frameLimit: configuration.inboundQueueFrames, byteLimit: configuration.inboundQueueBytes)
    }

    /// The port the transport listens on, once it is bound; `nil` if it does not listen or could
    /// not bind, or shut down first.
    public func listeningPort() async -> Int? {
        await withCheckedContinuation { continuation in
            let ready: Int?? = state.withLock { state in
                if let port = state.boundPort { return .some(port) }
                if configuration.listen == nil || state.phase == .stopping || state.phase == .stopped {
                    return .some(nil)
                }
                state.portWaiters.append(continuation)
                return .none
            }
            if case .some(let port) = ready { continuation.resume(returning: port) }
        }
    }

    /// Topic subscriptions currently forwarded to clients, over all connections.
    public var subscriberCount: Int {
        let links = state.withLock { Array($0.links.values) }
        return links.reduce(0) { $0 + $1.subscriptionCount }
    }

    /// The remote nodes currently reachable.
    public var reachablePeers: Set<NodeID> {
        state.withLock { Set($0.routes.keys) }
    }

    // MARK: Sending

    @discardableResult
    public func send(_ message: Message, from: NodeID, to: NodeID) -> SendOutcome {
        let outcome = route(message, from: from, to: to)
        if case .dropped(let reason) = outcome { metrics.dropped(reason) }
        return outcome
    }

    private func route(_ message: Message, from: NodeID, to: NodeID) -> SendOutcome {
        enum Target {
            case local
            case link(Link)
            case none(SendOutcome.DropReason)
        }
        let target: Target = state.withLock { state in
            guard state.phase == .running || state.phase == .idle else { return .none(.shuttingDown) }
            if localNodes.contains(to) { return .local }
            guard let link = state.routes[to]?.first else { return .none(.unreachable) }
            return .link(link)
        }
        switch target {
        case .none(let reason):
            return .dropped(reason)
        case .local:
            return events.enqueueNow(.received(message, from: from, to: to)) ? .enqueued : .dropped(.shuttingDown)
        case .link(let link):
            let payload: ByteBuffer
            do {
                payload = try MessageWire.encode(message)
            } catch {
                logger.error("cannot encode message", metadata: ["peer": "\(to)", "error": "\(error)"])
                return .dropped(.encodingFailed)
            }
            let bytes = payload.readableBytes + from.rawValue.utf8.count + to.rawValue.utf8.count + 12
            guard bytes <= configuration.maximumFrameLength else { return .dropped(.tooLarge) }
            return link.send(.message(from: from, to: to, payload: payload), bytes: bytes)
        }
    }

    // MARK: Running

    public func run() async throws {
        let started: Bool = state.withLock { state in
            guard state.phase == .idle else { return false }
            state.phase = .running
            return true
        }
        guard started else {
            events.finish()
            return
        }
        defer { finish() }
        if case .failure(let error) = tls { throw error }
        try await withThrowingDiscardingTaskGroup { tasks in
            if let listen = configuration.listen {
                let server = try await bind(listen)
                tasks.addTask {
                    do {
                        try await server.executeThenClose { inbound in
                            try await withThrowingDiscardingTaskGroup { connections in
                                for try await connection in inbound {
                                    connections.addTask { _ = await self.serve(connection, dialed: nil) }
                                }
                            }
                        }
                    } catch {
                        // Closing the listener at shutdown ends the accept loop with an error.
                        guard self.isRunning else { return }
                        throw QueryError(.unavailable, "listener on \(listen) failed: \(error)")
                    }
                }
            }
            // The accept loop is not cancelled: closing the listener at shutdown ends it after it
            // has handed every already-accepted connection to `serve`, which closes it (an
            // unserved NIOAsyncChannel must not be dropped). Dialers are cancelled to cut their
            // backoff sleeps short.
            tasks.addTask {
                await withDiscardingTaskGroup { dialers in
                    for endpoint in self.configuration.peers {
                        dialers.addTask { await self.dial(endpoint) }
                    }
                    await self.waitForShutdown()
                    dialers.cancelAll()
                }
            }
        }
    }

    public func beginGracefulShutdown() {
        let (waiter, server, links, portWaiters):
            (CheckedContinuation<Void, Never>?, (any Channel)?, [Link], [CheckedContinuation<Int?, Never>]) =
                state.withLock { state in
                    switch state.phase {
                    case .idle:
                        state.phase = .stopped
                    case .running:
                        state.phase = .stopping
                    case .stopping, .stopped:
                        return (nil, nil, [], [])
                    }
                    let result = (state.shutdownWaiter, state.server, Array(state.links.values), state.portWaiters)
                    state.shutdownWaiter = nil
                    state.server = nil
                    state.portWaiters = []
                    return result
                }
        waiter?.resume()
        events.closeIntake()
        server?.close(promise: nil)
        for link in links {
            link.close()
            link.channel.close(promise: nil)
        }
        for portWaiter in portWaiters { portWaiter.resume(returning: nil) }
    }

    private func waitForShutdown() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    guard state.phase == .running else { return true }
                    state.shutdownWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.beginGracefulShutdown()
        }
    }

    private func finish() {
        let portWaiters: [CheckedContinuation<Int?, Never>] = state.withLock { state in
            state.phase = .stopped
            defer { state.portWaiters = [] }
            return state.portWaiters
        }
        for waiter in portWaiters { waiter.resume(returning: nil) }
        events.finish()
    }

    private var isRunning: Bool {
        state.withLock { $0.phase == .running }
    }

    private func bind(
        _ listen: Endpoint
    ) async throws -> NIOAsyncChannel<NIOAsyncChannel<TransportFrame, TransportFrame>, Never> {
        let server: NIOAsyncChannel<NIOAsyncChannel<TransportFrame, TransportFrame>, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: listen.host, port: listen.port) { channel in
                    self.configurePipeline(channel, dialled: nil)
                }
        } catch {
            throw QueryError(.unavailable, "cannot listen on \(listen): \(error)")
        }
        let port = server.channel.localAddress?.port
        let (keep, waiters): (Bool, [CheckedContinuation<Int?, Never>]) = state.withLock { state in
            state.boundPort = port
            defer { state.portWaiters = [] }
            guard state.phase == .running else { return (false, state.portWaiters) }
            state.server = server.channel
            return (true, state.portWaiters)
        }
        for waiter in waiters { waiter.resume(returning: keep ? port : nil) }
        if !keep { server.channel.close(promise: nil) }
        logger.info("listening", metadata: ["address": "\(listen.host):\(port ?? listen.port)"])
        return server
    }

    /// Connects to `endpoint` and keeps reconnecting with backoff until shutdown.
    private func dial(_ endpoint: Endpoint) async {
        var attempt = 0
        var generator = SystemRandomNumberGenerator()
        while isRunning {
            do {
                let connection = try await ClientBootstrap(group: group)
                    .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: endpoint.host, port: endpoint.port) { channel in
                        self.configurePipeline(channel, dialled: endpoint)
                    }
                if await serve(connection, dialed: endpoint) { attempt = 0 }
            } catch {
                logger.debug(
                    "connect failed",
                    metadata: ["peer.address": "\(endpoint)", "error": "\(error)", "attempt": "\(attempt)"])
            }
            guard isRunning else { break }
            metrics.reconnectAttempts.increment()
            let delay = configuration.backoff.delay(attempt: attempt, using: &generator)
            attempt += 1
            do {
                try await Task.sleep(for: delay)
            } catch {
                break
            }
        }
    }

    /// Adds the framing handlers and wraps the channel for Swift Concurrency.
    func configurePipeline(
        _ channel: any Channel, dialled: Endpoint?
    ) -> EventLoopFuture<NIOAsyncChannel<TransportFrame, TransportFrame>> {
        let configuration = self.configuration
        let metrics = self.metrics
        let contexts = try? tls?.get()
        return channel.eventLoop.makeCompletedFuture {
            if let contexts {
                if let dialled {
                    let hostname = dialled.host.first?.isLetter == true ? dialled.host : nil
                    try channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: contexts.client, serverHostname: hostname))
                } else {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: contexts.server))
                }
            }
            try TransportPipeline.configure(
                channel.pipeline.syncOperations,
                maximumFrameLength: configuration.maximumFrameLength,
                keepaliveInterval: configuration.keepaliveInterval,
                idleTimeout: configuration.idleTimeout,
                metrics: metrics)
            // A wrapped channel that never reaches `serve` (an accepted child NIO buffered while the
            // listener closed; a dialled one whose connect failed or was cancelled after this
            // initializer ran) must not trap on its unfinished writer when it is dropped, so every
            // channel closes on deinit. Every one `serve` sees is still closed by it.
            return try DeinitClosingChannel.wrap(channel)
        }
    }

    // MARK: Connections

    /// Runs one connection: exchanges hellos, registers the link, then reads and writes until
    /// either side closes or a frame is malformed.
    /// - Returns: Whether the connection got as far as a registered link.
    private func serve(_ connection: NIOAsyncChannel<TransportFrame, TransportFrame>, dialed: Endpoint?) async -> Bool {
        let remote = dialed?.description ?? connection.channel.remoteAddress?.description ?? "unknown"
        var established = false
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(.hello(TransportFrame.Hello(party: .peer, nodes: localNodes.sorted())))
                var frames = inbound.makeAsyncIterator()
                guard let first = try await frames.next() else { return }
                guard case .hello(let hello) = first else {
                    throw QueryError(.decodingFailed, "expected hello as the first frame, got \(first.kind)")
                }
                if hello.party == .peer, !hello.nodes.isEmpty, hello.nodes.allSatisfy(localNodes.contains) {
                    logger.debug("closing connection to this process itself", metadata: ["peer.address": "\(remote)"])
                    return
                }
                let identity = await requestIdentity(of: connection.channel)
                guard let link = register(hello, channel: connection.channel, remote: remote, identity: identity) else {
                    return
                }
                established = true
                metrics.connectionsOpened.increment()
                logger.debug(
                    "connection up",
                    metadata: ["peer.address": "\(remote)", "peer.nodes": "\(hello.nodes.count)", "link": "\(link.id)"])
                defer { unregister(link) }
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        while let batch = await link.nextBatch() {
                            try await outbound.write(contentsOf: batch)
                            self.metrics.framesOut.increment(by: Int64(batch.count))
                        }
                    }
                    do {
                        while let frame = try await frames.next() {
                            metrics.framesIn.increment()
                            if let (id, subscription) = try await handle(frame, on: link) {
                                tasks.addTask { await self.forward(subscription, as: id, on: link) }
                            }
                        }
                    } catch {
                        link.close()
                        tasks.cancelAll()
                        throw error
                    }
                    link.close()
                    tasks.cancelAll()
                }
            }
        } catch {
            if isRunning {
                metrics.connectionErrors.increment()
                logger.error("closing connection", metadata: ["peer.address": "\(remote)", "error": "\(error)"])
            }
        }
        return established
    }

    /// Handles one frame from a greeted connection.
    /// - Returns: A subscription the connection must now forward, with its id.
    private func handle(_ frame: TransportFrame, on link: Link) async throws(QueryError) -> (UInt64, RemoteSubscription)? {
        switch frame {
        case .message(let from, let to, let payload):
            guard link.nodes.contains(from) else {
                throw QueryError(.decodingFailed, "message claims to come from '\(from)', which the peer did not announce")
            }
            let message = try MessageWire.decode(payload)
            guard localNodes.contains(to) else {
                logger.debug("message for a node not hosted here", metadata: ["node.id": "\(to)", "peer": "\(from)"])
                metrics.dropped(.unreachable)
                return nil
            }
            await events.enqueue(.received(message, from: from, to: to), bytes: payload.readableBytes)
        case .query(let id, let node, let sql):
            let once = Once()
            let responder = QueryResponder { [metrics] result in
                guard once.claim() else { return }
                var probe = ByteBuffer()
                TransportFrame.answer(id: id, result).write(to: &probe)
                if case .dropped(let reason) = link.send(.answer(id: id, result), bytes: probe.readableBytes) {
                    metrics.dropped(reason)
                }
            }
            await events.enqueue(.query(ClientQuery(sql: sql, node: node, responder: responder)), bytes: sql.utf8.count)
        case .manage(let id, let principal, let request):
            return manage(request, id: id, principal: principal, on: link)
        case .hello:
            throw QueryError(.decodingFailed, "unexpected second hello")
        case .answer, .managed, .trigger, .subscriptionEnded:
            throw QueryError(.decodingFailed, "unexpected \(frame.kind) frame from a peer")
        case .ping:
            break
        }
        return nil
    }

    /// Answers a query-manager request; a subscription is returned for the caller to forward.
    private func manage(
        _ request: ManagerRequest, id: UInt64, principal name: String, on link: Link
    ) -> (UInt64, RemoteSubscription)? {
        func reply(_ result: Result<ManagerResponse, QueryError>) {
            let frame = TransportFrame.managed(id: id, result)
            if case .dropped(let reason) = link.send(frame, bytes: frame.encodedLength) { metrics.dropped(reason) }
        }
        guard let manager else {
            reply(.failure(QueryError(.unsupported, "this node hosts no query manager")))
            return nil
        }
        let principal: Principal
        do throws(QueryError) {
            principal = try link.identity.principal(claimed: name)
        } catch {
            metrics.managerRequestsRefused.increment()
            logger.notice(
                "manager request refused",
                metadata: ["peer.address": "\(link.remote)", "principal.claimed": "\(name)", "error": "\(error)"])
            reply(.failure(error))
            return nil
        }
        switch request {
        case .subscribe(let topic, let capacity):
            guard !link.hasSubscription(id) else {
                reply(.failure(QueryError(.alreadyExists, "subscription \(id) exists on this connection")))
                return nil
            }
            do throws(QueryError) {
                let subscription = try manager.subscribe(topic: topic, as: principal, capacity: capacity)
                link.addSubscription(subscription, id: id)
                reply(.success(.done))
                return (id, subscription)
            } catch {
                reply(.failure(error))
            }
        case .unsubscribe(let subscription):
            if let removed = link.removeSubscription(subscription) {
                removed.cancel()
                reply(.success(.done))
            } else {
                reply(.failure(QueryError(.invalidArgument, "no subscription \(subscription) on this connection")))
            }
        default:
            reply(manager.handle(request, as: principal, now: .wallClockNow()))
        }
        return nil
    }

    /// Writes a subscription's triggers to the connection as fast as the client reads them (the
    /// manager's bounded subscriber queue absorbs bursts and applies the overflow policy) until
    /// the client unsubscribes or leaves, or the manager ends the subscription, which the client
    /// is then told.
    private func forward(_ subscription: RemoteSubscription, as id: UInt64, on link: Link) async {
        let endedByManager = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await trigger in subscription.triggers {
                    let frame = TransportFrame.trigger(subscription: id, trigger)
                    guard await link.sendWhenRoom(frame, bytes: frame.encodedLength) else { return false }
                }
                return !Task.isCancelled
            }
            group.addTask {
                await subscription.stop.wait()
                return false
            }
            let first = await group.next() ?? false
            subscription.cancel()
            group.cancelAll()
            return first
        }
        guard endedByManager, link.removeSubscription(id) != nil else { return }
        let ended = TransportFrame.subscriptionEnded(
            subscription: id,
            reason: "topic '\(subscription.topic)' was unregistered, or its queue overflowed under the disconnect policy")
        _ = link.send(ended, bytes: ended.encodedLength)
    }

    /// Who a connection's manager requests act as: the claimed principal on plain TCP, the verified
    /// client certificate's with TLS (read once, after the handshake that the first frame implies).
    private func requestIdentity(of channel: any Channel) async -> RequestIdentity {
        guard let settings = configuration.tls else { return .claimed }
        let der: [UInt8]?
        do {
            der = try await channel.nioSSL_peerCertificate().get()?.toDERBytes()
        } catch {
            der = nil
        }
        return RequestIdentity.of(tls: true, certificate: der, principals: settings.principals)
    }

    private func register(
        _ hello: TransportFrame.Hello, channel: any Channel, remote: String, identity: RequestIdentity
    ) -> Link? {
        state.withLock { state in
            guard state.phase == .running else { return nil }
            state.nextLinkID += 1
            let link = Link(
                id: state.nextLinkID, remote: remote, hello: hello, channel: channel, identity: identity,
                frameLimit: configuration.outboundQueueFrames, byteLimit: configuration.outboundQueueBytes)
            state.links[link.id] = link
            for node in link.nodes.sorted() where !localNodes.contains(node) {
                state.routes[node, default: []].append(link)
                if state.routes[node]?.count == 1 { events.enqueueNow(.peerUp(node)) }
            }
            metrics.peers.record(state.routes.count)
            return link
        }
    }

    private func unregister(_ link: Link) {
        let dropped = link.close()
        for subscription in link.removeAllSubscriptions() { subscription.cancel() }
        state.withLock { state in
            state.links[link.id] = nil
            for node in link.nodes.sorted() {
                guard var routes = state.routes[node] else { continue }
                routes.removeAll { $0 === link }
                if routes.isEmpty {
                    state.routes[node] = nil
                    events.enqueueNow(.peerDown(node))
                } else {
                    state.routes[node] = routes
                }
            }
            metrics.peers.record(state.routes.count)
        }
        for _ in 0..<dropped { metrics.dropped(.unreachable) }
        logger.debug("connection down", metadata: ["peer.address": "\(link.remote)", "link": "\(link.id)"])
    }
}

/// The channel handlers of a transport connection, shared by ``TCPTransport`` and ``QueryClient``.
enum TransportPipeline {
    static func configure(
        _ pipeline: ChannelPipeline.SynchronousOperations,
        maximumFrameLength: Int,
        keepaliveInterval: Duration,
        idleTimeout: Duration,
        metrics: TransportMetrics?
    ) throws {
        if let metrics { try pipeline.addHandler(ByteCountingHandler(metrics: metrics)) }
        try pipeline.addHandler(ByteToMessageHandler(TransportFrameDecoder(maximumFrameLength: maximumFrameLength)))
        try pipeline.addHandler(MessageToByteHandler(TransportFrameEncoder()))
        try pipeline.addHandler(
            KeepaliveHandler(
                keepaliveInterval: .nanoseconds(keepaliveInterval.nanoseconds),
                idleTimeout: .nanoseconds(idleTimeout.nanoseconds)))
    }
}

/// Wraps channels with close-on-deinit semantics (see ``TCPTransport/configurePipeline(_:dialled:)``).
///
/// NIO deprecates deinit-based teardown because it hides leaks; here it is wanted for the cases
/// the connection code cannot reach (a channel dropped between its initializer and `serve`), where
/// an unfinished `NIOAsyncWriter` would otherwise trap on deinit. The deprecated initializer is
/// called through a protocol witness to keep the build free of warnings.
enum DeinitClosingChannel {
    private protocol Wrapping {
        static func wrap(_ channel: any Channel) throws -> NIOAsyncChannel<TransportFrame, TransportFrame>
    }

    private enum DeinitClosing: Wrapping {
        @available(*, deprecated, message: "deinit-based teardown, for accepted channels only")
        static func wrap(_ channel: any Channel) throws -> NIOAsyncChannel<TransportFrame, TransportFrame> {
            try NIOAsyncChannel<TransportFrame, TransportFrame>(synchronouslyWrapping: channel)
        }
    }

    static func wrap(_ channel: any Channel) throws -> NIOAsyncChannel<TransportFrame, TransportFrame> {
        let wrapper: any Wrapping.Type = DeinitClosing.self
        return try wrapper.wrap(channel)
    }
}
