/// The usual delta a receiver applies: a keyed delta of a few rows, most of them replacing held
/// rows (one or two changed processes of an origin's few dozen), now and then a process that ended
/// and one that started.
///
/// The general in-place apply lists a pick for every row, scans every position of every column
/// and moves each changed column out of its `Column` and back. Here each carried key is looked up
/// among the held keys, and only the replaced cells are compared and (when they differ) written;
/// deleted rows are closed up and upserts of new keys appended in their order. A column none of whose replaced cells differ
/// is not touched (not written, not retained), so a column shared with another holder stays
/// shared; a written column is copied first only if someone else holds it.
///
/// The rows afterwards are exactly those of ``applyingDelta(upserts:deletes:strategy:)`` (held rows
/// in order with the replaced ones overwritten, then the new keys in upsert order), raw values under
/// nulls included.
extension Segment {
    /// The most carried rows (upserts and deletes) the direct path takes (the linear apply's bound).
    static let directDeltaRows = 8

    /// Where a delta's rows go: the held row each upsert replaces (`-1`: a new key, appended) and
    /// the held rows deleted, for at most ``directDeltaRows`` carried rows.
    struct UpsertTargets {
        /// Per upsert row, the held row it replaces or `-1`.
        var rows = InlineArray<8, Int32>(repeating: -1)
        /// The number of upserts.
        var count = 0
        /// How many upserts insert a new key.
        var inserts = 0
        /// The held rows deleted, increasing (the first `deletes`).
        var deleted = InlineArray<8, Int32>(repeating: 0)
        /// The number of deleted rows.
        var deletes = 0

        /// Adds held row `row` to the deleted rows, keeping them in increasing order.
        mutating func delete(_ row: Int32) {
            var k = deletes
            while k > 0, deleted[k - 1] > row {
                deleted[k] = deleted[k - 1]
                k -= 1
            }
            deleted[k] = row
            deletes += 1
        }
    }

    /// Applies a keyed delta (checked against this segment's schema) of at most
    /// ``directDeltaRows`` rows by overwriting the replaced cells, closing up the deleted rows and
    /// appending new keys.
    ///
    /// - Returns: The upserts that inserted a new key; `nil` (the rows untouched) when the delta is
    ///   not of that shape or is one the general apply refuses (a key carried twice, a deleted key
    ///   not held, a carried key held twice): the general apply then applies it or throws its error.
    mutating func applyDeltaDirectly(upserts: Segment, deletes: Segment) -> InsertedRows? {
        guard let targets = directTargets(upserts: upserts, deletes: deletes) else { return nil }
        var inserted = InsertedRows()
        if targets.inserts > 0 {
            for u in 0..<targets.count where targets.rows[u] < 0 { inserted.insert(u) }
        }
        // Which of the first 64 columns are written (every one when rows come or go); a column
        // past those checks its cells itself. Nothing is written (or copied) when none changes.
        // Replacements only (the usual delta): written where the rows lie.
        if targets.inserts == 0, targets.deletes == 0, replaceCells(targets, from: upserts) { return inserted }
        let columnCount = columns.count
        var written: UInt64 = ~0
        if targets.inserts == 0, targets.deletes == 0 {
            written = 0
            // Through buffer pointers: each column is read in place, not copied (retained) out of its array.
            columns.withUnsafeBufferPointer { held in
                upserts.columns.withUnsafeBufferPointer { sources in
                    for c in 0..<min(columnCount, 64) where !Column.upsertsKeepCells(held[c], targets, sources[c]) {
                        written |= 1 << UInt64(c)
                    }
                }
            }
            if written == 0, columnCount <= 64 || upsertsKeepRows(upserts, targets) { return inserted }
        }
        let heldRows = rowCount
        var byteDelta = 0
        upserts.columns.withUnsafeBufferPointer { sources in
            // Written in place: copied first only if another segment holds this array.
            columns.withUnsafeMutableBufferPointer { columns in
                for c in 0..<columnCount {
                    let known = c < 64
                    guard !known || written & (1 << UInt64(c)) != 0 else { continue }
                    byteDelta += Column.writeUpserts(
                        &columns[c], targets, from: sources[c], heldRows: heldRows, changes: known)
                }
            }
        }
        rowCount = heldRows + targets.inserts - targets.deletes
        byteSize += byteDelta
        return inserted
    }

