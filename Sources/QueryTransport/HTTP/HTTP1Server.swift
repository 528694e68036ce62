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
/// The shape of ``MetricsServer``, with the request handling left to the owner: the JSON push
/// endpoint builds on it, and tests use it as a webhook receiver.
public final class HTTP1Server: Sendable {
    /// Answers one request.
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    /// Where it listens; port 0 picks one (see ``listeningPort()``).
    public let listen: Endpoint
    /// The largest request body accepted.
    public let maximumBodyBytes: Int
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
    }

    /// Connections accepted so far.
    public var connectionsAccepted: Int { state.withLock { $0.accepted } }

    /// Creates a server; nothing listens until ``run()``.
    public init(
        listen: Endpoint,
        maximumBodyBytes: Int = 8 << 20,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "query.http"),
        handler: @escaping Handler
    ) {
        self.listen = listen
        self.maximumBodyBytes = maximumBodyBytes
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
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: listen.host, port: listen.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
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
            state.accepted += 1
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
