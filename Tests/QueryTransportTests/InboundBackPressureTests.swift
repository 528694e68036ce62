import MetricsTestKit
import QueryCore
import Synchronization
import Testing

@testable import QueryTransport

@Suite("Inbound back-pressure", .serialized)
struct InboundBackPressureTests {
    @Test func producersWaitWhileTheQueueIsFullAndEveryEventArrivesInOrder() async {
        let queue = InboundQueue(frameLimit: 3, byteLimit: 1 << 20)
        let producers = 8
        let perProducer = 200
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for index in 0..<perProducer {
                        let event = TransportEvent.received(
                            .heartbeat(Heartbeat(generation: UInt64(index))), from: NodeID("edge:\(producer)"), to: "sql:0")
                        #expect(await queue.enqueue(event, bytes: 10))
                    }
                }
            }
            var next = [NodeID: UInt64]()
            var received = 0
            for await event in queue {
                guard case .received(.heartbeat(let heartbeat), let from, _) = event else {
                    Issue.record("unexpected event \(event)")
                    break
                }
                #expect(heartbeat.generation == next[from, default: 0], "events of one producer stay in order")
                next[from] = heartbeat.generation + 1
                received += 1
                if received == producers * perProducer { break }
            }
            #expect(received == producers * perProducer)
        }
        #expect(queue.highWaterMark <= 3)
    }

    @Test func aByteLimitHoldsBackLargeEventsButAnEmptyQueueTakesAnyEvent() async {
        let queue = InboundQueue(frameLimit: 100, byteLimit: 1000)
        let event = TransportEvent.peerUp("tla:0")
        #expect(await queue.enqueue(event, bytes: 5000))  // larger than the limit, queue empty: taken
        let second = MutexBox(false)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await queue.enqueue(event, bytes: 10)
                second.withLock { $0 = true }
            }
            var iterator = queue.makeAsyncIterator()
            #expect(await iterator.next() != nil)
            // The small event, held back while the large one was queued, is taken once it is gone
            // (its producer's enqueue returns; the flag is set just after, on the producer's task).
            #expect(await iterator.next() != nil)
            #expect(await eventually(within: .seconds(30)) { second.withLock { $0 } })
        }
        #expect(queue.count == 0)
    }

    @Test func finishingWakesWaitingProducersWithoutTheirEvents() async {
        let queue = InboundQueue(frameLimit: 1, byteLimit: 1 << 20)
        #expect(await queue.enqueue(.peerUp("a:1"), bytes: 1))
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await queue.enqueue(.peerUp("a:2"), bytes: 1) }
            #expect(await eventually(within: .seconds(30)) { queue.waitingProducers == 1 })
            queue.finish()
            #expect(await group.next() == false)
        }
        var drained: [TransportEvent] = []
        for await event in queue { drained.append(event) }
        #expect(drained.count == 1)
        #expect(!queue.enqueueNow(.peerUp("a:3")))
    }

    /// A peer floods a node whose consumer stalls: the node stops reading (its queue never grows
    /// past the limit), the flood backs up into the sender's bounded queue, which refuses and
    /// counts; once the consumer runs again everything queued flows.
    @Test func aFloodingPeerIsHeldBackByTheReceiversBoundedQueue() async throws {
        let senderMetrics = TestMetrics()
        let receiver = TCPTransport(
            nodes: ["sql:1"],
            configuration: .init(
                listen: Endpoint(host: "127.0.0.1", port: 0), inboundQueueFrames: 4, keepaliveInterval: .seconds(30),
                idleTimeout: .seconds(120)),
            logger: quietLogger("receiver"), metricsFactory: TestMetrics())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await receiver.run() }
            let port = try #require(await receiver.listeningPort())
            let sender = TCPTransport(
                nodes: ["tla:1"],
                configuration: .init(
                    peers: [Endpoint(host: "127.0.0.1", port: port)], outboundQueueFrames: 16,
                    keepaliveInterval: .seconds(30), idleTimeout: .seconds(120)),
                logger: quietLogger("sender"), metricsFactory: senderMetrics)
            group.addTask { try await sender.run() }
            group.addTask { for await _ in sender.events {} }
            #expect(await eventually { sender.reachablePeers == ["sql:1"] })

            // 16 KiB of incompressible SQL per message, so the socket buffers fill in a few hundred.
            var generator = SplitMix(seed: 7)
            let filler = String((0..<16_384).map { _ in Character(UnicodeScalar(UInt8(97 + generator.next() % 26))) })
            var sent = 0
            var refused = 0
            for round in 0..<4_000 where refused == 0 {
                let outcome = sender.send(
                    .query(RemoteQuery(QueryRequest(id: QueryID(UInt64(round)), sql: filler))), from: "tla:1", to: "sql:1")
                if outcome == .enqueued { sent += 1 } else if outcome == .dropped(.queueFull) { refused += 1 }
                if round % 8 == 7 { try await Task.sleep(for: .milliseconds(1)) }
            }
            #expect(refused > 0, "the sender's queue filled because the receiver stopped reading")
            // 4 frames at most, plus the peer-up event the transport raised itself.
            #expect(receiver.events.count <= 5)
            #expect(receiver.events.highWaterMark <= 5)

            // The consumer resumes: what was queued arrives (at least the events held plus more).
            var received = 0
            for await event in receiver.events {
                if case .received(.query, _, _) = event { received += 1 }
                if received >= min(sent, 50) { break }
            }
            #expect(received >= min(sent, 50))
            sender.beginGracefulShutdown()
            receiver.beginGracefulShutdown()
            group.cancelAll()
        }
    }
}

/// A tiny seeded generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
