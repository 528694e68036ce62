import Testing

@testable import QueryCore

/// The tables an update says its sender does not publish (``GenerationUpdate/notPublished``)
/// survive the wire, and bad lists of them fail with typed errors.
@Suite struct NotPublishedCodecTests {
    static let generation = Generation(number: 4, time: .seconds(30))

    @Test func theTablesNotPublishedSurviveSorted() throws {
        let update = GenerationUpdate(
            generation: Self.generation, entries: [], sequence: 9, notPublished: ["software_versions", "machines"])
        #expect(update.notPublished == ["machines", "software_versions"])
        guard case .update(let decoded) = try Message.decode(Message.update(update).encode()) else {
            Issue.record("not an update")
            return
        }
        #expect(decoded.notPublished == ["machines", "software_versions"])
        #expect(decoded.entries.isEmpty && decoded.sequence == 9)
        // None: an empty list, as before.
        guard case .update(let plain) = try Message.decode(Message.update(GenerationUpdate(generation: Self.generation, entries: [])).encode())
        else {
            Issue.record("not an update")
            return
        }
        #expect(plain.notPublished.isEmpty)
    }

    /// The body of an update with no entries, up to its list of tables not published.
    static func head() -> WireWriter {
        var writer = WireWriter()
        Self.generation.encode(into: &writer)
        writer.writeVarint(1)  // sequence
        writer.writeCount(0)  // entries
        return writer
    }

    static func decode(_ writer: WireWriter) throws(QueryError) -> Message {
        try Message(frame: Frame(messageType: MessageType.update.rawValue, body: writer.bytes))
    }

    @Test func aListLongerThanTheBytesLeftFails() {
        var writer = Self.head()
        writer.writeCount(1_000)
        writer.writeString("machines")
        #expect(throws: QueryError.self) { try Self.decode(writer) }
    }

    @Test func anInvalidTableNameFails() {
        var writer = Self.head()
        writer.writeCount(1)
        writer.writeString("no such; table")
        let error = #expect(throws: QueryError.self) { try Self.decode(writer) }
        #expect(error?.message.contains("table") == true)
    }

    @Test func aMissingListFails() {
        #expect(throws: QueryError.self) { try Self.decode(Self.head()) }
    }
}
