import QueryCore

/// Reconnect delays: exponential growth with full jitter, so a fleet that lost a peer does not
/// reconnect in lock-step.
public struct Backoff: Sendable, Hashable {
    /// The ceiling of the first delay. Default 100 ms.
    public var initial: Duration
    /// The largest ceiling. Default 5 s.
    public var maximum: Duration
    /// Growth of the ceiling per failed attempt. Default 2.
    public var multiplier: Double

    /// Creates a backoff policy.
    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5), multiplier: Double = 2) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.multiplier = max(1, multiplier)
    }

    /// The delay before reconnect attempt `attempt` (0-based): uniform in
    /// [ceiling / 2, ceiling] where ceiling = min(maximum, initial × multiplier^attempt).
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let initialSeconds = initial.secondsDouble
        let growth = Double.pow(multiplier, Double(min(attempt, 64)))
        let ceiling = min(maximum.secondsDouble, initialSeconds * growth)
        let seconds = Double.random(in: (ceiling / 2)...max(ceiling / 2, ceiling), using: &generator)
        return .nanoseconds(Int64(seconds * 1e9))
    }
}

extension Double {
    fileprivate static func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var remaining = Int(exponent)
        while remaining > 0 && result < 1e18 {
            result *= base
            remaining -= 1
        }
        return result
    }
}
