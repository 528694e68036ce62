import NIOCore
import NIOHTTP1
import NIOPosix
import QueryCore
import QuerySQL
import Synchronization
import Testing

@testable import QueryTransport

/// Connection reuse in ``HTTP1Client``, against the package's own ``HTTP1Server`` and a scripted
/// server that closes kept-alive connections, on loopback (port 0). Nothing sleeps: tests wait for
/// connections to close or for requests to arrive.
@Suite struct HTTP1ClientReuseTests {
    static func echoServer(log: RequestLog = RequestLog(), close: Bool = false) -> HTTP1Server {
        HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { request in
            log.append(request)
            var response = HTTPResponse(
                status: 200,
                contentType: "text/plain",
                text: "\(request.method) \(request.target)"
            )
            if close { response.headers.append(("Connection", "close")) }
            return response
        }
    }

    @Test func sequentialRequestsShareOneConnection() async throws {
        let log = RequestLog()
        let server = Self.echoServer(log: log)
        try await withServer(server) { port in
            let client = HTTP1Client()
            for n in 0..<6 {
                let method = n.isMultiple(of: 2) ? "GET" : "POST"
                let response = try await client.send(
                    method,
                    to: try HTTPURL("http://127.0.0.1:\(port)/r\(n)"),
                    body: method == "POST" ? [1, 2, 3] : []
                )
                #expect(response.status == 200)
                #expect(response.text == "\(method) /r\(n)")
            }
            #expect(server.connectionsAccepted == 1)
            #expect(client.pool.connectionsOpened == 1)
            #expect(log.all.allSatisfy { $0.header("Connection") == "keep-alive" })
            #expect(log.all.last?.body == [1, 2, 3])
        }
    }

    @Test func aServersConnectionCloseIsHonoured() async throws {
        let server = Self.echoServer(close: true)
        try await withServer(server) { port in
            let client = HTTP1Client()
            let url = try HTTPURL("http://127.0.0.1:\(port)/")
            for _ in 0..<3 { #expect(try await client.send("GET", to: url).status == 200) }
            #expect(server.connectionsAccepted == 3)
            #expect(client.pool.idleConnections(to: .init(url)).isEmpty)
        }
    }

    @Test func reuseCanBeTurnedOff() async throws {
        let log = RequestLog()
        let server = Self.echoServer(log: log)
        try await withServer(server) { port in
            var configuration = HTTP1Client.Configuration()
            configuration.maximumIdleConnectionsPerHost = 0
            let client = HTTP1Client(configuration: configuration)
            let url = try HTTPURL("http://127.0.0.1:\(port)/")
            for _ in 0..<3 { #expect(try await client.send("GET", to: url).status == 200) }
            #expect(server.connectionsAccepted == 3)
            #expect(log.all.allSatisfy { $0.header("Connection") == "close" })
        }
    }

    @Test func idleConnectionsAreBoundedPerHost() async throws {
        let arrivals = Arrivals()
        let gate = Gate()
        let server = HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { _ in
            arrivals.arrive()
            await gate.wait()
            return HTTPResponse(status: 204)
        }
        try await withServer(server) { port in
            let client = HTTP1Client()  // 2 idle connections per host by default
            let url = try HTTPURL("http://127.0.0.1:\(port)/")
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await client.send("GET", to: url).status } }
                // All four are in flight at once, so each has a connection of its own.
                await arrivals.wait(for: 4)
                gate.open()
                for try await status in group { #expect(status == 204) }
            }
            #expect(server.connectionsAccepted == 4)
            // Two were kept, two closed; the next requests use the kept ones.
            #expect(client.pool.idleConnections(to: .init(url)).count == 2)
            for _ in 0..<3 { #expect(try await client.send("GET", to: url).status == 204) }
            #expect(server.connectionsAccepted == 4)
        }
    }

    @Test func aConnectionTheServerClosedWhileIdleIsReplaced() async throws {
        // Answers one request per connection (saying keep-alive), then closes it.
        let server = ScriptedHTTPServer(answersPerConnection: 1, closeAfterAnswers: true)
        try await server.run { port in
            let client = HTTP1Client()
            let url = try HTTPURL("http://127.0.0.1:\(port)/")
            #expect(try await client.send("GET", to: url).text == "answer 1")
            // Wait until the client has seen the close (the pool then drops the connection).
            for channel in client.pool.idleConnections(to: .init(url)) { try? await channel.closeFuture.get() }
            #expect(client.pool.idleConnections(to: .init(url)).isEmpty)
            #expect(try await client.send("POST", to: url, body: [1]).text == "answer 2")
            #expect(server.connectionsAccepted == 2)
        }
    }

    @Test func aStaleConnectionIsRetriedOnlyForIdempotentRequests() async throws {
        // Answers one request per connection (saying keep-alive), then closes the connection
        // without answering the next: what a server's idle timeout racing a request looks like.
        let server = ScriptedHTTPServer(answersPerConnection: 1, closeAfterAnswers: false)
        try await server.run { port in
            let client = HTTP1Client()
            let url = try HTTPURL("http://127.0.0.1:\(port)/")
            #expect(try await client.send("GET", to: url).text == "answer 1")
            // The GET meets the closing connection and is repeated on a new one.
            #expect(try await client.send("GET", to: url).text == "answer 2")
            #expect(server.connectionsAccepted == 2)
            // A POST may have reached the server: not repeated, a typed error instead.
            do throws(QueryError) {
                _ = try await client.send("POST", to: url, body: [1])
                Issue.record("a POST on a stale connection was repeated or answered")
            } catch {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("closed a kept-alive connection before answering; not retried"))
            }
            #expect(server.requestsSeen == 4)
            // The next POST goes on a new connection.
            #expect(try await client.send("POST", to: url, body: [1]).text == "answer 3")
            #expect(server.connectionsAccepted == 3)
        }
    }

