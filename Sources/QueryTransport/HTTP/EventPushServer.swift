import Logging
import NIOCore
import NIOPosix
public import QueryCore
public import QuerySQL
import Synchronization

/// An ``QuerySQL/EventSource`` that accepts events pushed over HTTP: `POST /events` with one
/// JSON object, or JSON lines (one object a line), each `{"stream": "Name", "time": ms, field:
/// value, …}` as `query-replay` reads them. `time` may be left out: the event then takes the
/// server's clock.
///
/// A request is all or nothing: every event is checked against its stream's schema before any is
/// published. Answers:
/// - `200 {"accepted": N}` when all N events were published;
/// - `400 {"error": "line L: …"}` for malformed JSON, an unknown stream, an unknown field or a
///   value of the wrong type, naming the line and the field;
/// - `401 {"error": …}` (with `WWW-Authenticate: Bearer`) without a valid bearer token, when
///   ``Configuration/authentication`` asks for one;
/// - `403` if the token may not publish to a stream of the request, or the sink's principal may
///   not publish to it; `404` for another path, `405` for another method, `413` for a body over
///   the limit, `503` before ``run(into:)``.
///
/// Events are published as the sink's principal (``QuerySQL/QueryManager/eventSink(as:)``).
/// Callers are authenticated by ``PushAuthentication``: bearer tokens, each limited to some
/// streams if configured. With `.none` (the default) anyone who reaches the port may publish:
/// use it on a trusted network only.
public final class EventPushServer: EventSource {
    /// Where and how it listens.
    public struct Configuration: Sendable {
        /// The address; port 0 picks one (see ``EventPushServer/listeningPort()``).
        public var listen: Endpoint
        /// The path events are posted to. Default `/events`.
        public var path = "/events"
        /// The largest request body. Default 8 MiB.
        public var maximumBodyBytes = 8 << 20
        /// Whether an unknown stream is declared from its first event (every field `ANY`), as
        /// `query-replay` does; otherwise it is refused with 400. Default `false`.
        public var declaresUnknownStreams = false
        /// Who may post. Default `.none`: anyone who reaches the port.
        public var authentication = PushAuthentication.none
        /// Idle and request timeouts and the connection limit (``HTTP1Server/Limits``).
        public var limits = HTTP1Server.Limits()

        /// Listens on `listen` with the defaults.
        public init(listen: Endpoint) { self.listen = listen }
    }

    /// The configuration.
    public let configuration: Configuration
    private let now: @Sendable () -> Instant
    private let server: HTTP1Server
    private let shared: Shared

    /// What the request handler and the source share.
    private final class Shared: Sendable {
        /// The sink while ``EventPushServer/run(into:)`` runs.
        let sink = Mutex<(any EventSink)?>(nil)
        let counters = Mutex(EventSourceStatistics())
    }

