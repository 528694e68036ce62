import QueryCore
import QuerySQL
import Synchronization
import Testing

@testable import QueryTransport

@Suite struct EventPushServerTests {
    static func manager() throws -> (QueryManager, TopicHandle) {
        let manager = QueryManager()
        try manager.registerMetric(
            "Cpu",
            schema: try Schema([("host", .text), ("load", .integer)]),
            publishers: .only(["push"])
        )
        try manager.registerMetric("Secret", schema: try Schema([("x", .integer)]), publishers: .only(["admin"]))
        let topic = try manager.registerStatement("select host, load from Cpu where load > 90", owner: "ops")
        return (manager, topic)
    }

    static func post(
        _ body: String,
        path: String = "/events",
        method: String = "POST",
        to manager: QueryManager,
        declares: Bool = false
    )
        -> EventPushServer.Answer
    {
        EventPushServer.respond(
            to: HTTPRequest(method: method, target: path, body: Array(body.utf8)),
            path: "/events",
            declaresUnknownStreams: declares,
            now: { .seconds(50) },
            sink: manager.eventSink(as: "push")
        )
    }

    @Test func acceptsOneObjectJSONLinesAndAPrettyPrintedObject() throws {
        let (manager, topic) = try Self.manager()
        let capture = Capture()
        try manager.addSink(capture, to: topic, as: "ops")
        let one = Self.post(#"{"stream": "Cpu", "time": 1000, "host": "a", "load": 95}"#, to: manager)
        #expect(one.http.status == 200)
        #expect(jsonInteger("accepted", in: one.http.text) == 1)
        let lines = Self.post(
            "{\"stream\": \"Cpu\", \"time\": 2000, \"host\": \"b\", \"load\": 50}\n\n{\"stream\": \"cpu\", \"host\": \"c\", \"load\": 99.0}\n",
            to: manager
        )
        #expect(lines.http.status == 200)
        #expect(jsonInteger("accepted", in: lines.http.text) == 2)
        let pretty = Self.post(
            "{\n  \"stream\": \"Cpu\",\n  \"time\": 60000,\n  \"host\": \"d\",\n  \"load\": 91\n}\n",
            to: manager
        )
        #expect(pretty.http.status == 200, "\(pretty.http.text)")
        #expect(capture.triggers.map(\.rows) == [[["a", 95]], [["c", 99]], [["d", 91]]])
        // An event without a time takes the server's clock.
        #expect(capture.triggers.map(\.time) == [.milliseconds(1000), .seconds(50), .milliseconds(60000)])
    }

    @Test(arguments: [
        (
            "{\"stream\": \"Cpu\", \"host\": \"a\", \"load\": 95}\n{\"stream\": \"Cpu\", \"host\": \"a\", \"lod\": 1}",
            400,
            "line 2: stream 'Cpu' has no field 'lod'"
        ),
        (
            "{\"stream\": \"Cpu\", \"host\": \"a\", \"load\": \"high\"}", 400,
            "line 1: field 'load' of stream 'Cpu' is INTEGER"
        ),
        ("{\"stream\": \"Cpu\", \"host\": \"a\", \"load\": 95}\n{\"stream\": \"Cpu\", \"load\": 9", 400, "line 2:"),
        ("{\"host\": \"a\"}", 400, "line 1: missing 'stream'"),
        ("{\"stream\": \"Gpu\", \"x\": 1}", 400, "line 1: unknown stream 'Gpu'; register it as a metric first"),
        ("{\"stream\": \"Cpu\", \"time\": \"soon\"}", 400, "'time' must be a number"),
        ("{\"stream\": \"Cpu\", \"host\": {\"nested\": 1}}", 400, "nested objects"),
        ("  \n", 400, "empty body"),
        ("{\"stream\": \"Secret\", \"x\": 1}", 403, "may not publish to metric 'Secret'"),
    ])
    func refusesBadRequestsWholeWithAClearMessage(body: String, status: Int, message: String) throws {
        let (manager, topic) = try Self.manager()
        let capture = Capture()
        try manager.addSink(capture, to: topic, as: "ops")
        let answer = Self.post(body, to: manager)
        #expect(answer.http.status == status)
        #expect(answer.http.text.contains(message), "\(answer.http.text)")
        #expect(answer.http.text.hasPrefix("{\"error\": "))
        // All or nothing: the good first line of a refused request was not published.
        #expect(capture.triggers.isEmpty)
    }

    @Test func routesAndInference() throws {
        let (manager, _) = try Self.manager()
        #expect(Self.post("{}", path: "/other", to: manager).http.status == 404)
        #expect(Self.post("", method: "GET", to: manager).http.status == 405)
        let inferred = Self.post(
            "{\"stream\": \"Disk\", \"time\": 5, \"free\": 0.5, \"mount\": \"/\"}",
            to: manager,
            declares: true
        )
        #expect(inferred.http.status == 200)
        #expect(manager.schema(ofMetric: "Disk")?.columns.map(\.type) == [.any, .any])
    }

    @Test func servesOverLoopback() async throws {
        let (manager, topic) = try Self.manager()
        let alerts = try manager.subscribe(topic, as: "ops")
        var configuration = EventPushServer.Configuration(listen: Endpoint(host: "127.0.0.1", port: 0))
        configuration.maximumBodyBytes = 1024
        let server = EventPushServer(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(into: manager.eventSink(as: "push")) }
            defer { server.stop() }
            let port = try #require(await server.listeningPort())
            let url = try HTTPURL("http://127.0.0.1:\(port)/events")
            let client = HTTP1Client()
            let ok = try await client.send(
                "POST",
                to: url,
                body: Array(#"{"stream": "Cpu", "time": 7, "host": "z", "load": 97}"#.utf8)
            )
            #expect(ok.status == 200)
            #expect(ok.text == "{\"accepted\": 1}\n")
            var iterator = alerts.makeAsyncIterator()
            #expect(await iterator.next()?.rows == [["z", 97]])
            let bad = try await client.send("POST", to: url, body: Array(#"{"stream": "Cpu", "lod": 1}"#.utf8))
            #expect(bad.status == 400)
            #expect(bad.text.contains("no field 'lod'"))
            let large = try await client.send("POST", to: url, body: Array(repeating: UInt8(ascii: " "), count: 2048))
            #expect(large.status == 413)
            #expect(server.statistics.events == 1)
            #expect(server.statistics.rejected == 1)
            server.stop()
            try await group.waitForAll()
        }
    }
}

/// Keeps every trigger it is given.
final class Capture: TriggerSink {
    private let received = Mutex<[Trigger]>([])
    var triggers: [Trigger] { received.withLock { $0 } }

    func deliver(_ trigger: Trigger) -> TriggerDeliveryResult {
        received.withLock { $0.append(trigger) }
        return .delivered
    }
}
