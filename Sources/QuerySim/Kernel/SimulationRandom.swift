/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random decision of a simulation (latency, loss, duplication, workload churn) draws from
/// generators of this type derived from the one simulation seed, so a seed replays bit for bit.
/// Never use the system generator inside QuerySim.
public struct SimulationRandom: RandomNumberGenerator, Sendable, Hashable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Creates a generator from a seed; equal seeds give equal sequences.
    public init(seed: UInt64) {
        var mixer = SplitMix64(state: seed)
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }  // the all-zero state is a fixed point
    }

    /// Creates a generator for an independent sub-stream of `seed`, named by `stream` (for example
    /// one per subsystem or per simulated machine), so adding draws in one stream never shifts another.
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(state: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        self.init(seed: mixer.next() ^ stream)
    }

    /// Creates a generator for the sub-stream named by `label` (hashed with FNV-1a, not `Hasher`,
    /// which is seeded per process).
    public init(seed: UInt64, stream label: String) {
        var hash = TraceHash()
        hash.combine(label)
        self.init(seed: seed, stream: hash.value)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniformly distributed double in `0..<1` (53 random bits).
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `true` with probability `p` (clamped to 0…1). Draws exactly one value, whatever `p` is.
    public mutating func chance(_ p: Double) -> Bool {
        let draw = nextUnit()
        return draw < p
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// SplitMix64, used to expand a seed into generator state.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
