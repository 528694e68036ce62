/// The wire form of a ``TableCopy``: its schema, then its body (see ``encodeBody(into:)``).
extension TableCopy: WireCodable {
    enum WireKind: UInt8 {
        case full = 0, delta = 1
    }

    public func encode(into writer: inout WireWriter) {
        schema.encode(into: &writer)
        encodeBody(into: &writer)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let schema = try Schema(from: &reader)
        try self.init(decodingBodyFrom: &reader, schema: schema)
    }

    /// Appends the copy without its schema: a kind byte (0 full, 1 delta), the version (varint), a
    /// delta's base (varint), then the rows (``Segment/encodeRows(into:)``) of the full segment, or
    /// of the upserts and then the deletes.
    public func encodeBody(into writer: inout WireWriter) {
        switch self {
        case .full(let version, let segment):
            writer.writeUInt8(WireKind.full.rawValue)
            writer.writeVarint(version)
            segment.encodeRows(into: &writer)
        case .delta(let base, let version, let upserts, let deletes):
            writer.writeUInt8(WireKind.delta.rawValue)
            writer.writeVarint(version)
            writer.writeVarint(base)
            upserts.encodeRows(into: &writer)
            deletes.encodeRows(into: &writer)
        }
    }

    /// Reads a copy written by ``encodeBody(into:)`` for a known `schema`.
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` for an unknown kind, a delta whose version is not
    ///   above its base, or malformed rows.
    public init(decodingBodyFrom reader: inout WireReader, schema: Schema) throws(QueryError) {
        try self.init(
            decodingBodyFrom: &reader,
            rows: Segment.DecodingContext(schema: schema),
            deletes: Segment.DecodingContext(schema: schema.deleteSchema)
        )
    }

    /// Reads a copy body with shared decoding contexts for the rows and the delete rows.
    init(
        decodingBodyFrom reader: inout WireReader,
        rows: Segment.DecodingContext,
        deletes: Segment.DecodingContext
    ) throws(QueryError) {
        let kindOffset = reader.position
        let kind = try reader.readUInt8("table copy kind")
        switch WireKind(rawValue: kind) {
        case .full:
            let version = try reader.readVarint("version")
            self = .full(version: version, segment: try Segment(decodingRowsFrom: &reader, context: rows))
        case .delta:
            let versionOffset = reader.position
            let version = try reader.readVarint("version")
            let base = try reader.readVarint("base version")
            guard version > base else {
                throw reader.error(
                    "delta to version \(version) from base \(base) does not move forward",
                    at: versionOffset
                )
            }
            let upserts = try Segment(decodingRowsFrom: &reader, context: rows)
            let deleted = try Segment(decodingRowsFrom: &reader, context: deletes)
            self = .delta(base: base, version: version, upserts: upserts, deletes: deleted)
        case nil:
            throw reader.error("unknown table copy kind \(kind)", at: kindOffset)
        }
    }
}
