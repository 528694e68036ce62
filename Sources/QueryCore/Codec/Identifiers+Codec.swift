/// The wire form of a ``NodeID``: its name as a length-prefixed string (1–255 bytes).
extension NodeID: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeString(rawValue)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let start = reader.position
        let name = try reader.readString(limit: 255, "node id")
        do {
            try self.init(validating: name)
        } catch {
            throw reader.error(error.message, at: start)
        }
    }
}

/// The wire form of a ``TableName``: its name as a length-prefixed string, validated on decode.
extension TableName: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeString(rawValue)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let start = reader.position
        let name = try reader.readString(limit: 128, "table name")
        do {
            try self.init(validating: name)
        } catch {
            throw reader.error(error.message, at: start)
        }
    }
}

/// The wire form of an ``Instant``: nanoseconds since the epoch as a little-endian `Int64`.
extension Instant: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeInt64(nanosecondsSinceEpoch)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        self.init(nanosecondsSinceEpoch: try reader.readInt64("instant"))
    }
}

/// The wire form of a ``Generation``: its number as a varint, then its time.
extension Generation: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeVarint(number)
        time.encode(into: &writer)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let number = try reader.readVarint("generation number")
        self.init(number: number, time: try Instant(from: &reader))
    }
}
