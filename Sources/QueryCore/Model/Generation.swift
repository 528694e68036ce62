/// A version number of one origin's copy of one table. Per (table, origin), only a newer version
/// is ever applied (the *version rule*): data from a machine can never become older.
public typealias Version = UInt64

/// A nearly synchronous snapshot of the fleet: generations start every `interval`, numbered from 1.
public struct Generation: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The generation number; later generations have larger numbers.
    public var number: UInt64
    /// When the generation started (at the edge).
    public var time: Instant

    /// Creates a generation.
    public init(number: UInt64, time: Instant) {
        self.number = number
        self.time = time
    }

    public static func < (lhs: Generation, rhs: Generation) -> Bool {
        (lhs.number, lhs.time) < (rhs.number, rhs.time)
    }

    public var description: String { "generation \(number) (\(time))" }
}
