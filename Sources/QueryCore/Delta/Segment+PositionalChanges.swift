/// The publisher's diff: one pass that compares a table's new rows with its current ones position
/// by position (arrays holding the same bytes wholesale, the others row by row in typed loops),
/// marking the changed rows on the stack, and then builds only the changed rows.
///
/// A machine republishes each table every generation with the same rows in the same order, a
/// few values of a few rows changed and now and then a row replaced by another (a process exits
/// and another starts in its place). Matched by position, the general keyed diff
/// (``Segment/diff(to:)``) gives exactly these rows when the keys that moved are found nowhere
/// else; this pass checks that, and otherwise says to take the general diff, telling it which
/// columns it need not compare.
extension Segment {
    /// What ``positionalChanges(to:oldKeysUnique:)`` found.
    enum PositionalChanges {
        /// The same rows in the same order (compared exactly, see ``RowIdentity``).
        case unchanged
        /// The rows changed: what ``diff(to:)`` returns (same rows, same order), whose new keys
        /// are all different.
        case changed(upserts: Segment, deletes: Segment)
        /// Not decided by position (the rows may still be identical): take
        /// ``diff(to:strategy:hints:)`` with these hints (bit `c` set: column `c` is bitwise
        /// identical in both; exact when the row counts are equal and every column was compared).
        case general(DiffHints)
    }

    /// At most this many key comparisons check that keys which changed position by position did
    /// not move (more changed keys: the general diff matches them).
    static let positionalKeyChecks = 4096

