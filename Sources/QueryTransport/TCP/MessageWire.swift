import NIOCore
import QueryCore

/// The bridge from role messages to `.message` frame payloads.
// TEMPORARY until QueryCore's codec (core branch) is merged: heartbeat only.
enum MessageWire {
    static func encode(_ message: Message) throws(QueryError) -> ByteBuffer {
        switch message {
        case .heartbeat(let heartbeat):
            var buffer = ByteBuffer()
            buffer.writeInteger(heartbeat.generation)
            return buffer
        }
    }

    static func decode(_ payload: ByteBuffer) throws(QueryError) -> Message {
        var payload = payload
        let generation: UInt64 = try payload.readChecked("heartbeat")
        return .heartbeat(Heartbeat(generation: generation))
    }
}
