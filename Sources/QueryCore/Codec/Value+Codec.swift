/// The wire form of a ``Value``: a tag byte, then the payload.
///
/// Tags: 0 null; 1 integer (8 bytes); 2 real (8-byte bit pattern); 3 text (varint length and UTF-8);
/// 4 false; 5 true.
extension Value: WireCodable {
    enum WireTag: UInt8 {
        case null = 0, integer = 1, real = 2, text = 3, falseBoolean = 4, trueBoolean = 5
    }

    public func encode(into writer: inout WireWriter) {
        switch self {
        case .null:
            writer.writeUInt8(WireTag.null.rawValue)
        case .integer(let i):
            writer.writeUInt8(WireTag.integer.rawValue)
            writer.writeInt64(i)
        case .real(let d):
            writer.writeUInt8(WireTag.real.rawValue)
            writer.writeDouble(d)
        case .text(let s):
            writer.writeUInt8(WireTag.text.rawValue)
            writer.writeString(s)
        case .boolean(let b):
            writer.writeUInt8(b ? WireTag.trueBoolean.rawValue : WireTag.falseBoolean.rawValue)
        }
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let start = reader.position
        let tag = try reader.readUInt8("value tag")
        switch WireTag(rawValue: tag) {
        case .null: self = .null
        case .integer: self = .integer(try reader.readInt64("integer value"))
        case .real: self = .real(try reader.readDouble("real value"))
        case .text: self = .text(try reader.readString("text value"))
        case .falseBoolean: self = .boolean(false)
        case .trueBoolean: self = .boolean(true)
        case nil: throw reader.error("unknown value tag \(tag)", at: start)
        }
    }
}
