/// Applying a delta into a segment's own storage: the rows ``Segment/applyingDelta(upserts:deletes:strategy:)``
/// returns, written over the held rows instead of gathered into new columns.
///
/// A receiver applies a delta of one or two changed rows to an origin's few dozen rows every
/// generation; gathering allocates a new segment (and retains every unchanged column) each time.
/// In place, a changed cell is overwritten, a new row appended and a deleted row closed up, in the
/// same order the gathering apply produces. Buffers shared with another segment (a sender's copy, a
/// kept older version) are copied on first write, as any copy-on-write value is, so the result never
/// depends on who else holds the rows.
extension Segment {
    /// Applies `upserts` and `deletes` (checked against this segment's schema) to these rows, in
    /// place where the buffers are uniquely held.
    ///
    /// The rows afterwards are exactly those of
    /// ``applyingDelta(upserts:deletes:strategy:)``, in the same order.
    ///
    /// - Returns: Which upsert rows were inserted (their key was not held), for a keyed table;
    ///   empty for a keyless one.
    /// - Throws: ``QueryError`` as ``applyingDelta(upserts:deletes:strategy:)`` does; the rows are
    ///   unchanged on error.
    /// - Complexity: O(rows held + rows carried) comparisons; the rows written are those from the
    ///   first changed row on (only the changed cells when no row is deleted).
    mutating func applyDeltaInPlace(
        upserts: Segment,
        deletes: Segment,
        strategy: DeltaStrategy = .automatic
    ) throws(QueryError) -> InsertedRows {
        if upserts.isEmpty && deletes.isEmpty { return InsertedRows() }
        try Segment.checkRowLimit(rowCount + upserts.rowCount)
        try Segment.checkRowLimit(deletes.rowCount)
        let keyed = schema.isKeyed
        let outcome = withUnsafeTemporaryAllocation(of: Int32.self, capacity: rowCount + upserts.rowCount) {
            buffer -> Result<InsertedRows, QueryError> in
            let count: Int
            do throws(QueryError) {
                count = try deltaPicks(upserts: upserts, deletes: deletes, strategy: strategy, into: buffer)
            } catch {
                return .failure(error)
            }
            let picks = UnsafeBufferPointer(rebasing: buffer[0..<count])
            var inserted = InsertedRows()
            if keyed {
                // Held rows that stay come first; the picks after them are the upserts of new keys.
                for k in (rowCount - deletes.rowCount)..<count { inserted.insert(Int(~picks[k])) }
            }
            gatherInPlace(picks, other: upserts)
            return .success(inserted)
        }
        return try outcome.get()
    }

    /// Whether `picks` can be written over the rows they read: picks of this segment's rows
    /// increase, and each reads a row at or after the position it writes, so writing positions in
    /// order never overwrites a row still to be read.
    static func canGatherInPlace(_ picks: UnsafeBufferPointer<Int32>, rowCount: Int) -> Bool {
        var last = -1
        for k in picks.indices {
            let p = Int(picks[k])
            guard p >= 0 else { continue }
            if p < k || p <= last || p >= rowCount { return false }
            last = p
        }
        return true
    }

    /// Replaces these rows by ``gathering(_:other:)`` of `picks`, writing into the segment's own
    /// buffers when the picks allow it (``canGatherInPlace(_:rowCount:)``) and gathering otherwise.
    ///
    /// A column whose picked values are identical to those it holds is left as it is (not even
    /// written), so a shared column stays shared.
    mutating func gatherInPlace(_ picks: UnsafeBufferPointer<Int32>, other: Segment?) {
        guard Segment.canGatherInPlace(picks, rowCount: rowCount) else {
            self = gathering(picks, other: other)
            return
        }
        if picks.isEmpty {
            self = .empty(schema)
            return
        }
        // The first position whose row changes (every row before it stays where it is).
        var first = 0
        while first < picks.count, first < rowCount, Int(picks[first]) == first { first += 1 }
        if first == picks.count && picks.count == rowCount { return }
        let count = picks.count
        let schema = self.schema
        var columns = self.columns
        // Let go of this segment's reference so the columns are uniquely held (if nobody else holds them).
        self = .empty(schema)
        let replacing = count == rowCount
        // Through buffers: each column is borrowed or written where it is, not copied out and back.
        columns.withUnsafeMutableBufferPointer { columns in
            if let other {
                other.columns.withUnsafeBufferPointer { sources in
                    for c in columns.indices {
                        if replacing, Column.picksKeep(columns[c], picks, from: first, source: sources[c]) { continue }
                        Column.gatherInPlace(&columns[c], picks, from: first, sources[c])
                    }
                }
            } else {
                // Every pick is of a held row (rows are only dropped): no source is read.
                for c in columns.indices {
                    Column.gatherInPlace(&columns[c], picks, from: first, Column.empty(columns[c].type))
                }
            }
        }
        self = Segment(unchecked: schema, columns: columns, rowCount: count)
    }
}

