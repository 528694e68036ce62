import QueryCore

/// Numbers the groups of an aggregating statement by key: an open-addressing hash table (linear
/// probing, backward-shift deletion, load at most one half) from a key to a small group number,
/// with the keys themselves kept flat, `width` values per group number.
///
/// Keys are hashed directly from their typed values with ``HashedGroupKey/hash(_:)`` (the bits of
/// a number, FNV-1a over the UTF-8 bytes of text), so a lookup costs no `Hasher` and no key
/// allocation; equality is `Value`'s (`1 == 1.0`, text byte-wise), so groups are exactly the
/// general path's. Freed group numbers are reused, so per-group arrays stay as small as the
/// largest number of live groups.
struct GroupTable {
    /// Values per key (the number of `GROUP BY` expressions, at least 1).
    let width: Int
    /// Group numbers by probe position, -1 for an empty slot.
    private var slots: [Int32]
    private var shift: UInt64
    /// The full hash of each group number's key.
    private var hashes: [Int] = []
    /// The keys, `width` values per group number (`.null` for a freed number).
    private var keys: [Value] = []
    private var free: [Int32] = []
    /// Live groups.
    private(set) var count = 0
    /// Groups by the raw representation of a recent text key (direct-mapped, -1 empty): see
    /// ``group(for:)``.
    private var recentText = [Int32](repeating: -1, count: 64)
    /// Group numbers handed out so far (live or free): per-group arrays need this many entries.
    var capacity: Int { hashes.count }

    init(width: Int) {
        self.width = Swift.max(1, width)
        slots = [Int32](repeating: -1, count: 16)
        shift = 64 - 4
    }

    /// The probe position a hash starts at (Fibonacci hashing: the top bits of a multiplication,
    /// so keys that differ only in high bits still spread).
    @inline(__always)
    private func home(_ hash: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(hash)) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    // MARK: Single-value keys

    /// The group of a one-value key, created if new: `(group, isNew)`.
    ///
    /// A text key first tries the group last found for text with the same raw representation: a
    /// key bit for bit identical to a live group's stored key (the same inline short string, or
    /// the same storage) is that group, found without hashing the text. A released group's key is
    /// `NULL` and a reused one's is its new key, so a stale entry never matches wrongly.
    @inline(__always)
    mutating func group(for key: Value) -> (Int32, Bool) {
        guard case .text(let text) = key else { return lookUp(key) }
        let bits = Self.rawBits(text)
        let r = Int(truncatingIfNeeded: (((bits.0 &* 0x9E37_79B9_7F4A_7C15) ^ bits.1) &* 0xBF58_476D_1CE4_E5B9) >> 58)
        let recent = recentText[r]
        if recent >= 0, case .text(let stored) = keys[Int(recent) &* width], Self.rawBits(stored) == bits {
            return (recent, false)
        }
        let found = lookUp(key)
        recentText[r] = found.0
        return found
    }

    /// The group of a one-value key by hash, created if new.
    @inline(__always)
    private mutating func lookUp(_ key: Value) -> (Int32, Bool) {
        let hash = HashedGroupKey.hash(key)
        let mask = slots.count - 1
        var i = home(hash)
        while true {
            let g = slots[i]
            if g < 0 { break }
            let gi = Int(g)
            if hashes[gi] == hash && Self.same(keys[gi &* width], key) { return (g, false) }
            i = (i &+ 1) & mask
        }
        let g = allocate(hash: hash)
        keys[Int(g) &* width] = key
        return (g, true)
    }

    // MARK: Multi-value keys

    /// The group of a key of `width` values, created if new: `(group, isNew)`.
    mutating func group(for key: UnsafeBufferPointer<Value>) -> (Int32, Bool) {
        var hash = 0x2545_F491
        for v in key { hash = (hash &* 31) ^ HashedGroupKey.hash(v) }
        let mask = slots.count - 1
        var i = home(hash)
        probing: while true {
            let g = slots[i]
            if g < 0 { break }
            let gi = Int(g)
            if hashes[gi] == hash {
                let base = gi &* width
                for j in 0..<width where !Self.same(keys[base &+ j], key[j]) {
                    i = (i &+ 1) & mask
                    continue probing
                }
                return (g, false)
            }
            i = (i &+ 1) & mask
        }
        let g = allocate(hash: hash)
        let base = Int(g) &* width
        for j in 0..<width { keys[base &+ j] = key[j] }
        return (g, true)
    }

    // MARK: Maintenance

    /// Takes a group number for a new key with this hash and enters it in the table.
    private mutating func allocate(hash: Int) -> Int32 {
        if (count + 1) * 2 > slots.count { grow() }
        let g: Int32
        if let reused = free.popLast() {
            g = reused
            hashes[Int(g)] = hash
        } else {
            g = Int32(hashes.count)
            hashes.append(hash)
            for _ in 0..<width { keys.append(.null) }
        }
        insert(g, hash: hash)
        count += 1
        return g
    }

    private mutating func insert(_ g: Int32, hash: Int) {
        let mask = slots.count - 1
        var i = home(hash)
        while slots[i] >= 0 { i = (i &+ 1) & mask }
        slots[i] = g
    }

    private mutating func grow() {
        let old = slots
        slots = [Int32](repeating: -1, count: old.count * 2)
        shift -= 1
        for g in old where g >= 0 { insert(g, hash: hashes[Int(g)]) }
    }

    /// Forgets a live group; its number may be handed out again.
    mutating func release(_ g: Int32) {
        let mask = slots.count - 1
        var i = home(hashes[Int(g)])
        while slots[i] != g {
            // A live group is always in the table.
            precondition(slots[i] >= 0, "GroupTable: releasing a group that is not in the table")
            i = (i &+ 1) & mask
        }
        // Backward-shift deletion: move later members of the probe run into the hole when their
        // home position is not after it, so lookups never need tombstones.
        var hole = i
        var j = i
        while true {
            j = (j &+ 1) & mask
            let h = slots[j]
            if h < 0 { break }
            let k = home(hashes[Int(h)])
            // Whether `k` lies cyclically in (hole, j]: then `h` must stay where it is.
            let stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j)
            if !stays {
                slots[hole] = h
                hole = j
            }
        }
        slots[hole] = -1
        let base = Int(g) &* width
        for j in 0..<width { keys[base &+ j] = .null }
        free.append(g)
        count -= 1
    }

    /// Value of the `j`th key value of group `g`.
    func key(_ g: Int32, _ j: Int) -> Value { keys[Int(g) &* width &+ j] }

    /// The representation of a string: equal for two strings only if they hold the same inline
    /// short string or share storage (so equal bits imply equal text, not the converse).
    @inline(__always)
    static func rawBits(_ s: String) -> (UInt64, UInt64) { unsafeBitCast(s, to: (UInt64, UInt64).self) }

    /// `Value`'s equality (`compare == 0`) with the common cases first: two integers, and two
    /// strings with the same representation (a short string is stored inline, so equal short keys
    /// usually are bit for bit the same).
    @inline(__always)
    static func same(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x == y
        case (.text(let x), .text(let y)):
            if rawBits(x) == rawBits(y) { return true }
            if x.utf8.count != y.utf8.count { return false }
            return Value.compareText(x, y) == 0
        default: return Value.compare(a, b) == 0
        }
    }
}
