// The wire forms of the collection tree's message payloads (``Message`` cases other than the
// heartbeat). Lists are a count (varint) then the elements; optional values a presence byte.

extension WireWriter {
    /// Appends a count and then each element.
    mutating func writeList<T: WireEncodable>(_ values: [T]) {
        writeCount(values.count)
        for value in values { value.encode(into: &self) }
    }

    /// Appends a presence byte and then the value, if any.
    mutating func writeOptional<T: WireEncodable>(_ value: T?) {
        writeBool(value != nil)
        if let value { value.encode(into: &self) }
    }
}

extension WireReader {
    /// Reads a list written by ``WireWriter/writeList(_:)``; `minimumElementSize` bounds the count
    /// by the bytes left before anything is allocated.
    mutating func readList<T: WireDecodable>(
        _: T.Type,
        minimumElementSize: Int,
        what: String
    ) throws(QueryError) -> [T] {
        let count = try readCount(minimumElementSize: minimumElementSize, what: what)
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try T(from: &self)) }
        return values
    }

    /// Reads an optional value written by ``WireWriter/writeOptional(_:)``.
    mutating func readOptional<T: WireDecodable>(_: T.Type, what: String) throws(QueryError) -> T? {
        try readBool(what) ? try T(from: &self) : nil
    }
}

/// A `Duration` as signed nanoseconds.
extension Duration {
    func encode(into writer: inout WireWriter) { writer.writeSignedVarint(nanoseconds) }

    init(from reader: inout WireReader, what: String) throws(QueryError) {
        self = .nanoseconds(try reader.readSignedVarint(what))
    }
}

extension TableRequest: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeList(tables)
        lease.encode(into: &writer)
        writer.writeBool(reset)
        writer.writeBool(standby)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let tables = try reader.readList(TableName.self, minimumElementSize: 2, what: "requested table count")
        let lease = try Duration(from: &reader, what: "lease")
        self.init(
            tables: tables,
            lease: lease,
            reset: try reader.readBool("reset"),
            standby: try reader.readBool("standby")
        )
    }
}

extension DroppedNode: WireCodable {
    public func encode(into writer: inout WireWriter) {
        node.encode(into: &writer)
        since.encode(into: &writer)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        self.init(node: try NodeID(from: &reader), since: try Instant(from: &reader))
    }
}

extension TableCompleteness: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeCount(machinesContributing)
        writer.writeCount(machinesKnown)
        writer.writeCount(clustersContributing)
        writer.writeCount(clustersKnown)
        writer.writeList(dropped)
        writer.writeOptional(oldestPublish)
        writer.writeOptional(newestPublish)
        writer.writeList(silent)
        writer.writeOptional(heardOldestPublish)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let machinesContributing = try reader.readCount(minimumElementSize: 0, what: "machines contributing")
        let machinesKnown = try reader.readCount(minimumElementSize: 0, what: "machines known")
        let clustersContributing = try reader.readCount(minimumElementSize: 0, what: "clusters contributing")
        let clustersKnown = try reader.readCount(minimumElementSize: 0, what: "clusters known")
        let dropped = try reader.readList(DroppedNode.self, minimumElementSize: 10, what: "dropped count")
        self.init(
            machinesContributing: machinesContributing,
            machinesKnown: machinesKnown,
            clustersContributing: clustersContributing,
            clustersKnown: clustersKnown,
            dropped: dropped,
            oldestPublish: try reader.readOptional(Instant.self, what: "oldest publish"),
            newestPublish: try reader.readOptional(Instant.self, what: "newest publish"),
            silent: try reader.readList(SilentMachine.self, minimumElementSize: 4, what: "silent machine count"),
            heardOldestPublish: try reader.readOptional(Instant.self, what: "heard oldest publish")
        )
    }
}

extension SilentMachine: WireCodable {
    public func encode(into writer: inout WireWriter) {
        node.encode(into: &writer)
        silence.encode(into: &writer)
        writer.writeOptional(confirmedAt)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let node = try NodeID(from: &reader)
        let start = reader.position
        let silence = try Duration(from: &reader, what: "silence")
        guard silence >= .zero else { throw reader.error("negative silence \(silence) of \(node)", at: start) }
        self.init(node: node, silence: silence, confirmedAt: try reader.readOptional(Instant.self, what: "confirmed at"))
    }
}

