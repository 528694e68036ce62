import Testing

@testable import QueryCore

/// Every role message survives encode → decode, and truncated or corrupted frames fail with a typed
/// error instead of trapping.
@Suite struct RoleMessageCodecTests {
    static let rows = Fixtures.rows("edge:0.0", count: 3)

    static var entry: TableEntry {
        let delta = TableCopy.delta(
            base: 4,
            version: 9,
            upserts: Fixtures.rows("edge:0.1", count: 1, bump: 5),
            deletes: try! Segment(schema: Fixtures.schema.deleteSchema, rows: [[.text("p2")]])
        )
        return TableEntry(
            table: Fixtures.processes,
            copies: [
                OriginCopy(origin: "edge:0.0", copy: .full(version: 3, segment: rows), publishedAt: .seconds(1)),
                OriginCopy(origin: "edge:0.1", copy: delta, publishedAt: .seconds(2)),
            ],
            removed: ["edge:0.9"],
            replacesScope: true,
            completeness: TableCompleteness(
                machinesContributing: 2,
                machinesKnown: 3,
                clustersContributing: 1,
                clustersKnown: 1,
                dropped: [DroppedNode(node: "edge:0.9", since: .seconds(200))],
                oldestPublish: .seconds(1),
                newestPublish: .seconds(2)
            )
        )
    }

    static var messages: [Message] {
        let generation = Generation(number: 12, time: .seconds(110))
        let answer = QueryAnswer(
            result: QueryResult(columns: ["n", "name"], rows: [[.integer(3), .text("a")], [.null, .real(1.5)]]),
            generation: generation,
            completeness: Completeness(
                oldestPublish: .seconds(100),
                newestPublish: nil,
                tables: [
                    .init(
                        table: "processes",
                        machinesContributing: 3,
                        machinesKnown: 4,
                        clustersContributing: 1,
                        clustersKnown: 2,
                        dropped: ["edge:1.1": .seconds(90)]
                    )
                ]
            )
        )
        return [
            .heartbeat(Heartbeat(generation: 7)),
            .request(
                TableRequest(tables: ["processes", "machines"], lease: .seconds(30), reset: true, standby: false)
            ),
            .update(GenerationUpdate(generation: generation, entries: [entry])),
            .update(
                GenerationUpdate(
                    generation: generation,
                    entries: [
                        TableEntry(table: "machines", copies: [], completeness: TableCompleteness())
                    ],
                    notPublished: ["software_versions", "inventory"]
                )
            ),
            .ack(TableAck(generation: 12, tables: ["processes"])),
            .resync(ResyncRequest(generation: 12, table: "processes", origins: ["edge:0.1"])),
            .redirect(Redirect(queryID: QueryID(5), tables: ["machines"], partition: "inventory", nodes: ["sql:3"])),
            .deferral(
                Deferral(generation: generation, cluster: "cluster:0", proxy: "proxy:0.0", entries: [entry], sequence: 42)),
            .combine(
                CombineRequest(
                    generation: generation,
                    droppedClusters: [DroppedNode(node: "cluster:2", since: .seconds(50))],
                    reset: true,
                    tables: ["software_versions", "processes"]
                )
            ),
            .query(RemoteQuery(QueryRequest(id: QueryID(9), sql: "SELECT 1"))),
            .queryResponse(QueryResponse(id: QueryID(9), outcome: .answer(answer))),
            .queryResponse(
                QueryResponse(
                    id: QueryID(10),
                    outcome: .failure(
                        QueryError(
                            .syntaxError,
                            "near 'FORM'",
                            at: SourceLocation(line: 1, column: 10, offset: 9)
                        )
                    )
                )
            ),
            .queryResponse(
                QueryResponse(id: QueryID(11), outcome: .redirect(Redirect(tables: ["x"], partition: "p", nodes: [])))
            ),
        ]
    }

    @Test func everyMessageRoundTrips() throws {
        for message in Self.messages {
            let bytes = message.encode()
            let decoded = try Message.decode(bytes)
            #expect(decoded.messageType == message.messageType)
            #expect(decoded.encode() == bytes, "\(message.messageType)")
        }
        #expect(Set(Self.messages.map(\.messageType)) == Set(MessageType.allCases))
    }

    @Test func fieldsSurvive() throws {
        guard
            case .update(let update) = try Message.decode(
                Message.update(
                    GenerationUpdate(
                        generation: Generation(number: 3, time: .seconds(20)),
                        entries: [Self.entry],
                        sequence: 1_700_000_000_123_456_789
                    )
                ).encode()
            )
        else {
            Issue.record("not an update")
            return
        }
        #expect(update.generation.number == 3)
        #expect(update.sequence == 1_700_000_000_123_456_789)
        let entry = try #require(update.entries.first)
        #expect(entry.copies.map(\.origin) == ["edge:0.0", "edge:0.1"])
        #expect(entry.copies[0].copy.isFull && entry.copies[0].copy.version == 3)
        #expect(entry.copies[1].copy.base == 4 && entry.copies[1].copy.version == 9)
        #expect(entry.removed == ["edge:0.9"] && entry.replacesScope)
        #expect(entry.completeness == Self.entry.completeness)
        if case .full(_, let segment) = entry.copies[0].copy { #expect(segment.rows == Self.rows.rows) }

        guard case .queryResponse(let response) = try Message.decode(Self.messages[11].encode()),
            case .failure(let error) = response.outcome
        else {
            Issue.record("not a failure response")
            return
        }
        #expect(error == QueryError(.syntaxError, "near 'FORM'", at: SourceLocation(line: 1, column: 10, offset: 9)))
    }

    @Test func truncatedAndCorruptedFramesFailCleanly() {
        for message in Self.messages {
            var writer = WireWriter()
            message.encodeBody(into: &writer)
            let body = writer.bytes
            for cut in 0..<body.count {
                #expect(throws: QueryError.self) {
                    try Message(frame: Frame(messageType: message.messageType.rawValue, body: Array(body[..<cut])))
                }
            }
        }
        // An unknown error code is a decoding error, not a trap.
        var writer = WireWriter()
        writer.writeVarint(1)
        writer.writeUInt8(1)
        writer.writeString("noSuchCode")
        writer.writeString("m")
        writer.writeBool(false)
        #expect(throws: QueryError.self) {
            try Message(frame: Frame(messageType: MessageType.queryResponse.rawValue, body: writer.bytes))
        }
    }
}
