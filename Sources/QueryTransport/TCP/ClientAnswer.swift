import NIOCore
import QueryCore

/// The answer to a client's query as carried by a `.answer` frame.
typealias ClientAnswer = Result<QueryAnswer, QueryError>

extension Result where Success == QueryAnswer, Failure == QueryError {
    /// Body layout: status (0 rows, 1 error), then the answer or the error.
    func write(to buffer: inout ByteBuffer) {
        switch self {
        case .success(let answer):
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(answer.generation.number)
            buffer.writeInteger(answer.generation.time.nanosecondsSinceEpoch)
            buffer.writeOptionalInstant(answer.completeness.oldestPublish)
            buffer.writeOptionalInstant(answer.completeness.newestPublish)
            buffer.writeInteger(UInt32(answer.completeness.tables.count))
            for figures in answer.completeness.tables {
                buffer.writeShortString(figures.table.description)
                for count in [
                    figures.machinesContributing, figures.machinesKnown, figures.clustersContributing,
                    figures.clustersKnown,
                ] {
                    buffer.writeInteger(Int64(count))
                }
                buffer.writeInteger(UInt32(figures.dropped.count))
                for (node, since) in figures.dropped.sorted(by: { $0.key < $1.key }) {
                    buffer.writeShortString(node.rawValue)
                    buffer.writeInteger(since.nanosecondsSinceEpoch)
                }
            }
            let result = answer.result
            buffer.writeInteger(UInt32(result.columns.count))
            for column in result.columns { buffer.writeShortString(column) }
            buffer.writeInteger(UInt32(result.rows.count))
            for row in result.rows {
                for value in row { buffer.writeValue(value) }
            }
        case .failure(let error):
            buffer.writeInteger(UInt8(1))
            buffer.writeQueryError(error)
        }
    }

    static func read(from buffer: inout ByteBuffer) throws(QueryError) -> ClientAnswer {
        let status: UInt8 = try buffer.readChecked("answer.status")
        switch status {
        case 0:
            let number: UInt64 = try buffer.readChecked("answer.generation")
            let time: Int64 = try buffer.readChecked("answer.generation.time")
            let oldest = try buffer.readOptionalInstant("answer.oldest")
            let newest = try buffer.readOptionalInstant("answer.newest")
            let tableCount: UInt32 = try buffer.readChecked("answer.tables")
            guard Int(tableCount) <= buffer.readableBytes else {
                throw QueryError(.decodingFailed, "answer declares \(tableCount) tables in \(buffer.readableBytes) bytes")
            }
            var tables: [Completeness.TableFigures] = []
            for _ in 0..<tableCount {
                let name = try buffer.readShortString("answer.table")
                var counts: [Int] = []
                for _ in 0..<4 {
                    let count: Int64 = try buffer.readChecked("answer.table.count")
                    counts.append(Int(count))
                }
                let droppedCount: UInt32 = try buffer.readChecked("answer.table.dropped")
                guard Int(droppedCount) <= buffer.readableBytes else {
                    throw QueryError(.decodingFailed, "answer declares \(droppedCount) dropped nodes")
                }
                var dropped: [NodeID: Instant] = [:]
                for _ in 0..<droppedCount {
                    let node = try buffer.readNodeID("answer.table.dropped.node")
                    let since: Int64 = try buffer.readChecked("answer.table.dropped.since")
                    dropped[node] = Instant(nanosecondsSinceEpoch: since)
                }
                tables.append(
                    Completeness.TableFigures(
                        table: try TableName.fromWire(name), machinesContributing: counts[0],
                        machinesKnown: counts[1], clustersContributing: counts[2], clustersKnown: counts[3],
                        dropped: dropped))
            }
            let columnCount: UInt32 = try buffer.readChecked("answer.columns")
            guard Int(columnCount) <= buffer.readableBytes else {
                throw QueryError(.decodingFailed, "answer declares \(columnCount) columns in \(buffer.readableBytes) bytes")
            }
            var columns: [String] = []
            for _ in 0..<columnCount { columns.append(try buffer.readShortString("answer.column")) }
            let rowCount: UInt32 = try buffer.readChecked("answer.rows")
            guard columns.isEmpty ? rowCount <= 1 << 24 : Int(rowCount) * columns.count <= buffer.readableBytes else {
                throw QueryError(.decodingFailed, "answer declares \(rowCount) rows in \(buffer.readableBytes) bytes")
            }
            var rows: [[Value]] = []
            rows.reserveCapacity(Int(rowCount))
            for _ in 0..<rowCount {
                var row: [Value] = []
                row.reserveCapacity(columns.count)
                for _ in 0..<columns.count { row.append(try buffer.readValue()) }
                rows.append(row)
            }
            return .success(
                QueryAnswer(
                    result: QueryResult(columns: columns, rows: rows),
                    generation: Generation(number: number, time: Instant(nanosecondsSinceEpoch: time)),
                    completeness: Completeness(oldestPublish: oldest, newestPublish: newest, tables: tables)))
        case 1:
            return .failure(try buffer.readQueryError())
        default:
            throw QueryError(.decodingFailed, "answer has unknown status \(status)")
        }
    }
}

