import QueryCore
import QuerySQL
import Synchronization

/// The subscriber of the idle-jobs topics: it receives triggers as a ``TriggerSink`` (without
/// blocking the engine: it only keeps them) and, when the driver asks, turns them into scaling
/// decisions for the pool.
///
/// Rules: on a scale-up trigger, add ⌈average idle jobs ÷ slots per machine⌉ machines, at most
/// ``maximumStep`` at a time and ``maximumMachines`` in all; on a scale-down trigger, remove one
/// machine whose slots are free, keeping ``minimumMachines``. After any decision the autoscaler
/// waits ``cooldown`` (the length of the query's window), so it never acts twice on the same data.
final class Autoscaler: TriggerSink {
    /// One decision, as the demo prints it and the tests check it.
    struct Decision: Sendable, Hashable {
        enum Action: String, Sendable, Hashable {
            case up = "scale up"
            case down = "scale down"
        }

        var time: Instant
        var action: Action
        var from: Int
        var to: Int
        /// The trigger's average idle jobs over the window.
        var averageIdle: Double
    }

    static let minimumMachines = 2
    static let maximumMachines = 12
    static let maximumStep = 4
    static let cooldown: Duration = .seconds(300)

    let scaleUpTopic: TopicHandle
    let scaleDownTopic: TopicHandle
    private struct State {
        var inbox: [Trigger] = []
        var decisions: [Decision] = []
        var quietUntil: Instant = .zero
    }

    private let state = Mutex(State())

    /// Every decision so far.
    var decisions: [Decision] { state.withLock { $0.decisions } }

    init(scaleUp: TopicHandle, scaleDown: TopicHandle) {
        scaleUpTopic = scaleUp
        scaleDownTopic = scaleDown
    }

    func deliver(_ trigger: Trigger) -> TriggerDeliveryResult {
        state.withLock { $0.inbox.append(trigger) }
        return .delivered
    }

    /// Acts on the triggers received so far; returns the decisions taken.
    func act(on pool: inout CondorPool) -> [Decision] {
        let (triggers, start) = state.withLock { s in
            defer { s.inbox.removeAll() }
            return (s.inbox, s.quietUntil)
        }
        var quietUntil = start
        var taken: [Decision] = []
        // A time window that expires rows at the moment a new event arrives triggers twice at
        // that time (after the expiry, then after the event): act on the last, the window as it
        // stands once everything at that time is in.
        let settled = triggers.indices.filter { i in
            !triggers[(i + 1)...].contains { $0.topic == triggers[i].topic && $0.time == triggers[i].time }
        }.map { triggers[$0] }
        for trigger in settled where trigger.time >= quietUntil {
            guard let row = trigger.rows.last, let average = Self.real(row.first) else { continue }
            let from = pool.machines
            if trigger.topic == scaleUpTopic.name {
                let wanted = Int((average / Double(CondorPool.slotsPerMachine)).rounded(.up))
                let step = min(Self.maximumStep, wanted, Self.maximumMachines - from)
                guard step > 0 else { continue }
                pool.addMachines(step, at: trigger.time)
                taken.append(
                    Decision(time: trigger.time, action: .up, from: from, to: from + step, averageIdle: average)
                )
            } else if trigger.topic == scaleDownTopic.name {
                guard from > Self.minimumMachines, pool.removeIdleMachine(at: trigger.time) else { continue }
                taken.append(
                    Decision(time: trigger.time, action: .down, from: from, to: from - 1, averageIdle: average)
                )
            } else {
                continue
            }
            quietUntil = trigger.time + Self.cooldown
        }
        state.withLock { [quietUntil, taken] s in
            s.decisions += taken
            s.quietUntil = quietUntil
        }
        return taken
    }

    private static func real(_ value: Value?) -> Double? {
        switch value {
        case .integer(let i)?: Double(i)
        case .real(let d)?: d
        default: nil
        }
    }
}
