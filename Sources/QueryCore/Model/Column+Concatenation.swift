/// Concatenating columns of one type, array by array.
extension Column {
    /// The rows of `columns` one after another; every column must have type `type`.
    ///
    /// - Throws: ``QueryError`` `.limitExceeded` if a text column would exceed 4 GiB.
    /// - Complexity: O(total rows + total text bytes), with one allocation per array.
    static func concatenating(_ columns: [Column], type: ColumnType) throws(QueryError) -> Column {
        let total = columns.reduce(0) { $0 + $1.count }
        var nulls: NullBitmap?
        if columns.contains(where: { $0.nulls != nil }) {
            var words = [UInt64](repeating: 0, count: (total + 63) / 64)
            var base = 0
            for column in columns {
                if let columnNulls = column.nulls {
                    for row in 0..<column.count where columnNulls.isNull(row) {
                        let k = base + row
                        words[k >> 6] |= 1 << UInt64(k & 63)
                    }
                }
                base += column.count
            }
            nulls = NullBitmap(words: words, count: total)
        }
        let storage: Storage
        switch type {
        case .integer:
            var values = [Int64]()
            values.reserveCapacity(total)
            for column in columns { if case .integer(let v) = column.storage { values.append(contentsOf: v) } }
            storage = .integer(values)
        case .real:
            var values = [Double]()
            values.reserveCapacity(total)
            for column in columns { if case .real(let v) = column.storage { values.append(contentsOf: v) } }
            storage = .real(values)
        case .boolean:
            var values = [Bool]()
            values.reserveCapacity(total)
            for column in columns { if case .boolean(let v) = column.storage { values.append(contentsOf: v) } }
            storage = .boolean(values)
        case .any:
            var values = [Value]()
            values.reserveCapacity(total)
            for column in columns { if case .any(let v) = column.storage { values.append(contentsOf: v) } }
            storage = .any(values)
        case .text:
            var byteCount = 0
            for column in columns {
                if case .text(let t) = column.storage { byteCount += Int(t.offsets[t.count] - t.offsets[0]) }
            }
            guard byteCount <= TextColumn.maximumBytes else {
                throw QueryError(.limitExceeded, "concatenated text column of \(byteCount) bytes is larger than 4 GiB")
            }
            var bytes = [UInt8]()
            bytes.reserveCapacity(byteCount)
            var offsets = [UInt32]()
            offsets.reserveCapacity(total + 1)
            offsets.append(0)
            for column in columns {
                guard case .text(let t) = column.storage else { continue }
                let first = t.offsets[0]
                let base = UInt32(truncatingIfNeeded: bytes.count)
                bytes.append(contentsOf: t.bytes[Int(first)..<Int(t.offsets[t.count])])
                for offset in t.offsets.dropFirst() { offsets.append(base &+ (offset &- first)) }
            }
            storage = .text(TextColumn(bytes: bytes, offsets: offsets))
        }
        return Column(storage: storage, nulls: nulls, count: total)
    }
}
