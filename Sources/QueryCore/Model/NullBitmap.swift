/// A bitmap marking which rows of a column are `NULL` (bit set = null).
public struct NullBitmap: Sendable, Hashable {
    /// The bits, 64 rows per word, row `i` at bit `i % 64` of word `i / 64`.
    public private(set) var words: [UInt64]
    /// The number of rows covered.
    public private(set) var count: Int

    /// An empty bitmap.
    public init() {
        words = []
        count = 0
    }

    /// A bitmap of `count` rows, none null.
    public init(count: Int) {
        words = Array(repeating: 0, count: (count + 63) / 64)
        self.count = count
    }

    /// A bitmap from raw words (decoders); bits past `count` are cleared.
    package init(words: [UInt64], count: Int) {
        var words = words
        if count % 64 != 0, !words.isEmpty {
            words[words.count - 1] &= (1 << UInt64(count % 64)) - 1
        }
        self.words = words
        self.count = count
    }

    /// Whether row `index` is null.
    @inlinable
    public func isNull(_ index: Int) -> Bool {
        words[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    /// Appends one row's flag.
    public mutating func append(_ isNull: Bool) {
        if count & 63 == 0 { words.append(0) }
        if isNull { words[count >> 6] |= 1 << UInt64(count & 63) }
        count += 1
    }

    /// Sets or clears row `index`'s flag (`index < count`).
    public mutating func set(_ index: Int, isNull: Bool) {
        let bit: UInt64 = 1 << UInt64(index & 63)
        if isNull { words[index >> 6] |= bit } else { words[index >> 6] &= ~bit }
    }

    /// Reserves room for `capacity` rows.
    public mutating func reserveCapacity(_ capacity: Int) {
        words.reserveCapacity((capacity + 63) / 64)
    }

    /// The number of null rows.
    public var nullCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
