/// The column-level writes of ``Segment/gatherInPlace(_:other:)``: only the positions whose row
/// changes are read, compared and written, type by type, in the column's own buffers.
///
/// A delta of one or two changed rows against a few dozen held rows touches one or two positions
/// of each column: a column whose values there are identical is left alone (not moved, not
/// retained, not written), and one that changes has just those cells overwritten. Rows move only
/// when a row is deleted (the rows after it close up) or a text value changes length (the bytes
/// after it shift).
extension Column {
    /// The positions an in-place gather writes, shared by all columns of a segment.
    struct InPlaceMoves {
        /// The picks (see ``Column/pickFirst(_:)``), which satisfy
        /// ``Segment/canGatherInPlace(_:rowCount:)``.
        let picks: UnsafeBufferPointer<Int32>
        /// The positions `k` (increasing) whose pick is not `k`: every position written.
        let moved: UnsafeBufferPointer<Int32>
        /// The rows held before the gather.
        let old: Int

        /// The rows after the gather.
        @inline(__always) var count: Int { picks.count }
        /// The first position written (`count` if none).
        @inline(__always) var first: Int { moved.isEmpty ? count : Int(moved[0]) }
    }

    /// Whether gathering `moves` from `column` and `second` (a column of the same type) leaves
    /// `column`'s values as they are: as many rows, and every written value identical (in the
    /// sense of ``RowIdentity``) to the one it replaces.
    static func movesKeepValues(_ column: Column, _ moves: InPlaceMoves, _ second: Column) -> Bool {
        guard moves.count == moves.old else { return false }
        let picks = moves.picks
        if column.nulls != nil || second.nulls != nil {
            for m in moves.moved {
                let k = Int(m)
                let p = Int(picks[k])
                let wasNull = column.isNull(k)
                let isNull = p >= 0 ? column.isNull(p) : second.isNull(~p)
                if wasNull != isNull { return false }
            }
        }
        // Compared under nulls too: the placeholder under a null is the same everywhere, and a
        // differing placeholder would only make the column be rewritten.
        switch column.storage {
        case .integer(let a):
            guard case .integer(let b) = second.storage else { return false }
            return arrayKeepsValues(a, moves, b) { $0 == $1 }
        case .real(let a):
            guard case .real(let b) = second.storage else { return false }
            return arrayKeepsValues(a, moves, b) { $0.bitPattern == $1.bitPattern }
        case .boolean(let a):
            guard case .boolean(let b) = second.storage else { return false }
            return arrayKeepsValues(a, moves, b) { $0 == $1 }
        case .any(let a):
            guard case .any(let b) = second.storage else { return false }
            return arrayKeepsValues(a, moves, b) { RowIdentity.identical($0, $1) }
        case .text(let a):
            guard case .text(let b) = second.storage else { return false }
            return textKeepsValues(a, moves, b)
        }
    }

