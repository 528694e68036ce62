import NIOCore
import QueryCore
import QuerySQL

/// One frame of the TCP transport's connection protocol.
///
/// Wire layout (big-endian): an 8-byte header — magic `"QT"` (0x51 0x54), protocol version (1),
/// frame kind, body length (UInt32) — then the body. A role ``QueryCore/Message`` travels as the
/// body of a `.message` frame, encoded by QueryCore's versioned codec (which compresses large
/// bodies with zlib); the transport adds addressing (one connection carries the messages of every
/// node a process hosts), liveness and the client protocol.
///
/// Every connection starts with a `.hello` from each side. Peers then exchange `.message` and
/// `.ping` frames; clients send `.query` and receive `.answer`, and talk to the node's query
/// manager with `.manage` (answered by `.managed`); a subscription's triggers arrive as `.trigger`
/// frames under the subscribing request's id, and `.subscriptionEnded` closes it.
enum TransportFrame: Sendable {
    /// Who is on the other end of a new connection.
    case hello(Hello)
    /// A role message between two nodes; `payload` is the wire codec's encoding.
    case message(from: NodeID, to: NodeID, payload: ByteBuffer)
    /// Liveness: sent when a connection has been idle for the keepalive interval.
    case ping
    /// A client's query: `id` is chosen by the client and echoed in the answer.
    case query(id: UInt64, node: NodeID?, sql: String)
    /// The answer to a client's query.
    case answer(id: UInt64, ClientAnswer)
    /// A client's query-manager request, acting as `principal`.
    case manage(id: UInt64, principal: String, ManagerRequest)
    /// The answer to a `.manage` request.
    case managed(id: UInt64, Result<ManagerResponse, QueryError>)
    /// A trigger on the subscription made by the `.manage(.subscribe)` request `subscription`.
    case trigger(subscription: UInt64, Trigger)
    /// The subscription ended (its topic was unregistered, or the node is stopping).
    case subscriptionEnded(subscription: UInt64, reason: String)

    /// The first frame on every connection.
    struct Hello: Sendable, Hashable {
        /// What kind of party is connecting.
        enum Party: UInt8, Sendable {
            /// A process hosting collection-tree nodes.
            case peer = 1
            /// A query client (no nodes).
            case client = 2
        }

        /// What kind of party this is.
        var party: Party
        /// The nodes the sender hosts (empty for a client).
        var nodes: [NodeID]
    }

    enum Kind: UInt8 {
        case hello = 1, message = 2, ping = 3, query = 4, answer = 5, manage = 6, managed = 7, trigger = 8
        case subscriptionEnded = 9
    }

    /// `"QT"`.
    static let magic: UInt16 = 0x5154
    /// The connection protocol version this build speaks.
    static let version: UInt8 = 1
    /// Bytes before the body.
    static let headerLength = 8

    var kind: Kind {
        switch self {
        case .hello: .hello
        case .message: .message
        case .ping: .ping
        case .query: .query
        case .answer: .answer
        case .manage: .manage
        case .managed: .managed
        case .trigger: .trigger
        case .subscriptionEnded: .subscriptionEnded
        }
    }
}

extension TransportFrame {
    /// The frame's length on the wire (header and body), by encoding it.
    var encodedLength: Int {
        var probe = ByteBuffer()
        write(to: &probe)
        return probe.readableBytes
    }

