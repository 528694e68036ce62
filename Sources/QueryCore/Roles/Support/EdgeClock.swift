/// The edge tier's generation times from a ``GenerationSchedule``, in integer nanoseconds.
///
/// The schedule works in `Duration`s, whose conversion to nanoseconds divides 128-bit attoseconds
/// (hundreds of instructions, several times per generation). An edge asks the same three questions
/// every generation (which generation is current, when did it start, when does the next start), so
/// it converts the interval and the epoch once. The answers are the schedule's own, overflow
/// handling included (`EdgeClockTests` holds them to ``GenerationSchedule``).
struct EdgeClock: Sendable {
    /// The schedule's interval, in nanoseconds.
    let interval: Int64
    /// The schedule's epoch, in nanoseconds.
    let epoch: Int64

    init(_ schedule: GenerationSchedule) {
        interval = schedule.interval.nanoseconds
        epoch = schedule.epoch.nanosecondsSinceEpoch
    }

    /// ``GenerationSchedule/latestSlot(_:at:)`` for the edge tier (whose offset is zero).
    func latestNumber(at now: Instant) -> UInt64 {
        let elapsed = now.nanosecondsSinceEpoch &- epoch
        guard elapsed >= 0 else { return 0 }
        return UInt64(elapsed / interval) + 1
    }

    /// ``GenerationSchedule/generation(_:)``.
    func generation(_ number: UInt64) -> Generation {
        let start = Int64(clamping: number == 0 ? 0 : number - 1).multipliedReportingOverflow(by: interval)
        let offset = start.overflow ? Int64.max : start.partialValue
        return Generation(number: number, time: Instant(nanosecondsSinceEpoch: epoch).advanced(byNanoseconds: offset))
    }

    /// ``GenerationSchedule/slot(_:of:)`` of ``GenerationSchedule/nextSlot(_:after:)`` for the edge
    /// tier: when the generation after the one current at `now` starts.
    func nextStart(after now: Instant) -> Instant {
        generation(latestNumber(at: now) + 1).time
    }
}

extension Instant {
    /// ``advanced(by:)`` by a duration already in nanoseconds: the same sum, saturating at the ends
    /// of time, without converting a `Duration`.
    func advanced(byNanoseconds nanoseconds: Int64) -> Instant {
        let (sum, overflow) = nanosecondsSinceEpoch.addingReportingOverflow(nanoseconds)
        return Instant(nanosecondsSinceEpoch: overflow ? (nanoseconds > 0 ? .max : .min) : sum)
    }
}

extension Duration {
    /// ``nanoseconds`` of `self`, converted once and kept in `cache` while the same duration is
    /// asked for again (a receiver asks for the same lease every time).
    func nanoseconds(cachedIn cache: inout (duration: Duration, nanoseconds: Int64)?) -> Int64 {
        if let cache, cache.duration == self { return cache.nanoseconds }
        let nanoseconds = self.nanoseconds
        cache = (self, nanoseconds)
        return nanoseconds
    }
}
