/// A cheap test that two segments hold identical rows in the same order, comparing column arrays
/// as raw memory: the prefilter a publisher runs before diffing a table that usually did not change.
extension Segment {
    /// Whether `self` and `other` have the same schema and, row for row in order, identical values
    /// (see ``RowIdentity``), judged from their raw arrays.
    ///
    /// `true` is exact. `false` means "not shown identical": a column whose null rows hold different
    /// placeholders, or whose text offsets start elsewhere, compares unequal although its rows are
    /// identical, and any-typed columns are never judged here. Callers use `false` only to take the
    /// general path (a diff), never as a verdict.
    ///
    /// - Complexity: O(bytes of the columns), no allocation. (Compared in Swift, not with `memcmp`:
    ///   a call to C code may write anything, so callers would copy the columns they pass.)
    func hasBitwiseIdenticalColumns(to other: Segment) -> Bool {
        guard rowCount == other.rowCount, schema == other.schema else { return false }
        for c in columns.indices where !columns[c].hasBitwiseIdenticalValues(to: other.columns[c]) {
            return false
        }
        return true
    }

    /// Which columns of `self` and `other` are bitwise identical (see
    /// ``hasBitwiseIdenticalColumns(to:)``), every column compared: `all` when every one is (the
    /// same rows in the same order), and bit `c` of `mask` set when column `c` (< 64) is.
    ///
    /// Segments of different schemas or row counts give `(false, 0)`. One pass serves both the
    /// publisher's "unchanged?" test and, when the rows changed, the diff's skipping of unchanged
    /// columns (``DiffHints``), instead of comparing the columns twice.
    func bitwiseIdenticalColumns(to other: Segment) -> (all: Bool, mask: UInt64) {
        guard rowCount == other.rowCount, schema == other.schema else { return (false, 0) }
        var all = true
        var mask: UInt64 = 0
        for c in columns.indices {
            if columns[c].hasBitwiseIdenticalValues(to: other.columns[c]) {
                if c < 64 { mask |= 1 << UInt64(c) }
            } else {
                all = false
            }
        }
        return (all, mask)
    }
}

extension Column {
    /// Whether both columns have the same null bitmap (or none) and the same typed arrays, byte for
    /// byte; reals compare by bit pattern, as ``RowIdentity`` does. Any-typed columns answer `false`.
    func hasBitwiseIdenticalValues(to other: Column) -> Bool {
        guard count == other.count, (nulls == nil) == (other.nulls == nil) else { return false }
        if let a = nulls?.words, let b = other.nulls?.words, !Column.sameBytes(a, b) { return false }
        // Nested switches, not a tuple of both storages: a tuple would copy (retain) both payloads.
        switch storage {
        case .integer(let a):
            guard case .integer(let b) = other.storage else { return false }
            return Column.sameBytes(a, b)
        case .real(let a):
            guard case .real(let b) = other.storage else { return false }
            return Column.sameBytes(a, b)
        case .boolean(let a):
            guard case .boolean(let b) = other.storage else { return false }
            return Column.sameBytes(a, b)
        case .text(let a):
            guard case .text(let b) = other.storage else { return false }
            return Column.sameBytes(a.offsets, b.offsets) && Column.sameBytes(a.bytes, b.bytes)
        case .any:
            return false
        }
    }

    /// Whether two arrays of a trivial type hold the same bytes.
    @inline(__always)
    private static func sameBytes<T: BitwiseCopyable>(_ a: [T], _ b: [T]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                x.count == 0 || x.baseAddress == y.baseAddress
                    || RowIdentity.bytesEqual(
                        x.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        y.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        x.count
                    )
            }
        }
    }
}
