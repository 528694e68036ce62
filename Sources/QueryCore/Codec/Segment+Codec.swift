/// The wire form of a ``Segment``: its schema, then its rows (see ``encodeRows(into:)``).
extension Segment: WireCodable {
    public func encode(into writer: inout WireWriter) {
        schema.encode(into: &writer)
        encodeRows(into: &writer)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let schema = try Schema(from: &reader)
        try self.init(decodingRowsFrom: &reader, schema: schema)
    }

    /// The fewest bytes one row of `schema` takes on the wire.
    package static func minimumWireBytesPerRow(_ schema: Schema) -> Int {
        schema.columns.reduce(0) { $0 + Column.minimumWireBytesPerRow($1.type) }
    }

    /// Appends the rows without the schema: the row count (varint), then each column's rows (see
    /// ``Column``'s wire form) unless there are none.
    ///
    /// Use this with ``init(decodingRowsFrom:schema:)`` when the schema travels once for many
    /// segments.
    public func encodeRows(into writer: inout WireWriter) {
        writer.writeCount(rowCount)
        guard rowCount > 0 else { return }
        for column in columns { column.encodeBody(into: &writer) }
    }

    /// Reads rows written by ``encodeRows(into:)`` for a known `schema`.
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` naming the column and byte of the first problem;
    ///   the row count is checked against the remaining bytes before anything is allocated.
    public init(decodingRowsFrom reader: inout WireReader, schema: Schema) throws(QueryError) {
        let rowCount = try reader.readCount(
            minimumElementSize: Segment.minimumWireBytesPerRow(schema), limit: Int(Int32.max) - 1, what: "row count")
        guard rowCount > 0 else {
            self = .empty(schema)
            return
        }
        var columns: [Column] = []
        columns.reserveCapacity(schema.count)
        for definition in schema.columns {
            columns.append(try Column(decodingBodyFrom: &reader, definition: definition, rowCount: rowCount))
        }
        self.init(unchecked: schema, columns: columns, rowCount: rowCount)
    }
}
