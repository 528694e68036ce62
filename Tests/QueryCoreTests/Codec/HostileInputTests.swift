import Testing

@testable import QueryCore

@Suite struct HostileInputTests {
    /// Frames of every kind worth breaking.
    func sampleFrames() throws -> [[UInt8]] {
        var rng = SeededRandom(seed: 42)
        var frames: [[UInt8]] = []
        frames.append(Message.heartbeat(Heartbeat(generation: 300)).encode())
        for threshold in [0, Int.max] {
            let configuration = Frame.Configuration(compressionThreshold: threshold)
            for _ in 0..<3 {
                let schema = RandomData.schema(using: &rng)
                let a = RandomData.segment(schema, maxRows: 10, using: &rng)
                let b = RandomData.edit(a, using: &rng)
                let update = try TableUpdate(
                    table: "t",
                    schema: schema,
                    entries: [
                        .init(origin: "o1", publishedAt: .zero, copy: try TableCopy.make(from: (1, a), to: (2, b))),
                        .init(origin: "o2", publishedAt: .zero, copy: .full(version: 1, segment: b)),
                    ]
                )
                frames.append(Frame(messageType: 77, body: update.wireBytes()).encoded(configuration: configuration))
            }
        }
        return frames
    }

    /// Decodes a frame holding a TableUpdate body (or a message), as a receiver would.
    func decodeAnything(_ bytes: [UInt8]) throws(QueryError) {
        let frame = try Frame.decode(bytes)
        if frame.messageType == 77 {
            _ = try TableUpdate(wireBytes: frame.body)
        } else {
            _ = try Message(frame: frame)
        }
    }

    @Test func everyTruncationFails() throws {
        for frame in try sampleFrames() {
            for length in 0..<frame.count {
                let error = expectError(.decodingFailed, "length \(length) of \(frame.count)") {
                    try decodeAnything(Array(frame.prefix(length)))
                }
                #expect(error?.message.contains("at byte") == true)
            }
            // And the whole frame decodes.
            try decodeAnything(frame)
        }
    }

    @Test func everyTruncatedBodyFails() throws {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<20 {
            let schema = RandomData.schema(using: &rng)
            let segment = RandomData.segment(schema, maxRows: 10, using: &rng)
            let bytes = segment.wireBytes()
            for length in 0..<bytes.count {
                expectError(.decodingFailed) { try Segment(wireBytes: Array(bytes.prefix(length))) }
            }
            expectError(.decodingFailed) { try Segment(wireBytes: bytes + [0]) }
        }
    }

    @Test func randomBytesAndBitFlipsNeverCrash() throws {
        let frames = try sampleFrames()
        for seed in testSeeds(300, salt: 30) {
            var rng = SeededRandom(seed: seed)
            // Pure noise, with and without a valid header in front.
            let noise = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(throws: QueryError.self, replay(seed)) { try decodeAnything(noise) }
            #expect(throws: QueryError.self, replay(seed)) { try Segment(wireBytes: noise) }
            #expect(throws: QueryError.self, replay(seed)) { try TableCopy(wireBytes: noise) }
            // Flip bytes of a valid frame: an error or a valid decode, never a crash.
            var frame = rng.pick(frames)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let index = Int.random(in: 0..<frame.count, using: &rng)
                frame[index] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                try decodeAnything(frame)
            } catch {
                #expect([.decodingFailed, .limitExceeded, .compressionFailed].contains(error.code), replay(seed))
            }
            // Same for an uncompressed body decoded directly.
            var body = try Frame.decode(rng.pick(frames)).body
            guard !body.isEmpty else { continue }
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                body[Int.random(in: 0..<body.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                _ = try TableUpdate(wireBytes: body)
            } catch {
                #expect([.decodingFailed, .limitExceeded].contains(error.code), replay(seed))
            }
        }
    }

    func header(length: UInt32, uncompressed: UInt32, flags: UInt8 = 0) -> [UInt8] {
        var writer = WireWriter()
        writer.writeRaw(Frame.magic)
        writer.writeUInt8(Frame.formatVersion)
        writer.writeUInt8(1)
        writer.writeUInt8(flags)
        writer.writeUInt8(0)
        writer.writeUInt32(length)
        writer.writeUInt32(uncompressed)
        return writer.bytes
    }