    /// Creates the endpoint; nothing listens until ``run(into:)``.
    ///
    /// - Parameters:
    ///   - now: the time of events posted without one. Default the wall clock.
    public init(
        configuration: Configuration,
        now: @escaping @Sendable () -> Instant = { Instant.wallClockNow() },
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "query.events.push")
    ) {
        self.configuration = configuration
        self.now = now
        let shared = Shared()
        self.shared = shared
        let path = configuration.path
        let declares = configuration.declaresUnknownStreams
        let authentication = configuration.authentication
        self.server = HTTP1Server(
            listen: configuration.listen,
            maximumBodyBytes: configuration.maximumBodyBytes,
            limits: configuration.limits,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        ) { request in
            guard let sink = shared.sink.withLock({ $0 }) else {
                return EventPushServer.json(503, error: "the event endpoint is not running")
            }
            let response = EventPushServer.respond(
                to: request,
                path: path,
                declaresUnknownStreams: declares,
                authentication: authentication,
                now: now,
                sink: sink
            )
            shared.counters.withLock { c in
                if case .success(let n) = response.outcome {
                    c.events += n
                    c.batches += 1
                } else if case .failure(let error) = response.outcome {
                    c.rejected += 1
                    c.lastError = error
                }
            }
            return response.http
        }
    }

    public var statistics: EventSourceStatistics { shared.counters.withLock { $0 } }

    /// Connections answered `503` because the connection limit was reached.
    public var connectionsRefused: Int { server.connectionsRefused }
    /// Connections closed by the idle or request timeout.
    public var connectionsTimedOut: Int { server.connectionsTimedOut }

    /// The bound port once listening; `nil` if it stopped first.
    public func listeningPort() async -> Int? { await server.listeningPort() }

    /// Stops listening; ``run(into:)`` returns.
    public func stop() { server.stop() }

    /// Serves until ``stop()`` or cancellation, publishing accepted events into `sink`.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.unavailable` if the address cannot be bound.
    public func run(into sink: some EventSink) async throws(QueryError) {
        shared.sink.withLock { $0 = sink }
        defer { shared.sink.withLock { $0 = nil } }
        try await server.run()
    }

    struct Answer {
        var http: HTTPResponse
        /// Events published, or why the request was refused (nil for requests that are not event posts).
        var outcome: Result<Int, QueryError>?
    }

    /// Answers one request (the whole endpoint, without the network).
    static func respond(
        to request: HTTPRequest,
        path: String,
        declaresUnknownStreams: Bool,
        authentication: PushAuthentication = .none,
        now: () -> Instant,
        sink: some EventSink
    ) -> Answer {
        guard request.path == path else {
            return Answer(http: json(404, error: "no such path; post events to \(path)"))
        }
        let token: PushToken?
        do throws(PushAuthenticationFailure) {
            token = try authentication.authenticate(request.header("Authorization"))
        } catch {
            var http = json(401, error: error.reason)
            http.headers.append(("WWW-Authenticate", "Bearer realm=\"\(path)\""))
            return Answer(http: http, outcome: .failure(QueryError(.permissionDenied, error.reason)))
        }
        guard request.method == "POST" else {
            return Answer(http: json(405, error: "only POST is accepted on \(path)"))
        }
        do throws(QueryError) {
            let events = try decode(
                request.body,
                declaresUnknownStreams: declaresUnknownStreams,
                token: token,
                now: now(),
                sink: sink
            )
            try sink.publish(events)
            return Answer(
                http: HTTPResponse(
                    status: 200,
                    contentType: "application/json",
                    text: "{\"accepted\": \(events.count)}\n"
                ),
                outcome: .success(events.count)
            )
        } catch {
            let status = error.code == .permissionDenied ? 403 : 400
            return Answer(http: json(status, error: error.message), outcome: .failure(error))
        }
    }

    /// Decodes and checks a body of one JSON object or JSON lines.
    ///
    /// - Parameter token: The caller's token; every event's stream must be one it may publish to
    ///   (checked before any stream is declared).
    /// - Throws: ``QueryCore/QueryError`` naming the line of the first problem (`.permissionDenied`
    ///   for a stream the token may not publish to).
    static func decode(
        _ body: [UInt8],
        declaresUnknownStreams: Bool,
        token: PushToken? = nil,
        now: Instant,
        sink: some EventSink
    ) throws(QueryError) -> [SourceEvent] {
        guard let text = String(validating: body, as: UTF8.self) else {
            throw QueryError(.decodingFailed, "the body is not valid UTF-8")
        }
        var lines: [(number: Int, event: JSONEventLine)] = []
        do throws(QueryError) {
            for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard line.contains(where: { !$0.isWhitespace }) else { continue }
                do throws(QueryError) {
                    lines.append((offset + 1, try JSONEventLine.parse(line)))
                } catch {
                    throw QueryError(error.code, "line \(offset + 1): \(error.message)")
                }
            }
        } catch {
            // One object spread over several lines (pretty-printed) is accepted too.
            guard let whole = try? JSONEventLine.parse(text) else { throw error }
            lines = [(1, whole)]
        }
        guard !lines.isEmpty else {
            throw QueryError(
                .invalidArgument,
                "empty body: post one JSON object or JSON lines with 'stream', 'time' and fields"
            )
        }
        // Rights first, so a refused request declares no stream either.
        if let token {
            for (number, line) in lines where !token.allows(stream: line.stream) {
                throw QueryError(
                    .permissionDenied,
                    "line \(number): token '\(token.name)' may not publish to stream '\(line.stream.prefix(64))'")
            }
        }
        var schemas: [String: Schema] = [:]
        var events: [SourceEvent] = []
        events.reserveCapacity(lines.count)
        for (number, line) in lines {
            do throws(QueryError) {
                let key = line.stream.lowercased()
                var schema = schemas[key] ?? sink.schema(ofStream: line.stream)
                if schema == nil, declaresUnknownStreams {
                    let inferred = try Schema(line.fields.map { ColumnDefinition($0.0, .any) })
                    try sink.declareStream(line.stream, schema: inferred)
                    schema = inferred
                }
                guard let schema else {
                    throw QueryError(
                        .invalidArgument,
                        "unknown stream '\(line.stream.prefix(64))'; register it as a metric first"
                    )
                }
                schemas[key] = schema
                let time = line.time.map { Instant.milliseconds($0) } ?? now
                events.append(try SourceEvent(stream: line.stream, time: time, fields: line.fields, schema: schema))
            } catch {
                throw QueryError(error.code, "line \(number): \(error.message)")
            }
        }
        return events
    }

    static func json(_ status: Int, error message: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            contentType: "application/json",
            text: "{\"error\": \(JSONText.quoted(message))}\n"
        )
    }
}