/// Copies travel grouped by schema (normally one group): each group is a ``TableUpdate`` (schema
/// once, then origin, publish time and copy body per origin).
extension TableEntry: WireCodable {
    public func encode(into writer: inout WireWriter) {
        table.encode(into: &writer)
        var groups: [(schema: Schema, copies: [TableUpdate.Entry])] = []
        for copy in copies {
            let item = TableUpdate.Entry(origin: copy.origin, publishedAt: copy.publishedAt, copy: copy.copy)
            if let index = groups.firstIndex(where: { $0.schema == copy.copy.schema }) {
                groups[index].copies.append(item)
            } else {
                groups.append((copy.copy.schema, [item]))
            }
        }
        writer.writeCount(groups.count)
        for group in groups {
            TableUpdate(unchecked: table, schema: group.schema, entries: group.copies).encode(into: &writer)
        }
        writer.writeList(removed)
        writer.writeBool(replacesScope)
        completeness.encode(into: &writer)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let table = try TableName(from: &reader)
        let groupCount = try reader.readCount(minimumElementSize: 4, what: "copy group count")
        var copies: [OriginCopy] = []
        for _ in 0..<groupCount {
            let start = reader.position
            let group = try TableUpdate(from: &reader)
            guard group.table == table else {
                throw reader.error("copy group for table '\(group.table)' inside the entry for '\(table)'", at: start)
            }
            for item in group.entries {
                copies.append(OriginCopy(origin: item.origin, copy: item.copy, publishedAt: item.publishedAt))
            }
        }
        copies.sort { $0.origin < $1.origin }
        let removed = try reader.readList(NodeID.self, minimumElementSize: 2, what: "removed origin count")
        let replacesScope = try reader.readBool("replaces scope")
        self.init(
            table: table,
            copies: copies,
            removed: removed,
            replacesScope: replacesScope,
            completeness: try TableCompleteness(from: &reader)
        )
    }
}

extension GenerationUpdate: WireCodable {
    public func encode(into writer: inout WireWriter) {
        generation.encode(into: &writer)
        writer.writeVarint(sequence)
        writer.writeList(entries)
        writer.writeList(notPublished)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let generation = try Generation(from: &reader)
        let sequence = try reader.readVarint("update sequence")
        let entries = try reader.readList(TableEntry.self, minimumElementSize: 8, what: "entry count")
        self.init(
            generation: generation,
            entries: entries,
            sequence: sequence,
            notPublished: try reader.readList(TableName.self, minimumElementSize: 2, what: "unpublished table count")
        )
    }
}

extension TableAck: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeVarint(generation)
        writer.writeList(tables)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let generation = try reader.readVarint("generation")
        self.init(
            generation: generation,
            tables: try reader.readList(TableName.self, minimumElementSize: 2, what: "table count")
        )
    }
}

extension ResyncRequest: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeVarint(generation)
        table.encode(into: &writer)
        writer.writeList(origins)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let generation = try reader.readVarint("generation")
        let table = try TableName(from: &reader)
        self.init(
            generation: generation,
            table: table,
            origins: try reader.readList(NodeID.self, minimumElementSize: 2, what: "origin count")
        )
    }
}

extension Redirect: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeBool(queryID != nil)
        if let queryID { writer.writeVarint(queryID.rawValue) }
        writer.writeList(tables)
        writer.writeString(partition)
        writer.writeList(nodes)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let queryID = try reader.readBool("query id present") ? QueryID(try reader.readVarint("query id")) : nil
        let tables = try reader.readList(TableName.self, minimumElementSize: 2, what: "table count")
        let partition = try reader.readString(limit: 1024, "partition")
        self.init(
            queryID: queryID,
            tables: tables,
            partition: partition,
            nodes: try reader.readList(NodeID.self, minimumElementSize: 2, what: "node count")
        )
    }
}

extension Deferral: WireCodable {
    public func encode(into writer: inout WireWriter) {
        generation.encode(into: &writer)
        cluster.encode(into: &writer)
        proxy.encode(into: &writer)
        writer.writeVarint(sequence)
        writer.writeList(entries)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let generation = try Generation(from: &reader)
        let cluster = try NodeID(from: &reader)
        let proxy = try NodeID(from: &reader)
        let sequence = try reader.readVarint("update sequence")
        self.init(
            generation: generation,
            cluster: cluster,
            proxy: proxy,
            entries: try reader.readList(TableEntry.self, minimumElementSize: 8, what: "entry count"),
            sequence: sequence
        )
    }
}

extension CombineRequest: WireCodable {
    public func encode(into writer: inout WireWriter) {
        generation.encode(into: &writer)
        writer.writeList(droppedClusters)
        writer.writeBool(reset)
        writer.writeList(tables)
        writer.writeList(droppedMachines)
        writer.writeList(relayed)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let generation = try Generation(from: &reader)
        let dropped = try reader.readList(DroppedNode.self, minimumElementSize: 10, what: "dropped count")
        let reset = try reader.readBool("reset")
        let tables = try reader.readList(TableName.self, minimumElementSize: 2, what: "deferred table count")
        let machines = try reader.readList(DroppedNode.self, minimumElementSize: 10, what: "dropped machine count")
        let relayed = try reader.readList(RelayedGeneration.self, minimumElementSize: 3, what: "relayed cluster count")
        self.init(
            generation: generation, droppedClusters: dropped, reset: reset, tables: tables, droppedMachines: machines,
            relayed: relayed)
    }
}

extension RelayedGeneration: WireCodable {
    public func encode(into writer: inout WireWriter) {
        cluster.encode(into: &writer)
        writer.writeVarint(generation)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        self.init(cluster: try NodeID(from: &reader), generation: try reader.readVarint("relayed generation"))
    }
}