    @Test func oversizedDeclaredLengths() throws {
        // Refused from the header alone, before any body arrives.
        expectError(.limitExceeded) { try Frame.Header(parsing: header(length: .max, uncompressed: .max)) }
        expectError(.limitExceeded) { try Frame.Header(parsing: header(length: 10, uncompressed: .max, flags: 1)) }
        let small = Frame.Configuration(maximumFrameBytes: 100, maximumInflatedBytes: 200)
        expectError(.limitExceeded) {
            try Frame.Header(parsing: header(length: 85, uncompressed: 85), configuration: small)
        }
        expectError(.limitExceeded) {
            try Frame.Header(parsing: header(length: 10, uncompressed: 201, flags: 1), configuration: small)
        }
        expectError(.decodingFailed) { try Frame.Header(parsing: header(length: 10, uncompressed: 11)) }
        expectError(.decodingFailed) { try Frame.Header(parsing: header(length: 0, uncompressed: 0, flags: 2)) }
        // A body that inflates to more (or less) than declared.
        let body = [UInt8](repeating: 7, count: 5000)
        let compressed = try Zlib().compress(body)
        var lying = header(length: UInt32(compressed.count), uncompressed: 4000, flags: 1) + compressed
        expectError(.compressionFailed) { try Frame.decode(lying) }
        lying = header(length: UInt32(compressed.count), uncompressed: 6000, flags: 1) + compressed
        expectError(.compressionFailed) { try Frame.decode(lying) }
        let honest = header(length: UInt32(compressed.count), uncompressed: 5000, flags: 1) + compressed
        #expect(try Frame.decode(honest).body == body)
        // Counts far beyond the bytes present are refused before allocating.
        var writer = WireWriter()
        try Schema([("x", .integer)]).encode(into: &writer)
        writer.writeVarint(1 << 30)
        expectError(.decodingFailed) { try Segment(wireBytes: writer.bytes) }
        var text = WireWriter()
        try Schema([("s", .text)]).encode(into: &text)
        text.writeVarint(1)
        text.writeUInt8(0)
        text.writeVarint(UInt64(UInt32.max))
        text.writeUInt32(5)
        expectError(.decodingFailed) { try Segment(wireBytes: text.bytes) }
        var varint = WireReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        expectError(.decodingFailed) { try varint.readVarint() }
        var columns = WireWriter()
        columns.writeVarint(1 << 40)
        expectError(.decodingFailed) { try Schema(wireBytes: columns.bytes) }
    }

    @Test func invalidContentsAreNamed() throws {
        let schema = try Schema([ColumnDefinition("s", .text, nullable: false), ColumnDefinition("b", .boolean)])
        let segment = try Segment(schema: schema, rows: [["ab", true], ["c", false]])
        let good = segment.wireBytes()
        let rows = schema.wireBytes().count  // start of the row data (after the schema)
        // Layout: count, [flags, size, offsets(8), bytes(3)], [flags, 2 bytes]
        #expect(good[rows] == 2)
        var bad = good
        bad[rows + 3 + 8] = 0xFF  // invalid UTF-8 in the text bytes
        var error = expectError(.decodingFailed) { try Segment(wireBytes: bad) }
        #expect(error?.message.contains("UTF-8") == true)
        bad = good
        bad[bad.count - 1] = 2  // invalid boolean
        error = expectError(.decodingFailed) { try Segment(wireBytes: bad) }
        #expect(error?.message.contains("boolean") == true)
        bad = good
        bad[rows + 1] = 1  // a null bitmap in a NOT NULL column
        expectError(.decodingFailed) { try Segment(wireBytes: bad) }
        bad = good
        bad[rows + 3] = 9  // offset past the end
        error = expectError(.decodingFailed) { try Segment(wireBytes: bad) }
        #expect(error?.message.contains("'s'") == true)
        expectError(.decodingFailed) { try Message.decode(Frame(messageType: 250, body: []).encoded()) }
        expectError(.decodingFailed) { try Message.decode(Frame(messageType: 1, body: [1, 2]).encoded()) }
        var wrongMagic = Message.heartbeat(Heartbeat(generation: 1)).encode()
        wrongMagic[0] = 0x54
        expectError(.decodingFailed) { try Message.decode(wrongMagic) }
        var wrongVersion = Message.heartbeat(Heartbeat(generation: 1)).encode()
        wrongVersion[4] = 9
        expectError(.decodingFailed) { try Message.decode(wrongVersion) }
        expectError(.decodingFailed) { try Message.decode(Message.heartbeat(Heartbeat(generation: 1)).encode() + [0]) }
    }

    @Test func utf8ValidationAgreesWithTheStandardLibrary() {
        var rng = SeededRandom(seed: 11)
        let interesting: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x9F,
            0x90, 0x8F,
        ]
        for _ in 0..<20000 {
            let bytes = (0..<Int.random(in: 0..<12, using: &rng)).map { _ in
                rng.chance(0.7) ? rng.pick(interesting) : UInt8.random(in: 0...255, using: &rng)
            }
            let ours = bytes.withUnsafeBufferPointer(UTF8Validation.firstInvalidOffset) == nil
            let standard = String(validating: bytes, as: UTF8.self) != nil
            #expect(ours == standard, "\(bytes)")
        }
    }

    @Test func zlibRoundTripsAndRejectsCorruption() throws {
        var rng = SeededRandom(seed: 3)
        for size in [0, 1, 100, 70000] {
            let data = (0..<size).map { _ in UInt8.random(in: 0...3, using: &rng) }
            for level: Int32 in [0, 1, 6, 9] {
                let compressed = try Zlib(level: level).compress(data)
                #expect(try Zlib.decompress(compressed, uncompressedLength: size) == data)
                expectError(.compressionFailed) { try Zlib.decompress(compressed + [0], uncompressedLength: size) }
                if !compressed.isEmpty {
                    expectError(.compressionFailed) {
                        try Zlib.decompress(Array(compressed.dropLast()), uncompressedLength: size)
                    }
                }
            }
        }
        expectError(.compressionFailed) { try Zlib.decompress([1, 2, 3, 4], uncompressedLength: 10) }
    }
}
