import Testing

@testable import QueryCore

@Suite struct CodecRoundTripTests {
    func expectIdentical(
        _ a: Segment,
        _ b: Segment,
        _ comment: Comment? = nil,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        #expect(a.schema == b.schema, comment, sourceLocation: sourceLocation)
        #expect(a.exactRows == b.exactRows, comment, sourceLocation: sourceLocation)
    }

    @Test func values() throws {
        let values: [Value] = [
            .null, .integer(0), .integer(.min), .integer(.max), .real(-0.0), .real(.nan),
            .real(Double(nan: 123, signaling: false)), .real(-.infinity), .text(""), .text("日本語🎉\u{0}"),
            .boolean(true), .boolean(false),
        ]
        for value in values {
            let decoded = try Value(wireBytes: value.wireBytes())
            #expect(ExactValue(decoded) == ExactValue(value), "\(value)")
        }
    }

    @Test func randomSegments() throws {
        for seed in testSeeds(300, salt: 20) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let segment = RandomData.segment(schema, using: &rng)
            let decoded = try Segment(wireBytes: segment.wireBytes())
            expectIdentical(decoded, segment, replay(seed))
        }
    }

    @Test func randomTableCopiesAndUpdates() throws {
        for seed in testSeeds(200, salt: 21) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, using: &rng)
            let b = RandomData.edit(a, using: &rng)
            let (upserts, deletes) = try a.diff(to: b)
            let delta = TableCopy.delta(base: 7, version: .max, upserts: upserts, deletes: deletes)
            let full = TableCopy.full(version: 3, segment: b)
            for copy in [delta, full] {
                let decoded = try TableCopy(wireBytes: copy.wireBytes())
                #expect(
                    decoded.version == copy.version && decoded.base == copy.base && decoded.isFull == copy.isFull,
                    replay(seed)
                )
                switch (decoded, copy) {
                case (.full(_, let x), .full(_, let y)):
                    expectIdentical(x, y, replay(seed))
                case (.delta(_, _, let u1, let d1), .delta(_, _, let u2, let d2)):
                    expectIdentical(u1, u2, replay(seed))
                    expectIdentical(d1, d2, replay(seed))
                default:
                    Issue.record("kind changed: \(replay(seed))")
                }
            }
            let update = try TableUpdate(
                table: "processes",
                schema: schema,
                entries: [
                    .init(origin: "edge:c1.m1", publishedAt: .seconds(1.5), copy: delta),
                    .init(origin: "edge:c1.m2", publishedAt: .zero, copy: full),
                ]
            )
            let decoded = try TableUpdate(wireBytes: update.wireBytes())
            #expect(decoded.table == update.table && decoded.schema == schema, replay(seed))
            #expect(decoded.entries.map(\.origin) == ["edge:c1.m1", "edge:c1.m2"], replay(seed))
            #expect(decoded.entries.map(\.publishedAt) == [.seconds(1.5), .zero], replay(seed))
            var viaWire = Table(name: "processes", schema: schema)
            var direct = viaWire
            for entry in [update.entries[1], update.entries[0]] {
                try direct.apply(.full(version: 7, segment: a), origin: entry.origin, publishedAt: .zero)
                try viaWire.apply(.full(version: 7, segment: a), origin: entry.origin, publishedAt: .zero)
            }
            _ = direct.apply(update)
            _ = viaWire.apply(decoded)
            for origin in direct.sortedOrigins {
                #expect(direct.slices[origin]!.segment.hasSameRows(as: viaWire.slices[origin]!.segment), replay(seed))
            }
        }
    }

    @Test(arguments: [0, 1024, Int.max])
    func messageFrames(threshold: Int) throws {
        let configuration = Frame.Configuration(compressionThreshold: threshold)
        for generation: UInt64 in [0, 1, 127, 128, .max] {
            let message = Message.heartbeat(Heartbeat(generation: generation))
            let bytes = message.encode(configuration: configuration)
            #expect(Array(bytes.prefix(4)) == Array("SQRY".utf8))
            guard case .heartbeat(let decoded) = try Message.decode(bytes, configuration: configuration) else {
                Issue.record("wrong case")
                continue
            }
            #expect(decoded.generation == generation)
        }
    }

    @Test(arguments: [false, true])
    func largeFramesWithAndWithoutZlib(compress: Bool) throws {
        var rng = SeededRandom(seed: 99)
        let schema = try Schema([("host", .text), ("n", .integer), ("x", .real)])
        let rows = (0..<2000).map { i -> [Value] in
            [.text("host-\(i % 50)"), .integer(Int64(i % 7)), .real(Double(Int.random(in: 0..<10, using: &rng)))]
        }
        let body = try Segment(schema: schema, rows: rows).wireBytes()
        let configuration = Frame.Configuration(compressionThreshold: compress ? 1024 : .max)
        let frame = Frame(messageType: 200, body: body)
        let bytes = frame.encoded(configuration: configuration)
        let header = try Frame.Header(parsing: bytes)
        #expect(header.isCompressed == compress)
        #expect(header.uncompressedLength == body.count)
        #expect(header.frameLength == bytes.count)
        if compress { #expect(bytes.count < body.count / 3) }
        let decoded = try Frame.decode(bytes, configuration: configuration)
        #expect(decoded == frame)
        // A frame inside a larger buffer decodes from its range.
        let padded = [1, 2, 3] + bytes + [4]
        #expect(try Frame.decode(padded, range: 3..<(3 + bytes.count)) == frame)
    }

    @Test func incompressibleBodiesStayRaw() throws {
        var rng = SeededRandom(seed: 5)
        let body = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let bytes = Frame(messageType: 1, body: body).encoded()
        #expect(try !Frame.Header(parsing: bytes).isCompressed)
        #expect(bytes.count == Frame.Header.size + body.count)
    }

    @Test func identifiers() throws {
        #expect(try NodeID(wireBytes: NodeID("edge:c1.m7").wireBytes()) == "edge:c1.m7")
        #expect(try TableName(wireBytes: TableName("processes").wireBytes()) == "processes")
        #expect(
            try Instant(wireBytes: Instant(nanosecondsSinceEpoch: .min).wireBytes())
                == Instant(nanosecondsSinceEpoch: .min)
        )
        let generation = Generation(number: 12, time: .seconds(240))
        #expect(try Generation(wireBytes: generation.wireBytes()) == generation)
        let schema = try Schema(
            [ColumnDefinition("Ä", .boolean, nullable: false), ColumnDefinition("b", .any)],
            key: ["b", "Ä"]
        )
        #expect(try Schema(wireBytes: schema.wireBytes()) == schema)
    }

    @Test func wirePrimitives() throws {
        var writer = WireWriter()
        let varints: [UInt64] = [0, 1, 127, 128, 300, 1 << 35, .max]
        for v in varints { writer.writeVarint(v) }
        let signed: [Int64] = [0, -1, 1, .min, .max]
        for v in signed { writer.writeSignedVarint(v) }
        writer.writeUInt16(0xBEEF)
        writer.writeUInt32(0xDEAD_BEEF)
        writer.writeDouble(-0.0)
        writer.writeBytes([1, 2, 3])
        writer.writeString("héllo")
        writer.writeBool(true)
        var reader = WireReader(writer.bytes)
        for v in varints { #expect(try reader.readVarint() == v) }
        for v in signed { #expect(try reader.readSignedVarint() == v) }
        #expect(try reader.readUInt16() == 0xBEEF)
        #expect(try reader.readUInt32() == 0xDEAD_BEEF)
        #expect(try reader.readDouble().bitPattern == (-0.0).bitPattern)
        #expect(try reader.readBytes() == [1, 2, 3])
        #expect(try reader.readString() == "héllo")
        #expect(try reader.readBool())
        #expect(reader.isAtEnd)
        // Little-endian on the wire.
        var le = WireWriter()
        le.writeUInt32(0x0102_0304)
        #expect(le.bytes == [4, 3, 2, 1])
    }
}
