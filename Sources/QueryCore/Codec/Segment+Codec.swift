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
        try self.init(decodingRowsFrom: &reader, context: DecodingContext(schema: schema))
    }

    /// What decoding many segments of one schema can share.
    struct DecodingContext {
        let schema: Schema
        let minimumRowBytes: Int
        let empty: Segment

        init(schema: Schema) {
            self.schema = schema
            minimumRowBytes = Segment.minimumWireBytesPerRow(schema)
            empty = .empty(schema)
        }
    }

    /// Reads rows written by ``encodeRows(into:)`` with a shared context.
    init(decodingRowsFrom reader: inout WireReader, context: DecodingContext) throws(QueryError) {
        let rowCount = try reader.readCount(
            minimumElementSize: context.minimumRowBytes,
            limit: Int(Int32.max) - 1,
            what: "row count"
        )
        guard rowCount > 0 else {
            self = context.empty
            return
        }
        var columns: [Column] = []
        columns.reserveCapacity(context.schema.count)
        for definition in context.schema.columns {
            columns.append(try Column(decodingBodyFrom: &reader, definition: definition, rowCount: rowCount))
        }
        self.init(unchecked: context.schema, columns: columns, rowCount: rowCount)
    }
}
