/// The wire form of a ``Column`` whose definition and row count the reader already knows.
///
/// Layout: a flags byte (bit 0: a null bitmap follows; never set for ``ColumnType/any``), the
/// bitmap as `⌈rows / 64⌉` little-endian words, then the values:
/// - integer and real: one little-endian block of 8-byte values (reals by bit pattern);
/// - boolean: one byte per row, 0 or 1;
/// - text: the total byte count (varint), the end offset of each row (little-endian `UInt32`
///   block), then the UTF-8 bytes;
/// - any: one ``Value`` per row (nulls are `Value.null`).
///
/// Rows under a null must hold the placeholder (0, 0.0, false, empty text).
extension Column {
    /// The fewest bytes one row of a column of `type` takes on the wire.
    package static func minimumWireBytesPerRow(_ type: ColumnType) -> Int {
        switch type {
        case .integer, .real: 8
        case .text: 4
        case .boolean, .any: 1
        }
    }

    /// Appends the column's rows (there must be at least one).
    package func encodeBody(into writer: inout WireWriter) {
        if case .any(let values) = storage {
            writer.writeUInt8(0)
            for value in values { value.encode(into: &writer) }
            return
        }
        if let nulls {
            writer.writeUInt8(1)
            writer.writeUInt64Block(nulls.words)
        } else {
            writer.writeUInt8(0)
        }
        switch storage {
        case .integer(let values):
            writer.writeInt64Block(values)
        case .real(let values):
            writer.writeDoubleBlock(values)
        case .boolean(let values):
            values.withUnsafeBytes { writer.writeRaw($0) }
        case .text(let text):
            let start = Int(text.offsets[0])
            let end = Int(text.offsets[count])
            writer.writeCount(end - start)
            if start == 0 {
                writer.writeUInt32Block(text.offsets[1...])
            } else {
                for offset in text.offsets[1...] { writer.writeUInt32(offset - UInt32(start)) }
            }
            text.bytes.withUnsafeBytes { writer.writeRaw(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        case .any:
            break
        }
    }

    /// Reads `rowCount` rows (at least one) of a column defined by `definition`.
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` naming the column and byte for truncation, invalid
    ///   booleans, offsets or UTF-8, values under nulls that are not placeholders, or nulls in a
    ///   `NOT NULL` column.
    package init(
        decodingBodyFrom reader: inout WireReader,
        definition: ColumnDefinition,
        rowCount: Int
    ) throws(QueryError) {
        let name = definition.name
        let flagsOffset = reader.position
        let flags = try reader.readUInt8("flags of column '\(name)'")
        guard flags <= 1, !(flags == 1 && definition.type == .any) else {
            throw reader.error("invalid flags \(flags) for column '\(name)'", at: flagsOffset)
        }
        var nulls: NullBitmap?
        if flags == 1 {
            let bitmapOffset = reader.position
            let words = try reader.readUInt64Block(count: (rowCount + 63) / 64, "null bitmap of column '\(name)'")
            let bitmap = NullBitmap(words: words, count: rowCount)
            if bitmap.nullCount > 0 {
                guard definition.nullable else {
                    throw reader.error("NULL in NOT NULL column '\(name)'", at: bitmapOffset)
                }
                nulls = bitmap
            }
        }
        let valuesOffset = reader.position
        let storage: Storage
        switch definition.type {
        case .integer:
            let values = try reader.readInt64Block(count: rowCount, "values of column '\(name)'")
            if let nulls, let row = (0..<rowCount).first(where: { nulls.isNull($0) && values[$0] != 0 }) {
                throw reader.error("non-zero value under NULL in column '\(name)', row \(row + 1)", at: valuesOffset)
            }
            storage = .integer(values)
        case .real:
            let values = try reader.readDoubleBlock(count: rowCount, "values of column '\(name)'")
            if let nulls, let row = (0..<rowCount).first(where: { nulls.isNull($0) && values[$0].bitPattern != 0 }) {
                throw reader.error("non-zero value under NULL in column '\(name)', row \(row + 1)", at: valuesOffset)
            }
            storage = .real(values)
        case .boolean:
            let values = try reader.withRaw(count: rowCount, "values of column '\(name)'") {
                raw throws(QueryError) -> [Bool] in
                var values = [Bool]()
                values.reserveCapacity(rowCount)
                for (row, byte) in raw.enumerated() {
                    guard byte <= 1, byte == 0 || !(nulls?.isNull(row) ?? false) else {
                        throw QueryError(
                            .decodingFailed,
                            "invalid boolean \(byte) in column '\(name)', row \(row + 1) at byte \(valuesOffset + row)"
                        )
                    }
                    values.append(byte == 1)
                }
                return values
            }
            storage = .boolean(values)
        case .text:
            storage = .text(try Column.decodeText(from: &reader, name: name, rowCount: rowCount, nulls: nulls))
        case .any:
            var values: [Value] = []
            var words = [UInt64](repeating: 0, count: (rowCount + 63) / 64)
            var hasNull = false
            for row in 0..<rowCount {
                let offset = reader.position
                let value = try Value(from: &reader)
                if value.isNull {
                    guard definition.nullable else {
                        throw reader.error("NULL in NOT NULL column '\(name)'", at: offset)
                    }
                    words[row >> 6] |= 1 << UInt64(row & 63)
                    hasNull = true
                }
                values.append(value)
            }
            nulls = hasNull ? NullBitmap(words: words, count: rowCount) : nil
            storage = .any(values)
        }
        self.init(storage: storage, nulls: nulls, count: rowCount)
    }

    private static func decodeText(
        from reader: inout WireReader,
        name: String,
        rowCount: Int,
        nulls: NullBitmap?
    ) throws(QueryError) -> TextColumn {
        let total = try reader.readCount(
            minimumElementSize: 1,
            limit: TextColumn.maximumBytes,
            what: "text size of column '\(name)'"
        )
        let offsetsOffset = reader.position
        // The end offsets go straight into the offsets array, after its leading 0.
        let offsets = try reader.withRaw(count: rowCount * 4, "text offsets of column '\(name)'") { raw in
            [UInt32](unsafeUninitializedCapacity: rowCount + 1) { buffer, initialized in
                buffer[0] = 0
                UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[4..<(4 * (rowCount + 1))])
                    .copyMemory(from: raw)
                #if _endian(big)
                for i in 1...rowCount { buffer[i] = UInt32(littleEndian: buffer[i]) }
                #endif
                initialized = rowCount + 1
            }
        }
        let bytesOffset = reader.position
        let bytes = try reader.readRaw(count: total, "text of column '\(name)'")
        let problem: (row: Int, message: String)? = bytes.withUnsafeBufferPointer { utf8 in
            offsets.withUnsafeBufferPointer { offsets in
                var previous: UInt32 = 0
                for row in 0..<rowCount {
                    let end = offsets[row + 1]
                    guard end >= previous, Int(end) <= total else {
                        return (row, "text offset \(end) out of order or past \(total)")
                    }
                    if Int(end) < total, !UTF8Validation.isBoundary(utf8[Int(end)]) {
                        return (row, "text offset \(end) splits a UTF-8 sequence")
                    }
                    if end != previous, let nulls, nulls.isNull(row) {
                        return (row, "non-empty text under NULL")
                    }
                    previous = end
                }
                if Int(previous) != total { return (rowCount - 1, "text offsets end at \(previous), not \(total)") }
                return nil
            }
        }
        if let problem {
            throw reader.error(
                "\(problem.message) in column '\(name)', row \(problem.row + 1)",
                at: offsetsOffset + 4 * problem.row
            )
        }
        if let bad = bytes.withUnsafeBufferPointer(UTF8Validation.firstInvalidOffset) {
            throw reader.error("invalid UTF-8 in column '\(name)'", at: bytesOffset + bad)
        }
        return TextColumn(bytes: bytes, offsets: offsets)
    }
}
