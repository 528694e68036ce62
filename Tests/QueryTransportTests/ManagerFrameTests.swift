import NIOCore
import QueryCore
import QuerySQL
import Testing

@testable import QueryTransport

@Suite("Query-manager frames")
struct ManagerFrameTests {
    static let schema = try! Schema([ColumnDefinition("host", .text), ColumnDefinition("memutil", .real, nullable: false)], key: ["host"])

    static let frames: [TransportFrame] = [
        .manage(id: 1, principal: "ops", .registerMetric(name: "MemUtilEvent", schema: schema, publishers: .anyone)),
        .manage(id: 2, principal: "ops", .registerMetric(name: "M", schema: schema, publishers: .only(["a", "b"]))),
        .manage(id: 3, principal: "ops", .unregisterMetric(name: "M")),
        .manage(id: 4, principal: "ops", .registerStatement(text: "select 1", kind: .snapshot, subscribers: .anyone)),
        .manage(id: 5, principal: "ops", .unregisterStatement(topic: "pq.1")),
        .manage(id: 6, principal: "ops", .list),
        .manage(
            id: 7, principal: "ops",
            .publish(stream: "M", events: [["host": "a", "memutil": 1.5], ["x": .null, "y": true, "z": 3]], time: .seconds(2))),
        .manage(id: 8, principal: "ops", .publish(stream: "M", events: [], time: nil)),
        .manage(id: 9, principal: "ops", .subscribe(topic: "pq.1", capacity: 16)),
        .manage(id: 10, principal: "ops", .subscribe(topic: "pq.1", capacity: nil)),
        .manage(id: 11, principal: "ops", .unsubscribe(subscription: 9)),
        .managed(id: 1, .success(.done)),
        .managed(id: 2, .success(.topic(TopicHandle(name: "pq.abc")))),
        .managed(id: 3, .success(.published(triggers: 4))),
        .managed(
            id: 4,
            .success(
                .listing(
                    ManagerListing(
                        metrics: [.init(name: "M", schema: schema)],
                        statements: [
                            .init(topic: TopicHandle(name: "pq.1"), text: "select 1", kind: .stream, owners: ["a", "b"], droppedTriggers: 3)
                        ])))),
        .managed(id: 5, .failure(QueryError(.syntaxError, "expected FROM", at: SourceLocation(line: 1, column: 13, offset: 12)))),
        .trigger(
            subscription: 9,
            Trigger(topic: "pq.1", kind: .raised, sequence: 7, time: .seconds(3), columns: ["a", "b"], rows: [[1, "x"], [.null, 2.5]])),
        .trigger(subscription: 9, Trigger(topic: "pq.1", kind: .cleared, sequence: 8, time: .seconds(4), columns: [], rows: [])),
        .subscriptionEnded(subscription: 9, reason: "topic unregistered"),
    ]

    static func bytes(_ frame: TransportFrame) -> [UInt8] {
        var buffer = ByteBuffer()
        frame.write(to: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test(arguments: frames.indices)
    func framesRoundTrip(_ index: Int) throws {
        let frame = Self.frames[index]
        var buffer = ByteBuffer(bytes: Self.bytes(frame))
        buffer.moveReaderIndex(forwardBy: 3)
        let kind: UInt8 = buffer.readInteger()!
        let length: UInt32 = buffer.readInteger()!
        #expect(Int(length) == buffer.readableBytes)
        let decoded = try TransportFrame.decode(kind: kind, body: &buffer)
        #expect(Self.bytes(decoded) == Self.bytes(frame))
        #expect(frame.encodedLength == Self.bytes(frame).count)
    }

    @Test(arguments: frames.indices)
    func everyTruncationIsATypedError(_ index: Int) {
        let encoded = Self.bytes(Self.frames[index])
        let kind = encoded[3]
        let body = Array(encoded[TransportFrame.headerLength...])
        for cut in 0..<body.count {
            var truncated = ByteBuffer(bytes: body[..<cut])
            #expect(throws: QueryError.self) { try TransportFrame.decode(kind: kind, body: &truncated) }
        }
    }
}
