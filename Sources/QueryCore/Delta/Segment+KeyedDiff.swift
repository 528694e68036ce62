/// The keyed diff: match rows by key (a typed table of integer keys, linear scans for small
/// segments, or a hash table of row hashes), then compare the matched rows column by column in
/// typed loops, with scratch space on the stack.
extension Segment {
    /// ``diff(to:)`` for a keyed schema. Every matching method gives the same upserts, deletes and
    /// errors (see ``DeltaStrategy``).
    ///
    /// - Complexity: Integer keys and hashed: O(old + new) expected. Linear: O(old² + new × old)
    ///   key comparisons in the worst case, O(old² + new) when the rows keep their order. Then
    ///   O(rows × columns) value comparisons, column by column.
    ///
    /// With `hints` saying the old keys are unique and every key column is bitwise identical, each
    /// row matches the row at its own position (the keys are the same, row for row, so no key
    /// table is needed and no key can repeat).
    func keyedDiff(
        to new: Segment,
        strategy: DeltaStrategy,
        hints: DiffHints = DiffHints()
    ) throws(QueryError) -> (upserts: Segment, deletes: Segment) {
        let key = schema.keyColumns
        if hints.oldKeysUnique, rowCount == new.rowCount, key.allSatisfy({ hints.isIdentical($0) }) {
            return positionalDiff(to: new, hints: hints)
        }
        var integerKeys: (old: [Int64], new: [Int64])?
        if key.count == 1, let a = IntegerKeyComparer.keys(columns[key[0]]),
            let b = IntegerKeyComparer.keys(new.columns[key[0]])
        {
            integerKeys = (a, b)
        }
        let matching = strategy.diffMatching(old: rowCount, new: new.rowCount, integerKeys: integerKeys != nil)
        let n = rowCount
        let m = new.rowCount
        // Scratch: for each new row its old match (-1 for none; ``RowIdentity/changedMark`` once it
        // is known to be an upsert), for each old row the new row that matched it (-1 for none),
        // and room for the picks of either result.
        let scratchSize = 2 * (n + m)
        let outcome = withUnsafeTemporaryAllocation(of: Int32.self, capacity: scratchSize) {
            scratch -> Result<(upserts: Segment, deletes: Segment), QueryError> in
            let matchOf = UnsafeMutableBufferPointer(rebasing: scratch[0..<m])
            let matchedBy = UnsafeMutableBufferPointer(rebasing: scratch[m..<(m + n)])
            matchedBy.initialize(repeating: -1)
            let duplicate: KeyDuplicate?
            switch matching {
            case .integerKeys:
                let (a, b) = integerKeys!
                duplicate = a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in Segment.integerMatch(a, b, matchOf, matchedBy) }
                }
            case .hashed:
                duplicate = Segment.hashedMatch(diffKeyColumns, n, new.diffKeyColumns, m, matchOf, matchedBy)
            case .linear:
                if let (a, b) = integerKeys {
                    duplicate = Segment.linearMatch(
                        n, m, matchOf, matchedBy,
                        IntegerKeyComparer(first: a, second: b),
                        IntegerKeyComparer(first: a, second: a),
                        IntegerKeyComparer(first: b, second: b)
                    )
                } else {
                    let oldKeys = diffKeyColumns
                    let newKeys = new.diffKeyColumns
                    duplicate = Segment.linearMatch(
                        n, m, matchOf, matchedBy,
                        ColumnsKeyComparer(first: oldKeys, second: newKeys),
                        ColumnsKeyComparer(first: oldKeys, second: oldKeys),
                        ColumnsKeyComparer(first: newKeys, second: newKeys)
                    )
                }
            }
            switch duplicate {
            case .old(let first, let second):
                return .failure(
                    QueryError(
                        .invalidArgument,
                        "key \(Segment.describeKey(diffKeyColumns, row: second)) appears twice (rows \(first + 1) and \(second + 1))"
                    )
                )
            case .new(let first, let second):
                return .failure(
                    QueryError(
                        .invalidArgument,
                        "key \(Segment.describeKey(new.diffKeyColumns, row: second)) appears twice (rows \(first + 1) and \(second + 1))"
                    )
                )
            case nil:
                let picks = UnsafeMutableBufferPointer(rebasing: scratch[(m + n)...])
                return .success(Segment.diffResult(self, new, matchOf, matchedBy, picks, hints))
            }
        }
        return try outcome.get()
    }

    /// ``keyedDiff(to:strategy:hints:)`` when row `i` of `self` and of `new` have the same key for
    /// every `i` (and no key repeats): the matching is the identity.
    private func positionalDiff(to new: Segment, hints: DiffHints) -> (upserts: Segment, deletes: Segment) {
        let n = rowCount
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 3 * n) { scratch in
            let matchOf = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            let matchedBy = UnsafeMutableBufferPointer(rebasing: scratch[n..<(2 * n)])
            for i in 0..<n {
                matchOf[i] = Int32(truncatingIfNeeded: i)
                matchedBy[i] = Int32(truncatingIfNeeded: i)
            }
            let picks = UnsafeMutableBufferPointer(rebasing: scratch[(2 * n)...])
            return Segment.diffResult(self, new, matchOf, matchedBy, picks, hints)
        }
    }

    /// The key columns, in key order.
    var diffKeyColumns: [Column] { schema.keyColumns.map { columns[$0] } }

    /// A key found twice by a match: in the old rows or the new ones, at the earlier and the later
    /// row. Both methods report the same pair: the earliest row whose key an earlier row has.
    private enum KeyDuplicate {
        case old(Int, Int)
        case new(Int, Int)
    }

    /// Matches by linear scans: each new row is compared first with the old row after the last
    /// match (rows usually keep their order), then with every old row.
    private static func linearMatch<K: RowKeyComparer>(
        _ n: Int,
        _ m: Int,
        _ matchOf: UnsafeMutableBufferPointer<Int32>,
        _ matchedBy: UnsafeMutableBufferPointer<Int32>,
        _ cross: K,
        _ oldOnly: K,
        _ newOnly: K
    ) -> KeyDuplicate? {
        for i in 0..<n {
            for h in 0..<i where oldOnly.same(h, i) { return .old(h, i) }
        }
        var hint = 0
        var unmatched = 0
        for j in 0..<m {
            var found = -1
            if hint < n, cross.same(hint, j) {
                found = hint
            } else {
                for i in 0..<n where cross.same(i, j) {
                    found = i
                    break
                }
            }
            if found >= 0 {
                let earlier = matchedBy[found]
                if earlier >= 0 { return .new(Int(earlier), j) }
                matchedBy[found] = Int32(truncatingIfNeeded: j)
                hint = found + 1
            } else {
                // A new key: it must not repeat an earlier new key (one in the old rows would
                // have matched its old row twice, above).
                if unmatched > 0 {
                    for e in 0..<j where matchOf[e] < 0 && newOnly.same(e, j) { return .new(e, j) }
                }
                unmatched += 1
            }
            matchOf[j] = Int32(truncatingIfNeeded: found)
        }
        return nil
    }

    /// Matches through a typed table of `Int64` keys (open addressing on the stack for small
    /// segments). Reports the same duplicates as the other methods.
    private static func integerMatch(
        _ a: UnsafeBufferPointer<Int64>,
        _ b: UnsafeBufferPointer<Int64>,
        _ matchOf: UnsafeMutableBufferPointer<Int32>,
        _ matchedBy: UnsafeMutableBufferPointer<Int32>
    ) -> KeyDuplicate? {
        var size = 16
        while size < 2 * (a.count + b.count) { size <<= 1 }
        let mask = size - 1
        let shift = UInt64(64 - size.trailingZeroBitCount)
        // Old rows are stored as `i`, new rows whose key is not old as `~j`.
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: size) { slots -> KeyDuplicate? in
            slots.initialize(repeating: RowTable.empty)
            @inline(__always)
            func home(_ key: Int64) -> Int {
                Int(truncatingIfNeeded: RowIdentity.mix(RowIdentity.seed, UInt64(bitPattern: key)) >> shift)
            }
            for i in a.indices {
                let key = a[i]
                var slot = home(key)
                while true {
                    let r = slots[slot]
                    if r == RowTable.empty {
                        slots[slot] = Int32(truncatingIfNeeded: i)
                        break
                    }
                    if a[Int(r)] == key { return .old(Int(r), i) }
                    slot = (slot + 1) & mask
                }
            }
            for j in b.indices {
                let key = b[j]
                var slot = home(key)
                var match: Int32 = -1
                while true {
                    let r = slots[slot]
                    if r == RowTable.empty {
                        slots[slot] = ~Int32(truncatingIfNeeded: j)
                        break
                    }
                    if r >= 0 {
                        if a[Int(r)] == key {
                            let earlier = matchedBy[Int(r)]
                            if earlier >= 0 { return .new(Int(earlier), j) }
                            matchedBy[Int(r)] = Int32(truncatingIfNeeded: j)
                            match = r
                            break
                        }
                    } else if b[Int(~r)] == key {
                        return .new(Int(~r), j)
                    }
                    slot = (slot + 1) & mask
                }
                matchOf[j] = match
            }
            return nil
        }
    }

    /// Matches through a hash table of the key rows' hashes.
    private static func hashedMatch(
        _ oldKeys: [Column],
        _ n: Int,
        _ newKeys: [Column],
        _ m: Int,
        _ matchOf: UnsafeMutableBufferPointer<Int32>,
        _ matchedBy: UnsafeMutableBufferPointer<Int32>
    ) -> KeyDuplicate? {
        let oldHashes = RowIdentity.hashes(of: oldKeys, rowCount: n)
        let newHashes = RowIdentity.hashes(of: newKeys, rowCount: m)
        // Old rows are stored as `i`, new rows whose key is not old as `~j`.
        var table = RowTable(capacityFor: n + m)
        for i in 0..<n {
            let hash = oldHashes[i]
            let (slot, found) = table.find(hash: hash) { r in
                oldHashes[Int(r)] == hash && RowIdentity.rowsIdentical(oldKeys, Int(r), oldKeys, i)
            }
            if found { return .old(Int(table.slots[slot]), i) }
            table.insert(Int32(i), at: slot)
        }
        for j in 0..<m {
            let hash = newHashes[j]
            let (slot, found) = table.find(hash: hash) { r in
                if r >= 0 {
                    return oldHashes[Int(r)] == hash && RowIdentity.rowsIdentical(oldKeys, Int(r), newKeys, j)
                }
                return newHashes[Int(~r)] == hash && RowIdentity.rowsIdentical(newKeys, Int(~r), newKeys, j)
            }
            var match: Int32 = -1
            if found {
                let r = table.slots[slot]
                guard r >= 0 else { return .new(Int(~r), j) }
                let earlier = matchedBy[Int(r)]
                if earlier >= 0 { return .new(Int(earlier), j) }
                matchedBy[Int(r)] = Int32(truncatingIfNeeded: j)
                match = r
            } else {
                table.insert(~Int32(j), at: slot)
            }
            matchOf[j] = match
        }
        return nil
    }

    /// The upserts (unmatched or changed new rows, in the order of new) and deletes (key columns of
    /// the unmatched old rows, in the order of old) of a match.
    private static func diffResult(
        _ old: Segment,
        _ new: Segment,
        _ matchOf: UnsafeMutableBufferPointer<Int32>,
        _ matchedBy: UnsafeMutableBufferPointer<Int32>,
        _ picks: UnsafeMutableBufferPointer<Int32>,
        _ hints: DiffHints
    ) -> (upserts: Segment, deletes: Segment) {
        let m = matchOf.count
        var upsertCount = 0
        for j in 0..<m where matchOf[j] < 0 { upsertCount += 1 }
        // Matched rows whose other columns changed are upserts too (key columns are identical).
        let key = old.schema.keyColumns
        if upsertCount < m {
            // When every matched row kept its position, a column whose arrays are bitwise equal
            // has no changed row (the common case: a few values of a few rows changed).
            var positional = m == matchedBy.count
            if positional {
                for j in 0..<m where matchOf[j] >= 0 && Int(matchOf[j]) != j {
                    positional = false
                    break
                }
            }
            let oldColumns = old.columns
            let newColumns = new.columns
            for c in oldColumns.indices where !(key.count == 1 ? key[0] == c : key.contains(c)) {
                if positional && !hints.isDifferent(c)
                    && (hints.isIdentical(c) || oldColumns[c].hasBitwiseIdenticalValues(to: newColumns[c]))
                {
                    continue
                }
                upsertCount += RowIdentity.markChanged(oldColumns[c], newColumns[c], matchOf: matchOf)
                if upsertCount == m { break }
            }
        }
        var count = 0
        if upsertCount > 0 {
            for j in 0..<m where matchOf[j] < 0 {  // unmatched (-1) or changed (`changedMark`)
                picks[count] = Int32(truncatingIfNeeded: j)
                count += 1
            }
        }
        let upserts = new.gathering(UnsafeBufferPointer(rebasing: picks[0..<count]), other: nil)
        count = 0
        for i in matchedBy.indices where matchedBy[i] < 0 {
            picks[count] = Int32(truncatingIfNeeded: i)
            count += 1
        }
        let deletes =
            count == 0
            ? Segment.empty(old.schema.deleteSchema)
            : Segment.gathering(
                UnsafeBufferPointer(rebasing: picks[0..<count]),
                columns: old.diffKeyColumns,
                schema: old.schema.deleteSchema
            )
        return (upserts, deletes)
    }
}