    /// Writes the frame (header and body) to `buffer`.
    func write(to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(Self.magic)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt32(0))  // length, patched below
        let bodyStart = buffer.writerIndex
        switch self {
        case .hello(let hello):
            buffer.writeInteger(hello.party.rawValue)
            buffer.writeInteger(UInt32(hello.nodes.count))
            for node in hello.nodes { buffer.writeShortString(node.rawValue) }
        case .message(let from, let to, let payload):
            buffer.writeShortString(from.rawValue)
            buffer.writeShortString(to.rawValue)
            buffer.writeImmutableBuffer(payload)
        case .ping:
            break
        case .query(let id, let node, let sql):
            buffer.writeInteger(id)
            buffer.writeShortString(node?.rawValue ?? "")
            buffer.writeLongString(sql)
        case .answer(let id, let answer):
            buffer.writeInteger(id)
            answer.write(to: &buffer)
        case .manage(let id, let principal, let request):
            buffer.writeInteger(id)
            buffer.writeShortString(principal)
            request.write(to: &buffer)
        case .managed(let id, let response):
            buffer.writeInteger(id)
            response.write(to: &buffer)
        case .trigger(let subscription, let trigger):
            buffer.writeInteger(subscription)
            trigger.write(to: &buffer)
        case .subscriptionEnded(let subscription, let reason):
            buffer.writeInteger(subscription)
            buffer.writeLongString(reason)
        }
        let length = buffer.writerIndex - bodyStart
        buffer.setInteger(UInt32(truncatingIfNeeded: length), at: start + 4)
    }

    /// Decodes a frame body of `kind`.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.decodingFailed` naming what is malformed.
    static func decode(kind rawKind: UInt8, body: inout ByteBuffer) throws(QueryError) -> TransportFrame {
        guard let kind = Kind(rawValue: rawKind) else {
            throw QueryError(.decodingFailed, "unknown transport frame kind \(rawKind)")
        }
        let frame: TransportFrame
        switch kind {
        case .hello:
            let partyByte: UInt8 = try body.readChecked("hello.party")
            guard let party = Hello.Party(rawValue: partyByte) else {
                throw QueryError(.decodingFailed, "hello names unknown party \(partyByte)")
            }
            let count: UInt32 = try body.readChecked("hello.count")
            guard Int(count) <= body.readableBytes else {
                throw QueryError(.decodingFailed, "hello declares \(count) nodes in \(body.readableBytes) bytes")
            }
            var nodes: [NodeID] = []
            nodes.reserveCapacity(Int(count))
            for _ in 0..<count { nodes.append(try body.readNodeID("hello.node")) }
            frame = .hello(Hello(party: party, nodes: nodes))
        case .message:
            let from = try body.readNodeID("message.from")
            let to = try body.readNodeID("message.to")
            frame = .message(from: from, to: to, payload: body.readSlice(length: body.readableBytes)!)
        case .ping:
            frame = .ping
        case .query:
            let id: UInt64 = try body.readChecked("query.id")
            let node = try body.readShortString("query.node")
            let sql = try body.readLongString("query.sql")
            frame = .query(id: id, node: node.isEmpty ? nil : try NodeID(validating: node), sql: sql)
        case .answer:
            let id: UInt64 = try body.readChecked("answer.id")
            frame = .answer(id: id, try ClientAnswer.read(from: &body))
        case .manage:
            let id: UInt64 = try body.readChecked("manage.id")
            let principal = try body.readShortString("manage.principal")
            frame = .manage(id: id, principal: principal, try ManagerRequest.read(from: &body))
        case .managed:
            let id: UInt64 = try body.readChecked("managed.id")
            frame = .managed(id: id, try Result<ManagerResponse, QueryError>.read(from: &body))
        case .trigger:
            let subscription: UInt64 = try body.readChecked("trigger.subscription")
            frame = .trigger(subscription: subscription, try Trigger.read(from: &body))
        case .subscriptionEnded:
            let subscription: UInt64 = try body.readChecked("ended.subscription")
            frame = .subscriptionEnded(subscription: subscription, reason: try body.readLongString("ended.reason"))
        }
        guard body.readableBytes == 0 else {
            throw QueryError(.decodingFailed, "\(kind) frame has \(body.readableBytes) trailing bytes")
        }
        return frame
    }
}

extension ByteBuffer {
    /// Writes a string of at most 65,535 UTF-8 bytes with a UInt16 length (longer is truncated).
    mutating func writeShortString(_ string: String) {
        var utf8 = Array(string.utf8)
        if utf8.count > Int(UInt16.max) { utf8.removeLast(utf8.count - Int(UInt16.max)) }
        writeInteger(UInt16(utf8.count))
        writeBytes(utf8)
    }

    /// Writes a string with a UInt32 length.
    mutating func writeLongString(_ string: String) {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        let written = writeString(string)
        setInteger(UInt32(truncatingIfNeeded: written), at: lengthIndex)
    }

    /// Reads an integer or throws `.decodingFailed` naming `field`.
    mutating func readChecked<I: FixedWidthInteger>(_ field: String) throws(QueryError) -> I {
        guard let value: I = readInteger() else {
            throw QueryError(.decodingFailed, "frame ends inside \(field)")
        }
        return value
    }

    mutating func readShortString(_ field: String) throws(QueryError) -> String {
        let length: UInt16 = try readChecked(field)
        guard let string = readString(length: Int(length)) else {
            throw QueryError(.decodingFailed, "frame ends inside \(field) (\(length) bytes declared)")
        }
        return string
    }

    mutating func readLongString(_ field: String) throws(QueryError) -> String {
        let length: UInt32 = try readChecked(field)
        guard Int(length) <= readableBytes, let string = readString(length: Int(length)) else {
            throw QueryError(.decodingFailed, "frame ends inside \(field) (\(length) bytes declared)")
        }
        return string
    }

    mutating func readNodeID(_ field: String) throws(QueryError) -> NodeID {
        try NodeID(validating: try readShortString(field))
    }
}