extension Column {
    /// Whether writing `picks` (as many as the rows, from position `first`) would leave `column`'s
    /// values as they are: every picked value is identical to the one it replaces.
    fileprivate static func picksKeep(
        _ column: Column,
        _ picks: UnsafeBufferPointer<Int32>,
        from first: Int,
        source: Column
    ) -> Bool {
        for k in first..<picks.count {
            let p = Int(picks[k])
            if p == k { continue }
            let same =
                p >= 0
                ? RowIdentity.valuesIdentical(column, p, column, k)
                : RowIdentity.valuesIdentical(source, ~p, column, k)
            if !same { return false }
        }
        return true
    }

    /// Replaces `column` by ``gathering(_:from:_:)`` of `picks` (which satisfy
    /// ``Segment/canGatherInPlace(_:rowCount:)``; positions before `first` keep their rows) from
    /// `column` and `second` (a column of the same type; an empty one if no pick is negative),
    /// writing into its buffers when it holds them uniquely.
    static func gatherInPlace(
        _ column: inout Column,
        _ picks: UnsafeBufferPointer<Int32>,
        from first: Int,
        _ second: Column
    ) {
        let count = picks.count
        var nulls: NullBitmap?
        if column.nulls != nil || second.nulls != nil { nulls = gatherNulls(picks, column, second) }
        var storage = column.storage
        // Drop the column's references so `storage` holds the buffers alone.
        column = Column.empty(column.type)
        // Each case moves the payload out of `storage` before writing, for the same reason.
        switch storage {
        case .integer(var a):
            storage = .boolean([])
            if case .integer(let b) = second.storage {
                gatherArrayInPlace(&a, picks, from: first, b)
            } else {
                gatherArrayInPlace(&a, picks, from: first, [])
            }
            storage = .integer(a)
        case .real(var a):
            storage = .boolean([])
            if case .real(let b) = second.storage {
                gatherArrayInPlace(&a, picks, from: first, b)
            } else {
                gatherArrayInPlace(&a, picks, from: first, [])
            }
            storage = .real(a)
        case .boolean(var a):
            storage = .integer([])
            if case .boolean(let b) = second.storage {
                gatherArrayInPlace(&a, picks, from: first, b)
            } else {
                gatherArrayInPlace(&a, picks, from: first, [])
            }
            storage = .boolean(a)
        case .any(var a):
            storage = .boolean([])
            if case .any(let b) = second.storage {
                gatherArrayInPlace(&a, picks, from: first, b)
            } else {
                gatherArrayInPlace(&a, picks, from: first, [])
            }
            storage = .any(a)
        case .text(let text):
            var bytes = text.bytes
            var offsets = text.offsets
            storage = .boolean([])
            _ = consume text
            if case .text(let b) = second.storage {
                gatherTextInPlace(&bytes, &offsets, picks, from: first, b)
            } else {
                gatherTextInPlace(&bytes, &offsets, picks, from: first, placeholderText)
            }
            storage = .text(TextColumn(bytes: bytes, offsets: offsets))
        }
        column = Column(storage: storage, nulls: nulls, count: count)
    }

    /// An empty text column to stand in while a column's buffers are moved out (shared: no allocation).
    private static let placeholderText = TextColumn()

    /// ``gatherInPlace(_:_:from:_:)`` for one fixed-width array.
    private static func gatherArrayInPlace<T>(
        _ a: inout [T],
        _ picks: UnsafeBufferPointer<Int32>,
        from first: Int,
        _ b: [T]
    ) {
        let old = a.count
        let count = picks.count
        let common = min(old, count)
        b.withUnsafeBufferPointer { b in
            if first < common {
                a.withUnsafeMutableBufferPointer { out in
                    for k in first..<common {
                        let p = Int(picks[k])
                        if p >= 0 {
                            if p != k { out[k] = out[p] }
                        } else {
                            out[k] = b[~p]
                        }
                    }
                }
            }
            if count < old {
                a.removeLast(old - count)
            } else if count > old {
                // Positions past the held rows pick upserts only (a held row's pick is at or after
                // its position).
                a.reserveCapacity(count)
                for k in old..<count { a.append(b[Int(~picks[k])]) }
            }
        }
    }

