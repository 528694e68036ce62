import NIOCore
import QueryCore
import QuerySQL

// Body layouts of the query-manager frames (`.manage`, `.managed`, `.trigger`). Strings are
// length-prefixed, counts are UInt32 and checked against the bytes left before anything is
// allocated, values use the answer frame's tagged encoding.

extension ManagerRequest {
    private enum Tag: UInt8 {
        case registerMetric = 1, unregisterMetric, registerStatement, unregisterStatement, list, publish, subscribe,
            unsubscribe
    }

    func write(to buffer: inout ByteBuffer) {
        switch self {
        case .registerMetric(let name, let schema, let publishers):
            buffer.writeInteger(Tag.registerMetric.rawValue)
            buffer.writeShortString(name)
            buffer.writeSchema(schema)
            buffer.writeAccessList(publishers)
        case .unregisterMetric(let name):
            buffer.writeInteger(Tag.unregisterMetric.rawValue)
            buffer.writeShortString(name)
        case .registerStatement(let text, let kind, let subscribers):
            buffer.writeInteger(Tag.registerStatement.rawValue)
            buffer.writeLongString(text)
            buffer.writeInteger(kind.rawValue)
            buffer.writeAccessList(subscribers)
        case .unregisterStatement(let topic):
            buffer.writeInteger(Tag.unregisterStatement.rawValue)
            buffer.writeShortString(topic)
        case .list:
            buffer.writeInteger(Tag.list.rawValue)
        case .publish(let stream, let events, let time):
            buffer.writeInteger(Tag.publish.rawValue)
            buffer.writeShortString(stream)
            buffer.writeOptionalInstant(time)
            buffer.writeInteger(UInt32(events.count))
            for event in events {
                buffer.writeInteger(UInt32(event.count))
                for (field, value) in event.sorted(by: { $0.key < $1.key }) {
                    buffer.writeShortString(field)
                    buffer.writeValue(value)
                }
            }
        case .subscribe(let topic, let capacity):
            buffer.writeInteger(Tag.subscribe.rawValue)
            buffer.writeShortString(topic)
            buffer.writeInteger(UInt32(clamping: max(0, capacity ?? 0)))
        case .unsubscribe(let subscription):
            buffer.writeInteger(Tag.unsubscribe.rawValue)
            buffer.writeInteger(subscription)
        }
    }

    static func read(from buffer: inout ByteBuffer) throws(QueryError) -> ManagerRequest {
        let raw: UInt8 = try buffer.readChecked("manage.request")
        guard let tag = Tag(rawValue: raw) else {
            throw QueryError(.decodingFailed, "unknown manager request \(raw)")
        }
        switch tag {
        case .registerMetric:
            let name = try buffer.readShortString("manage.metric")
            let schema = try buffer.readSchema()
            return .registerMetric(name: name, schema: schema, publishers: try buffer.readAccessList())
        case .unregisterMetric:
            return .unregisterMetric(name: try buffer.readShortString("manage.metric"))
        case .registerStatement:
            let text = try buffer.readLongString("manage.statement")
            let rawKind: UInt8 = try buffer.readChecked("manage.statement.kind")
            guard let kind = StatementKind(rawValue: rawKind) else {
                throw QueryError(.decodingFailed, "unknown statement kind \(rawKind)")
            }
            return .registerStatement(text: text, kind: kind, subscribers: try buffer.readAccessList())
        case .unregisterStatement:
            return .unregisterStatement(topic: try buffer.readShortString("manage.topic"))
        case .list:
            return .list
        case .publish:
            let stream = try buffer.readShortString("manage.stream")
            let time = try buffer.readOptionalInstant("manage.time")
            let count: UInt32 = try buffer.readChecked("manage.events")
            try buffer.checkCount(count, "manage.events")
            var events: [[String: Value]] = []
            events.reserveCapacity(Int(count))
            for _ in 0..<count {
                let fieldCount: UInt32 = try buffer.readChecked("manage.event.fields")
                try buffer.checkCount(fieldCount, "manage.event.fields")
                var event: [String: Value] = [:]
                for _ in 0..<fieldCount {
                    let field = try buffer.readShortString("manage.event.field")
                    event[field] = try buffer.readValue()
                }
                events.append(event)
            }
            return .publish(stream: stream, events: events, time: time)
        case .subscribe:
            let topic = try buffer.readShortString("manage.topic")
            let capacity: UInt32 = try buffer.readChecked("manage.capacity")
            return .subscribe(topic: topic, capacity: capacity == 0 ? nil : Int(capacity))
        case .unsubscribe:
            return .unsubscribe(subscription: try buffer.readChecked("manage.subscription"))
        }
    }
}

