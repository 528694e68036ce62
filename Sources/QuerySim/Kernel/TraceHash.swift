/// A running FNV-1a (64-bit) hash over a canonical description of a simulation's events.
///
/// Two runs with the same seed must produce the same ``value``; a difference means something
/// non-deterministic (the wall clock, the global RNG, dictionary iteration order) leaked in.
/// Unlike `Hasher`, FNV-1a is not seeded per process, so the value is comparable across runs.
public struct TraceHash: Sendable, Hashable, CustomStringConvertible {
    /// The hash so far.
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    /// The number of items folded in.
    public private(set) var count: UInt64 = 0

    /// An empty hash.
    public init() {}

    /// Folds in bytes.
    public mutating func combine(bytes: some Sequence<UInt8>) {
        var h = value
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        value = h
        count &+= 1
    }

    /// Folds in a string's UTF-8 bytes followed by a separator.
    public mutating func combine(_ string: String) {
        combine(bytes: string.utf8)
        combine(bytes: CollectionOfOne(0x1F))
    }

    /// Folds in an integer (little-endian bytes).
    public mutating func combine(_ integer: Int64) {
        withUnsafeBytes(of: integer.littleEndian) { combine(bytes: $0) }
    }

    /// Folds in an unsigned integer (little-endian bytes).
    public mutating func combine(_ integer: UInt64) {
        withUnsafeBytes(of: integer.littleEndian) { combine(bytes: $0) }
    }

    /// The hash as 16 hex digits.
    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
