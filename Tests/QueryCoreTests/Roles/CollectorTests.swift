import Testing

@testable import QueryCore

/// The collector shared by ``ClusterProxy`` and ``Aggregator``: completeness, the deadline, drops
/// after silence and returns, each generation sent once.
@Suite struct CollectorTests {
    let schedule = GenerationSchedule(interval: .seconds(10))

    func collector(_ sources: [NodeID], waitsForSilent: Bool = true) -> Collector {
        Collector(
            configuration: Collector.Configuration(
                tier: .proxy, schedule: schedule, dropAfter: .seconds(30), deadlineTimer: TimerID("test.deadline"),
                role: "proxy", noun: "machine", warmUpWaitsForSilentSources: waitsForSilent),
            sources: sources)
    }

    @Test func sendsOnceWhenEveryLiveSourceReported() {
        var c = collector(["a", "b"])
        var actions: [RoleAction] = []
        c.start(now: .seconds(0))  // generation 1 is joined midway
        #expect(c.sent == 1)
        // Generation 2 starts at 10 s; a reports, then b: the second report completes it.
        c.heard("a", now: .seconds(10.1), into: &actions)
        c.reported("a", generation: 2, full: true)
        #expect(c.reportArrived(generation: 2, now: .seconds(10.1)) == nil)
        c.heard("b", now: .seconds(10.2), into: &actions)
        c.reported("b", generation: 2, full: true)
        #expect(c.reportArrived(generation: 2, now: .seconds(10.2)) == 2)
        // Never twice: not on another report, not at the deadline.
        #expect(c.reportArrived(generation: 2, now: .seconds(10.3)) == nil)
        #expect(c.deadlineReached(now: .seconds(12.5), into: &actions) == nil)
        guard case .setTimer(let timer, let at) = c.deadline(now: .seconds(10)) else {
            Issue.record("the deadline is not a timer")
            return
        }
        #expect(timer == TimerID("test.deadline") && at == .seconds(12.5))
    }

    @Test func theDeadlineSendsAnIncompleteGenerationAndSaysWhatIsMissing() {
        var c = collector(["a", "b"])
        var actions: [RoleAction] = []
        c.start(now: .seconds(0))
        c.heard("a", now: .seconds(10.1), into: &actions)
        c.reported("a", generation: 2, full: true)
        #expect(c.generationStarted(now: .seconds(10)) == nil)
        #expect(c.waitingFor(2) == ["b"])
        #expect(c.deadlineReached(now: .seconds(12.5), into: &actions) == 2)
        #expect(actions.contains { if case .log(let r) = $0 { r.metadata["missing"] == "b" } else { false } })
    }

    @Test func aSilentSourceIsDroppedAndReturns() {
        var c = collector(["a", "b"])
        var actions: [RoleAction] = []
        c.start(now: .seconds(0))
        c.heard("a", now: .seconds(5), into: &actions)
        c.checkSilence(now: .seconds(29), into: &actions)
        #expect(c.dropped.isEmpty)
        // b was never heard: silent since the start.
        c.checkSilence(now: .seconds(30), into: &actions)
        #expect(c.dropped == [DroppedNode(node: "b", since: .seconds(30))])
        #expect(c.isComplete(2) == false)  // a has not reported 2 yet
        c.reported("a", generation: 2, full: true)
        #expect(c.isComplete(2))  // a dropped source is not waited for
        c.checkSilence(now: .seconds(35), into: &actions)
        #expect(c.isDropped("a"))
        c.heard("b", now: .seconds(40), into: &actions)
        #expect(!c.isDropped("b"))
        let returns = actions.filter { if case .metric(let m) = $0 { m.label == "query.returns" } else { false } }
        #expect(returns.count == 1)
        #expect(c.neverHeardCount == 0)
    }

    @Test func warmUpWaitsForUnsyncedSourcesForTwoIntervals() {
        var c = collector(["a", "b"])
        var actions: [RoleAction] = []
        c.start(now: .seconds(0))
        c.heard("a", now: .seconds(1), into: &actions)
        c.reported("a", generation: 1, full: true)
        #expect(c.warmingUp(at: .seconds(5)))  // b never reported
        #expect(!c.warmingUp(at: .seconds(20)))  // bounded by two intervals
        var tla = collector(["a", "b"], waitsForSilent: false)
        tla.start(now: .seconds(0))
        tla.reported("a", generation: 1, full: true)
        #expect(!tla.warmingUp(at: .seconds(5)))  // b never reported: not waited for
        tla.reported("b", generation: 1, full: false)
        #expect(tla.warmingUp(at: .seconds(5)))  // b reported only deltas
        tla.markUnsynced("a")
        tla.reported("b", generation: 2, full: true)
        #expect(tla.warmingUp(at: .seconds(5)))  // a failed over: unsynced again
    }

    /// Seed 138: a full reply to one table's resync does not make a source synced; every wanted
    /// table must have come in full since it was marked unsynced, in one update or several.
    @Test func aSourceIsSyncedOnceEveryWantedTableCameInFull() {
        var c = collector(["a"])
        c.start(now: .zero)
        c.reported("a", generation: 1, inFull: ["t1"], wanted: ["t1", "t2"])
        #expect(!c.isSynced("a"))
        c.reported("a", generation: 1, inFull: ["t2"], wanted: ["t1", "t2"])
        #expect(c.isSynced("a"))
        c.markUnsynced("a")
        c.reported("a", generation: 2, inFull: ["t2"], wanted: ["t1", "t2"])
        #expect(!c.isSynced("a"))
        c.reported("a", generation: 3, inFull: ["t1", "t2"], wanted: ["t1", "t2"])
        #expect(c.isSynced("a"))
    }
}
