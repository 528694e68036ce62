import MetricsTestKit
import NIOCore
import NIOPosix
import QueryCore
import QuerySQL
import Testing

@testable import QueryTransport

/// A TCP subscriber that stops reading never slows the engine: its triggers wait in the manager's
/// bounded queue, the oldest are dropped and counted on the topic, and publishing goes on.
@Suite("Slow TCP subscriber", .serialized)
struct SlowSubscriberTests {
    @Test func aSubscriberThatStopsReadingLosesTheOldestTriggersAndTheEngineGoesOn() async throws {
        let service = QueryManagerService(evaluator: SQLEngine())
        try service.manager.registerMetric("Big", schema: try Schema([("n", .integer), ("payload", .text)]))
        let topic = try service.manager.registerStatement("select n, payload from Big", owner: "ops")
        let node = TCPTransport(
            nodes: ["sql:0"],
            configuration: .init(
                listen: Endpoint(host: "127.0.0.1", port: 0), outboundQueueFrames: 8, keepaliveInterval: .seconds(30),
                idleTimeout: .seconds(120)),
            logger: quietLogger("node"), metricsFactory: TestMetrics(), manager: service)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await node.run() }
            group.addTask { for await _ in node.events {} }
            let port = try #require(await node.listeningPort())

            // A raw client that subscribes (queue of 4) and then never reads.
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.autoRead, value: false)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TransportFrameEncoder()))
                        return try NIOAsyncChannel<ByteBuffer, TransportFrame>(wrappingChannelSynchronously: channel)
                    }
                }
            try await client.executeThenClose { _, outbound in
                try await outbound.write(.hello(.init(party: .client, nodes: [])))
                try await outbound.write(.manage(id: 1, principal: "ops", .subscribe(topic: topic.name, capacity: 4)))
                #expect(await eventually { node.subscriberCount == 1 })

                var generator = SplitMix(seed: 11)
                let payload = String((0..<16_384).map { _ in Character(UnicodeScalar(UInt8(97 + generator.next() % 26))) })
                for n in 0..<3_000 {
                    try service.manager.publish("Big", fields: ["n": .integer(Int64(n)), "payload": .text(payload)], as: "ops")
                    if n % 64 == 63 { try await Task.sleep(for: .milliseconds(1)) }
                }
                // Every event was published (the engine never waited); the slow subscriber lost some.
                #expect(await eventually { service.manager.droppedTriggers(on: topic) > 0 })
            }
            node.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
