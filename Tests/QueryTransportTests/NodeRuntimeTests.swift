import Logging
import MetricsTestKit
import QueryCore
import Synchronization
import Testing

@testable import QueryTransport

@Suite("NodeRuntime")
struct NodeRuntimeTests {
    typealias Runtime = NodeRuntime<InProcessTransport, ManualClock>

    static func makeRuntime(
        _ role: EchoRole, network: InProcessTransport.Network, clock: ManualClock, metrics: TestMetrics = TestMetrics(),
        configuration: Runtime.Configuration = .init()
    ) -> Runtime {
        NodeRuntime(
            roles: [role], transport: InProcessTransport(nodes: [role.id], network: network), clock: clock,
            wallClockNow: .seconds(1_000), configuration: configuration, logger: quietLogger("test"),
            metricsFactory: metrics)
    }

    @Test func timersMessagesQueriesAndMetrics() async throws {
        let network = InProcessTransport.Network()
        let clock = ManualClock()
        let metrics = TestMetrics()
        let a = Self.makeRuntime(EchoRole(id: "a", peer: "b"), network: network, clock: clock, metrics: metrics)
        let b = Self.makeRuntime(EchoRole(id: "b"), network: network, clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            // Both roles armed their tick timer on `.started`, and saw each other come up.
            #expect(await clock.waitForSleepers(atLeast: 2))
            #expect(await eventually { (a.role("a") as? EchoRole)?.peersUp == ["b"] })
            #expect(await eventually { (b.role("b") as? EchoRole)?.peersUp == ["a"] })
            #expect(a.now() == .seconds(1_000))

            clock.advance(by: .seconds(1))
            // a ticks and sends 0 to b; b answers 1; a answers 2; b stops (limit 3).
            #expect(await eventually { (b.role("b") as? EchoRole)?.received == [0, 2] })
            #expect((a.role("a") as? EchoRole)?.received == [1])
            #expect((a.role("a") as? EchoRole)?.ticks == 1)
            #expect(a.now() == .seconds(1_001))
            // The tick timers were re-armed.
            #expect(await clock.waitForSleepers(atLeast: 2))
            #expect(metrics.counterTotal(label: "echo.ticks") == 1)

            let answer = try await b.query("SELECT generation FROM seen")
            #expect(answer.result.rows == [[.integer(0)], [.integer(2)]])
            #expect(answer.generation.number == 1)
            await #expect(throws: QueryError(.unknownTable, "no table 'fail'")) { try await b.query("fail") }
            await #expect {
                try await b.query("SELECT 1", at: "nope")
            } throws: { ($0 as? QueryError)?.code == .unavailable }

            // A client query through the network reaches the role via the transport's events.
            let remote = try await network.query("SELECT 1", to: "b")
            #expect(remote.result.rows.count == 2)

            // Stopping b reports it down to a.
            b.beginGracefulShutdown()
            #expect(await eventually { (a.role("a") as? EchoRole)?.peersUp == [] })
            a.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func unansweredQueryHitsTheDeadlineAndShutdownCancelsTheRest() async throws {
        let network = InProcessTransport.Network()
        let clock = ManualClock()
        var silent = EchoRole(id: "s")
        silent.answersQueries = false
        silent.tick = .seconds(3_600)
        let runtime = Self.makeRuntime(
            silent, network: network, clock: clock, configuration: .init(queryDeadline: .seconds(5)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            #expect(await clock.waitForSleepers(atLeast: 1))  // the role's tick timer
            let timedOut = Task { try await runtime.query("SELECT 1") }
            #expect(await clock.waitForSleepers(atLeast: 2))  // plus the query's deadline
            clock.advance(by: .seconds(5))
            await #expect { _ = try await timedOut.value } throws: { ($0 as? QueryError)?.code == .timeout }

            let cancelled = Task { try await runtime.query("SELECT 2") }
            #expect(await clock.waitForSleepers(atLeast: 2))
            runtime.beginGracefulShutdown()
            await #expect { _ = try await cancelled.value } throws: { ($0 as? QueryError)?.code == .cancelled }
            try await group.waitForAll()
            await #expect { _ = try await runtime.query("SELECT 3") } throws: { ($0 as? QueryError)?.code == .cancelled }
        }
    }

    @Test func cancellingTheCallerCancelsTheQuery() async throws {
        let network = InProcessTransport.Network()
        let clock = ManualClock()
        var silent = EchoRole(id: "s")
        silent.answersQueries = false
        let runtime = Self.makeRuntime(silent, network: network, clock: clock, configuration: .init(queryDeadline: nil))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            #expect(await clock.waitForSleepers(atLeast: 1))
            let waiting = Task { try await runtime.query("SELECT 1") }
            #expect(await eventually { runtime.state.withLock { !$0.queries.isEmpty } })
            waiting.cancel()
            await #expect { _ = try await waiting.value } throws: { ($0 as? QueryError)?.code == .cancelled }
            #expect(runtime.state.withLock { $0.queries.isEmpty })
            runtime.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
