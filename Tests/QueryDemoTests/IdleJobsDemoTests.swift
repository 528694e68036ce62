import QueryCore
import Testing

@testable import query_demo

@Suite struct IdleJobsDemoTests {
    @Test func scalingDecisionsFollowTheLastFiveMinutesOfIdleJobs() throws {
        var lines: [String] = []
        let run = try IdleJobsDemo.run(seed: 2026) { lines.append($0) }
        let decisions = run.decisions
        let ups = decisions.filter { $0.action == .up }
        let downs = decisions.filter { $0.action == .down }
        #expect(!ups.isEmpty && !downs.isEmpty, "\(decisions)")
        // The burst starts at minute 20: no scale-up before it, and the pool grows during it.
        #expect(ups.allSatisfy { $0.time >= .seconds(20 * 60) })
        #expect(downs.allSatisfy { $0.time > ups[0].time })
        for decision in decisions {
            // The reference: the last five minutes of what the pool reported, averaged by hand. A
            // trigger at t is the window after the event at t, or (when that event no longer
            // satisfies the query) after the expiry at t alone, before the event.
            let afterEvent = run.reports.filter { $0.time > decision.time - .seconds(300) && $0.time <= decision.time }
            let afterExpiry = afterEvent.filter { $0.time < decision.time }
            let window = [afterEvent, afterExpiry].first { w in
                abs(Double(w.map(\.idle).reduce(0, +)) / Double(w.count) - decision.averageIdle) < 1e-9
            }
            guard let window else {
                Issue.record("no window of the reports gives the trigger's average: \(decision)")
                continue
            }
            let average = decision.averageIdle
            switch decision.action {
            case .up:
                #expect(average > 20, "\(decision)")
                #expect(decision.to - decision.from == min(4, Int((average / 4).rounded(.up)), 12 - decision.from))
            case .down:
                #expect(window.allSatisfy { $0.idle == 0 && $0.freeSlots >= 4 }, "\(decision)")
                #expect(decision.to == decision.from - 1)
            }
            #expect((Autoscaler.minimumMachines...Autoscaler.maximumMachines).contains(decision.to))
        }
        // Cooldown: never two decisions within five minutes.
        for (a, b) in zip(decisions, decisions.dropFirst()) { #expect(b.time - a.time >= .seconds(300)) }
        // After the burst the pool shrinks again, one idle machine at a time.
        let peak = try #require(run.reports.map(\.machines).max())
        #expect(peak > Autoscaler.minimumMachines)
        #expect(downs.count >= 3)
        #expect(try #require(run.reports.last?.machines) < peak)
        #expect(lines.filter { $0.contains("scale up:") || $0.contains("scale down:") }.count == decisions.count)
        // Deterministic: a second run decides the same.
        #expect(try IdleJobsDemo.run(seed: 2026) { _ in }.decisions == decisions)
    }
}
