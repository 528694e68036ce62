public import QueryCore

/// One event written as a JSON object, as `query-replay` reads them and the JSON push endpoint
/// accepts them: `{"stream": "Name", "time": ms, "field": value, …}`.
///
/// Field values are strings, numbers, booleans or `null`; `time` (milliseconds since the epoch)
/// may be left out where the reader supplies a default.
public struct JSONEventLine: Sendable {
    /// The stream the event belongs to.
    public var stream: String
    /// The event time in milliseconds, if given.
    public var time: Int64?
    /// The other keys, in order.
    public var fields: [(String, Value)]

    /// Parses one object.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.decodingFailed` naming the column of a JSON problem;
    ///   `.invalidArgument` for a missing or non-string `stream` or a non-numeric `time`.
    public static func parse(_ text: some StringProtocol) throws(QueryError) -> JSONEventLine {
        let pairs = try JSONLine.parseObject(String(text))
        var stream: String?
        var time: Int64?
        var fields: [(String, Value)] = []
        fields.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            switch key {
            case "stream":
                guard case .text(let s) = value else { throw QueryError(.invalidArgument, "'stream' must be a string") }
                stream = s
            case "time":
                switch value {
                case .integer(let i): time = i
                case .real(let d) where d.isFinite && abs(d) < 9e15: time = Int64(d)
                default: throw QueryError(.invalidArgument, "'time' must be a number of milliseconds")
                }
            default: fields.append((key, value))
            }
        }
        guard let stream else { throw QueryError(.invalidArgument, "missing 'stream'") }
        return JSONEventLine(stream: stream, time: time, fields: fields)
    }
}
