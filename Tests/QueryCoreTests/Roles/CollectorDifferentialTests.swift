import Testing

@testable import QueryCore

/// The collector keeps its sources densely in sorted order and counts dropped, never-heard and
/// still-to-report sources as they change; this test holds it to the dictionary-and-count layout it
/// replaced (`ReferenceCollector`) over random histories of reports, silences, drops, returns,
/// adoptions, failovers, deadlines and restarts, comparing every answer and every action.
@Suite struct CollectorDifferentialTests {
    static let configured: [NodeID] = (0..<6).map { NodeID("edge:0.\($0)") }
    /// Sources not configured that may report (adopted), sorting before, between and after.
    static let strangers: [NodeID] = ["edge:0.00", "edge:0.35", "edge:9.9", "a"]

    static func configuration(waitsForSilent: Bool) -> Collector.Configuration {
        Collector.Configuration(
            tier: .proxy, schedule: GenerationSchedule(interval: .seconds(10)), dropAfter: .seconds(30),
            deadlineTimer: TimerID("test.deadline"), role: "proxy", noun: "machine",
            warmUpWaitsForSilentSources: waitsForSilent)
    }

    /// Actions in comparable form (log metadata in key order).
    static func shape(_ actions: [RoleAction]) -> [String] {
        actions.map { action in
            switch action {
            case .log(let record):
                let metadata = record.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                return "log \(record.level) \(record.message) \(metadata)"
            case .metric(let record): return "metric \(record.label) \(record.value)"
            default: return "\(action)"
            }
        }
    }

    @Test func agreesWithTheReferenceOverRandomHistories() {
        for seed in testSeeds(120, salt: 41) {
            var rng = SeededRandom(seed: seed)
            let waits = rng.chance(0.5)
            let configuration = Self.configuration(waitsForSilent: waits)
            let initial = Self.configured.filter { _ in rng.chance(0.8) }
            var new = Collector(configuration: configuration, sources: initial + initial.prefix(1))
            var reference = ReferenceCollector(configuration: configuration, sources: initial + initial.prefix(1))
            var now = Instant.zero + .seconds(Int64.random(in: 0...5, using: &rng))
            new.start(now: now)
            reference.start(now: now)
            let everyone = Self.configured + Self.strangers
            for step in 0..<150 {
                let context = Comment(rawValue: "seed \(seed) step \(step)")
                var newActions: [RoleAction] = []
                var referenceActions: [RoleAction] = []
                now = now + .milliseconds(Int64.random(in: 0...4_000, using: &rng))
                let current = configuration.schedule.number(at: now)
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<40:
                    // A report (sometimes from a stranger, sometimes stale or from a skewed clock).
                    let source = rng.chance(0.05) ? rng.pick(Self.strangers) : rng.pick(Self.configured)
                    let number = current &+ UInt64.random(in: 0...2, using: &rng) &- 1
                    let full = rng.chance(0.3)
                    new.heard(source, now: now, into: &newActions)
                    reference.heard(source, now: now, into: &referenceActions)
                    #expect(
                        new.reported(source, generation: number, full: full)
                            == reference.reported(source, generation: number, full: full), context)
                    #expect(
                        new.reportArrived(generation: number, now: now)
                            == reference.reportArrived(generation: number, now: now), context)
                case 40..<45:
                    // Heard without a report (a heartbeat).
                    let source = rng.pick(everyone)
                    new.heard(source, now: now, into: &newActions)
                    reference.heard(source, now: now, into: &referenceActions)
                case 45..<52:
                    // A report without being heard first (adopts a never-heard source).
                    let source = rng.pick(everyone)
                    let number = UInt64.random(in: 0...(current + 1), using: &rng)
                    #expect(
                        new.reported(source, generation: number, full: false)
                            == reference.reported(source, generation: number, full: false), context)
                case 52..<62:
                    new.checkSilence(now: now, into: &newActions)
                    reference.checkSilence(now: now, into: &referenceActions)
                case 62..<70:
                    #expect(new.generationStarted(now: now) == reference.generationStarted(now: now), context)
                case 70..<78:
                    #expect(
                        new.deadlineReached(now: now, into: &newActions)
                            == reference.deadlineReached(now: now, into: &referenceActions), context)
                case 78..<83:
                    let source = rng.pick(everyone)
                    new.markUnsynced(source)
                    reference.markUnsynced(source)
                case 83..<85:
                    // A restart of the role: the running generation is skipped.
                    new.start(now: now)
                    reference.start(now: now)
                case 85..<90:
                    // Silence long enough to drop someone.
                    now = now + .seconds(Int64.random(in: 10...40, using: &rng))
                default:
                    let number = UInt64.random(in: 0...(current + 2), using: &rng)
                    #expect(new.isComplete(number) == reference.isComplete(number), context)
                    #expect(new.waitingFor(number) == reference.waitingFor(number), context)
                }
                #expect(Self.shape(newActions) == Self.shape(referenceActions), context)
                Self.expectSameState(new, reference, now: now, current: current, context)
            }
        }
    }

    static func expectSameState(
        _ new: Collector, _ reference: ReferenceCollector, now: Instant, current: UInt64, _ context: Comment
    ) {
        #expect(new.names == reference.sources.keys.sorted(), context)
        #expect(new.names.map { new[$0] } == reference.sources.keys.sorted().map { reference.sources[$0] }.map {
            $0.map { Collector.Source(lastHeard: $0.lastHeard, reported: $0.reported, droppedSince: $0.droppedSince, synced: $0.synced) }
        }, context)
        #expect(new.dropped == reference.dropped, context)
        #expect(new.anyDropped == reference.anyDropped, context)
        #expect(new.neverHeardCount == reference.neverHeardCount, context)
        #expect(new.sent == reference.sent, context)
        #expect(new.warmingUp(at: now) == reference.warmingUp(at: now), context)
        for source in configured + strangers {
            #expect(new.contains(source) == (reference.sources[source] != nil), context)
            #expect(new.isDropped(source) == reference.isDropped(source), context)
            #expect(new.droppedSince(source) == reference.droppedSince(source), context)
            #expect(new.lastHeard(source) == reference.lastHeard(source), context)
            #expect(new.isSynced(source) == reference.isSynced(source), context)
        }
        // The running count of sources still to report (kept for the generation last asked about,
        // usually the running one) must match a fresh count.
        for number in [current, new.sent, new.sent + 1, current + 1] {
            #expect(new.isComplete(number) == reference.isComplete(number), context)
        }
    }
}
