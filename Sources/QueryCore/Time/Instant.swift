/// A point in time, as data: nanoseconds since the Unix epoch.
///
/// Roles never read a clock; the shell (simulator or ``NodeRuntime``) passes `now` in. The
/// simulator's virtual clock and the real clock both produce `Instant`s.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanosecondsSinceEpoch: Int64

    /// Creates an instant from nanoseconds since the epoch.
    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    /// The epoch itself (the simulator's time zero).
    public static let zero = Instant(nanosecondsSinceEpoch: 0)

    /// Creates an instant `seconds` after the epoch.
    public static func seconds(_ seconds: Double) -> Instant {
        Instant(nanosecondsSinceEpoch: Int64((seconds * 1e9).rounded()))
    }

    /// Creates an instant `milliseconds` after the epoch.
    public static func milliseconds(_ milliseconds: Int64) -> Instant {
        Instant(nanosecondsSinceEpoch: milliseconds &* 1_000_000)
    }

    /// Seconds since the epoch.
    public var seconds: Double { Double(nanosecondsSinceEpoch) / 1e9 }

    /// Milliseconds since the epoch (truncated).
    public var milliseconds: Int64 { nanosecondsSinceEpoch / 1_000_000 }

    /// The instant `duration` later (saturating).
    public func advanced(by duration: Duration) -> Instant {
        // `nanoseconds` once: it divides `Duration`'s 128-bit attoseconds (hundreds of instructions).
        let nanoseconds = duration.nanoseconds
        let (sum, overflow) = nanosecondsSinceEpoch.addingReportingOverflow(nanoseconds)
        return Instant(nanosecondsSinceEpoch: overflow ? (nanoseconds > 0 ? .max : .min) : sum)
    }

    /// The duration from this instant to `other` (negative if `other` is earlier).
    public func duration(to other: Instant) -> Duration {
        .nanoseconds(other.nanosecondsSinceEpoch &- nanosecondsSinceEpoch)
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    public static func + (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: rhs) }
    public static func - (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: .zero - rhs) }
    public static func - (lhs: Instant, rhs: Instant) -> Duration { rhs.duration(to: lhs) }

    public var description: String { "t=\(seconds)s" }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating at the `Int64` limits).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds > 0 ? .max : .min }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds > 0 ? .max : .min }
        return sum
    }

    /// The duration in seconds, as a `Double`.
    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