    @Test func aFreshConnectionClosedWithoutAnAnswerFailsOnce() async throws {
        let server = ScriptedHTTPServer(answersPerConnection: 0, closeAfterAnswers: false)
        try await server.run { port in
            let client = HTTP1Client()
            let url = try HTTPURL("http://127.0.0.1:\(port)/")
            do throws(QueryError) {
                _ = try await client.send("GET", to: url)
                Issue.record("a request the server never answered succeeded")
            } catch {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("the connection closed before the response"))
            }
            #expect(server.connectionsAccepted == 1)
        }
    }

    @Test func anOverLimitBodyClosesTheConnection() async throws {
        let server = HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { request in
            HTTPResponse(status: 200, body: Array(repeating: 7, count: request.target == "/big" ? 4096 : 10))
        }
        try await withServer(server) { port in
            var configuration = HTTP1Client.Configuration()
            configuration.maximumResponseBytes = 1024
            let client = HTTP1Client(configuration: configuration)
            let small = try HTTPURL("http://127.0.0.1:\(port)/small")
            let big = try HTTPURL("http://127.0.0.1:\(port)/big")
            #expect(try await client.send("GET", to: small).body.count == 10)
            do throws(QueryError) {
                _ = try await client.send("GET", to: big)
                Issue.record("an over-limit body was accepted")
            } catch {
                #expect(error.code == .limitExceeded)
            }
            #expect(try await client.send("GET", to: small).body.count == 10)
            #expect(server.connectionsAccepted == 2)
        }
    }

    @Test func stoppingTheServerClosesKeptAliveConnections() async throws {
        let server = Self.echoServer()
        let client = HTTP1Client()
        let url = try await withServer(server) { port in
            let url = try HTTPURL("http://127.0.0.1:\(port)/")
            #expect(try await client.send("GET", to: url).status == 200)
            #expect(client.pool.idleConnections(to: .init(url)).count == 1)
            return url
        }
        // withServer returned, so the server's run() ended with the client's connection open
        // until stop() closed it; the client sees the close.
        for channel in client.pool.idleConnections(to: .init(url)) { try? await channel.closeFuture.get() }
        #expect(client.pool.idleConnections(to: .init(url)).isEmpty)
    }

    @Test func webhookAndScraperReuseTheirConnection() async throws {
        let (manager, topic) = try WebhookSinkTests.manager()
        let log = RequestLog()
        let receiver = HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { request in
            log.append(request)
            if request.method == "GET" {
                return HTTPResponse(status: 200, contentType: "text/plain", text: "up 1\n")
            }
            return HTTPResponse(status: 204)
        }
        try await withServer(receiver) { port in
            let webhook = WebhookSink(
                configuration: WebhookSink.Configuration(url: try HTTPURL("http://127.0.0.1:\(port)/hook"))
            )
            try manager.addSink(webhook, to: topic, as: "ops")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await webhook.run() }
                for n in 1...3 {
                    try manager.publish(
                        "Cpu",
                        fields: ["host": .text("h\(n)"), "load": 95],
                        at: .milliseconds(Int64(n) * 1000),
                        as: "ops"
                    )
                }
                #expect(await eventually { webhook.statistics.delivered == 3 })
                group.cancelAll()
            }
            #expect(receiver.connectionsAccepted == 1)

            let scraper = PrometheusScraper(
                configuration: .init(url: try HTTPURL("http://127.0.0.1:\(port)/metrics"))
            )
            let scrapes = QueryManager()
            for _ in 0..<3 { #expect(try await scraper.scrape(into: scrapes.eventSink(as: "scraper")) == 1) }
            #expect(receiver.connectionsAccepted == 2)
        }
    }
}

