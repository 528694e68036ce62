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
    /// - Complexity: O(rows held + rows carried) to match keys and list the changed positions;
    ///   then O(changed positions × columns) to compare and write cells, except that a deleted
    ///   row closes up the rows after it and a text value of another byte length shifts the bytes
    ///   after it.
    mutating func applyDeltaInPlace(
        upserts: Segment,
        deletes: Segment,
        strategy: DeltaStrategy = .automatic
    ) throws(QueryError) -> InsertedRows {
        if upserts.isEmpty && deletes.isEmpty { return InsertedRows() }
        try Segment.checkRowLimit(rowCount + upserts.rowCount)
        try Segment.checkRowLimit(deletes.rowCount)
        let keyed = schema.isKeyed
        // The usual delta (a few keyed rows): written cell by cell, no picks.
        if keyed, strategy == .automatic, let inserted = applyDeltaDirectly(upserts: upserts, deletes: deletes) {
            return inserted
        }
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
    /// Only the positions whose pick is not their own row are read and written (see
    /// ``Column/gatherInPlace(_:_:_:)``). A column whose values there are identical to those it
    /// holds is left as it is (not even written), so a shared column stays shared.
    mutating func gatherInPlace(_ picks: UnsafeBufferPointer<Int32>, other: Segment?) {
        let old = rowCount
        if picks.isEmpty {
            if old > 0 { self = .empty(schema) }
            return
        }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: picks.count) { movedBuffer in
            // One pass: check the picks can be written in place (as `canGatherInPlace`) and list
            // the positions that change.
            var moved = 0
            var last = -1
            for k in picks.indices {
                let p = Int(picks[k])
                if p >= 0 {
                    if p < k || p <= last || p >= old {
                        self = gathering(picks, other: other)
                        return
                    }
                    last = p
                    if p == k { continue }
                }
                movedBuffer[moved] = Int32(truncatingIfNeeded: k)
                moved += 1
            }
            let moves = Column.InPlaceMoves(
                picks: picks, moved: UnsafeBufferPointer(rebasing: movedBuffer[0..<moved]), old: old)
            if let other {
                other.columns.withUnsafeBufferPointer { gatherInPlace(moves, $0) }
            } else {
                // Every pick is of a held row (rows are only dropped): no second source is read.
                let empties = schema.emptyColumns
                empties.withUnsafeBufferPointer { gatherInPlace(moves, $0) }
            }
        }
    }

    /// ``gatherInPlace(_:other:)`` of checked `moves` from these rows and `sources` (one column
    /// per schema column).
    private mutating func gatherInPlace(_ moves: Column.InPlaceMoves, _ sources: UnsafeBufferPointer<Column>) {
        let columnCount = columns.count
        withUnsafeTemporaryAllocation(of: Bool.self, capacity: max(columnCount, 1)) { changes in
            // Which columns change, read before anything is taken apart (unchanged ones are not
            // touched, and nothing is copied if none changes).
            var any = false
            columns.withUnsafeBufferPointer { columns in
                for c in 0..<columnCount {
                    let changed = !Column.movesKeepValues(columns[c], moves, sources[c])
                    changes[c] = changed
                    any = any || changed
                }
            }
            if !any && moves.count == moves.old { return }
            // Written in place: the columns array is copied first only if another segment holds it.
            var byteDelta = 0
            columns.withUnsafeMutableBufferPointer { columns in
                for c in 0..<columnCount where changes[c] {
                    byteDelta -= Segment.byteSize(of: columns[c])
                    Column.gatherInPlace(&columns[c], moves, sources[c])
                    byteDelta += Segment.byteSize(of: columns[c])
                }
            }
            rowCount = moves.count
            byteSize += byteDelta
        }
    }

    /// The part of ``byteSize`` one column contributes (as `Segment.byteSize(of:)` counts it).
    @inline(__always)
    static func byteSize(of column: Column) -> Int {
        switch column.storage {
        case .integer, .real: column.count * 8
        case .text(let t): t.bytes.count + t.offsets.count * 4
        case .boolean: column.count
        case .any: column.count * 16
        }
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
