/// Compares the keys of rows of two sources (segments of one schema, or a segment and its delete
/// rows), for the linear scans of small diffs and applies.
///
/// ``IntegerKeyComparer`` covers the common case of one integer key column without nulls (`pid`,
/// `machine_id`, `cluster`) with one `Int64` comparison; ``ColumnsKeyComparer`` covers every other
/// key through ``RowIdentity``. Generic code over this protocol is specialised for each.
protocol RowKeyComparer {
    /// Whether row `i` of the first source and row `j` of the second have identical keys.
    func same(_ i: Int, _ j: Int) -> Bool
}

/// Keys that are one integer column without nulls on both sides.
struct IntegerKeyComparer: RowKeyComparer {
    let first: [Int64]
    let second: [Int64]

    @inline(__always)
    func same(_ i: Int, _ j: Int) -> Bool { first[i] == second[j] }

    /// The key values of `column` if it is an integer column without nulls.
    static func keys(_ column: Column) -> [Int64]? {
        guard column.nulls == nil, case .integer(let values) = column.storage else { return nil }
        return values
    }
}

/// Keys of any types, compared exactly column by column.
struct ColumnsKeyComparer: RowKeyComparer {
    let first: [Column]
    let second: [Column]

    @inline(__always)
    func same(_ i: Int, _ j: Int) -> Bool { RowIdentity.rowsIdentical(first, i, second, j) }
}