    /// Matches each carried key to the held row with that key (a scan of the held keys per carried
    /// row), or `nil` for a delta the direct path does not take.
    private func directTargets(upserts: Segment, deletes: Segment) -> UpsertTargets? {
        let carried = upserts.rowCount
        let deleteCount = deletes.rowCount
        guard carried + deleteCount > 0, carried + deleteCount <= Segment.directDeltaRows,
            schema.keyColumns.count == 1, deletes.columns.count == 1
        else { return nil }
        let key = schema.keyColumns[0]
        var targets = UpsertTargets()
        targets.count = carried
        let rows = rowCount
        // The usual key (one integer column without nulls), read where the three columns lie.
        let integerKeys: Bool? = columns.withUnsafeBufferPointer { heldColumns in
            upserts.columns.withUnsafeBufferPointer { upsertColumns in
                deletes.columns.withUnsafeBufferPointer { deleteColumns in
                    Self.integerTargets(
                        &targets, held: heldColumns[key], upserts: upsertColumns[key], deletes: deleteColumns[0],
                        rows: rows, carried: carried, deleteCount: deleteCount)
                }
            }
        }
        if let integerKeys { return integerKeys ? targets : nil }
        let heldKey = columns[key]
        let upsertKey = upserts.columns[key]
        let deleteKey = deletes.columns[0]
        func find(_ column: Column, _ row: Int) -> Int32? {
            var target: Int32 = -1
            for i in 0..<rows where RowIdentity.valuesIdentical(heldKey, i, column, row) {
                if target >= 0 { return nil }
                target = Int32(truncatingIfNeeded: i)
            }
            return target
        }
        for u in 0..<carried {
            for v in 0..<u where RowIdentity.valuesIdentical(upsertKey, v, upsertKey, u) { return nil }
            guard let target = find(upsertKey, u) else { return nil }
            targets.rows[u] = target
            if target < 0 { targets.inserts += 1 }
        }
        for d in 0..<deleteCount {
            for e in 0..<d where RowIdentity.valuesIdentical(deleteKey, e, deleteKey, d) { return nil }
            for u in 0..<carried where RowIdentity.valuesIdentical(upsertKey, u, deleteKey, d) { return nil }
            guard let target = find(deleteKey, d), target >= 0 else { return nil }
            targets.delete(target)
        }
        return targets
    }

    /// ``directTargets(upserts:deletes:)`` for one integer key column without nulls in `held`,
    /// `upserts` and `deletes`: whether the targets were found (`false`: a delta the direct path
    /// does not take), or `nil` for keys of another kind.
    @inline(__always)
    private static func integerTargets(
        _ targets: inout UpsertTargets,
        held heldColumn: Column,
        upserts upsertColumn: Column,
        deletes deleteColumn: Column,
        rows: Int,
        carried: Int,
        deleteCount: Int
    ) -> Bool? {
        guard heldColumn.nulls == nil, upsertColumn.nulls == nil, deleteColumn.nulls == nil,
            case .integer(let heldKeys) = heldColumn.storage,
            case .integer(let upsertKeyArray) = upsertColumn.storage,
            case .integer(let deleteKeyArray) = deleteColumn.storage
        else { return nil }
        return heldKeys.withUnsafeBufferPointer { held in
            upsertKeyArray.withUnsafeBufferPointer { upsertKeys in
                deleteKeyArray.withUnsafeBufferPointer { deleteKeys in
                    // The only held row with key `k` (-1 if none), or nil if two have it.
                    func find(_ k: Int64) -> Int32? {
                        var target: Int32 = -1
                        for i in 0..<rows where held[i] == k {
                            if target >= 0 { return nil }
                            target = Int32(truncatingIfNeeded: i)
                        }
                        return target
                    }
                    for u in 0..<carried {
                        let k = upsertKeys[u]
                        for v in 0..<u where upsertKeys[v] == k { return false }
                        guard let target = find(k) else { return false }
                        targets.rows[u] = target
                        if target < 0 { targets.inserts += 1 }
                    }
                    for d in 0..<deleteCount {
                        let k = deleteKeys[d]
                        for e in 0..<d where deleteKeys[e] == k { return false }
                        for u in 0..<carried where upsertKeys[u] == k { return false }
                        guard let target = find(k), target >= 0 else { return false }
                        targets.delete(target)
                    }
                    return true
                }
            }
        }
    }

