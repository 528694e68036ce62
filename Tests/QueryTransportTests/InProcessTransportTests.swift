import QueryCore
import Testing

@testable import QueryTransport

@Suite("In-process transport")
struct InProcessTransportTests {
    /// Collects a transport's events on a task so the test can look at them.
    final class Recorder: Sendable {
        private let events = MutexBox<[TransportEvent]>([])

        func consume(_ transport: InProcessTransport) async {
            for await event in transport.events { events.withLock { $0.append(event) } }
        }

        var received: [(UInt64, NodeID, NodeID)] {
            events.withLock {
                $0.compactMap {
                    if case .received(.heartbeat(let h), let from, let to) = $0 { return (h.generation, from, to) }
                    return nil
                }
            }
        }

        var ups: [NodeID] { events.withLock { $0.compactMap { if case .peerUp(let p) = $0 { p } else { nil } } } }
        var downs: [NodeID] { events.withLock { $0.compactMap { if case .peerDown(let p) = $0 { p } else { nil } } } }
    }

    @Test func deliversMessagesAndPeerEvents() async throws {
        let network = InProcessTransport.Network()
        let a = InProcessTransport(nodes: ["a"], network: network)
        let b = InProcessTransport(nodes: ["b1", "b2"], network: network)
        let recordA = Recorder()
        let recordB = Recorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { await recordA.consume(a) }
            group.addTask { await recordB.consume(b) }
            #expect(a.send(.heartbeat(Heartbeat(generation: 0)), from: "a", to: "b1") == .dropped(.unreachable))
            group.addTask { try await b.run() }
            #expect(await eventually { Set(recordA.ups) == ["b1", "b2"] })
            // b's events are recorded by another task: it may not have seen its peer come up yet.
            #expect(await eventually { recordB.ups == ["a"] })
            #expect(a.send(.heartbeat(Heartbeat(generation: 1)), from: "a", to: "b2") == .enqueued)
            #expect(b.send(.heartbeat(Heartbeat(generation: 2)), from: "b1", to: "b2") == .enqueued)
            #expect(await eventually { recordB.received.count == 2 })
            #expect(recordB.received.map(\.0) == [1, 2])
            #expect(recordB.received.map(\.2) == ["b2", "b2"])
            b.beginGracefulShutdown()
            #expect(await eventually { Set(recordA.downs) == ["b1", "b2"] })
            #expect(a.send(.heartbeat(Heartbeat(generation: 3)), from: "a", to: "b1") == .dropped(.unreachable))
            #expect(b.send(.heartbeat(Heartbeat(generation: 3)), from: "b1", to: "a") == .dropped(.shuttingDown))
            a.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func fullReceiverDropsAndCounts() async throws {
        let network = InProcessTransport.Network()
        let sender = InProcessTransport(nodes: ["s"], network: network)
        let receiver = InProcessTransport(
            nodes: ["r"], network: network, configuration: .init(inboundCapacity: 4))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await sender.run() }
            group.addTask { try await receiver.run() }
            // Nobody consumes the receiver's events: its buffer fills (one slot holds peerUp).
            #expect(await eventually { network.isAttached("r") && network.isAttached("s") })
            var outcomes: [SendOutcome] = []
            for generation in 0..<10 {
                outcomes.append(sender.send(.heartbeat(Heartbeat(generation: UInt64(generation))), from: "s", to: "r"))
            }
            #expect(outcomes.filter { $0 == .enqueued }.count == 3)
            #expect(outcomes.filter { $0 == .dropped(.queueFull) }.count == 7)
            #expect(sender.droppedCount == 7)
            sender.beginGracefulShutdown()
            receiver.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func duplicateNodeIsRefused() async throws {
        let network = InProcessTransport.Network()
        let first = InProcessTransport(nodes: ["x"], network: network)
        let second = InProcessTransport(nodes: ["x"], network: network)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await first.run() }
            #expect(await eventually { network.isAttached("x") })
            await #expect(throws: QueryError.self) { try await second.run() }
            first.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
