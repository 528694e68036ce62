import QueryCore

/// The pending expiries of every ``AggregatingInput`` with a time window of one length, in
/// deadline order (events enter in time order, so appending keeps the order): the engine fires
/// the head instead of keeping one timer per statement. Statements whose events expire at the
/// same instant are expired in the order the events entered them (the timer heap breaks such ties
/// by when the timer was set, so the order among statements can differ from the general path's;
/// each statement's own triggers are the same).
final class ExpiryQueue {
    /// One pending deadline: when, and which input's window.
    private struct Pending {
        var deadline: Int64
        var slot: Int32
    }

    /// A bound input, unowned so that firing a deadline retains nothing. Safety: an input is
    /// unbound when it stops (``AggregatingInput/stop()``) and when it is deinitialised, so a bound
    /// input is alive; inputs are neither stopped nor released while a deadline fires (consumers
    /// do not add or remove statements).
    private struct Bound {
        let input: Unmanaged<AggregatingInput>
    }

    /// The mutable state, in one stored property so each operation is one exclusive access.
    private struct State {
        var inputs: [Bound?] = []
        var pending = Ring<Pending>()
    }

    let duration: Int64
    /// Unchecked at run time: each method touches the state in short accesses that never span a
    /// call out (``fireFirst(at:engine:)`` re-reads it after each input expires), and the engine
    /// is single-threaded, so accesses never overlap; the compiler still checks statically.
    @exclusivity(unchecked) private var state = State()

    init(duration: Int64) { self.duration = duration }

    deinit { state.pending.free() }

    /// A slot for an input that is being created.
    func reserveSlot() -> Int32 {
        state.inputs.append(nil)
        return Int32(state.inputs.count - 1)
    }

    func bind(_ slot: Int32, to input: AggregatingInput) { state.inputs[Int(slot)] = Bound(input: .passUnretained(input)) }

    /// Forgets a stopped input: its pending deadlines fire nothing (the input's statement may
    /// be gone, so the input must not be asked about it any more).
    func unbind(_ slot: Int32) { state.inputs[Int(slot)] = nil }

    @inline(__always)
    func push(deadline: Int64, slot: Int32) {
        state.pending.append(Pending(deadline: deadline, slot: slot))
    }

    /// The earliest pending deadline, in nanoseconds since the epoch.
    var nextDeadline: Int64? { state.pending.isEmpty ? nil : state.pending.first.deadline }

    /// Expires the input whose deadline is first (the engine calls this when that deadline has
    /// come, once per pending deadline, in order).
    ///
    /// Further inputs due at the same instant are expired in the same call, in order, as long as
    /// the ones expired so far cannot have queued events for the engine (no `INSERT INTO`): then
    /// nothing the engine does between two calls (draining derived events, flushing pattern
    /// matches) could observe the difference, and the engine's loop runs once per instant rather
    /// than once per input.
    func fireFirst(at time: Instant, engine: StreamEngine) {
        guard !state.pending.isEmpty else { return }
        let deadline = state.pending.first.deadline
        while !state.pending.isEmpty, state.pending.first.deadline == deadline {
            // Deadlines of stopped (unbound) inputs are skipped.
            guard let bound = state.inputs[Int(state.pending.removeFirst().slot)] else { continue }
            // Called without a retain: a bound input is alive (see `Bound`).
            let inserts = bound.input._withUnsafeGuaranteedRef { input -> Bool in
                input.expire(at: time, engine: engine)
                return input.insertsIntoStream
            }
            if inserts { break }
        }
    }
}
