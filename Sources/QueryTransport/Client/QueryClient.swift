import NIOCore
import NIOPosix
import NIOSSL
import QueryCore

/// Asks SQL nodes queries over the TCP transport's client protocol, failing over between several
/// nodes and following redirects.
///
/// Each query opens a connection, sends `hello` (as a client) and `query`, waits for the `answer`
/// and closes. On a connection failure, a timeout, or an `.unavailable` answer the next endpoint
/// is tried; a `.redirect` answer that names endpoints (see ``QueryCore/QueryError/redirectTargets``)
/// is followed, at most ``Configuration/maximumRedirects`` times. Any other error is the answer.
public struct QueryClient: Sendable {
    /// Settings of a client.
    public struct Configuration: Sendable {
        /// How long connecting to one endpoint may take. Default 3 s.
        public var connectTimeout: Duration
        /// How long one endpoint may take to answer. Default 60 s.
        public var queryTimeout: Duration
        /// Redirects followed per query. Default 4.
        public var maximumRedirects: Int
        /// The largest answer frame accepted. Default 256 MiB.
        public var maximumFrameLength: Int
        /// TLS (with this client's certificate) when the nodes require it. Default `nil`.
        public var tls: TLSSettings?

        /// Creates a configuration.
        public init(
            connectTimeout: Duration = .seconds(3), queryTimeout: Duration = .seconds(60), maximumRedirects: Int = 4,
            maximumFrameLength: Int = 256 << 20, tls: TLSSettings? = nil
        ) {
            self.connectTimeout = connectTimeout
            self.queryTimeout = queryTimeout
            self.maximumRedirects = maximumRedirects
            self.maximumFrameLength = maximumFrameLength
            self.tls = tls
        }
    }

    /// The nodes to ask, in order of preference.
    public var endpoints: [Endpoint]
    /// Timeouts and limits.
    public var configuration: Configuration
    private let group: any EventLoopGroup

    /// Creates a client for `endpoints` (tried in order).
    public init(
        endpoints: [Endpoint], configuration: Configuration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.endpoints = endpoints
        self.configuration = configuration
        self.group = eventLoopGroup
    }

    /// Asks `sql`, failing over and following redirects.
    ///
    /// - Parameters:
    ///   - sql: The query.
    ///   - node: The node to ask within each process, if the process hosts several.
    /// - Returns: The answer, and the endpoint that gave it.
    /// - Throws: ``QueryCore/QueryError``: the node's error, or `.unavailable` (with the last
    ///   failure) when no endpoint could answer.
    public func query(_ sql: String, node: NodeID? = nil) async throws(QueryError) -> (QueryAnswer, Endpoint) {
        var candidates = endpoints
        var redirects = 0
        var failures: [String] = []
        while !candidates.isEmpty {
            let endpoint = candidates.removeFirst()
            let result: ClientAnswer
            do {
                result = try await ask(endpoint, sql: sql, node: node)
            } catch {
                failures.append("\(endpoint): \(error.message)")
                continue
            }
            switch result {
            case .success(let answer):
                return (answer, endpoint)
            case .failure(let error) where error.code == .redirect:
                let targets = error.redirectTargets
                guard !targets.isEmpty, redirects < configuration.maximumRedirects else { throw error }
                redirects += 1
                candidates = targets + candidates.filter { !targets.contains($0) }
            case .failure(let error) where error.code == .unavailable:
                failures.append("\(endpoint): \(error.message)")
            case .failure(let error):
                throw error
            }
        }
        guard !failures.isEmpty else { throw QueryError(.invalidArgument, "no node to ask") }
        throw QueryError(.unavailable, "no node could answer (\(failures.joined(separator: "; ")))")
    }

    /// One exchange with one endpoint.
    private func ask(_ endpoint: Endpoint, sql: String, node: NodeID?) async throws(QueryError) -> ClientAnswer {
        let configuration = self.configuration
        do {
            return try await withThrowingTaskGroup(of: ClientAnswer.self) { tasks in
                tasks.addTask {
                    let connection = try await connect(endpoint)
                    return try await connection.executeThenClose { inbound, outbound in
                        try await outbound.write(.hello(TransportFrame.Hello(party: .client, nodes: [])))
                        try await outbound.write(.query(id: 1, node: node, sql: sql))
                        for try await frame in inbound {
                            switch frame {
                            case .answer(1, let answer): return answer
                            case .hello, .ping: continue
                            default:
                                throw QueryError(.decodingFailed, "unexpected \(frame.kind) frame from \(endpoint)")
                            }
                        }
                        throw QueryError(.unavailable, "connection closed before the answer")
                    }
                }
                tasks.addTask {
                    try await Task.sleep(for: configuration.queryTimeout)
                    throw QueryError(.timeout, "no answer within \(configuration.queryTimeout)")
                }
                defer { tasks.cancelAll() }
                return try await tasks.next()!
            }
        } catch let error as QueryError {
            throw error
        } catch {
            throw QueryError(.unavailable, "\(error)")
        }
    }

    /// Opens a framed client connection to `endpoint` (TLS when configured).
    func connect(_ endpoint: Endpoint) async throws -> NIOAsyncChannel<TransportFrame, TransportFrame> {
        let configuration = self.configuration
        let tlsContext = try configuration.tls?.makeContexts().client
        return try await ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        let hostname = endpoint.host.first?.isLetter == true ? endpoint.host : nil
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tlsContext, serverHostname: hostname))
                    }
                    try TransportPipeline.configure(
                        channel.pipeline.syncOperations,
                        maximumFrameLength: configuration.maximumFrameLength,
                        keepaliveInterval: .seconds(2),
                        idleTimeout: configuration.queryTimeout + .seconds(5),
                        metrics: nil)
                    // Closes on deinit: a connect that fails after this initializer ran drops the
                    // channel without `executeThenClose` (see ``DeinitClosingChannel``).
                    return try DeinitClosingChannel.wrap(channel)
                }
            }
    }
}

extension QueryError {
    /// Makes a `.redirect` error that a ``QueryClient`` follows to `targets`.
    ///
    /// The targets travel in the message as a trailing `[redirect: host:port,host:port]`, so any
    /// client can read them and a person can too.
    public static func redirect(_ reason: String, to targets: [Endpoint]) -> QueryError {
        QueryError(.redirect, "\(reason) [redirect: \(targets.map(\.description).joined(separator: ","))]")
    }

    /// The endpoints a `.redirect` error names (empty for other errors or when none are named).
    public var redirectTargets: [Endpoint] {
        guard code == .redirect, let start = message.ranges(of: "[redirect: ").last,
            let end = message[start.upperBound...].firstIndex(of: "]")
        else { return [] }
        return message[start.upperBound..<end].split(separator: ",").compactMap {
            try? Endpoint(parsing: String($0.filter { $0 != " " }))
        }
    }
}