    /// ``gatherInPlace(_:_:from:_:)`` for a text column's bytes and offsets.
    ///
    /// Rows replaced by values of the same length are overwritten where they are; otherwise the
    /// rows from `first` on are rewritten, the held ones read from a copy of that tail.
    private static func gatherTextInPlace(
        _ bytes: inout [UInt8],
        _ offsets: inout [UInt32],
        _ picks: UnsafeBufferPointer<Int32>,
        from first: Int,
        _ b: TextColumn
    ) {
        let old = offsets.count - 1
        let count = picks.count
        b.bytes.withUnsafeBufferPointer { bb in
            b.offsets.withUnsafeBufferPointer { bo in
                if count == old, sameLengths(offsets, picks, from: first, bo) {
                    bytes.withUnsafeMutableBufferPointer { out in
                        for k in first..<count {
                            let p = Int(picks[k])
                            guard p < 0 else { continue }  // same lengths and count: held rows stay put
                            let start = Int(bo[~p])
                            let length = Int(bo[~p + 1]) - start
                            if length > 0 {
                                (out.baseAddress! + Int(offsets[k])).update(from: bb.baseAddress! + start, count: length)
                            }
                        }
                    }
                    return
                }
                // Rewrite from `first`: keep a copy of the held tail (rows `first..<old`) to read from.
                let tailStart = Int(offsets[first])
                let tailBytes = bytes.count - tailStart
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(tailBytes, 1)) { tail in
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: old - first + 1) { tailOffsets in
                        bytes.withUnsafeBufferPointer { held in
                            if tailBytes > 0 {
                                _ = tail.initialize(from: UnsafeBufferPointer(rebasing: held[tailStart...]))
                            }
                        }
                        for r in 0...(old - first) { tailOffsets[r] = offsets[first + r] &- UInt32(tailStart) }
                        bytes.removeLast(tailBytes)
                        offsets.removeLast(old - first)
                        var end = UInt32(truncatingIfNeeded: tailStart)
                        for k in first..<count {
                            let p = Int(picks[k])
                            if p >= 0 {
                                let start = Int(tailOffsets[p - first])
                                let length = Int(tailOffsets[p - first + 1]) - start
                                if length > 0 {
                                    bytes.append(contentsOf: UnsafeBufferPointer(start: tail.baseAddress! + start, count: length))
                                }
                                end &+= UInt32(truncatingIfNeeded: length)
                            } else {
                                let start = Int(bo[~p])
                                let length = Int(bo[~p + 1]) - start
                                if length > 0 {
                                    bytes.append(contentsOf: UnsafeBufferPointer(start: bb.baseAddress! + start, count: length))
                                }
                                end &+= UInt32(truncatingIfNeeded: length)
                            }
                            offsets.append(end)
                        }
                    }
                }
            }
        }
    }

    /// Whether every row replaced from position `first` on (with as many picks as rows) has the
    /// byte length of the row it replaces, and every held row stays at its position.
    private static func sameLengths(
        _ offsets: [UInt32],
        _ picks: UnsafeBufferPointer<Int32>,
        from first: Int,
        _ bo: UnsafeBufferPointer<UInt32>
    ) -> Bool {
        for k in first..<picks.count {
            let p = Int(picks[k])
            if p >= 0 {
                if p != k { return false }
            } else if offsets[k + 1] &- offsets[k] != bo[~p + 1] &- bo[~p] {
                return false
            }
        }
        return true
    }
}

/// Which upsert rows of a keyed delta inserted a new key (the others replaced a held row).
///
/// Up to 64 rows are held inline, without allocating.
struct InsertedRows: Sendable, Equatable {
    private var low: UInt64 = 0
    private var high: [UInt64] = []

    /// Whether upsert row `row` was inserted.
    func contains(_ row: Int) -> Bool {
        if row < 64 { return low & (1 << UInt64(row)) != 0 }
        let word = row / 64 - 1
        return word < high.count && high[word] & (1 << UInt64(row % 64)) != 0
    }

    /// Marks upsert row `row` as inserted.
    mutating func insert(_ row: Int) {
        if row < 64 {
            low |= 1 << UInt64(row)
            return
        }
        let word = row / 64 - 1
        if high.count <= word { high.append(contentsOf: repeatElement(0, count: word + 1 - high.count)) }
        high[word] |= 1 << UInt64(row % 64)
    }
}
