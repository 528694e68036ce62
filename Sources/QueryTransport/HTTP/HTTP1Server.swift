import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import QueryCore
import Synchronization

/// A small HTTP/1.1 server that answers each request with an async handler: NIO parses HTTP
/// (`configureHTTPServerPipeline`), each connection is served in Swift Concurrency over
/// `NIOAsyncChannel`, bodies are collected whole up to a limit (413 past it).
///
/// Connections are kept alive between requests unless the client or the handler (a response
/// header `Connection: close`) says otherwise; ``stop()`` closes the idle ones at once and the
/// busy ones after their response.
///
/// ``Limits`` keep one client from holding the server: a kept-alive connection idle for
/// ``Limits/idleTimeout`` is closed, so is one whose request is not complete within
/// ``Limits/requestTimeout`` of its head (slowloris), and past ``Limits/maximumConnections`` a new
/// connection is answered `503` and closed. Each is counted (``connectionsRefused``,
/// ``connectionsTimedOut``).
///
/// The shape of ``MetricsServer``, with the request handling left to the owner: the JSON push
/// endpoint builds on it, and tests use it as a webhook receiver.
public final class HTTP1Server: Sendable {
    /// Answers one request.
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    /// Where it listens; port 0 picks one (see ``listeningPort()``).
    public let listen: Endpoint
    /// The largest request body accepted.
    public let maximumBodyBytes: Int
    /// Timeouts and the connection limit.
    public let limits: Limits
    private let handler: Handler
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var stopped = false
        var channel: (any Channel)?
        var port: Int?
        var portWaiters: [CheckedContinuation<Int?, Never>] = []
        /// Open connections, and whether each is between a request's head and its response.
        var connections: [ObjectIdentifier: (channel: any Channel, busy: Bool)] = [:]
        var accepted = 0
        /// Admitted connections not yet closed (counted from accept, so a burst cannot overshoot).
        var open = 0
        var refused = 0
        var timedOut = 0
    }

    /// How long connections may wait and how many may be open.
    public struct Limits: Sendable {
        /// A kept-alive connection without a new request for this long is closed. Default 60 s.
        public var idleTimeout: Duration = .seconds(60)
        /// A request must be complete (head to end of body) within this long. Default 30 s.
        public var requestTimeout: Duration = .seconds(30)
        /// Open connections at most; a new one past this is answered `503` and closed. Default 1,024.
        public var maximumConnections = 1_024

        /// The defaults.
        public init() {}

        /// Chosen limits.
        public init(idleTimeout: Duration, requestTimeout: Duration, maximumConnections: Int) {
            self.idleTimeout = idleTimeout
            self.requestTimeout = requestTimeout
            self.maximumConnections = maximumConnections
        }
    }

    /// Connections accepted so far (including refused ones).
    public var connectionsAccepted: Int { state.withLock { $0.accepted } }
    /// Connections answered `503` because ``Limits/maximumConnections`` were open.
    public var connectionsRefused: Int { state.withLock { $0.refused } }
    /// Connections closed for idling past ``Limits/idleTimeout`` or for a request slower than
    /// ``Limits/requestTimeout``.
    public var connectionsTimedOut: Int { state.withLock { $0.timedOut } }

    /// Creates a server; nothing listens until ``run()``.
    public init(
        listen: Endpoint,
        maximumBodyBytes: Int = 8 << 20,
        limits: Limits = Limits(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "query.http"),
        handler: @escaping Handler
    ) {
        self.listen = listen
        self.maximumBodyBytes = maximumBodyBytes
        self.limits = limits
        self.handler = handler
        self.group = eventLoopGroup
        self.logger = logger
    }

    /// The bound port once listening; `nil` if it stopped first.
    public func listeningPort() async -> Int? {
        await withCheckedContinuation { continuation in
            let ready: Int?? = state.withLock { state in
                if let port = state.port { return .some(port) }
                if state.stopped { return .some(nil) }
                state.portWaiters.append(continuation)
                return .none
            }
            if case .some(let port) = ready { continuation.resume(returning: port) }
        }
    }

    /// Serves until ``stop()`` or cancellation.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.unavailable` if the address cannot be bound.
    public func run() async throws(QueryError) {
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        let idleTimeout = TimeAmount(limits.idleTimeout)
        let requestTimeout = TimeAmount(limits.requestTimeout)
        let timedOut: @Sendable (HTTPConnectionGuard.Closure) -> Void = { _ in self.state.withLock { $0.timedOut += 1 } }
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: listen.host, port: listen.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if self.admit(channel) {
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                            try channel.pipeline.syncOperations.addHandler(
                                HTTPConnectionGuard(idleTimeout: idleTimeout, requestTimeout: requestTimeout, onClose: timedOut))
                        } else {
                            let limit = self.limits.maximumConnections
                            self.logger.debug("HTTP connection refused: limit reached", metadata: ["limit": "\(limit)"])
                            try channel.pipeline.syncOperations.addHandler(
                                RefusingHandler(response: HTTP1Server.refusal(limit: limit)))
                        }
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                            wrappingChannelSynchronously: channel
                        )
                    }
                }
        } catch {
            stop()
            throw QueryError(.unavailable, "cannot serve HTTP on \(listen): \(error)")
        }
        let port = server.channel.localAddress?.port
        let (waiters, stopped): ([CheckedContinuation<Int?, Never>], Bool) = state.withLock { state in
            state.port = port
            state.channel = server.channel
            defer { state.portWaiters = [] }
            return (state.portWaiters, state.stopped)
        }
        for waiter in waiters { waiter.resume(returning: port) }
        if stopped { server.channel.close(promise: nil) }
        logger.debug("serving HTTP", metadata: ["address": "\(listen.host):\(port ?? listen.port)"])
        await withTaskCancellationHandler {
            do {
                try await server.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { connections in
                        for try await connection in inbound {
                            connections.addTask { await self.serve(connection) }
                        }
                    }
                }
            } catch {
                logger.debug("HTTP listener stopped", metadata: ["error": "\(error)"])
            }
        } onCancel: {
            self.stop()
        }
    }

    /// Closes the listener and the idle kept-alive connections; a connection busy with a request
    /// closes after its response. ``run()`` returns once every connection has closed.
    public func stop() {
        let (channel, waiters, idle): ((any Channel)?, [CheckedContinuation<Int?, Never>], [any Channel]) =
            state.withLock { state in
                state.stopped = true
                defer { state.portWaiters = [] }
                return (state.channel, state.portWaiters, state.connections.values.filter { !$0.busy }.map(\.channel))
            }
        channel?.close(promise: nil)
        for connection in idle { connection.close(promise: nil) }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// Counts an accepted connection and admits it if fewer than ``Limits/maximumConnections``
    /// are open; an admitted connection is uncounted when it closes.
    private func admit(_ channel: any Channel) -> Bool {
        let admitted = state.withLock { state in
            state.accepted += 1
            guard state.open < limits.maximumConnections else {
                state.refused += 1
                return false
            }
            state.open += 1
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.state.withLock { $0.open -= 1 } } }
        return admitted
    }

    /// The raw response to a connection past the limit (written without the HTTP pipeline: no
    /// request was read).
    static func refusal(limit: Int) -> String {
        let body = "too many connections (limit \(limit))\n"
        return "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    /// Marks a connection busy (a request is being answered) or idle.
    /// - Returns: Whether the server is stopping (an idle connection should then close).
    private func mark(_ channel: any Channel, busy: Bool) -> Bool {
        state.withLock { state in
            state.connections[ObjectIdentifier(channel)]?.busy = busy
            return state.stopped
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        let channel = connection.channel
        let id = ObjectIdentifier(channel)
        let stopping = state.withLock { state in
            state.connections[id] = (channel, false)
            return state.stopped
        }
        defer { _ = state.withLock { $0.connections.removeValue(forKey: id) } }
        if stopping { channel.close(promise: nil) }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let request):
                        _ = mark(channel, busy: true)
                        head = request
                        body = []
                        tooLarge = false
                    case .body(var buffer):
                        if body.count + buffer.readableBytes > maximumBodyBytes {
                            tooLarge = true
                        } else if !tooLarge {
                            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                        }
                    case .end:
                        guard let request = head else { continue }
                        let response: HTTPResponse
                        if tooLarge {
                            response = HTTPResponse(
                                status: 413,
                                contentType: "text/plain; charset=utf-8",
                                text: "request body over \(maximumBodyBytes) bytes\n"
                            )
                        } else {
                            response = await handler(
                                HTTPRequest(
                                    method: request.method.rawValue,
                                    target: request.uri,
                                    headers: request.headers.map { (name: $0.name, value: $0.value) },
                                    body: body
                                )
                            )
                        }
                        let keepAlive =
                            request.isKeepAlive && !tooLarge && response.header("Connection")?.lowercased() != "close"
                            && !state.withLock(\.stopped)
                        var headers = HTTPHeaders()
                        for (name, value) in response.headers { headers.add(name: name, value: value) }
                        headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
                        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
                        try await outbound.write(
                            contentsOf: [
                                .head(
                                    HTTPResponseHead(
                                        version: request.version,
                                        status: HTTPResponseStatus(statusCode: response.status),
                                        headers: headers
                                    )
                                ),
                                .body(.byteBuffer(ByteBuffer(bytes: response.body))), .end(nil),
                            ])
                        if !keepAlive || mark(channel, busy: false) { return }
                        head = nil
                        body = []
                    }
                }
            }
        } catch {
            logger.debug("HTTP connection closed", metadata: ["error": "\(error)"])
        }
    }
}

/// Answers a connection accepted past the limit with a raw `503` and closes it; whatever the client
/// sends is discarded (no HTTP parsing for a connection that will not be served).
private final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let response: String
    private var sent = false

    init(response: String) { self.response = response }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(ByteBuffer(string: response))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}
