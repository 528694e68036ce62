import QueryCore
import QuerySQL
import Testing

@testable import QueryTransport

@Suite struct PushAuthenticationTests {
    static func tokens() throws -> PushAuthentication {
        .bearerTokens([
            try PushToken(name: "collector", secret: "c0llect0r-s3cret"),
            try PushToken(name: "cpu-only", secret: "cpu-t0ken", streams: ["CPU"]),
        ])
    }

    static func post(
        _ body: String,
        authorization: String?,
        to manager: QueryManager,
        declares: Bool = false,
        method: String = "POST"
    ) throws -> EventPushServer.Answer {
        EventPushServer.respond(
            to: HTTPRequest(
                method: method,
                target: "/events",
                headers: authorization.map { [("Authorization", $0)] } ?? [],
                body: Array(body.utf8)
            ),
            path: "/events",
            declaresUnknownStreams: declares,
            authentication: try tokens(),
            now: { .seconds(50) },
            sink: manager.eventSink(as: "push")
        )
    }

    static let cpuEvent = #"{"stream": "Cpu", "time": 1000, "host": "a", "load": 95}"#

    @Test(arguments: [
        (nil, "missing 'Authorization: Bearer <token>' header"),
        ("Basic dXNlcjpwYXNz", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer a b", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer wrong", "unknown bearer token"),
        ("Bearer c0llect0r-s3cre", "unknown bearer token"),  // a prefix of a real token
        ("Bearer c0llect0r-s3cretX", "unknown bearer token"),  // a real token and more
        ("Bearer c0llect0r-s3cretc0llect0r-s3cret", "unknown bearer token"),  // a real token twice
        ("Bearer C0LLECT0R-S3CRET", "unknown bearer token"),  // tokens are case-sensitive
    ])
    func requestsWithoutAValidTokenAreAnswered401(authorization: String?, message: String) throws {
        let (manager, topic) = try EventPushServerTests.manager()
        let capture = Capture()
        try manager.addSink(capture, to: topic, as: "ops")
        let answer = try Self.post(Self.cpuEvent, authorization: authorization, to: manager)
        #expect(answer.http.status == 401)
        #expect(answer.http.text == "{\"error\": \"\(message)\"}\n")
        #expect(answer.http.header("Content-Type") == "application/json")
        #expect(answer.http.header("WWW-Authenticate") == "Bearer realm=\"/events\"")
        #expect(answer.outcome.map { if case .failure = $0 { true } else { false } } == true)
        #expect(capture.triggers.isEmpty)
        // Not even the method is revealed before authentication.
        #expect(try Self.post("", authorization: authorization, to: manager, method: "GET").http.status == 401)
    }

    @Test func aValidTokenPublishesAndTheSchemeIsCaseInsensitive() throws {
        let (manager, topic) = try EventPushServerTests.manager()
        let capture = Capture()
        try manager.addSink(capture, to: topic, as: "ops")
        for authorization in ["Bearer c0llect0r-s3cret", "bearer cpu-t0ken", "  BEARER\tcpu-t0ken  "] {
            let answer = try Self.post(Self.cpuEvent, authorization: authorization, to: manager)
            #expect(answer.http.status == 200, "\(authorization): \(answer.http.text)")
        }
        #expect(capture.triggers.count == 3)
        // Right token, wrong method.
        #expect(try Self.post("", authorization: "Bearer cpu-t0ken", to: manager, method: "GET").http.status == 405)
    }

