/// The publisher's diff: one pass that compares a table's new rows with its current ones position
/// by position, column by column in typed loops, marking the changed rows in bitmaps on the stack,
/// and then builds only the changed rows.
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
        /// Not decided by position: take ``diff(to:strategy:hints:)`` with these hints (bit `c`
        /// set: column `c`'s rows are identical position by position; `identicalColumnsExact`
        /// when every column was compared).
        case general(DiffHints)
    }

    /// At most this many key comparisons check that keys which changed position by position did
    /// not move (more changed keys: the general diff matches them).
    static let positionalKeyChecks = 4096

    /// Compares `self` with `new` (same schema) row by row at the same positions.
    ///
    /// - `unchanged` when every row is identical to the row at its position (any schema).
    /// - `changed` when the schema is keyed, `oldKeysUnique` (no key of `self` repeats), the row
    ///   counts are equal and every key that differs at its position is found nowhere else in
    ///   the other segment (and no new key repeats): rows keep their keys or are replaced. Then
    ///   `upserts` are the rows of `new` whose key is new or whose values changed, in the order of
    ///   `new`, and `deletes` the key columns of the replaced rows of `self`, in the order of
    ///   `self`: what ``diff(to:)`` returns.
    /// - `general` otherwise (keyless changes, different row counts, moved or repeated keys, many
    ///   replaced rows), with what the comparison learnt as ``DiffHints``.
    ///
    /// - Complexity: O(rows × columns) value comparisons, without allocating (bitmaps and picks on
    ///   the stack), plus O(replaced rows × rows) key comparisons; then the changed rows gathered.
    func positionalChanges(to new: Segment, oldKeysUnique: Bool) -> PositionalChanges {
        let n = rowCount
        guard schema == new.schema, n == new.rowCount, n < Int(Int32.max) else {
            return .general(DiffHints())
        }
        if n == 0 { return .unchanged }
        let wordCount = (n + 63) / 64
        // Bitmaps: rows whose key differs, rows whose other values differ.
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * wordCount) { bits -> PositionalChanges in
            bits.initialize(repeating: 0)
            let keyMoved = bits.baseAddress!
            let changed = keyMoved + wordCount
            let key = schema.keyColumns
            var identical: UInt64 = 0
            columns.withUnsafeBufferPointer { oldColumns in
                new.columns.withUnsafeBufferPointer { newColumns in
                    for c in 0..<oldColumns.count {
                        let isKey = key.count == 1 ? key[0] == c : key.contains(c)
                        let same = Segment.markDifferences(
                            oldColumns[c], newColumns[c], rows: n, into: isKey ? keyMoved : changed)
                        if same && c < 64 { identical |= 1 << UInt64(c) }
                    }
                }
            }
            var movedCount = 0
            var changedCount = 0
            for w in 0..<wordCount {
                movedCount += keyMoved[w].nonzeroBitCount
                changed[w] |= keyMoved[w]
                changedCount += changed[w].nonzeroBitCount
            }
            if changedCount == 0 { return .unchanged }
            let hints = DiffHints(identicalColumns: identical, exact: true, oldKeysUnique: oldKeysUnique)
            guard schema.isKeyed, oldKeysUnique else { return .general(hints) }
            if movedCount > 0 {
                guard movedCount * n <= Segment.positionalKeyChecks,
                    Segment.keysOnlyReplaced(self, new, moved: keyMoved, wordCount: wordCount)
                else { return .general(hints) }
            }
            return withUnsafeTemporaryAllocation(of: Int32.self, capacity: changedCount) { picks in
                let upserts = new.pickedRows(
                    UnsafeBufferPointer(rebasing: picks[0..<Segment.setRows(changed, wordCount, into: picks)]))
                guard movedCount > 0 else {
                    return .changed(upserts: upserts, deletes: .empty(schema.deleteSchema))
                }
                let count = Segment.setRows(keyMoved, wordCount, into: picks)
                let deletes = Segment.gathering(
                    UnsafeBufferPointer(rebasing: picks[0..<count]), columns: diffKeyColumns,
                    schema: schema.deleteSchema)
                return .changed(upserts: upserts, deletes: deletes)
            }
        }
    }

    /// Writes the rows whose bit is set in `bits` into `picks`, in order; returns how many.
    private static func setRows(
        _ bits: UnsafeMutablePointer<UInt64>,
        _ wordCount: Int,
        into picks: UnsafeMutableBufferPointer<Int32>
    ) -> Int {
        var count = 0
        for w in 0..<wordCount {
            var word = bits[w]
            while word != 0 {
                picks[count] = Int32(truncatingIfNeeded: w << 6 | word.trailingZeroBitCount)
                count += 1
                word &= word &- 1
            }
        }
        return count
    }

    /// Whether the rows of `old` and `new` whose keys differ at their position (`moved`) are
    /// replacements: each such new key is in no row of `old` and in no other row of `new`, and
    /// each such old key is in no row of `new`. Rows elsewhere have identical keys at the same
    /// position, and `old`'s keys are unique, so only the moved rows need comparing.
    private static func keysOnlyReplaced(
        _ old: Segment,
        _ new: Segment,
        moved: UnsafeMutablePointer<UInt64>,
        wordCount: Int
    ) -> Bool {
        let n = old.rowCount
        let key = old.schema.keyColumns
        if key.count == 1, let a = IntegerKeyComparer.keys(old.columns[key[0]]),
            let b = IntegerKeyComparer.keys(new.columns[key[0]])
        {
            return a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    keysOnlyReplaced(n, moved, wordCount) { i, j in a[i] == b[j] } newNew: { i, j in b[i] == b[j] }
                }
            }
        }
        return old.columns.withUnsafeBufferPointer { oldColumns in
            new.columns.withUnsafeBufferPointer { newColumns in
                @inline(__always)
                func same(_ x: UnsafeBufferPointer<Column>, _ i: Int, _ y: UnsafeBufferPointer<Column>, _ j: Int) -> Bool {
                    for c in key where !RowIdentity.valuesIdentical(x[c], i, y[c], j) { return false }
                    return true
                }
                return keysOnlyReplaced(n, moved, wordCount) { i, j in
                    same(oldColumns, i, newColumns, j)
                } newNew: { i, j in
                    same(newColumns, i, newColumns, j)
                }
            }
        }
    }

    /// ``keysOnlyReplaced(_:_:moved:wordCount:)`` over key comparisons: `oldNew(i, j)` compares
    /// the key of old row `i` with new row `j`, `newNew(i, j)` new rows `i` and `j`.
    @inline(__always)
    private static func keysOnlyReplaced(
        _ n: Int,
        _ moved: UnsafeMutablePointer<UInt64>,
        _ wordCount: Int,
        oldNew: (Int, Int) -> Bool,
        newNew: (Int, Int) -> Bool
    ) -> Bool {
        @inline(__always)
        func isMoved(_ row: Int) -> Bool { moved[row >> 6] & (1 << UInt64(row & 63)) != 0 }
        for w in 0..<wordCount {
            var word = moved[w]
            while word != 0 {
                let j = w << 6 | word.trailingZeroBitCount
                word &= word &- 1
                // The new key is in no old row (rows that are not moved hold the same keys in
                // both, so this also rules out a repeat of a key that stayed)...
                for i in 0..<n where oldNew(i, j) { return false }
                // ... nor in another moved new row; and the old key of the row is in no moved new
                // row (it cannot be in a row that stayed: old keys are unique).
                for k in 0..<n where isMoved(k) {
                    if k != j && newNew(k, j) { return false }
                    if oldNew(j, k) { return false }
                }
            }
        }
        return true
    }

    /// Sets the bit of every row at which `old` and `new` (columns of `rows` rows of one type)
    /// are not identical in `bits`; returns whether none is.
    ///
    /// Values compare as ``RowIdentity`` does: nulls equal nulls (whatever placeholder they
    /// hold), reals by bit pattern, text by bytes. Arrays that hold the same bytes are compared
    /// wholesale first (most columns did not change); only the others row by row.
    static func markDifferences(
        _ old: Column,
        _ new: Column,
        rows n: Int,
        into bits: UnsafeMutablePointer<UInt64>
    ) -> Bool {
        let wordCount = (n + 63) / 64
        guard old.nulls != nil || new.nulls != nil else {
            return markValueDifferences(old, new, rows: n, into: bits)
        }
        // With nulls: the values' differences, then folded with the bitmaps a word at a time.
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: wordCount) { values in
            values.initialize(repeating: 0)
            _ = markValueDifferences(old, new, rows: n, into: values.baseAddress!)
            var any: UInt64 = 0
            for w in 0..<wordCount {
                let a = old.nulls?.words[w] ?? 0
                let b = new.nulls?.words[w] ?? 0
                let rows = min(64, n - w * 64)
                let valid: UInt64 = rows == 64 ? ~0 : (1 << UInt64(rows)) - 1
                let word = ((a ^ b) | (values[w] & ~(a | b))) & valid
                bits[w] |= word
                any |= word
            }
            return any == 0
        }
    }

    /// ``markDifferences(_:_:rows:into:)`` ignoring nulls: rows whose stored values (placeholders
    /// included) differ.
    private static func markValueDifferences(
        _ old: Column,
        _ new: Column,
        rows n: Int,
        into bits: UnsafeMutablePointer<UInt64>
    ) -> Bool {
        // Nested switches, not a tuple of both storages: a tuple would copy (retain) both payloads.
        switch old.storage {
        case .integer(let a):
            guard case .integer(let b) = new.storage else { break }
            return a.withUnsafeBytes { x in b.withUnsafeBytes { y in markWordDifferences(x, y, n, bits) } }
        case .real(let a):
            guard case .real(let b) = new.storage else { break }
            return a.withUnsafeBytes { x in b.withUnsafeBytes { y in markWordDifferences(x, y, n, bits) } }
        case .boolean(let a):
            guard case .boolean(let b) = new.storage else { break }
            return a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    if sameMemory(x, y, count: n) { return true }
                    var any = false
                    for i in 0..<n where x[i] != y[i] {
                        bits[i >> 6] |= 1 << UInt64(i & 63)
                        any = true
                    }
                    return !any
                }
            }
        case .text(let a):
            guard case .text(let b) = new.storage else { break }
            return a.bytes.withUnsafeBufferPointer { ab in
                b.bytes.withUnsafeBufferPointer { bb in
                    a.offsets.withUnsafeBufferPointer { ao in
                        b.offsets.withUnsafeBufferPointer { bo in
                            markTextDifferences(ab, ao, bb, bo, n, bits)
                        }
                    }
                }
            }
        case .any:
            break
        }
        // Values of any type (or, in a malformed segment, columns of different types).
        var any = false
        for i in 0..<n where !RowIdentity.valuesIdentical(old, i, new, i) {
            bits[i >> 6] |= 1 << UInt64(i & 63)
            any = true
        }
        return !any
    }

    /// Rows whose 8-byte values (integers, or reals by bit pattern) differ.
    @inline(__always)
    private static func markWordDifferences(
        _ x: UnsafeRawBufferPointer,
        _ y: UnsafeRawBufferPointer,
        _ n: Int,
        _ bits: UnsafeMutablePointer<UInt64>
    ) -> Bool {
        guard n > 0 else { return true }
        let a = x.baseAddress!
        let b = y.baseAddress!
        if a == b || RowIdentity.bytesEqual(a.assumingMemoryBound(to: UInt8.self), b.assumingMemoryBound(to: UInt8.self), n * 8) {
            return true
        }
        var base = 0
        while base < n {
            let end = min(base + 64, n)
            var word: UInt64 = 0
            for i in base..<end {
                let differs = a.load(fromByteOffset: i * 8, as: UInt64.self) != b.load(fromByteOffset: i * 8, as: UInt64.self)
                word |= UInt64(differs ? 1 : 0) << UInt64(i - base)
            }
            bits[base >> 6] |= word
            base = end
        }
        return false
    }

    /// Rows whose text differs.
    private static func markTextDifferences(
        _ ab: UnsafeBufferPointer<UInt8>,
        _ ao: UnsafeBufferPointer<UInt32>,
        _ bb: UnsafeBufferPointer<UInt8>,
        _ bo: UnsafeBufferPointer<UInt32>,
        _ n: Int,
        _ bits: UnsafeMutablePointer<UInt64>
    ) -> Bool {
        // Usually the same bytes at the same offsets: nothing to compare row by row.
        if ao[0] == 0, bo[0] == 0, sameMemory(ao, bo, count: n + 1), sameMemory(ab, bb, count: Int(ao[n])) {
            return true
        }
        var any = false
        for i in 0..<n {
            let start = Int(ao[i])
            let count = Int(ao[i + 1]) - start
            let other = Int(bo[i])
            var differs = count != Int(bo[i + 1]) - other
            if !differs, count > 0 {
                differs = !RowIdentity.bytesEqual(ab.baseAddress! + start, bb.baseAddress! + other, count)
            }
            if differs {
                bits[i >> 6] |= 1 << UInt64(i & 63)
                any = true
            }
        }
        return !any
    }

    /// Whether the first `count` elements of `a` and `b` (both that long) hold the same bytes.
    @inline(__always)
    private static func sameMemory<T: BitwiseCopyable>(
        _ a: UnsafeBufferPointer<T>,
        _ b: UnsafeBufferPointer<T>,
        count: Int
    ) -> Bool {
        guard count > 0 else { return true }
        if a.baseAddress == b.baseAddress { return true }
        return RowIdentity.bytesEqual(
            UnsafeRawPointer(a.baseAddress!).assumingMemoryBound(to: UInt8.self),
            UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: UInt8.self),
            count * MemoryLayout<T>.stride)
    }
}