    /// Whether applying `targets` changes nothing: no new key, no delete, and every replaced cell
    /// identical (raw value and null flag) to the one held.
    private func upsertsKeepRows(_ upserts: Segment, _ targets: UpsertTargets) -> Bool {
        guard targets.inserts == 0, targets.deletes == 0 else { return false }
        return columns.withUnsafeBufferPointer { held in
            upserts.columns.withUnsafeBufferPointer { sources in
                for c in held.indices where !Column.upsertsKeepCells(held[c], targets, sources[c]) { return false }
                return true
            }
        }
    }
}

extension Column {
    /// Whether every replaced cell of `targets` holds in `column` what `source` (a column of the
    /// same type) holds in the upsert row: the same null flag and the same raw value (the
    /// placeholder under a null included, so the column equals the gathered one bit for bit).
    static func upsertsKeepCells(_ column: Column, _ targets: Segment.UpsertTargets, _ source: Column) -> Bool {
        if column.nulls != nil || source.nulls != nil {
            for u in 0..<targets.count {
                let t = Int(targets.rows[u])
                if t >= 0, column.isNull(t) != source.isNull(u) { return false }
            }
        }
        switch column.storage {
        case .integer(let a):
            guard case .integer(let b) = source.storage else { return false }
            return arrayKeepsCells(a, targets, b) { $0 == $1 }
        case .real(let a):
            guard case .real(let b) = source.storage else { return false }
            return arrayKeepsCells(a, targets, b) { $0.bitPattern == $1.bitPattern }
        case .boolean(let a):
            guard case .boolean(let b) = source.storage else { return false }
            return arrayKeepsCells(a, targets, b) { $0 == $1 }
        case .any(let a):
            guard case .any(let b) = source.storage else { return false }
            return arrayKeepsCells(a, targets, b) { RowIdentity.identical($0, $1) }
        case .text(let a):
            guard case .text(let b) = source.storage else { return false }
            return a.bytes.withUnsafeBufferPointer { ab in
                b.bytes.withUnsafeBufferPointer { bb in
                    a.offsets.withUnsafeBufferPointer { ao in
                        b.offsets.withUnsafeBufferPointer { bo in
                            for u in 0..<targets.count {
                                let t = Int(targets.rows[u])
                                guard t >= 0 else { continue }
                                let start = Int(ao[t])
                                let length = Int(ao[t + 1]) - start
                                let sourceStart = Int(bo[u])
                                guard Int(bo[u + 1]) - sourceStart == length else { return false }
                                if length > 0,
                                    !RowIdentity.bytesEqual(ab.baseAddress! + start, bb.baseAddress! + sourceStart, length)
                                {
                                    return false
                                }
                            }
                            return true
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func arrayKeepsCells<T>(
        _ a: [T],
        _ targets: Segment.UpsertTargets,
        _ b: [T],
        _ same: (T, T) -> Bool
    ) -> Bool {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for u in 0..<targets.count {
                    let t = Int(targets.rows[u])
                    if t >= 0, !same(a[t], b[u]) { return false }
                }
                return true
            }
        }
    }

    /// Writes the upserts of `targets` into `column` (`heldRows` rows): replaced cells that differ
    /// are overwritten, deleted rows closed up, new keys appended in upsert order; a column none of
    /// whose cells changes is not touched (unless `changes` says the caller found that it does).
    ///
    /// - Returns: How much the column's part of ``Segment/byteSize`` grew.
    static func writeUpserts(
        _ column: inout Column,
        _ targets: Segment.UpsertTargets,
        from source: Column,
        heldRows: Int,
        changes: Bool
    ) -> Int {
        if !changes, targets.inserts == 0, targets.deletes == 0, upsertsKeepCells(column, targets, source) { return 0 }
        let count = heldRows + targets.inserts - targets.deletes
        let before = Segment.byteSize(of: column)
        // Take the column out (moved, not retained) and split it into its parts before writing,
        // so the buffers are held once (when nobody else holds them) and written in place; the
        // column is set again below, on every path.
        let (storage, heldNulls) = Column.parts(of: consume column)
        var nulls = heldNulls
        if nulls != nil || source.nulls != nil { writeNulls(&nulls, targets, source, heldRows: heldRows) }
        switch consume storage {
        case .integer(var a):
            if case .integer(let b) = source.storage { writeArray(&a, targets, b) }
            column = Column(written: .integer(a), nulls: nulls, count: count)
        case .real(var a):
            if case .real(let b) = source.storage { writeArray(&a, targets, b) }
            column = Column(written: .real(a), nulls: nulls, count: count)
        case .boolean(var a):
            if case .boolean(let b) = source.storage { writeArray(&a, targets, b) }
            column = Column(written: .boolean(a), nulls: nulls, count: count)
        case .any(var a):
            if case .any(let b) = source.storage { writeArray(&a, targets, b) }
            column = Column(written: .any(a), nulls: nulls, count: count)
        case .text(let text):
            var bytes = text.bytes
            var offsets = text.offsets
            _ = consume text
            if case .text(let b) = source.storage { writeText(&bytes, &offsets, targets, b) }
            column = Column(written: .text(TextColumn(bytes: bytes, offsets: offsets)), nulls: nulls, count: count)
        }
        return Segment.byteSize(of: column) - before
    }

    /// The parts of `column`, which is used up: its buffers are then held by the parts alone.
    @inline(__always)
    static func parts(of column: consuming Column) -> (storage: Storage, nulls: NullBitmap?) {
        (column.storage, column.nulls)
    }

    /// Sets the null flags of the replaced rows and appends those of the new keys' rows; `nulls`
    /// is `nil` afterwards if no row is null.
    private static func writeNulls(
        _ nulls: inout NullBitmap?,
        _ targets: Segment.UpsertTargets,
        _ source: Column,
        heldRows: Int
    ) {
        var bitmap = nulls ?? NullBitmap(count: heldRows)
        nulls = nil
        for u in 0..<targets.count {
            let t = Int(targets.rows[u])
            if t >= 0 { bitmap.set(t, isNull: source.isNull(u)) }
        }
        if targets.deletes > 0 {
            var kept = NullBitmap()
            kept.reserveCapacity(heldRows - targets.deletes + targets.inserts)
            var next = 0
            for r in 0..<heldRows {
                if next < targets.deletes, r == Int(targets.deleted[next]) {
                    next += 1
                    continue
                }
                kept.append(bitmap.isNull(r))
            }
            bitmap = kept
        }
        for u in 0..<targets.count where targets.rows[u] < 0 { bitmap.append(source.isNull(u)) }
        if bitmap.nullCount > 0 { nulls = bitmap }
    }

    /// Overwrites the replaced positions of a fixed-width array, closes up the deleted ones and
    /// appends the new keys' values.
    ///
    /// The new keys' values first fill the positions the deleted rows freed at the end (a process
    /// that ended and one that started: the array keeps its length and is written in place); only
    /// what is left is appended, or cut.
    @inline(__always)
    private static func writeArray<T>(_ a: inout [T], _ targets: Segment.UpsertTargets, _ b: [T]) {
        b.withUnsafeBufferPointer { b in
            let held = a.count
            let kept = held - targets.deletes
            // Upserts of new keys written into freed positions (`kept..<held`), in upsert order.
            var placed = 0
            a.withUnsafeMutableBufferPointer { out in
                for u in 0..<targets.count {
                    let t = Int(targets.rows[u])
                    if t >= 0 { out[t] = b[u] }
                }
                guard targets.deletes > 0 else { return }
                // Each kept row moves down over the deleted ones before it: for plain values, each
                // run of kept rows between two deleted ones in one move (the runs overlap only
                // downwards, which a memory move allows).
                let first = Int(targets.deleted[0])
                if _isPOD(T.self), let base = UnsafeMutableRawPointer(out.baseAddress) {
                    let stride = MemoryLayout<T>.stride
                    var written = first
                    for k in 0..<targets.deletes {
                        let from = Int(targets.deleted[k]) + 1
                        let to = k + 1 < targets.deletes ? Int(targets.deleted[k + 1]) : held
                        guard to > from else { continue }
                        (base + written * stride).copyMemory(from: base + from * stride, byteCount: (to - from) * stride)
                        written += to - from
                    }
                } else {
                    var written = first
                    var next = 0
                    for r in first..<held {
                        if next < targets.deletes, r == Int(targets.deleted[next]) {
                            next += 1
                            continue
                        }
                        out[written] = out[r]
                        written += 1
                    }
                }
                var u = 0
                while placed < targets.deletes, u < targets.count {
                    if targets.rows[u] < 0 {
                        out[kept + placed] = b[u]
                        placed += 1
                    }
                    u += 1
                }
            }
            if placed < targets.deletes {
                a.removeLast(targets.deletes - placed)
                return
            }
            guard targets.inserts > placed else { return }
            a.reserveCapacity(kept + targets.inserts)
            var skipped = 0
            for u in 0..<targets.count where targets.rows[u] < 0 {
                if skipped < placed {
                    skipped += 1
                    continue
                }
                a.append(b[u])
            }
        }
    }

    /// Overwrites the replaced values of a text column (in place when the byte length agrees;
    /// otherwise the bytes after it shift and the offsets after it move) and appends the new keys'
    /// values.
    private static func writeText(
        _ bytes: inout [UInt8],
        _ offsets: inout [UInt32],
        _ targets: Segment.UpsertTargets,
        _ b: TextColumn
    ) {
        b.bytes.withUnsafeBufferPointer { bb in
            b.offsets.withUnsafeBufferPointer { bo in
                for u in 0..<targets.count {
                    let t = Int(targets.rows[u])
                    guard t >= 0 else { continue }
                    let start = Int(offsets[t])
                    let length = Int(offsets[t + 1]) - start
                    let sourceStart = Int(bo[u])
                    let sourceLength = Int(bo[u + 1]) - sourceStart
                    if sourceLength == length {
                        guard length > 0 else { continue }
                        bytes.withUnsafeMutableBufferPointer { out in
                            (out.baseAddress! + start).update(from: bb.baseAddress! + sourceStart, count: length)
                        }
                        continue
                    }
                    // Another length: the bytes after it move (right before the value is written
                    // when it grows; left, then the end is cut, when it shrinks).
                    let tailStart = start + length
                    let tailCount = bytes.count - tailStart
                    if sourceLength > length { bytes.append(contentsOf: repeatElement(0, count: sourceLength - length)) }
                    bytes.withUnsafeMutableBufferPointer { out in
                        guard let base = UnsafeMutableRawPointer(out.baseAddress) else { return }
                        if tailCount > 0 { (base + start + sourceLength).copyMemory(from: base + tailStart, byteCount: tailCount) }
                        if sourceLength > 0 { (base + start).copyMemory(from: bb.baseAddress! + sourceStart, byteCount: sourceLength) }
                    }
                    if sourceLength < length { bytes.removeLast(length - sourceLength) }
                    let shift = UInt32(truncatingIfNeeded: sourceLength &- length)
                    offsets.withUnsafeMutableBufferPointer { o in
                        for r in (t + 1)..<o.count { o[r] &+= shift }
                    }
                }
                if targets.deletes > 0 { closeUpText(&bytes, &offsets, targets) }
                guard targets.inserts > 0 else { return }
                offsets.reserveCapacity(offsets.count + targets.inserts)
                for u in 0..<targets.count where targets.rows[u] < 0 {
                    let sourceStart = Int(bo[u])
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bb[sourceStart..<Int(bo[u + 1])]))
                    offsets.append(UInt32(truncatingIfNeeded: bytes.count))
                }
            }
        }
    }

    /// Closes up the deleted rows of a text column: each kept row's bytes move down over the
    /// deleted bytes before them.
    private static func closeUpText(_ bytes: inout [UInt8], _ offsets: inout [UInt32], _ targets: Segment.UpsertTargets) {
        let first = Int(targets.deleted[0])
        var end = Int(offsets[first])
        bytes.withUnsafeMutableBufferPointer { b in
            offsets.withUnsafeMutableBufferPointer { o in
                let base = UnsafeMutableRawPointer(b.baseAddress)
                var written = first
                var next = 0
                for r in first..<(o.count - 1) {
                    if next < targets.deletes, r == Int(targets.deleted[next]) {
                        next += 1
                        continue
                    }
                    // Read row r's offsets before writing `o[written + 1]` (at most `o[r]`).
                    let start = Int(o[r])
                    let length = Int(o[r + 1]) - start
                    if length > 0, start != end { (base! + end).copyMemory(from: base! + start, byteCount: length) }
                    end += length
                    o[written + 1] = UInt32(truncatingIfNeeded: end)
                    written += 1
                }
            }
        }
        bytes.removeLast(bytes.count - end)
        offsets.removeLast(targets.deletes)
    }
}
