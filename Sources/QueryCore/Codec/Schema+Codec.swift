/// The wire form of a ``Schema``: the columns (name, type, nullability), then the key columns'
/// indices. Decoding validates the schema as ``Schema/init(_:key:)-([ColumnDefinition],_)`` does.
extension Schema: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeCount(columns.count)
        for column in columns {
            writer.writeString(column.name)
            writer.writeUInt8(column.type.rawValue)
            writer.writeBool(column.nullable)
        }
        writer.writeCount(keyColumns.count)
        for index in keyColumns { writer.writeCount(index) }
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let start = reader.position
        // Each column takes at least 4 bytes: name length, one name byte, type, nullability.
        let count = try reader.readCount(minimumElementSize: 4, limit: Schema.maximumColumns, what: "column count")
        var columns: [ColumnDefinition] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.readString(limit: 255, "column name")
            let typeOffset = reader.position
            let typeByte = try reader.readUInt8("column type")
            guard let type = ColumnType(rawValue: typeByte) else {
                throw reader.error("unknown column type \(typeByte)", at: typeOffset)
            }
            let nullable = try reader.readBool("column nullability")
            columns.append(ColumnDefinition(name, type, nullable: nullable))
        }
        let keyCount = try reader.readCount(minimumElementSize: 1, limit: count, what: "key column count")
        var key: [String] = []
        for _ in 0..<keyCount {
            let offset = reader.position
            let index = try reader.readCount(minimumElementSize: 0, limit: count - 1, what: "key column index")
            guard index < count else { throw reader.error("key column index \(index) out of range", at: offset) }
            key.append(columns[index].name)
        }
        do {
            try self.init(columns, key: key)
        } catch {
            throw reader.error("invalid schema (\(error.message))", at: start)
        }
    }
}
