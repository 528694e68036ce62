/// Polls `condition` until it holds or `deadline` passes (bounded polling for conditions that
/// real I/O makes true); returns whether it held. Never used to wait for time to pass.
///
/// The default deadline is long on purpose: `swift test` runs suites in parallel, and on a 2-core
/// machine CPU-heavy synchronous tests (conformance, simulation sweeps) can hold both threads of the
/// cooperative pool for tens of seconds, delaying every async test behind them. A condition that
/// really never holds still fails, only later.
func eventually(within deadline: Duration = .seconds(120), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while clock.now < end {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return await condition()
}
