/// What a caller of a diff already knows about the two segments, so the diff can skip work. The
/// result is the same with or without hints; only true hints may be given.
///
/// A publisher compares every column of the new rows with the current ones before diffing (to see
/// whether anything changed at all) and knows whether the current rows' keys were found unique by
/// the diff that produced them. With both, a diff whose key columns did not change matches every
/// row with the row at its own position, without building a key table, and compares only the
/// columns that changed.
struct DiffHints: Sendable {
    /// Bit `c` set: column `c` (< 64) of both segments is bitwise identical (same row counts).
    var identicalColumns: UInt64 = 0
    /// `identicalColumns` is exact for columns below 64: a clear bit means "not identical" (the
    /// columns were all compared), so the diff need not compare them again.
    var identicalColumnsExact = false
    /// The old segment holds no key twice (a keyed diff with it as the new side succeeded).
    var oldKeysUnique = false

    init() {}

    init(identicalColumns: UInt64, exact: Bool, oldKeysUnique: Bool) {
        self.identicalColumns = identicalColumns
        self.identicalColumnsExact = exact
        self.oldKeysUnique = oldKeysUnique
    }

    /// Whether column `c` is known bitwise identical in both segments.
    @inline(__always)
    func isIdentical(_ c: Int) -> Bool { c < 64 && identicalColumns & (1 << UInt64(c)) != 0 }

    /// Whether column `c` is known not to be bitwise identical (`false`: identical or unknown).
    @inline(__always)
    func isDifferent(_ c: Int) -> Bool {
        c < 64 && identicalColumnsExact && identicalColumns & (1 << UInt64(c)) == 0
    }
}