/// Counts arrivals and lets a test wait until a number of them happened, without polling.
final class Arrivals: Sendable {
    private let state = Mutex<(count: Int, waiters: [(Int, CheckedContinuation<Void, Never>)])>((0, []))

    func arrive() {
        let ready = state.withLock { state in
            state.count += 1
            let count = state.count
            let ready = state.waiters.filter { $0.0 <= count }.map(\.1)
            state.waiters.removeAll { $0.0 <= count }
            return ready
        }
        for waiter in ready { waiter.resume() }
    }

    func wait(for count: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if state.count < count { state.waiters.append((count, continuation)) }
                return state.count >= count
            }
            if now { continuation.resume() }
        }
    }
}

/// A raw HTTP/1.1 server (NIO, no ``HTTP1Server``) that answers the first
/// `answersPerConnection` requests of each connection with `200 answer N` and
/// `Connection: keep-alive`, then either closes the connection right after the last answer
/// (`closeAfterAnswers`) or closes it on the next request without answering.
final class ScriptedHTTPServer: Sendable {
    let answersPerConnection: Int
    let closeAfterAnswers: Bool
    private let counters = Mutex((connections: 0, requests: 0, answers: 0))

    init(answersPerConnection: Int, closeAfterAnswers: Bool) {
        self.answersPerConnection = answersPerConnection
        self.closeAfterAnswers = closeAfterAnswers
    }

    var connectionsAccepted: Int { counters.withLock { $0.connections } }
    var requestsSeen: Int { counters.withLock { $0.requests } }

    /// Serves on a loopback port for the duration of `body`.
    func run<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                self.counters.withLock { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        defer { channel.close(promise: nil) }
        let port = try #require(channel.localAddress?.port)
        return try await body(port)
    }

    /// Takes one complete request; returns the answer's number, or `nil` to close unanswered.
    fileprivate func request(answeredOnThisConnection: Int) -> Int? {
        counters.withLock { counters in
            counters.requests += 1
            guard answeredOnThisConnection < answersPerConnection else { return nil }
            counters.answers += 1
            return counters.answers
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let server: ScriptedHTTPServer
        var answered = 0

        init(server: ScriptedHTTPServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            guard let number = server.request(answeredOnThisConnection: answered) else {
                context.close(promise: nil)
                return
            }
            answered += 1
            let body = "answer \(number)"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            headers.add(name: "Connection", value: "keep-alive")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))),
                promise: nil
            )
            let done = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
            if server.closeAfterAnswers && answered == server.answersPerConnection {
                let channel = context.channel
                done.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
