/// An open-addressing hash table of row indices (`Int32`), probed with precomputed row hashes.
///
/// Equality is supplied by the caller, so one table serves keys and whole rows alike.
struct RowTable {
    /// Slot contents: a row reference (callers may store `~row` for a second source), or
    /// ``empty``.
    private(set) var slots: [Int32]
    private let mask: Int
    /// The marker of an empty slot (never a row reference: `~row` ≥ `Int32.min + 1`).
    static let empty = Int32.min

    /// A table with room for `count` rows at a load factor of at most 1/2.
    init(capacityFor count: Int) {
        var size = 8
        while size < count * 2 { size <<= 1 }
        slots = [Int32](repeating: RowTable.empty, count: size)
        mask = size - 1
    }

    /// Finds the slot holding a row equal to the probe (per `matches`), or the empty slot where it
    /// would go.
    ///
    /// - Returns: `(slot, found)`.
    @inline(__always)
    func find(hash: UInt64, matches: (Int32) -> Bool) -> (slot: Int, found: Bool) {
        var slot = Int(truncatingIfNeeded: RowIdentity.finish(hash)) & mask
        while true {
            let row = slots[slot]
            if row == RowTable.empty { return (slot, false) }
            if matches(row) { return (slot, true) }
            slot = (slot + 1) & mask
        }
    }

    /// Stores `row` in `slot` (an empty slot returned by ``find(hash:matches:)``).
    @inline(__always)
    mutating func insert(_ row: Int32, at slot: Int) {
        slots[slot] = row
    }
}
