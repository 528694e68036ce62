import Logging
import NIOCore
import NIOPosix
import Prometheus
import QueryCore
import ServiceLifecycle

/// A tiny HTTP/1.1 server for a node's metrics in Prometheus text format (`GET /metrics`) and a
/// liveness probe (`GET /healthz`), built on ``HTTP1Server`` and stopped by graceful shutdown.
public final class MetricsServer: Service {
    /// Where it listens; port 0 picks one (see ``listeningPort()``).
    public var listen: Endpoint { server.listen }
    private let server: HTTP1Server
    private let logger: Logger

    /// Creates a server for `registry` on `listen`.
    public init(
        listen: Endpoint, registry: PrometheusCollectorRegistry,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "query.metrics")
    ) {
        self.logger = logger
        self.server = HTTP1Server(listen: listen, maximumBodyBytes: 64 << 10, eventLoopGroup: eventLoopGroup, logger: logger) {
            request in MetricsServer.respond(to: request, registry: registry)
        }
    }

    /// The bound port once listening; `nil` if it stopped first.
    public func listeningPort() async -> Int? {
        await server.listeningPort()
    }

    /// Serves until graceful shutdown or cancellation.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.unavailable` if the address cannot be bound.
    public func run() async throws {
        logger.info("serving metrics", metadata: ["address": "\(listen.host):\(listen.port)"])
        try await withGracefulShutdownHandler {
            try await server.run()
        } onGracefulShutdown: {
            self.server.stop()
        }
    }

    /// Closes the listener; ``run()`` returns.
    public func stop() {
        server.stop()
    }

    private static func respond(to request: HTTPRequest, registry: PrometheusCollectorRegistry) -> HTTPResponse {
        guard request.method == "GET" else {
            return HTTPResponse(status: 405, contentType: "text/plain", text: "only GET\n")
        }
        switch request.path {
        case "/metrics":
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: registry.emitToBuffer())
        case "/healthz":
            return HTTPResponse(status: 200, contentType: "text/plain", text: "ok\n")
        default:
            return HTTPResponse(status: 404, contentType: "text/plain", text: "try /metrics\n")
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
