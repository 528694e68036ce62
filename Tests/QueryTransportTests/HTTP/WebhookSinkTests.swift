import QueryCore
import QuerySQL
import Synchronization
import Testing

@testable import QueryTransport

@Suite struct WebhookSinkTests {
    static func manager() throws -> (QueryManager, TopicHandle) {
        let manager = QueryManager()
        try manager.registerMetric("Cpu", schema: try Schema([("host", .text), ("load", .integer)]))
        let topic = try manager.registerStatement("select host, load from Cpu where load > 90", owner: "ops")
        return (manager, topic)
    }

    @Test func postsTriggersAsJSONAndDropsTheOldestWhenTheReceiverIsSlow() async throws {
        let (manager, topic) = try Self.manager()
        let log = RequestLog()
        let gate = Gate()
        let receiver = HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { request in
            log.append(request)
            await gate.wait()
            return HTTPResponse(status: 204)
        }
        try await withServer(receiver) { port in
            var configuration = WebhookSink.Configuration(url: try HTTPURL("http://127.0.0.1:\(port)/hook"))
            configuration.capacity = 2
            configuration.headers = [("Authorization", "Bearer t")]
            let webhook = WebhookSink(configuration: configuration)
            try manager.addSink(webhook, to: topic, as: "ops")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await webhook.run() }
                try manager.publish("Cpu", fields: ["host": "h1", "load": 91], at: .milliseconds(1000), as: "ops")
                // The first trigger is in flight and the receiver holds it.
                #expect(await eventually { log.count == 1 })
                // The engine does not wait for the receiver: these all return while it is stuck.
                for n in 2...6 {
                    try manager.publish(
                        "Cpu",
                        fields: ["host": .text("h\(n)"), "load": 95],
                        at: .milliseconds(Int64(n) * 1000),
                        as: "ops"
                    )
                }
                #expect(webhook.statistics.dropped == 3)
                #expect(webhook.statistics.queued == 2)
                #expect(manager.droppedTriggers(on: topic) == 3)
                gate.open()
                #expect(await eventually { webhook.statistics.delivered == 3 })
                group.cancelAll()
            }
            let requests = log.all
            #expect(requests.map(\.method) == ["POST", "POST", "POST"])
            #expect(requests.map(\.target) == ["/hook", "/hook", "/hook"])
            #expect(requests.first?.header("authorization") == "Bearer t")
            #expect(requests.first?.header("content-type") == "application/json")
            let bodies = requests.map { String(decoding: $0.body, as: UTF8.self) }
            #expect(
                bodies.first
                    == "{\"topic\": \"\(topic.name)\", \"kind\": \"rows\", \"sequence\": 1, \"time\": 1000, \"rows\": [{\"host\": \"h1\", \"load\": 91}]}"
            )
            // The oldest waiting triggers were dropped: 1 was in flight, 5 and 6 were kept.
            #expect(bodies.map { jsonInteger("sequence", in: $0) } == [1, 5, 6])
        }
    }

    @Test func retriesWithBackoffOnServerErrorsAndGivesUpOnClientErrors() async throws {
        let (manager, topic) = try Self.manager()
        let log = RequestLog()
        let receiver = HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { request in
            log.append(request)
            let body = String(decoding: request.body, as: UTF8.self)
            if body.contains("\"bad\"") { return HTTPResponse(status: 400) }
            return HTTPResponse(status: log.count <= 2 ? 503 : 200)
        }
        let clock = ManualClock()
        try await withServer(receiver) { port in
            var configuration = WebhookSink.Configuration(url: try HTTPURL("http://127.0.0.1:\(port)/hook"))
            configuration.backoff = Backoff(initial: .seconds(1), maximum: .seconds(4))
            let webhook = WebhookSink(configuration: configuration, clock: clock)
            try manager.addSink(webhook, to: topic, as: "ops")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await webhook.run() }
                try manager.publish("Cpu", fields: ["host": "ok", "load": 99], at: .seconds(1), as: "ops")
                // Two 503s, each followed by a backoff sleep on the clock, then a 200.
                for attempt in 1...2 {
                    #expect(await clock.waitForSleepers(atLeast: 1), "attempt \(attempt)")
                    clock.advance(by: .seconds(4))
                }
                #expect(await eventually { webhook.statistics.delivered == 1 })
                #expect(webhook.statistics.retries == 2)
                try manager.publish("Cpu", fields: ["host": "bad", "load": 99], at: .seconds(2), as: "ops")
                #expect(await eventually { webhook.statistics.failed == 1 })
                #expect(webhook.statistics.lastError?.message.contains("answered 400") == true)
                #expect(log.count == 4)
                group.cancelAll()
            }
        }
    }
}
