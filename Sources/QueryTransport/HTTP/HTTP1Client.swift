import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import QueryCore

/// A small HTTP/1.1 client: one request per connection (`Connection: close`), a whole response
/// read into memory up to a limit, a deadline on the whole exchange, and TLS for `https` URLs
/// (system trust roots).
///
/// Made for low-rate machine traffic (a scrape every few seconds, a webhook per trigger), where a
/// fresh connection per request costs nothing that matters and leaves no pool to manage. HTTP
/// parsing is NIO's (`addHTTPClientHandlers`), which handles `Content-Length` and chunked bodies.
public struct HTTP1Client: Sendable {
    /// Limits.
    public struct Configuration: Sendable {
        /// The deadline for connecting, sending and reading the whole response. Default 10 s.
        public var timeout: Duration = .seconds(10)
        /// The largest response body accepted. Default 16 MiB.
        public var maximumResponseBytes = 16 << 20

        /// The defaults.
        public init() {}
    }

    /// The limits.
    public let configuration: Configuration
    private let group: any EventLoopGroup

    /// Creates a client.
    public init(
        configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
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
                tasks.addTask { try await self.exchange(method, url: url, headers: headers, body: body) }
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
        } catch is CancellationError {
            throw QueryError(.cancelled, "\(method) \(url) was cancelled")
        } catch {
            throw QueryError(.unavailable, "\(method) \(url) failed: \(error)")
        }
    }

    private func exchange(
        _ method: String,
        url: HTTPURL,
        headers: [(name: String, value: String)],
        body: [UInt8]
    ) async throws -> HTTPResponse {
        let limit = configuration.maximumResponseBytes
        let bootstrap = ClientBootstrap(group: group).connectTimeout(.nanoseconds(configuration.timeout.nanoseconds))
        let channel = try await bootstrap.connect(host: url.host, port: url.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                if url.isTLS {
                    let context = try NIOSSLContext(configuration: .makeClientConfiguration())
                    let serverName = url.host.contains(":") ? nil : url.host
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: serverName)
                    )
                }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                    wrappingChannelSynchronously: channel
                )
            }
        }
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                var head = HTTPHeaders()
                head.add(name: "Host", value: url.hostHeader)
                head.add(name: "User-Agent", value: "swift-query")
                head.add(name: "Connection", value: "close")
                head.add(name: "Content-Length", value: String(body.count))
                for (name, value) in headers { head.add(name: name, value: value) }
                try await outbound.write(
                    .head(
                        HTTPRequestHead(
                            version: .http1_1,
                            method: HTTPMethod(rawValue: method),
                            uri: url.target,
                            headers: head
                        )
                    )
                )
                if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                try await outbound.write(.end(nil))
                var response: HTTPResponse?
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        response = HTTPResponse(
                            status: Int(h.status.code),
                            headers: h.headers.map { (name: $0.name, value: $0.value) }
                        )
                    case .body(var buffer):
                        guard response != nil else { continue }
                        guard response!.body.count + buffer.readableBytes <= limit else {
                            throw QueryError(.limitExceeded, "\(method) \(url): response body over \(limit) bytes")
                        }
                        response!.body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                    case .end:
                        if let response { return response }
                    }
                }
                throw QueryError(
                    .unavailable,
                    "\(method) \(url): the connection closed before the response was complete"
                )
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }
}