extension Result where Success == ManagerResponse, Failure == QueryError {
    func write(to buffer: inout ByteBuffer) {
        switch self {
        case .failure(let error):
            buffer.writeInteger(UInt8(0))
            buffer.writeQueryError(error)
        case .success(.done):
            buffer.writeInteger(UInt8(1))
        case .success(.topic(let topic)):
            buffer.writeInteger(UInt8(2))
            buffer.writeShortString(topic.name)
        case .success(.listing(let listing)):
            buffer.writeInteger(UInt8(3))
            buffer.writeInteger(UInt32(listing.metrics.count))
            for metric in listing.metrics {
                buffer.writeShortString(metric.name)
                buffer.writeSchema(metric.schema)
            }
            buffer.writeInteger(UInt32(listing.statements.count))
            for statement in listing.statements {
                buffer.writeShortString(statement.topic.name)
                buffer.writeLongString(statement.text)
                buffer.writeInteger(statement.kind.rawValue)
                buffer.writeInteger(UInt32(statement.owners.count))
                for owner in statement.owners { buffer.writeShortString(owner.name) }
                buffer.writeInteger(Int64(statement.droppedTriggers))
            }
        case .success(.published(let triggers)):
            buffer.writeInteger(UInt8(4))
            buffer.writeInteger(Int64(triggers))
        }
    }

    static func read(from buffer: inout ByteBuffer) throws(QueryError) -> Result<ManagerResponse, QueryError> {
        let status: UInt8 = try buffer.readChecked("managed.status")
        switch status {
        case 0:
            return .failure(try buffer.readQueryError())
        case 1:
            return .success(.done)
        case 2:
            return .success(.topic(TopicHandle(name: try buffer.readShortString("managed.topic"))))
        case 3:
            let metricCount: UInt32 = try buffer.readChecked("managed.metrics")
            try buffer.checkCount(metricCount, "managed.metrics")
            var metrics: [ManagerListing.Metric] = []
            for _ in 0..<metricCount {
                let name = try buffer.readShortString("managed.metric")
                metrics.append(ManagerListing.Metric(name: name, schema: try buffer.readSchema()))
            }
            let statementCount: UInt32 = try buffer.readChecked("managed.statements")
            try buffer.checkCount(statementCount, "managed.statements")
            var statements: [ManagerListing.Statement] = []
            for _ in 0..<statementCount {
                let topic = try buffer.readShortString("managed.statement.topic")
                let text = try buffer.readLongString("managed.statement.text")
                let rawKind: UInt8 = try buffer.readChecked("managed.statement.kind")
                guard let kind = ManagerRequest.StatementKind(rawValue: rawKind) else {
                    throw QueryError(.decodingFailed, "unknown statement kind \(rawKind)")
                }
                let ownerCount: UInt32 = try buffer.readChecked("managed.statement.owners")
                try buffer.checkCount(ownerCount, "managed.statement.owners")
                var owners: [Principal] = []
                for _ in 0..<ownerCount { owners.append(Principal(try buffer.readShortString("managed.owner"))) }
                let dropped: Int64 = try buffer.readChecked("managed.statement.dropped")
                statements.append(
                    ManagerListing.Statement(
                        topic: TopicHandle(name: topic), text: text, kind: kind, owners: owners,
                        droppedTriggers: Int(dropped)))
            }
            return .success(.listing(ManagerListing(metrics: metrics, statements: statements)))
        case 4:
            let triggers: Int64 = try buffer.readChecked("managed.triggers")
            return .success(.published(triggers: Int(triggers)))
        default:
            throw QueryError(.decodingFailed, "manager answer has unknown status \(status)")
        }
    }
}

extension Trigger {
    func write(to buffer: inout ByteBuffer) {
        buffer.writeShortString(topic)
        buffer.writeShortString(kind.rawValue)
        buffer.writeInteger(sequence)
        buffer.writeInteger(time.nanosecondsSinceEpoch)
        buffer.writeInteger(UInt32(columns.count))
        for column in columns { buffer.writeShortString(column) }
        buffer.writeInteger(UInt32(rows.count))
        for row in rows {
            for value in row { buffer.writeValue(value) }
        }
    }

