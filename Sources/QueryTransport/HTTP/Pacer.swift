/// A clock reduced to what the HTTP sources and sinks need — the time since they were created and
/// sleeping — so they can be paced by `ContinuousClock` in production and a manual clock in tests
/// without being generic types.
struct Pacer: Sendable {
    /// Time since the pacer was created, on its clock.
    let elapsed: @Sendable () -> Duration
    /// Sleeps for a duration on the clock; throws `CancellationError` if cancelled.
    let sleep: @Sendable (Duration) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
    }
}
