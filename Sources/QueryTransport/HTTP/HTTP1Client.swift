import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import QueryCore

/// A small HTTP/1.1 client: kept-alive connections reused per scheme, host and port, a whole
/// response read into memory up to a limit, a deadline on the whole exchange, and TLS for `https`
/// URLs (system trust roots).
///
/// Made for steady machine traffic (a scrape every few seconds, a webhook per trigger): after a
/// response the connection waits in a bounded pool (``Configuration/maximumIdleConnectionsPerHost``,
/// closed after ``Configuration/idleTimeout``) for the next request to the same place, so a
/// webhook or scrape costs no TCP or TLS handshake. The server's `Connection: close` (or HTTP/1.0)
/// is honoured. A kept-alive connection the server closed while it was idle is noticed on its
/// next use: the request is retried once on a new connection if it never reached the server or
/// its method is idempotent (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, `TRACE`); a `POST` whose
/// fate is unknown fails with `.unavailable` for the caller to retry (``WebhookSink`` does).
/// Copies of a client share its pool. HTTP parsing is NIO's (`addHTTPClientHandlers`), which
/// handles `Content-Length` and chunked bodies.
public struct HTTP1Client: Sendable {
    /// Limits.
    public struct Configuration: Sendable {
        /// The deadline for connecting, sending and reading the whole response. Default 10 s.
        public var timeout: Duration = .seconds(10)
        /// The largest response body accepted. Default 16 MiB.
        public var maximumResponseBytes = 16 << 20
        /// Idle kept-alive connections kept per scheme, host and port. Default 2; 0 turns reuse
        /// off (every request then asks for `Connection: close`).
        public var maximumIdleConnectionsPerHost = 2
        /// How long an idle kept-alive connection is kept before it is closed. Default 30 s.
        public var idleTimeout: Duration = .seconds(30)

        /// The defaults.
        public init() {}
    }

    /// The limits.
    public let configuration: Configuration
    private let group: any EventLoopGroup
    let pool: HTTPConnectionPool

    /// Creates a client.
    public init(
        configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.pool = HTTPConnectionPool(maximumIdlePerHost: configuration.maximumIdleConnectionsPerHost)
    }

    /// Closes the idle kept-alive connections (a later request opens a new one). The pool's
    /// connections also close when the last copy of the client goes away.
    public func closeIdleConnections() {
        pool.closeAll()
    }

    /// Sends `method` to `url` with `body` and returns the response (any status).
    ///
    /// - Throws: ``QueryCore/QueryError`` `.unavailable` if the connection fails or closes early,
    ///   `.timeout` past ``Configuration/timeout``, `.limitExceeded` for a body over
    ///   ``Configuration/maximumResponseBytes``, `.cancelled` if the task is cancelled.
    public func send(
        _ method: String,
        to url: HTTPURL,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) async throws(QueryError) -> HTTPResponse {
        let timeout = configuration.timeout
        do {
            return try await withThrowingTaskGroup(of: HTTPResponse?.self) { tasks in
                tasks.addTask { try await self.perform(method, url: url, headers: headers, body: body) }
                tasks.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { tasks.cancelAll() }
                guard let first = try await tasks.next(), let response = first else {
                    throw QueryError(.timeout, "\(method) \(url) got no complete response within \(timeout)")
                }
                return response
            }
        } catch let error as QueryError {
            throw error
        } catch HTTPExchangeFailure.bodyTooLarge(let limit) {
            throw QueryError(.limitExceeded, "\(method) \(url): response body over \(limit) bytes")
        } catch let failure as HTTPExchangeFailure {
            throw QueryError(.unavailable, "\(method) \(url): \(failure)")
        } catch is CancellationError {
            throw QueryError(.cancelled, "\(method) \(url) was cancelled")
        } catch {
            throw QueryError(.unavailable, "\(method) \(url) failed: \(error)")
        }
    }

    /// Sends the request on an idle kept-alive connection if there is one, else on a new one.
    private func perform(
        _ method: String,
        url: HTTPURL,
        headers: [(name: String, value: String)],
        body: [UInt8]
    ) async throws -> HTTPResponse {
        let key = HTTPConnectionPool.Key(url)
        let head = requestHead(method, url: url, headers: headers, bodyLength: body.count)
        if let channel = pool.checkout(key) {
            do {
                return try await exchange(head, body: body, on: channel, key: key)
            } catch HTTPExchangeFailure.closedBeforeResponse(let written, _) {
                // The server closed the kept-alive connection while it was idle.
                guard !written || Self.isIdempotent(method) else {
                    throw QueryError(
                        .unavailable,
                        "\(method) \(url): the server closed a kept-alive connection before answering; "
                            + "not retried, as \(method) is not idempotent")
                }
            }
        }
        let channel = try await connect(url)
        pool.opened(channel, key: key)
        return try await exchange(head, body: body, on: channel, key: key)
    }

    /// Methods that RFC 9110 (9.2.2) lets a client repeat when a connection fails.
    static func isIdempotent(_ method: String) -> Bool {
        ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"].contains(method.uppercased())
    }

    private func requestHead(
        _ method: String, url: HTTPURL, headers: [(name: String, value: String)], bodyLength: Int
    ) -> HTTPRequestHead {
        var head = HTTPHeaders()
        head.add(name: "Host", value: url.hostHeader)
        head.add(name: "User-Agent", value: "swift-query")
        head.add(name: "Connection", value: pool.maximumIdlePerHost > 0 ? "keep-alive" : "close")
        head.add(name: "Content-Length", value: String(bodyLength))
        for (name, value) in headers { head.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: url.target, headers: head)
    }

    private func connect(_ url: HTTPURL) async throws -> any Channel {
        let tlsContext = url.isTLS ? try pool.clientTLSContext() : nil
        let idleTimeout = TimeAmount.nanoseconds(configuration.idleTimeout.nanoseconds)
        return try await ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(configuration.timeout.nanoseconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        let serverName = url.host.contains(":") ? nil : url.host
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                    try pipeline.addHandler(HTTPExchangeHandler())
                }
            }
            .connect(host: url.host, port: url.port)
            .get()
    }

    /// One request and its whole response on `channel`; the channel goes back to the pool if
    /// both sides keep it alive, and is closed otherwise (also when the caller is cancelled or
    /// times out mid-exchange).
    private func exchange(
        _ head: HTTPRequestHead, body: [UInt8], on channel: any Channel, key: HTTPConnectionPool.Key
    ) async throws -> HTTPResponse {
        let promise = channel.eventLoop.makePromise(of: HTTPExchangeResult.self)
        let exchange = HTTPExchange(
            head: head, body: body, responseLimit: configuration.maximumResponseBytes, promise: promise)
        // A write to a connection closed meanwhile never reaches the handler: fail the exchange
        // (a second failure of an already completed promise is ignored).
        channel.writeAndFlush(exchange).whenFailure { error in
            promise.fail(HTTPExchangeFailure.closedBeforeResponse(written: false, reason: "\(error)"))
        }
        let result = try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
        if result.keepAlive && pool.maximumIdlePerHost > 0 {
            pool.checkin(channel, key: key)
        } else {
            channel.close(promise: nil)
        }
        return result.response
    }
}