    @Test func aTokenMayPublishOnlyToItsStreams() throws {
        let (manager, topic) = try EventPushServerTests.manager()
        let capture = Capture()
        try manager.addSink(capture, to: topic, as: "ops")
        try manager.registerMetric("Gpu", schema: try Schema([("x", .integer)]), publishers: .anyone)
        // Line 1 is allowed, line 2 is not: nothing is published, 403 names the line and stream.
        let mixed = try Self.post(
            Self.cpuEvent + "\n" + #"{"stream": "Gpu", "x": 1}"#,
            authorization: "Bearer cpu-t0ken",
            to: manager
        )
        #expect(mixed.http.status == 403)
        #expect(mixed.http.text == "{\"error\": \"line 2: token 'cpu-only' may not publish to stream 'Gpu'\"}\n")
        #expect(capture.triggers.isEmpty)
        // Stream names match case-insensitively, as the manager's do.
        #expect(
            try Self.post(
                #"{"stream": "cPU", "host": "b", "load": 99}"#,
                authorization: "Bearer cpu-t0ken",
                to: manager
            )
            .http.status == 200
        )
        // A refused stream is not declared either, even where unknown streams are.
        let undeclared = try Self.post(
            #"{"stream": "Disk", "free": 0.5}"#,
            authorization: "Bearer cpu-t0ken",
            to: manager,
            declares: true
        )
        #expect(undeclared.http.status == 403)
        #expect(manager.schema(ofMetric: "Disk") == nil)
        // The unrestricted token may; the manager's own rights still apply to it (403 as before).
        #expect(
            try Self.post(#"{"stream": "Gpu", "x": 2}"#, authorization: "Bearer c0llect0r-s3cret", to: manager).http
                .status == 200
        )
        let secret = try Self.post(
            #"{"stream": "Secret", "x": 1}"#,
            authorization: "Bearer c0llect0r-s3cret",
            to: manager
        )
        #expect(secret.http.status == 403)
        #expect(secret.http.text.contains("may not publish to metric 'Secret'"))
    }

    @Test func tokensAreValidatedAndComparedExactly() throws {
        #expect(throws: QueryError.self) { _ = try PushToken(name: "empty", secret: "") }
        #expect(throws: QueryError.self) { _ = try PushToken(name: "spaced", secret: "a b") }
        #expect(throws: QueryError.self) { _ = try PushToken(name: "control", secret: "a\u{7F}") }
        // The constant-time comparison agrees with == on seeded random pairs, including prefixes,
        // extensions and single-byte changes.
        var generator = SplitMix64(seed: 2)
        for _ in 0..<2000 {
            let secret = (0..<Int.random(in: 1...12, using: &generator)).map { _ in
                UInt8.random(in: 97...100, using: &generator)
            }
            var presented: [UInt8]
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: presented = secret
            case 1: presented = Array(secret.prefix(Int.random(in: 0..<secret.count, using: &generator)))
            case 2: presented = secret + secret.prefix(Int.random(in: 1...secret.count, using: &generator))
            default:
                presented = secret
                presented[Int.random(in: 0..<secret.count, using: &generator)] = UInt8.random(
                    in: 97...100,
                    using: &generator
                )
            }
            #expect(
                PushToken.constantTimeEquals(presented, secret) == (presented == secret),
                "\(presented) vs \(secret)"
            )
        }
    }

    @Test func servesTokensOverLoopback() async throws {
        let (manager, topic) = try EventPushServerTests.manager()
        let alerts = try manager.subscribe(topic, as: "ops")
        var configuration = EventPushServer.Configuration(listen: Endpoint(host: "127.0.0.1", port: 0))
        configuration.authentication = try Self.tokens()
        let server = EventPushServer(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(into: manager.eventSink(as: "push")) }
            defer { server.stop() }
            let port = try #require(await server.listeningPort())
            let url = try HTTPURL("http://127.0.0.1:\(port)/events")
            let client = HTTP1Client()
            let body = Array(Self.cpuEvent.utf8)
            let anonymous = try await client.send("POST", to: url, body: body)
            #expect(anonymous.status == 401)
            #expect(anonymous.header("WWW-Authenticate") == "Bearer realm=\"/events\"")
            #expect(anonymous.text.hasPrefix("{\"error\": "))
            let wrongStream = try await client.send(
                "POST",
                to: url,
                headers: [("Authorization", "Bearer cpu-t0ken")],
                body: Array(#"{"stream": "Secret", "x": 1}"#.utf8)
            )
            #expect(wrongStream.status == 403)
            let ok = try await client.send(
                "POST",
                to: url,
                headers: [("Authorization", "Bearer cpu-t0ken")],
                body: body
            )
            #expect(ok.status == 200)
            var iterator = alerts.makeAsyncIterator()
            #expect(await iterator.next()?.rows == [["a", 95]])
            #expect(server.statistics.events == 1)
            #expect(server.statistics.rejected == 2)
            #expect(server.statistics.lastError?.code == .permissionDenied)
            server.stop()
            try await group.waitForAll()
        }
    }
}