    static func read(from buffer: inout ByteBuffer) throws(QueryError) -> Trigger {
        let topic = try buffer.readShortString("trigger.topic")
        let kindName = try buffer.readShortString("trigger.kind")
        guard let kind = Trigger.Kind(rawValue: kindName) else {
            throw QueryError(.decodingFailed, "unknown trigger kind '\(kindName)'")
        }
        let sequence: UInt64 = try buffer.readChecked("trigger.sequence")
        let time: Int64 = try buffer.readChecked("trigger.time")
        let columnCount: UInt32 = try buffer.readChecked("trigger.columns")
        try buffer.checkCount(columnCount, "trigger.columns")
        var columns: [String] = []
        for _ in 0..<columnCount { columns.append(try buffer.readShortString("trigger.column")) }
        let rowCount: UInt32 = try buffer.readChecked("trigger.rows")
        guard columns.isEmpty ? rowCount == 0 : Int(rowCount) * columns.count <= buffer.readableBytes else {
            throw QueryError(.decodingFailed, "trigger declares \(rowCount) rows in \(buffer.readableBytes) bytes")
        }
        var rows: [[Value]] = []
        rows.reserveCapacity(Int(rowCount))
        for _ in 0..<rowCount {
            var row: [Value] = []
            for _ in 0..<columns.count { row.append(try buffer.readValue()) }
            rows.append(row)
        }
        return Trigger(
            topic: topic, kind: kind, sequence: sequence, time: Instant(nanosecondsSinceEpoch: time), columns: columns,
            rows: rows)
    }
}

extension ByteBuffer {
    /// Throws unless `count` items of at least one byte each fit in the bytes left.
    func checkCount(_ count: UInt32, _ field: String) throws(QueryError) {
        guard Int(count) <= readableBytes else {
            throw QueryError(.decodingFailed, "\(field) declares \(count) items in \(readableBytes) bytes")
        }
    }

    mutating func writeSchema(_ schema: Schema) {
        writeInteger(UInt32(schema.columns.count))
        for column in schema.columns {
            writeShortString(column.name)
            writeInteger(column.type.rawValue)
            writeInteger(UInt8(column.nullable ? 1 : 0))
        }
        writeInteger(UInt32(schema.keyColumns.count))
        for key in schema.keyColumns { writeShortString(schema.columns[key].name) }
    }

    mutating func readSchema() throws(QueryError) -> Schema {
        let count: UInt32 = try readChecked("schema.columns")
        try checkCount(count, "schema.columns")
        var columns: [ColumnDefinition] = []
        for _ in 0..<count {
            let name = try readShortString("schema.column")
            let rawType: UInt8 = try readChecked("schema.column.type")
            guard let type = ColumnType(rawValue: rawType) else {
                throw QueryError(.decodingFailed, "schema column '\(name)' has unknown type \(rawType)")
            }
            let nullable: UInt8 = try readChecked("schema.column.nullable")
            columns.append(ColumnDefinition(name, type, nullable: nullable != 0))
        }
        let keyCount: UInt32 = try readChecked("schema.keys")
        try checkCount(keyCount, "schema.keys")
        var keys: [String] = []
        for _ in 0..<keyCount { keys.append(try readShortString("schema.key")) }
        return try Schema(columns, key: keys)
    }

    mutating func writeAccessList(_ list: AccessList) {
        switch list {
        case .anyone:
            writeInteger(UInt8(0))
        case .only(let principals):
            writeInteger(UInt8(1))
            writeInteger(UInt32(principals.count))
            for principal in principals.sorted(by: { $0.name < $1.name }) { writeShortString(principal.name) }
        }
    }

    mutating func readAccessList() throws(QueryError) -> AccessList {
        let tag: UInt8 = try readChecked("access")
        switch tag {
        case 0:
            return .anyone
        case 1:
            let count: UInt32 = try readChecked("access.count")
            try checkCount(count, "access.count")
            var principals: Set<Principal> = []
            for _ in 0..<count { principals.insert(Principal(try readShortString("access.principal"))) }
            return .only(principals)
        default:
            throw QueryError(.decodingFailed, "unknown access list tag \(tag)")
        }
    }
}
