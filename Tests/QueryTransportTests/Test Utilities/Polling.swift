/// Polls `condition` until it holds or `deadline` passes (bounded polling for conditions that
/// real I/O makes true); returns whether it held. Never used to wait for time to pass.
func eventually(within deadline: Duration = .seconds(15), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while clock.now < end {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return await condition()
}
