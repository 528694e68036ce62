import Logging
import QueryCore
import QuerySQL
import ServiceLifecycle
import Testing

@testable import QueryTransport

@Suite struct EventSourceServiceTests {
    @Test func aServiceGroupRunsASourceAndStopsItOnGracefulShutdown() async throws {
        let manager = QueryManager()
        try manager.registerMetric("Cpu", schema: try Schema([("host", .text), ("load", .integer)]))
        let topic = try manager.registerStatement("select host from Cpu where load > 90", owner: "ops")
        let alerts = try manager.subscribe(topic, as: "ops")
        let source = InProcessEventSource()
        let group = ServiceGroup(
            services: [EventSourceService(source: source, sink: manager.eventSink(as: "agent"))],
            logger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            source.publish("Cpu", fields: ["host": "a", "load": 99], at: .seconds(1))
            var iterator = alerts.makeAsyncIterator()
            #expect(await iterator.next()?.rows == [["a"]])
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(source.statistics.events == 1)
    }
}