extension QueryError.Code {
    private static let all: [QueryError.Code] = [
        .invalidArgument, .invalidSchema, .schemaMismatch, .typeMismatch, .staleVersion, .baseVersionMismatch,
        .decodingFailed, .compressionFailed, .limitExceeded, .syntaxError, .unknownTable, .unknownColumn,
        .unknownFunction, .ambiguousColumn, .semanticError, .runtimeError, .unsupported, .timeout, .unavailable,
        .redirect, .alreadyExists, .permissionDenied, .cancelled, .internalError,
    ]

    /// The code whose description is `name`, if this build knows it.
    static func named(_ name: String) -> QueryError.Code? {
        all.first { $0.description == name }
    }
}

extension TableName {
    /// A table name received from a peer.
    static func fromWire(_ name: String) throws(QueryError) -> TableName {
        try TableName(validating: name)
    }
}

extension ByteBuffer {
    /// Code name, message, then the optional source location (line, column, offset).
    mutating func writeQueryError(_ error: QueryError) {
        writeShortString(error.code.description)
        writeLongString(error.message)
        if let location = error.location {
            writeInteger(UInt8(1))
            writeInteger(UInt32(clamping: location.line))
            writeInteger(UInt32(clamping: location.column))
            writeInteger(UInt32(clamping: location.offset))
        } else {
            writeInteger(UInt8(0))
        }
    }

    mutating func readQueryError() throws(QueryError) -> QueryError {
        let codeName = try readShortString("error.code")
        let message = try readLongString("error.message")
        let hasLocation: UInt8 = try readChecked("error.location")
        var location: SourceLocation?
        if hasLocation == 1 {
            let line: UInt32 = try readChecked("error.line")
            let column: UInt32 = try readChecked("error.column")
            let offset: UInt32 = try readChecked("error.offset")
            location = SourceLocation(line: Int(line), column: Int(column), offset: Int(offset))
        }
        return QueryError(QueryError.Code.named(codeName) ?? .internalError, message, at: location)
    }

    mutating func writeOptionalInstant(_ instant: Instant?) {
        if let instant {
            writeInteger(UInt8(1))
            writeInteger(instant.nanosecondsSinceEpoch)
        } else {
            writeInteger(UInt8(0))
        }
    }

    mutating func readOptionalInstant(_ field: String) throws(QueryError) -> Instant? {
        let present: UInt8 = try readChecked(field)
        guard present == 1 else { return nil }
        let nanoseconds: Int64 = try readChecked(field)
        return Instant(nanosecondsSinceEpoch: nanoseconds)
    }

    /// Tag byte (0 null, 1 integer, 2 real, 3 text, 4 boolean), then the value.
    mutating func writeValue(_ value: Value) {
        switch value {
        case .null:
            writeInteger(UInt8(0))
        case .integer(let integer):
            writeInteger(UInt8(1))
            writeInteger(integer)
        case .real(let real):
            writeInteger(UInt8(2))
            writeInteger(real.bitPattern)
        case .text(let text):
            writeInteger(UInt8(3))
            writeLongString(text)
        case .boolean(let boolean):
            writeInteger(UInt8(4))
            writeInteger(UInt8(boolean ? 1 : 0))
        }
    }

    mutating func readValue() throws(QueryError) -> Value {
        let tag: UInt8 = try readChecked("value.tag")
        switch tag {
        case 0: return .null
        case 1: return .integer(try readChecked("value.integer"))
        case 2: return .real(Double(bitPattern: try readChecked("value.real")))
        case 3: return .text(try readLongString("value.text"))
        case 4:
            let byte: UInt8 = try readChecked("value.boolean")
            return .boolean(byte != 0)
        default: throw QueryError(.decodingFailed, "unknown value tag \(tag)")
        }
    }
}
