import Synchronization

/// A clock that moves only when the test says so (after postgres-nio's `MockClock`).
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol, Comparable, Hashable, Sendable {
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var id: UInt64
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
        var cancelled: Set<UInt64> = []
        var sleepersChanged: [CheckedContinuation<Bool, Never>] = []
    }

    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    /// Tasks currently sleeping.
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Action { case resume, fail, wait }
                let (action, waiters): (Action, [CheckedContinuation<Bool, Never>]) = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return (.fail, []) }
                    if deadline <= state.now { return (.resume, []) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    defer { state.sleepersChanged = [] }
                    return (.wait, state.sleepersChanged)
                }
                switch action {
                case .resume: continuation.resume()
                case .fail: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
                for waiter in waiters { waiter.resume(returning: false) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                if let index = state.sleepers.firstIndex(where: { $0.id == id }) {
                    return state.sleepers.remove(at: index)
                }
                state.cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed.
    func advance(by duration: Duration) {
        let due: [Sleeper] = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (bounded by `attempts` sleeper changes) until at least `count` tasks sleep.
    func waitForSleepers(atLeast count: Int, attempts: Int = 10_000) async -> Bool {
        for _ in 0..<attempts {
            let satisfied: Bool = await withCheckedContinuation { continuation in
                let done: Bool = state.withLock { state in
                    if state.sleepers.count >= count { return true }
                    state.sleepersChanged.append(continuation)
                    return false
                }
                if done { continuation.resume(returning: true) }
            }
            if satisfied && sleeperCount >= count { return true }
        }
        return false
    }
}