extension RowIdentity {
    /// The mark ``markChanged(_:_:matchOf:)`` leaves on a new row whose values changed (row
    /// indices are never negative, and -1 means "no match").
    static let changedMark = Int32.min

    /// Compares column `new` row by row with column `old` at the matched rows, and marks the rows
    /// whose values are not identical: `matchOf[j]` is the row of `old` matched with row `j` of
    /// `new`, negative for a row already unmatched or marked; a changed row gets ``changedMark``.
    ///
    /// - Returns: The number of rows newly marked.
    /// - Complexity: O(rows), one typed loop per column (no per-value dispatch).
    static func markChanged(_ old: Column, _ new: Column, matchOf: UnsafeMutableBufferPointer<Int32>) -> Int {
        var marked = 0
        @inline(__always)
        func mark<T>(_ a: [T], _ b: [T], _ equal: (T, T) -> Bool) {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    if old.nulls == nil && new.nulls == nil {
                        for j in matchOf.indices {
                            let i = matchOf[j]
                            if i >= 0, !equal(a[Int(i)], b[j]) {
                                matchOf[j] = changedMark
                                marked += 1
                            }
                        }
                    } else {
                        for j in matchOf.indices {
                            let i = matchOf[j]
                            guard i >= 0 else { continue }
                            let aNull = old.isNull(Int(i))
                            let bNull = new.isNull(j)
                            let same = aNull || bNull ? aNull == bNull : equal(a[Int(i)], b[j])
                            if !same {
                                matchOf[j] = changedMark
                                marked += 1
                            }
                        }
                    }
                }
            }
        }
        switch old.storage {
        case .integer(let a):
            if case .integer(let b) = new.storage {
                mark(a, b) { $0 == $1 }
                return marked
            }
        case .real(let a):
            if case .real(let b) = new.storage {
                mark(a, b) { $0.bitPattern == $1.bitPattern }
                return marked
            }
        case .boolean(let a):
            if case .boolean(let b) = new.storage {
                mark(a, b) { $0 == $1 }
                return marked
            }
        case .text(let a):
            if case .text(let b) = new.storage {
                a.bytes.withUnsafeBufferPointer { ab in
                    b.bytes.withUnsafeBufferPointer { bb in
                        a.offsets.withUnsafeBufferPointer { ao in
                            b.offsets.withUnsafeBufferPointer { bo in
                                let nullable = old.nulls != nil || new.nulls != nil
                                for j in matchOf.indices {
                                    let i = Int(matchOf[j])
                                    guard i >= 0 else { continue }
                                    if nullable {
                                        let aNull = old.isNull(i)
                                        let bNull = new.isNull(j)
                                        if aNull || bNull {
                                            if aNull != bNull {
                                                matchOf[j] = changedMark
                                                marked += 1
                                            }
                                            continue
                                        }
                                    }
                                    let aStart = Int(ao[i])
                                    let count = Int(ao[i + 1]) - aStart
                                    let bStart = Int(bo[j])
                                    let same =
                                        count == Int(bo[j + 1]) - bStart
                                        && (count == 0
                                            || RowIdentity.bytesEqual(ab.baseAddress! + aStart, bb.baseAddress! + bStart, count))
                                    if !same {
                                        matchOf[j] = changedMark
                                        marked += 1
                                    }
                                }
                            }
                        }
                    }
                }
                return marked
            }
        case .any:
            break
        }
        // Any (or mismatched types): value by value.
        for j in matchOf.indices {
            let i = matchOf[j]
            if i >= 0, !valuesIdentical(old, Int(i), new, j) {
                matchOf[j] = changedMark
                marked += 1
            }
        }
        return marked
    }
}