    /// Compares `self` with `new` (same schema) row by row at the same positions.
    ///
    /// - `unchanged` only when every row is identical to the row at its position: always when
    ///   the arrays hold the same bytes, and for a keyed schema with `oldKeysUnique` whenever.
    /// - `changed` when the schema is keyed, `oldKeysUnique` (no key of `self` repeats), the row
    ///   counts are equal and every key that differs at its position is found nowhere else in
    ///   the other segment (and no new key repeats): rows keep their keys or are replaced. Then
    ///   `upserts` are the rows of `new` whose key is new or whose values changed, in the order of
    ///   `new`, and `deletes` the key columns of the replaced rows of `self`, in the order of
    ///   `self`: what ``diff(to:)`` returns.
    /// - `general` otherwise (keyless changes, different row counts, moved or repeated keys, many
    ///   replaced rows), with what the comparison learnt as ``DiffHints``.
    ///
    /// - Complexity: O(bytes) to compare the arrays wholesale, O(rows) per column that differs,
    ///   without allocating (marks and picks on the stack), O(replaced rows × rows) key
    ///   comparisons; then the changed rows gathered.
    func positionalChanges(to new: Segment, oldKeysUnique: Bool) -> PositionalChanges {
        let n = rowCount
        guard schema == new.schema, n == new.rowCount, n < Int(Int32.max) else {
            return .general(DiffHints())
        }
        // Most tables did not change: their arrays hold the same bytes, compared wholesale.
        let identical = bitwiseIdenticalColumns(to: new)
        if identical.all { return .unchanged }
        let hints = DiffHints(identicalColumns: identical.mask, exact: true, oldKeysUnique: oldKeysUnique)
        guard schema.isKeyed, oldKeysUnique else { return .general(hints) }
        // Scratch: for each row, itself (`RowIdentity.changedMark` once it is known changed), then
        // room for the replaced rows and for the changed ones.
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 3 * n) { scratch -> PositionalChanges in
            let matchOf = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            for i in 0..<n { matchOf[i] = Int32(truncatingIfNeeded: i) }
            let key = schema.keyColumns
            let oldColumns = columns
            let newColumns = new.columns
            // Rows whose key differs at their position: replaced, if their keys are found nowhere else.
            var replaced = 0
            for c in key where !hints.isIdentical(c) {
                replaced += RowIdentity.markChanged(oldColumns[c], newColumns[c], matchOf: matchOf)
            }
            let replacedRows = UnsafeMutableBufferPointer(rebasing: scratch[n..<(n + replaced)])
            if replaced > 0 {
                var count = 0
                for i in 0..<n where matchOf[i] < 0 {
                    replacedRows[count] = Int32(truncatingIfNeeded: i)
                    count += 1
                }
                guard replaced * n <= Segment.positionalKeyChecks,
                    Segment.keysOnlyReplaced(self, new, replaced: UnsafeBufferPointer(replacedRows))
                else { return .general(hints) }
            }
            // Rows whose other values changed.
            var changed = replaced
            for c in oldColumns.indices where changed < n && !hints.isIdentical(c) {
                if key.count == 1 ? key[0] == c : key.contains(c) { continue }
                changed += RowIdentity.markChanged(oldColumns[c], newColumns[c], matchOf: matchOf)
            }
            if changed == 0 { return .unchanged }  // only nulls over other placeholders, say
            let picks = UnsafeMutableBufferPointer(rebasing: scratch[(n + replaced)...])
            var count = 0
            for j in 0..<n where matchOf[j] < 0 {
                picks[count] = Int32(truncatingIfNeeded: j)
                count += 1
            }
            let upserts = new.pickedRows(UnsafeBufferPointer(rebasing: picks[0..<count]))
            guard replaced > 0 else {
                return .changed(upserts: upserts, deletes: .empty(schema.deleteSchema))
            }
            let deletes = Segment.gathering(
                UnsafeBufferPointer(replacedRows), columns: diffKeyColumns, schema: schema.deleteSchema)
            return .changed(upserts: upserts, deletes: deletes)
        }
    }

    /// Whether the rows of `old` and `new` whose keys differ at their position (`replaced`, in
    /// order) are replacements: each such new key is in no row of `old` and in no other row of
    /// `new`, and each such old key is in no row of `new`. Rows elsewhere have identical keys at
    /// the same position, and `old`'s keys are unique, so only the replaced rows need comparing.
    private static func keysOnlyReplaced(
        _ old: Segment,
        _ new: Segment,
        replaced: UnsafeBufferPointer<Int32>
    ) -> Bool {
        let n = old.rowCount
        let key = old.schema.keyColumns
        if key.count == 1, let a = IntegerKeyComparer.keys(old.columns[key[0]]),
            let b = IntegerKeyComparer.keys(new.columns[key[0]])
        {
            return a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    keysOnlyReplaced(n, replaced) { i, j in a[i] == b[j] } newNew: { i, j in b[i] == b[j] }
                }
            }
        }
        let oldKeys = old.diffKeyColumns
        let newKeys = new.diffKeyColumns
        return keysOnlyReplaced(n, replaced) { i, j in
            RowIdentity.rowsIdentical(oldKeys, i, newKeys, j)
        } newNew: { i, j in
            RowIdentity.rowsIdentical(newKeys, i, newKeys, j)
        }
    }

    /// ``keysOnlyReplaced(_:_:replaced:)`` over key comparisons: `oldNew(i, j)` compares the key
    /// of old row `i` with new row `j`, `newNew(i, j)` new rows `i` and `j`.
    @inline(__always)
    private static func keysOnlyReplaced(
        _ n: Int,
        _ replaced: UnsafeBufferPointer<Int32>,
        oldNew: (Int, Int) -> Bool,
        newNew: (Int, Int) -> Bool
    ) -> Bool {
        for (x, r) in replaced.enumerated() {
            let j = Int(r)
            // The new key is in no old row (rows not replaced hold the same keys in both, so this
            // also rules out a repeat of a key that stayed)...
            for i in 0..<n where oldNew(i, j) { return false }
            // ... nor in an earlier replaced new row; and the old key of the row is in no replaced
            // new row (it cannot be in a row that stayed: old keys are unique).
            for y in 0..<replaced.count {
                let k = Int(replaced[y])
                if y < x && newNew(k, j) { return false }
                if oldNew(j, k) { return false }
            }
        }
        return true
    }
}
