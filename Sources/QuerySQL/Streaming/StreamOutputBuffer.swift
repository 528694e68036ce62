public import QueryCore

/// Triggers kept in flat, reusable storage: what ``StreamEngine/send(_:_:at:into:)`` and
/// ``StreamEngine/advance(to:into:)`` append to.
///
/// The same triggers as the `[StreamOutput]` the other `send` and `advance` methods return (in
/// the same order, with the same rows), but the rows' values sit in one array the buffer keeps, so
/// a caller that reuses the buffer (``removeAll()`` between events) allocates nothing per trigger.
/// Read a trigger's parts with ``statement(at:)``, ``time(at:)``, ``columns(at:)``,
/// ``rowCount(at:)`` and ``row(_:of:)``, or whole as a ``StreamOutput`` by subscript or iteration.
public struct StreamOutputBuffer: Sendable, RandomAccessCollection {
    struct Trigger: Sendable {
        var statement: StatementID
        var time: Instant
        var columns: [String]
        /// The trigger's rows are `rowEnds[firstRow ..< firstRow + rowCount]`.
        var firstRow: Int
        var rowCount: Int
    }

    var triggers: [Trigger] = []
    /// Where each row ends in ``values`` (it starts where the previous row ends).
    var rowEnds: [Int] = []
    /// Every row's values, one row after another.
    var values: [Value] = []

    /// Creates an empty buffer.
    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { triggers.count }

    /// The trigger at `index` as a ``StreamOutput`` (this copies its rows).
    public subscript(index: Int) -> StreamOutput {
        let t = triggers[index]
        let first = t.firstRow
        var rows: [[Value]] = []
        rows.reserveCapacity(t.rowCount)
        for r in first..<first + t.rowCount { rows.append(Array(values[rowStart(r)..<rowEnds[r]])) }
        return StreamOutput(statement: t.statement, time: t.time, columns: t.columns, rows: rows)
    }

    /// The statement that produced the trigger at `index`.
    public func statement(at index: Int) -> StatementID { triggers[index].statement }
    /// The engine time of the trigger at `index`.
    public func time(at index: Int) -> Instant { triggers[index].time }
    /// The result column names of the trigger at `index`.
    public func columns(at index: Int) -> [String] { triggers[index].columns }
    /// How many rows the trigger at `index` has.
    public func rowCount(at index: Int) -> Int { triggers[index].rowCount }
    /// Row `row` (from 0) of the trigger at `index`, without copying it.
    public func row(_ row: Int, of index: Int) -> ArraySlice<Value> {
        let t = triggers[index]
        precondition(row >= 0 && row < t.rowCount, "row \(row) out of range")
        let r = t.firstRow + row
        return values[rowStart(r)..<rowEnds[r]]
    }

    /// The rows of all triggers together.
    public var totalRowCount: Int { rowEnds.count }

    /// Forgets every trigger, keeping the storage for reuse.
    public mutating func removeAll() {
        triggers.removeAll(keepingCapacity: true)
        rowEnds.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private func rowStart(_ r: Int) -> Int { r == 0 ? 0 : rowEnds[r - 1] }

    /// Appends a trigger with `rows` (none is appended if `rows` is empty).
    mutating func append(statement: StatementID, time: Instant, columns: [String], rows: [[Value]]) {
        guard !rows.isEmpty else { return }
        triggers.append(
            Trigger(statement: statement, time: time, columns: columns, firstRow: rowEnds.count, rowCount: rows.count))
        for row in rows {
            values += row
            rowEnds.append(values.count)
        }
    }

    /// Starts a one-row trigger whose values the caller appends to ``values`` next, then ends with
    /// ``endRow()``.
    @inline(__always)
    mutating func beginOneRowTrigger(statement: StatementID, time: Instant, columns: [String]) {
        if triggers.capacity == 0 {
            // Reused buffers keep their storage; a fresh one starts with room for a few triggers.
            triggers.reserveCapacity(4)
            rowEnds.reserveCapacity(4)
            values.reserveCapacity(4 * Swift.max(columns.count, 1))
        }
        triggers.append(Trigger(statement: statement, time: time, columns: columns, firstRow: rowEnds.count, rowCount: 1))
    }

    /// Ends the row whose values were appended since the last row ended.
    @inline(__always)
    mutating func endRow() { rowEnds.append(values.count) }

    /// The triggers as ``StreamOutput``s.
    public var outputs: [StreamOutput] { Array(self) }
}