    @inline(__always)
    private static func arrayKeepsValues<T>(
        _ a: [T],
        _ moves: InPlaceMoves,
        _ b: [T],
        _ same: (T, T) -> Bool
    ) -> Bool {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for m in moves.moved {
                    let k = Int(m)
                    let p = Int(moves.picks[k])
                    if !same(a[k], p >= 0 ? a[p] : b[~p]) { return false }
                }
                return true
            }
        }
    }

    private static func textKeepsValues(_ a: TextColumn, _ moves: InPlaceMoves, _ b: TextColumn) -> Bool {
        a.bytes.withUnsafeBufferPointer { ab in
            a.offsets.withUnsafeBufferPointer { ao in
                b.bytes.withUnsafeBufferPointer { bb in
                    b.offsets.withUnsafeBufferPointer { bo in
                        for m in moves.moved {
                            let k = Int(m)
                            let p = Int(moves.picks[k])
                            let (source, sourceOffsets, row) = p >= 0 ? (ab, ao, p) : (bb, bo, ~p)
                            let start = Int(ao[k])
                            let length = Int(ao[k + 1]) - start
                            let sourceStart = Int(sourceOffsets[row])
                            guard Int(sourceOffsets[row + 1]) - sourceStart == length else { return false }
                            if length > 0,
                                !RowIdentity.bytesEqual(ab.baseAddress! + start, source.baseAddress! + sourceStart, length)
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

    /// Replaces `column` by ``gathering(_:from:_:)`` of `moves.picks` from `column` and `second`
    /// (a column of the same type; an empty one if no pick is negative), writing only the moved
    /// positions into its buffers, which are copied first only if someone else holds them.
    static func gatherInPlace(_ column: inout Column, _ moves: InPlaceMoves, _ second: Column) {
        let count = moves.count
        let nulls = column.nulls != nil || second.nulls != nil ? movedNulls(column, moves, second) : nil
        // Each case takes the payload and lets go of the column's reference (an empty stand-in
        // takes its place) before writing, so the payload's buffers are held once (when nobody
        // else holds them) and written in place.
        switch column.storage {
        case .integer(var a):
            column = Column(written: .boolean([]), nulls: nil, count: 0)
            if case .integer(let b) = second.storage {
                moveArray(&a, moves, b)
            } else {
                moveArray(&a, moves, [])
            }
            column = Column(written: .integer(a), nulls: nulls, count: count)
        case .real(var a):
            column = Column(written: .boolean([]), nulls: nil, count: 0)
            if case .real(let b) = second.storage {
                moveArray(&a, moves, b)
            } else {
                moveArray(&a, moves, [])
            }
            column = Column(written: .real(a), nulls: nulls, count: count)
        case .boolean(var a):
            column = Column(written: .boolean([]), nulls: nil, count: 0)
            if case .boolean(let b) = second.storage {
                moveArray(&a, moves, b)
            } else {
                moveArray(&a, moves, [])
            }
            column = Column(written: .boolean(a), nulls: nulls, count: count)
        case .any(var a):
            column = Column(written: .boolean([]), nulls: nil, count: 0)
            if case .any(let b) = second.storage {
                moveArray(&a, moves, b)
            } else {
                moveArray(&a, moves, [])
            }
            column = Column(written: .any(a), nulls: nulls, count: count)
        case .text(let text):
            var bytes = text.bytes
            var offsets = text.offsets
            _ = consume text
            column = Column(written: .boolean([]), nulls: nil, count: 0)
            if case .text(let b) = second.storage {
                moveText(&bytes, &offsets, moves, b)
            } else {
                moveText(&bytes, &offsets, moves, placeholderText)
            }
            column = Column(written: .text(TextColumn(bytes: bytes, offsets: offsets)), nulls: nulls, count: count)
        }
    }

    /// A column from parts whose `nulls` is `nil` when no row is null (as ``movedNulls(_:_:_:)``
    /// returns it), so the bitmap needs no second look.
    init(written storage: Storage, nulls: NullBitmap?, count: Int) {
        self.storage = storage
        self.nulls = nulls
        self.count = count
    }

    /// An empty text column for a gather that reads no second source.
    private static let placeholderText = TextColumn()

    /// The null bitmap after the gather: the held bits with the moved positions rewritten.
    private static func movedNulls(_ column: Column, _ moves: InPlaceMoves, _ second: Column) -> NullBitmap? {
        let count = moves.count
        var words = column.nulls?.words ?? []
        let needed = (max(count, moves.old) + 63) / 64
        if words.count < needed { words.append(contentsOf: repeatElement(0, count: needed - words.count)) }
        words.withUnsafeMutableBufferPointer { words in
            // Increasing positions, each reading a position at or after it: nothing is read after
            // it was written.
            for m in moves.moved {
                let k = Int(m)
                let p = Int(moves.picks[k])
                let isNull: Bool
                if p >= 0 {
                    isNull = words[p >> 6] & (1 << UInt64(p & 63)) != 0
                } else {
                    isNull = second.isNull(~p)
                }
                let bit: UInt64 = 1 << UInt64(k & 63)
                if isNull { words[k >> 6] |= bit } else { words[k >> 6] &= ~bit }
            }
        }
        let kept = (count + 63) / 64
        if words.count > kept { words.removeLast(words.count - kept) }
        let bitmap = NullBitmap(words: words, count: count)
        return bitmap.nullCount == 0 ? nil : bitmap
    }

    /// The gather for one fixed-width array: the moved positions are written in increasing order
    /// (each reads a held row at or after it, or a row of `b`), then the rows past the end are
    /// dropped or appended.
    @inline(__always)
    private static func moveArray<T>(_ a: inout [T], _ moves: InPlaceMoves, _ b: [T]) {
        let old = moves.old
        let count = moves.count
        let picks = moves.picks
        let moved = moves.moved
        b.withUnsafeBufferPointer { b in
            var i = 0
            if !moved.isEmpty, Int(moved[0]) < old {
                a.withUnsafeMutableBufferPointer { out in
                    while i < moved.count {
                        let k = Int(moved[i])
                        if k >= old { break }
                        let p = Int(picks[k])
                        out[k] = p >= 0 ? out[p] : b[~p]
                        i += 1
                    }
                }
            }
            if count < old {
                a.removeLast(old - count)
            } else if count > old {
                // The remaining moved positions are past the held rows: they pick rows of `b` (a
                // held row's pick is at or after its position, so below `old`).
                a.reserveCapacity(count)
                while i < moved.count {
                    a.append(b[Int(~picks[Int(moved[i])])])
                    i += 1
                }
            }
        }
    }

    /// The gather for a text column's bytes and offsets.
    ///
    /// When every written value has the byte length of the one it replaces (and the row count
    /// stays), the bytes are overwritten where they are; otherwise the rows from the first moved
    /// position on are rewritten, the held ones read from a copy of that tail.
    private static func moveText(
        _ bytes: inout [UInt8],
        _ offsets: inout [UInt32],
        _ moves: InPlaceMoves,
        _ b: TextColumn
    ) {
        let old = moves.old
        let count = moves.count
        let picks = moves.picks
        let first = moves.first
        b.bytes.withUnsafeBufferPointer { bb in
            b.offsets.withUnsafeBufferPointer { bo in
                if count == old, sameLengths(offsets, moves, bo) {
                    bytes.withUnsafeMutableBufferPointer { out in
                        // Same layout: each row's bytes stay at its offsets; a held row read at
                        // p > k has not been written yet.
                        for m in moves.moved {
                            let k = Int(m)
                            let p = Int(picks[k])
                            let (start, length): (Int, Int)
                            let source: UnsafePointer<UInt8>?
                            if p >= 0 {
                                start = Int(offsets[p])
                                length = Int(offsets[p + 1]) - start
                                source = UnsafePointer(out.baseAddress)
                            } else {
                                start = Int(bo[~p])
                                length = Int(bo[~p + 1]) - start
                                source = bb.baseAddress
                            }
                            if length > 0 {
                                (out.baseAddress! + Int(offsets[k])).update(from: source! + start, count: length)
                            }
                        }
                    }
                    return
                }
                // The new lengths from `first` on, and the bytes they need.
                let tailStart = Int(offsets[first])
                let tailBytes = bytes.count - tailStart
                var total = tailStart
                for k in first..<count {
                    let p = Int(picks[k])
                    total += p >= 0 ? Int(offsets[p + 1] &- offsets[p]) : Int(bo[~p + 1] &- bo[~p])
                }
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(tailBytes, 1)) { tail in
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: old - first + 1) { tailOffsets in
                        bytes.withUnsafeBufferPointer { held in
                            if tailBytes > 0 {
                                (tail.baseAddress!).initialize(from: held.baseAddress! + tailStart, count: tailBytes)
                            }
                        }
                        offsets.withUnsafeBufferPointer { o in
                            for r in 0...(old - first) { tailOffsets[r] = o[first + r] &- UInt32(tailStart) }
                        }
                        if total < bytes.count {
                            bytes.removeLast(bytes.count - total)
                        } else if total > bytes.count {
                            bytes.append(contentsOf: repeatElement(0, count: total - bytes.count))
                        }
                        if count + 1 < offsets.count {
                            offsets.removeLast(offsets.count - count - 1)
                        } else if count + 1 > offsets.count {
                            offsets.append(contentsOf: repeatElement(0, count: count + 1 - offsets.count))
                        }
                        bytes.withUnsafeMutableBufferPointer { out in
                            offsets.withUnsafeMutableBufferPointer { outOffsets in
                                var end = tailStart
                                for k in first..<count {
                                    let p = Int(picks[k])
                                    let source: UnsafePointer<UInt8>
                                    let start: Int
                                    let length: Int
                                    if p >= 0 {
                                        start = Int(tailOffsets[p - first])
                                        length = Int(tailOffsets[p - first + 1]) - start
                                        source = UnsafePointer(tail.baseAddress!)
                                    } else {
                                        start = Int(bo[~p])
                                        length = Int(bo[~p + 1]) - start
                                        source = bb.baseAddress ?? UnsafePointer(tail.baseAddress!)
                                    }
                                    if length > 0 {
                                        (out.baseAddress! + end).update(from: source + start, count: length)
                                    }
                                    end += length
                                    outOffsets[k + 1] = UInt32(truncatingIfNeeded: end)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether every moved position (with as many rows after as before) gets a value of the byte
    /// length it holds, so the byte layout stays.
    private static func sameLengths(
        _ offsets: [UInt32],
        _ moves: InPlaceMoves,
        _ bo: UnsafeBufferPointer<UInt32>
    ) -> Bool {
        offsets.withUnsafeBufferPointer { o in
            for m in moves.moved {
                let k = Int(m)
                let p = Int(moves.picks[k])
                let length = o[k + 1] &- o[k]
                if p >= 0 {
                    if o[p + 1] &- o[p] != length { return false }
                } else if bo[~p + 1] &- bo[~p] != length {
                    return false
                }
            }
            return true
        }
    }
}
