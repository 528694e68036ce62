/// The wire form of a ``TableUpdate``: table name, schema, entry count, then per entry the origin,
/// publish time and copy body (``TableCopy/encodeBody(into:)``).
extension TableUpdate: WireCodable {
    public func encode(into writer: inout WireWriter) {
        table.encode(into: &writer)
        schema.encode(into: &writer)
        writer.writeCount(entries.count)
        for entry in entries {
            entry.origin.encode(into: &writer)
            entry.publishedAt.encode(into: &writer)
            entry.copy.encodeBody(into: &writer)
        }
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let table = try TableName(from: &reader)
        let schema = try Schema(from: &reader)
        // An entry takes at least 2 (origin) + 8 (time) + 3 (kind, version, row count) bytes.
        let count = try reader.readCount(minimumElementSize: 13, what: "entry count")
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        let rows = Segment.DecodingContext(schema: schema)
        let deletes = Segment.DecodingContext(schema: schema.deleteSchema)
        for _ in 0..<count {
            let origin = try NodeID(from: &reader)
            let publishedAt = try Instant(from: &reader)
            let copy = try TableCopy(decodingBodyFrom: &reader, rows: rows, deletes: deletes)
            entries.append(Entry(origin: origin, publishedAt: publishedAt, copy: copy))
        }
        self.init(unchecked: table, schema: schema, entries: entries)
    }
}
