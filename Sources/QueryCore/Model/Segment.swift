/// The rows one origin (publishing machine) contributed to one table, stored column by column.
///
/// Segments are values whose column arrays are shared copy-on-write: replacing one origin's data
/// in a ``Table`` replaces one segment, and combining clusters moves references, never rows. Only
/// the in-place delta apply writes a segment's parts (within the module), into buffers nobody else
/// holds.
public struct Segment: Sendable {
    /// The schema every column follows.
    public let schema: Schema
    /// One column per schema column.
    public internal(set) var columns: [Column]
    /// The number of rows.
    public internal(set) var rowCount: Int
    /// Approximate in-memory size of the values (for metrics and benchmarks), computed once (and
    /// kept up to date by the in-place apply): every hop estimates the wire size of what it sends
    /// and receives.
    public internal(set) var byteSize: Int

    /// A segment from finished columns.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` if the column count, types or lengths disagree
    ///   with `schema`.
    public init(schema: Schema, columns: [Column]) throws(QueryError) {
        guard columns.count == schema.count else {
            throw QueryError(.invalidArgument, "\(columns.count) columns for a schema of \(schema.count)")
        }
        let rowCount = columns.first?.count ?? 0
        for (index, column) in columns.enumerated() {
            guard column.count == rowCount else {
                throw QueryError(
                    .invalidArgument,
                    "column '\(schema.columns[index].name)' has \(column.count) rows, column 1 has \(rowCount)")
            }
            guard column.type == schema.columns[index].type else {
                throw QueryError(
                    .typeMismatch,
                    "column '\(schema.columns[index].name)' holds \(column.type), schema says \(schema.columns[index].type)")
            }
        }
        self.schema = schema
        self.columns = columns
        self.rowCount = rowCount
        self.byteSize = Segment.byteSize(of: columns)
    }

    /// A segment built from rows of values, each checked against `schema`.
    ///
    /// - Throws: ``QueryError`` saying which row and column is wrong.
    public init(schema: Schema, rows: some Sequence<[Value]>) throws(QueryError) {
        var builder = SegmentBuilder(schema: schema)
        for row in rows { try builder.append(row) }
        self = builder.finish()
    }

    /// Columns assembled by code that guarantees they match `schema`.
    package init(unchecked schema: Schema, columns: [Column], rowCount: Int) {
        self.schema = schema
        self.columns = columns
        self.rowCount = rowCount
        self.byteSize = Segment.byteSize(of: columns)
    }

    /// A segment with no rows.
    ///
    /// - Complexity: O(1), without allocating (the schema holds shared empty columns).
    public static func empty(_ schema: Schema) -> Segment {
        Segment(unchecked: schema, columns: schema.emptyColumns, rowCount: 0)
    }

    /// Whether there are no rows.
    public var isEmpty: Bool { rowCount == 0 }

    /// The value at `row`, `column`.
    @inlinable
    public func value(row: Int, column: Int) -> Value { columns[column][row] }

    /// Row `index` as values.
    public func row(_ index: Int) -> [Value] { columns.map { $0[index] } }

    /// Every row as values (for tests and small outputs; scans should use ``columns``).
    public var rows: [[Value]] { (0..<rowCount).map(row) }

    /// The segments' rows one after another, in order.
    ///
    /// - Complexity: O(total rows), array by array.
    /// - Throws: ``QueryError`` `.schemaMismatch` if the segments' schemas differ, `.limitExceeded`
    ///   above 2³¹ − 1 rows or 4 GiB of text in one column.
    public static func concatenating(_ segments: [Segment], schema: Schema) throws(QueryError) -> Segment {
        for segment in segments where segment.schema != schema {
            throw QueryError(.schemaMismatch, "cannot concatenate \(segment.schema) with \(schema)")
        }
        if segments.count == 1 { return segments[0] }
        let total = segments.reduce(0) { $0 + $1.rowCount }
        try checkRowLimit(total)
        var columns: [Column] = []
        columns.reserveCapacity(schema.count)
        for c in schema.columns.indices {
            columns.append(try Column.concatenating(segments.map { $0.columns[c] }, type: schema.columns[c].type))
        }
        return Segment(unchecked: schema, columns: columns, rowCount: total)
    }

    /// The approximate in-memory size of `columns`' values.
    ///
    /// - Complexity: O(columns); only text columns' arrays are looked at (fixed-width ones are sized
    ///   by their row count).
    static func byteSize(of columns: [Column]) -> Int {
        var total = 0
        for c in columns.indices {
            switch columns[c].storage {
            case .integer, .real: total += columns[c].count * 8
            case .text(let t): total += t.bytes.count + t.offsets.count * 4
            case .boolean: total += columns[c].count
            case .any: total += columns[c].count * 16
            }
        }
        return total
    }
}

/// Builds a ``Segment`` row by row, validating every value against the schema.
public struct SegmentBuilder: Sendable {
    /// The schema rows must follow.
    public let schema: Schema
    private var builders: [ColumnBuilder]
    /// Rows appended so far.
    public private(set) var rowCount = 0

    /// Creates a builder.
    public init(schema: Schema, capacity: Int = 0) {
        self.schema = schema
        self.builders = schema.columns.map { ColumnBuilder(type: $0.type, nullable: $0.nullable, capacity: capacity) }
    }

    /// Appends one row.
    ///
    /// - Throws: ``QueryError`` naming the row number and column if the row has the wrong number of
    ///   values or a value does not fit its column. The builder is unchanged on error.
    public mutating func append(_ row: [Value]) throws(QueryError) {
        guard row.count == schema.count else {
            throw QueryError(.invalidArgument, "row \(rowCount + 1) has \(row.count) values; the schema has \(schema.count) columns")
        }
        // Validate first so a bad row leaves nothing half-appended.
        for (index, value) in row.enumerated() {
            let column = schema.columns[index]
            if let problem = SegmentBuilder.problem(value, column) {
                throw QueryError(.typeMismatch, "row \(rowCount + 1), column '\(column.name)': \(problem)")
            }
        }
        for (index, value) in row.enumerated() {
            try! builders[index].append(value)  // validated above
        }
        rowCount += 1
    }

    /// Appends row `index` of `segment`, which must have this builder's schema.
    public mutating func append(from segment: Segment, row index: Int) {
        for c in builders.indices { builders[c].append(from: segment.columns[c], row: index) }
        rowCount += 1
    }

    /// Returns the finished segment and resets the builder.
    public mutating func finish() -> Segment {
        let columns = builders.indices.map { builders[$0].finish() }
        let segment = Segment(unchecked: schema, columns: columns, rowCount: rowCount)
        rowCount = 0
        return segment
    }

    /// Why `value` cannot be stored in `column`, or `nil`.
    static func problem(_ value: Value, _ column: ColumnDefinition) -> String? {
        switch (column.type, value) {
        case (_, .null): return column.nullable ? nil : "NULL in a NOT NULL column"
        case (.any, _), (.integer, .integer), (.integer, .boolean), (.real, .real), (.real, .integer),
            (.text, .text), (.boolean, .boolean):
            return nil
        case (.boolean, .integer(let x)) where x == 0 || x == 1:
            return nil
        default:
            return "\(value.typeName) value '\(value.description.prefix(40))' does not fit \(column.type)"
        }
    }
}