extension RemoteQuery: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeVarint(request.id.rawValue)
        writer.writeString(request.sql)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let id = QueryID(try reader.readVarint("query id"))
        self.init(QueryRequest(id: id, sql: try reader.readString(limit: 1 << 20, "sql")))
    }
}

extension QueryError: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeString(code.description)
        writer.writeString(message)
        writer.writeBool(location != nil)
        if let location {
            writer.writeCount(location.line)
            writer.writeCount(location.column)
            writer.writeCount(location.offset)
        }
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let start = reader.position
        let name = try reader.readString(limit: 64, "error code")
        guard let code = Code(named: name) else { throw reader.error("unknown error code '\(name)'", at: start) }
        let message = try reader.readString(limit: 1 << 20, "error message")
        var location: SourceLocation?
        if try reader.readBool("location present") {
            location = SourceLocation(
                line: try reader.readCount(minimumElementSize: 0, what: "line"),
                column: try reader.readCount(minimumElementSize: 0, what: "column"),
                offset: try reader.readCount(minimumElementSize: 0, what: "offset")
            )
        }
        self.init(code, message, at: location)
    }
}

extension QueryResult: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeCount(columns.count)
        for column in columns { writer.writeString(column) }
        writer.writeCount(rows.count)
        for row in rows { writer.writeList(row) }
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let columnCount = try reader.readCount(minimumElementSize: 1, what: "column count")
        var columns: [String] = []
        columns.reserveCapacity(columnCount)
        for _ in 0..<columnCount { columns.append(try reader.readString(limit: 1 << 16, "column name")) }
        let rowCount = try reader.readCount(minimumElementSize: 1, what: "row count")
        var rows: [[Value]] = []
        rows.reserveCapacity(rowCount)
        for index in 0..<rowCount {
            let start = reader.position
            let row = try reader.readList(Value.self, minimumElementSize: 1, what: "value count")
            guard row.count == columnCount else {
                throw reader.error("row \(index + 1) has \(row.count) values for \(columnCount) columns", at: start)
            }
            rows.append(row)
        }
        self.init(columns: columns, rows: rows)
    }
}

extension Completeness.TableFigures: WireCodable {
    public func encode(into writer: inout WireWriter) {
        table.encode(into: &writer)
        writer.writeCount(machinesContributing)
        writer.writeCount(machinesKnown)
        writer.writeCount(clustersContributing)
        writer.writeCount(clustersKnown)
        writer.writeList(dropped.map { DroppedNode(node: $0.key, since: $0.value) }.sorted())
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let table = try TableName(from: &reader)
        let machinesContributing = try reader.readCount(minimumElementSize: 0, what: "machines contributing")
        let machinesKnown = try reader.readCount(minimumElementSize: 0, what: "machines known")
        let clustersContributing = try reader.readCount(minimumElementSize: 0, what: "clusters contributing")
        let clustersKnown = try reader.readCount(minimumElementSize: 0, what: "clusters known")
        let dropped = try reader.readList(DroppedNode.self, minimumElementSize: 10, what: "dropped count")
        self.init(
            table: table,
            machinesContributing: machinesContributing,
            machinesKnown: machinesKnown,
            clustersContributing: clustersContributing,
            clustersKnown: clustersKnown,
            dropped: Dictionary(dropped.map { ($0.node, $0.since) }, uniquingKeysWith: { a, _ in a })
        )
    }
}

extension Completeness: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeOptional(oldestPublish)
        writer.writeOptional(newestPublish)
        writer.writeList(tables)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let oldest = try reader.readOptional(Instant.self, what: "oldest publish")
        let newest = try reader.readOptional(Instant.self, what: "newest publish")
        self.init(
            oldestPublish: oldest,
            newestPublish: newest,
            tables: try reader.readList(TableFigures.self, minimumElementSize: 6, what: "table count")
        )
    }
}

extension QueryAnswer: WireCodable {
    public func encode(into writer: inout WireWriter) {
        result.encode(into: &writer)
        generation.encode(into: &writer)
        completeness.encode(into: &writer)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let result = try QueryResult(from: &reader)
        let generation = try Generation(from: &reader)
        self.init(result: result, generation: generation, completeness: try Completeness(from: &reader))
    }
}

extension QueryResponse: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeVarint(id.rawValue)
        switch outcome {
        case .answer(let answer):
            writer.writeUInt8(0)
            answer.encode(into: &writer)
        case .failure(let error):
            writer.writeUInt8(1)
            error.encode(into: &writer)
        case .redirect(let redirect):
            writer.writeUInt8(2)
            redirect.encode(into: &writer)
        }
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        let id = QueryID(try reader.readVarint("query id"))
        let start = reader.position
        switch try reader.readUInt8("outcome") {
        case 0: self.init(id: id, outcome: .answer(try QueryAnswer(from: &reader)))
        case 1: self.init(id: id, outcome: .failure(try QueryError(from: &reader)))
        case 2: self.init(id: id, outcome: .redirect(try Redirect(from: &reader)))
        case let other: throw reader.error("unknown query outcome \(other)", at: start)
        }
    }
}
