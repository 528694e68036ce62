import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import QueryCore
import ServiceLifecycle
import Synchronization

/// A tiny HTTP/1.1 server for a node's metrics in Prometheus text format (`GET /metrics`) and a
/// liveness probe (`GET /healthz`).
///
/// HTTP parsing is NIO's (`configureHTTPServerPipeline`); each connection is served in Swift
/// Concurrency over `NIOAsyncChannel`.
public final class MetricsServer: Service {
    /// Where it listens; port 0 picks one (see ``listeningPort()``).
    public let listen: Endpoint
    private let registry: PrometheusCollectorRegistry
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var stopped = false
        var channel: (any Channel)?
        var port: Int?
        var portWaiters: [CheckedContinuation<Int?, Never>] = []
    }

    /// Creates a server for `registry` on `listen`.
    public init(
        listen: Endpoint, registry: PrometheusCollectorRegistry,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "query.metrics")
    ) {
        self.listen = listen
        self.registry = registry
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

    /// Serves until graceful shutdown or cancellation.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.unavailable` if the address cannot be bound.
    public func run() async throws {
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: listen.host, port: listen.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            stop()
            throw QueryError(.unavailable, "cannot serve metrics on \(listen): \(error)")
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
        logger.info("serving metrics", metadata: ["address": "\(listen.host):\(port ?? listen.port)"])
        await withGracefulShutdownHandler {
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
                    logger.debug("metrics listener stopped", metadata: ["error": "\(error)"])
                }
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Closes the listener; ``run()`` returns.
    public func stop() {
        let (channel, waiters): ((any Channel)?, [CheckedContinuation<Int?, Never>]) = state.withLock { state in
            state.stopped = true
            defer { state.portWaiters = [] }
            return (state.channel, state.portWaiters)
        }
        channel?.close(promise: nil)
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let request):
                        head = request
                    case .body:
                        continue
                    case .end:
                        guard let request = head else { continue }
                        let (status, contentType, body) = respond(to: request)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: contentType)
                        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
                        headers.add(name: "Connection", value: request.isKeepAlive ? "keep-alive" : "close")
                        try await outbound.write(
                            contentsOf: [
                                .head(HTTPResponseHead(version: request.version, status: status, headers: headers)),
                                .body(.byteBuffer(body)), .end(nil),
                            ])
                        if !request.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("metrics connection closed", metadata: ["error": "\(error)"])
        }
    }

    private func respond(to request: HTTPRequestHead) -> (HTTPResponseStatus, String, ByteBuffer) {
        guard request.method == .GET else {
            return (.methodNotAllowed, "text/plain", ByteBuffer(string: "only GET\n"))
        }
        switch request.uri.split(separator: "?").first.map(String.init) ?? request.uri {
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4", ByteBuffer(bytes: registry.emitToBuffer()))
        case "/healthz":
            return (.ok, "text/plain", ByteBuffer(string: "ok\n"))
        default:
            return (.notFound, "text/plain", ByteBuffer(string: "try /metrics\n"))
        }
    }
}

/// Prometheus metric names cannot contain dots: `query.transport.bytes_in` is exported as
/// `query_transport_bytes_in`.
public func prometheusSanitizer(_ name: String, _ labels: [(String, String)]) -> (String, [(String, String)]) {
    func clean(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
    return (clean(name), labels.map { (clean($0.0), $0.1) })
}
