import NIOCore
import NIOEmbedded
import NIOTestUtils
import QueryCore
import Testing

@testable import QueryTransport

extension TransportFrame: Equatable {
    /// Frames are equal when they encode to the same bytes (tests only).
    public static func == (lhs: TransportFrame, rhs: TransportFrame) -> Bool {
        var left = ByteBuffer()
        var right = ByteBuffer()
        lhs.write(to: &left)
        rhs.write(to: &right)
        return left == right
    }
}

@Suite("Transport framing")
struct FramingTests {
    static let frames: [TransportFrame] = [
        .hello(.init(party: .peer, nodes: ["edge:c1.m1", "edge:c1.m2"])),
        .hello(.init(party: .client, nodes: [])),
        .ping,
        .message(from: "tla:1", to: "sql:1", payload: ByteBuffer(bytes: [1, 2, 3, 4, 5])),
        .query(id: 7, node: nil, sql: "SELECT 1"),
        .query(id: 8, node: "sql:2", sql: "SELECT 'ü' FROM t"),
        .answer(id: 7, .failure(QueryError(.unknownColumn, "unknown column 'rs'", at: SourceLocation(line: 1, column: 8, offset: 7)))),
        .answer(
            id: 9,
            .success(
                QueryAnswer(
                    result: QueryResult(
                        columns: ["a", "b"], rows: [[.integer(1), .text("x")], [.null, .real(2.5)], [.boolean(true), .integer(-3)]]),
                    generation: Generation(number: 4, time: .seconds(12)),
                    completeness: Completeness(
                        oldestPublish: .seconds(10), newestPublish: .seconds(11),
                        tables: [
                            .init(
                                table: "processes", machinesContributing: 3, machinesKnown: 4, clustersContributing: 1,
                                clustersKnown: 1, dropped: ["edge:c1.m4": .seconds(3)])
                        ])))),
    ]

    static func bytes(_ frames: [TransportFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(to: &buffer) }
        return buffer
    }

    @Test func verifierOneByteAtATimeAndAllAtOnce() throws {
        let pairs = Self.frames.map { (Self.bytes([$0]), [$0]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            TransportFrameDecoder(maximumFrameLength: 1 << 20)
        }
    }

    @Test func partialFramesWaitForTheRest() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(TransportFrameDecoder(maximumFrameLength: 1 << 20)))
        var all = Self.bytes([Self.frames[3]])
        let head = all.readSlice(length: 5)!
        try channel.writeInbound(head)
        #expect(try channel.readInbound(as: TransportFrame.self) == nil)
        let middle = all.readSlice(length: 6)!
        try channel.writeInbound(middle)
        #expect(try channel.readInbound(as: TransportFrame.self) == nil)
        try channel.writeInbound(all)
        #expect(try channel.readInbound(as: TransportFrame.self) == Self.frames[3])
        #expect(try channel.finish().isClean)
    }

    @Test func twoFramesInOneRead() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(TransportFrameDecoder(maximumFrameLength: 1 << 20)))
        try channel.writeInbound(Self.bytes([Self.frames[4], Self.frames[6]]))
        #expect(try channel.readInbound(as: TransportFrame.self) == Self.frames[4])
        #expect(try channel.readInbound(as: TransportFrame.self) == Self.frames[6])
        #expect(try channel.readInbound(as: TransportFrame.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func oversizedLengthIsRejectedFromTheHeaderAlone() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(TransportFrameDecoder(maximumFrameLength: 1024)))
        var header = ByteBuffer()
        header.writeInteger(TransportFrame.magic)
        header.writeInteger(TransportFrame.version)
        header.writeInteger(UInt8(2))
        header.writeInteger(UInt32(1025))
        // Only the 8 header bytes are sent: the decoder must refuse without waiting for the body.
        #expect {
            try channel.writeInbound(header)
        } throws: { error in
            (error as? QueryError)?.code == .limitExceeded
        }
        _ = try? channel.finish()
    }

    @Test(arguments: [
        [UInt8]("GET / HTTP/1.1\r\n".utf8),
        [0x51, 0x54, 9, 1, 0, 0, 0, 0],  // unknown version
        [0x51, 0x54, 1, 99, 0, 0, 0, 0],  // unknown kind
        [0x51, 0x54, 1, 3, 0, 0, 0, 1, 0],  // ping with a trailing byte
        [0x51, 0x54, 1, 1, 0, 0, 0, 5, 1, 0, 0, 0, 9],  // hello declaring 9 nodes in 0 bytes
        [0x51, 0x54, 1, 2, 0, 0, 0, 3, 0, 9, 65],  // message with a truncated node id
    ])
    func garbageIsAnError(bytes: [UInt8]) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(TransportFrameDecoder(maximumFrameLength: 1 << 20)))
        #expect(throws: QueryError.self) {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        }
        _ = try? channel.finish()
    }

    @Test func seededRandomGarbageNeverTraps() throws {
        var generator = SplitMix64(seed: 0x5eed)
        for round in 0..<500 {
            var bytes = Self.bytes([Self.frames[round % Self.frames.count]])
            // Flip a few bytes of a valid frame.
            for _ in 0..<3 {
                let index = Int.random(in: 0..<bytes.readableBytes, using: &generator)
                bytes.setInteger(UInt8.random(in: 0...255, using: &generator), at: bytes.readerIndex + index)
            }
            let channel = EmbeddedChannel(
                handler: ByteToMessageHandler(TransportFrameDecoder(maximumFrameLength: 1 << 20)))
            do {
                try channel.writeInbound(bytes)
                while try channel.readInbound(as: TransportFrame.self) != nil {}
            } catch is QueryError {
                // Expected for most corruptions; any other error type is a bug.
            } catch {
                Issue.record("round \(round) (seed 0x5eed): unexpected error \(error)")
            }
            _ = try? channel.finish()
        }
    }

    @Test func keepaliveSendsPingsAndClosesSilentConnections() throws {
        let channel = EmbeddedChannel()
        try TransportPipeline.configure(
            channel.pipeline.syncOperations, maximumFrameLength: 1 << 20, keepaliveInterval: .seconds(1),
            idleTimeout: .seconds(3), metrics: nil)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let ping = try channel.readOutbound(as: ByteBuffer.self)
        #expect(ping == Self.bytes([.ping]))
        // An inbound ping keeps the connection alive and is not passed on.
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1500))
        try channel.writeInbound(Self.bytes([.ping]))
        #expect(try channel.readInbound(as: TransportFrame.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(channel.isActive)
        // Silence past the idle timeout closes the channel with a timeout error.
        var failure: (any Error)?
        do {
            channel.embeddedEventLoop.advanceTime(by: .seconds(4))
            try channel.throwIfErrorCaught()
        } catch {
            failure = error
        }
        #expect((failure as? QueryError)?.code == .timeout)
        #expect(!channel.isActive)
    }
}

/// A small seeded generator (SplitMix64) so failures replay.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
