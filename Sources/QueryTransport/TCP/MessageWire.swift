import NIOCore
import QueryCore

/// The bridge from role messages to `.message` frame payloads: QueryCore's versioned codec
/// (``QueryCore/Frame``: magic, version, type, zlib for large bodies, limits checked before
/// inflating).
enum MessageWire {
    /// Encodes `message` as one wire-codec frame.
    static func encode(_ message: Message, configuration: Frame.Configuration = .default) throws(QueryError) -> ByteBuffer {
        ByteBuffer(bytes: message.encode(configuration: configuration))
    }

    /// Decodes the one wire-codec frame in `payload`.
    ///
    /// - Throws: ``QueryCore/QueryError`` from the codec (malformed, oversized, corrupt zlib).
    static func decode(_ payload: ByteBuffer, configuration: Frame.Configuration = .default) throws(QueryError) -> Message {
        let bytes = Array(payload.readableBytesView)
        return try Message.decode(bytes, configuration: configuration)
    }
}
