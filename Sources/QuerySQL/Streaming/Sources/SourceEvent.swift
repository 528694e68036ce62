public import QueryCore

/// One event on its way from an ``EventSource`` into a stream: the stream's name, the event time
/// and the field values in the order of the stream's schema.
///
/// Build one from named fields with ``init(stream:time:fields:schema:)``, which checks the fields
/// against the schema the way the engine does.
public struct SourceEvent: Sendable, Hashable {
    /// The stream (registered metric) the event belongs to.
    public var stream: String
    /// The event time; `nil` means the engine's current time.
    public var time: Instant?
    /// Field values in schema order.
    public var values: [Value]

    /// Creates an event whose values are already in schema order.
    public init(stream: String, time: Instant?, values: [Value]) {
        self.stream = stream
        self.time = time
        self.values = values
    }

    /// Creates an event from `field → value` pairs, checked against `schema`: names are matched
    /// case-insensitively, missing fields are `NULL`, and values are converted as the engine
    /// converts them (an integer into a `REAL` field, an integral real into an `INTEGER` field,
    /// `0`/`1` into a `BOOLEAN` field).
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` for a field the schema lacks or a field given
    ///   twice, `.typeMismatch` for a value that does not fit its field, `NULL` in a `NOT NULL` field.
    public init(
        stream: String,
        time: Instant?,
        fields: [(String, Value)],
        schema: Schema
    ) throws(QueryError) {
        var values = [Value](repeating: .null, count: schema.count)
        var seen = [Bool](repeating: false, count: schema.count)
        for (name, value) in fields {
            guard let index = schema.index(of: name) else {
                throw QueryError(
                    .invalidArgument,
                    "stream '\(stream)' has no field '\(name.prefix(64))'; its fields are \(schema.columnNames.joined(separator: ", "))"
                )
            }
            guard !seen[index] else {
                throw QueryError(.invalidArgument, "field '\(name.prefix(64))' of stream '\(stream)' is given twice")
            }
            seen[index] = true
            let column = schema.columns[index]
            guard let converted = SQLArithmetic.coerce(value, to: column.type) else {
                throw QueryError(
                    .typeMismatch,
                    "field '\(column.name)' of stream '\(stream)' is \(column.type); got \(value.typeName) '\(value.description.prefix(40))'"
                )
            }
            values[index] = converted
        }
        for (index, column) in schema.columns.enumerated() where !column.nullable && values[index].isNull {
            throw QueryError(
                .typeMismatch,
                "field '\(column.name)' of stream '\(stream)' is NOT NULL; the event has none"
            )
        }
        self.init(stream: stream, time: time, values: values)
    }
}
