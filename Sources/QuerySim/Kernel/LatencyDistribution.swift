import QueryCore

/// How long a simulated message takes from sender to receiver.
public enum LatencyDistribution: Sendable, Hashable, CustomStringConvertible {
    /// Always the same delay.
    case constant(Duration)
    /// Uniform between `min` and `max`.
    case uniform(min: Duration, max: Duration)
    /// `minimum` plus an exponentially distributed extra delay with mean `mean` (a long tail),
    /// capped at `minimum + 20 × mean`.
    case exponential(minimum: Duration, mean: Duration)

    /// Draws one delay (never negative).
    public func sample(using random: inout SimulationRandom) -> Duration {
        switch self {
        case .constant(let d):
            return max(d, .zero)
        case .uniform(let low, let high):
            let a = low.nanoseconds, b = high.nanoseconds
            guard b > a else { return .nanoseconds(max(a, 0)) }
            let span = UInt64(b - a)
            let offset = Int64(random.next() % (span + 1))
            return .nanoseconds(max(a + offset, 0))
        case .exponential(let minimum, let mean):
            let u = random.nextUnit()
            let extra = -log1pApprox(-u) * Double(mean.nanoseconds)
            let capped = min(extra, 20 * Double(mean.nanoseconds))
            return .nanoseconds(max(minimum.nanoseconds + Int64(capped), 0))
        }
    }

    /// The smallest delay this distribution can produce.
    public var minimum: Duration {
        switch self {
        case .constant(let d): d
        case .uniform(let low, _): low
        case .exponential(let minimum, _): minimum
        }
    }

    public var description: String {
        switch self {
        case .constant(let d): "constant(\(d.secondsDouble)s)"
        case .uniform(let a, let b): "uniform(\(a.secondsDouble)s…\(b.secondsDouble)s)"
        case .exponential(let m, let mean): "exponential(min \(m.secondsDouble)s, mean +\(mean.secondsDouble)s)"
        }
    }
}

/// `log(1 + x)` for `x` in `(-1, 0]`, computed with a series that gives the same bits on every
/// platform (libm's `log` may differ in the last bit between C libraries).
private func log1pApprox(_ x: Double) -> Double {
    // Reduce: log(1+x) = 2 atanh(y), y = x / (2 + x); |y| < 1 for x > -1.
    if x <= -1 { return -745 }  // log of (nearly) zero
    // For x close to -1 the series converges slowly; scale by powers of two first.
    var value = 1 + x
    var exponent = 0
    while value < 0.5 {
        value *= 2
        exponent -= 1
    }
    let y = (value - 1) / (value + 1)
    let y2 = y * y
    var term = y
    var sum = 0.0
    var k = 1.0
    for _ in 0..<40 {
        sum += term / k
        term *= y2
        k += 2
    }
    return 2 * sum + Double(exponent) * 0.693_147_180_559_945_3
}
