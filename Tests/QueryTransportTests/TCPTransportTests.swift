import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import QueryCore
import Synchronization
import Testing

@testable import QueryTransport

@Suite("TCP transport", .serialized)
struct TCPTransportTests {
    typealias Runtime = NodeRuntime<TCPTransport, ContinuousClock>

    static func makeRuntime(
        _ roles: [EchoRole], listen: Bool, peers: [Endpoint] = [], idleTimeout: Duration = .seconds(10),
        metrics: TestMetrics = TestMetrics(), queueFrames: Int = 4096
    ) -> Runtime {
        let transport = TCPTransport(
            nodes: roles.map(\.id),
            configuration: .init(
                listen: listen ? Endpoint(host: "127.0.0.1", port: 0) : nil, peers: peers,
                outboundQueueFrames: queueFrames, keepaliveInterval: .milliseconds(200), idleTimeout: idleTimeout,
                backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))),
            logger: quietLogger("test"), metricsFactory: metrics)
        return NodeRuntime(
            roles: roles, transport: transport, clock: ContinuousClock(), logger: quietLogger("test"),
            metricsFactory: metrics)
    }

    @Test func messagesPeersAndClientQueriesOverLoopback() async throws {
        var pinger = EchoRole(id: "edge:1", peer: "proxy:1")
        pinger.tick = .milliseconds(50)
        pinger.limit = 1
        let server = Self.makeRuntime([EchoRole(id: "proxy:1"), EchoRole(id: "proxy:2")], listen: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try #require(await server.transport.listeningPort())
            let client = Self.makeRuntime([pinger], listen: false, peers: [Endpoint(host: "127.0.0.1", port: port)])
            group.addTask { try await client.run() }

            // Both of the server's nodes come up at the client over one connection, and back.
            #expect(await eventually { (client.role("edge:1") as? EchoRole)?.peersUp == ["proxy:1", "proxy:2"] })
            #expect(await eventually { (server.role("proxy:1") as? EchoRole)?.peersUp.contains("edge:1") == true })
            // proxy:2 sees its sibling proxy:1 as local, never as a remote peer.
            #expect((server.role("proxy:2") as? EchoRole)?.peersUp == ["edge:1"])
            // Heartbeats flow edge → proxy:1 on every tick.
            #expect(await eventually { ((server.role("proxy:1") as? EchoRole)?.received.count ?? 0) >= 3 })

            // The query CLI's path: a client connection on the same port.
            let queryClient = QueryClient(endpoints: [Endpoint(host: "127.0.0.1", port: port)])
            let (answer, endpoint) = try await queryClient.query("SELECT *", node: "proxy:1")
            #expect(endpoint.port == port)
            #expect(answer.result.columns == ["generation"])
            #expect(answer.result.rows.count >= 3)
            await #expect(throws: QueryError(.unknownTable, "no table 'fail'")) {
                try await queryClient.query("fail", node: "proxy:1")
            }

            // Stopping the server makes its nodes go down at the client, which keeps redialling.
            server.beginGracefulShutdown()
            #expect(await eventually { (client.role("edge:1") as? EchoRole)?.peersUp == [] })
            client.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func garbageClosesOnlyThatConnection() async throws {
        let metrics = TestMetrics()
        let server = Self.makeRuntime([EchoRole(id: "sql:1")], listen: true, metrics: metrics)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try #require(await server.transport.listeningPort())
            var pinger = EchoRole(id: "tla:1", peer: "sql:1")
            pinger.tick = .milliseconds(50)
            pinger.limit = 1
            let good = Self.makeRuntime([pinger], listen: false, peers: [Endpoint(host: "127.0.0.1", port: port)])
            group.addTask { try await good.run() }
            #expect(await eventually { (server.role("sql:1") as? EchoRole)?.peersUp == ["tla:1"] })

            // A raw connection that sends an HTTP request line instead of frames.
            let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            try await raw.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET /metrics HTTP/1.1\r\n\r\n"))
                // The server answers with its hello, then closes: the stream ends.
                var received = 0
                for try await chunk in inbound { received += chunk.readableBytes }
                #expect(received > 0)
            }
            #expect(await eventually { metrics.counterTotal(label: "query.transport.connection_errors") >= 1 })

            // The good peer stays up and keeps delivering.
            let before = (server.role("sql:1") as? EchoRole)?.received.count ?? 0
            #expect(await eventually { ((server.role("sql:1") as? EchoRole)?.received.count ?? 0) > before + 2 })
            #expect((server.role("sql:1") as? EchoRole)?.peersUp == ["tla:1"])

            good.beginGracefulShutdown()
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func silentPeerIsDroppedAfterTheIdleTimeout() async throws {
        let server = Self.makeRuntime([EchoRole(id: "proxy:1")], listen: true, idleTimeout: .seconds(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try #require(await server.transport.listeningPort())
            // A peer that says hello and then never sends anything (no keepalive handler).
            let raw = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TransportFrameEncoder()))
                        return try NIOAsyncChannel<ByteBuffer, TransportFrame>(wrappingChannelSynchronously: channel)
                    }
                }
            try await raw.executeThenClose { inbound, outbound in
                try await outbound.write(.hello(.init(party: .peer, nodes: ["edge:silent"])))
                // The server closes the connection after 1 s of silence; the node goes down.
                for try await _ in inbound {}
                let settled = await eventually { (server.role("proxy:1") as? EchoRole)?.peerLog.count == 2 }
                #expect(settled)
                #expect((server.role("proxy:1") as? EchoRole)?.peerLog == ["+edge:silent", "-edge:silent"])
            }
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func slowReaderNeverMakesTheSenderBufferWithoutBound() async throws {
        let metrics = TestMetrics()
        // A reader that accepts the connection, says hello, and then never reads.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TransportFrameEncoder()))
                    return try NIOAsyncChannel<ByteBuffer, TransportFrame>(wrappingChannelSynchronously: channel)
                }
            }
        let port = try #require(listener.channel.localAddress?.port)
        let sender = TCPTransport(
            nodes: ["tla:1"],
            configuration: .init(
                peers: [Endpoint(host: "127.0.0.1", port: port)], outboundQueueFrames: 64,
                outboundQueueBytes: 1 << 20, keepaliveInterval: .seconds(30), idleTimeout: .seconds(60)),
            metricsFactory: metrics)
        let accepted = MutexBox<[any Channel]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await listener.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { connections in
                        for try await connection in inbound {
                            accepted.withLock { $0.append(connection.channel) }
                            connections.addTask {
                                try? await connection.executeThenClose { _, outbound in
                                    try await outbound.write(.hello(.init(party: .peer, nodes: ["sql:slow"])))
                                    // Never read (autoRead is off) until the test closes the channel.
                                    try? await connection.channel.closeFuture.get()
                                }
                            }
                        }
                    }
                }
            }
            group.addTask { try await sender.run() }
            group.addTask { for await _ in sender.events {} }
            #expect(await eventually { sender.reachablePeers == ["sql:slow"] })
            var outcomes: [SendOutcome: Int] = [:]
            for round in 0..<20_000 {
                let outcome = sender.send(.heartbeat(Heartbeat(generation: UInt64(round))), from: "tla:1", to: "sql:slow")
                outcomes[outcome, default: 0] += 1
            }
            // The socket buffers fill, then the 64-frame queue, then sends are refused and counted.
            let dropped = outcomes[.dropped(.queueFull)] ?? 0
            #expect(dropped > 0)
            #expect(metrics.counterTotal(label: "query.transport.dropped", dimensions: [("reason", "queue_full")]) == Int64(dropped))
            sender.beginGracefulShutdown()
            listener.channel.close(promise: nil)
            for channel in accepted.withLock({ $0 }) { channel.close(promise: nil) }
            try await group.waitForAll()
        }
    }
}
