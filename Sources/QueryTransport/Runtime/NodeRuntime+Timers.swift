import QueryCore
import Synchronization

extension NodeRuntime {
    /// What a timer is for.
    enum TimerKey: Hashable, Sendable {
        /// A role's timer; fires ``QueryCore/RoleInput/timerFired(_:)``.
        case role(NodeID, TimerID)
        /// The safety deadline of a pending query.
        case queryDeadline(QueryKey)
    }

    /// A scheduled timer; `token` tells a current timer from a replaced one.
    struct TimerEntry: Sendable {
        var token: UInt64
        var cancellation: TimerCancellation
    }

    /// A request to the run loop to start a timer task.
    struct TimerRequest: Sendable {
        var key: TimerKey
        var token: UInt64
        var deadline: C.Instant
        var cancellation: TimerCancellation
    }

    /// Arms (or re-arms) the timer `key` for the role-time instant `instant`.
    func schedule(_ key: TimerKey, at instant: Instant) {
        let deadline = clockOrigin.advanced(by: epochOrigin.duration(to: instant))
        let cancellation = TimerCancellation()
        let previous: TimerEntry?? = state.withLock { state in
            guard state.phase.acceptsWork else { return .none }
            state.nextTimerToken += 1
            let token = state.nextTimerToken
            let previous = state.timers.updateValue(TimerEntry(token: token, cancellation: cancellation), forKey: key)
            timerRequestSink.yield(TimerRequest(key: key, token: token, deadline: deadline, cancellation: cancellation))
            return .some(previous)
        }
        if case .some(let replaced?) = previous { replaced.cancellation.cancel() }
    }

    /// Forgets the timer `key`, waking its task without firing it.
    func cancelTimer(_ key: TimerKey) {
        state.withLock { $0.timers.removeValue(forKey: key) }?.cancellation.cancel()
    }

    /// The body of one timer's child task: sleeps until the deadline or cancellation, then fires
    /// the timer if it is still the current one for its key.
    func runTimer(_ request: TimerRequest) async {
        let clock = self.clock
        let deadline = request.deadline
        let cancellation = request.cancellation
        let elapsed: Bool = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await clock.sleep(until: deadline, tolerance: nil)
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                await cancellation.wait()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard elapsed else { return }
        let current: Bool = state.withLock { state in
            guard state.timers[request.key]?.token == request.token else { return false }
            state.timers[request.key] = nil
            return true
        }
        guard current else { return }
        switch request.key {
        case .role(let node, let timer):
            deliver(.timerFired(timer), to: node)
        case .queryDeadline(let key):
            complete(key, with: .failure(QueryError(.timeout, "query \(key.queryID) was not answered in time")))
        }
    }
}

/// Wakes a sleeping timer task early. `cancel()` may come before or after `wait()` starts.
final class TimerCancellation: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, Never>)
        case cancelled
    }

    private let state = Mutex(State.idle)

    /// Returns once ``cancel()`` was called or the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    switch state {
                    case .idle:
                        state = .waiting(continuation)
                        return false
                    case .waiting, .cancelled:
                        return true
                    }
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// Wakes the waiter (now or as soon as it waits).
    func cancel() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            switch state {
            case .idle:
                state = .cancelled
                return nil
            case .waiting(let continuation):
                state = .cancelled
                return continuation
            case .cancelled:
                return nil
            }
        }
        waiter?.resume()
    }
}
