import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A repeatable random number generator (SplitMix64): the same seed gives the same sequence on
/// every platform and run.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly chosen element.
    mutating func pick<T>(_ elements: [T]) -> T {
        elements[Int.random(in: 0..<elements.count, using: &self)]
    }

    /// `true` with probability `p`.
    mutating func chance(_ p: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < p
    }
}

/// Seeds for property tests: `count` fixed seeds, or only the one in `QUERY_TEST_SEED` when set
/// (to replay a failure, run `QUERY_TEST_SEED=<seed> swift test --filter <test>`).
func testSeeds(_ count: Int, salt: UInt64 = 0) -> [UInt64] {
    if let text = getenv("QUERY_TEST_SEED").map({ String(cString: $0) }), let seed = UInt64(text) {
        return [seed]
    }
    return (0..<UInt64(count)).map { $0 &+ salt &* 1_000_003 }
}

/// The message to attach to an expectation that failed for `seed`.
func replay(_ seed: UInt64, _ test: String = #function) -> Comment {
    "seed \(seed); replay with QUERY_TEST_SEED=\(seed) swift test --filter \(test.split(separator: "(").first ?? "")"
}
