public import QueryCore
import Synchronization

/// A compiled expression: evaluated against the current row of a ``Frame``.
typealias Eval = (Frame) throws(QueryError) -> Value

/// The row an expression reads, and the frames of the enclosing queries (correlated subqueries).
final class Frame {
    var row: [Value]
    let outer: Frame?
    let context: ExecutionContext

    init(row: [Value], outer: Frame?, context: ExecutionContext) {
        self.row = row
        self.outer = outer
        self.context = context
    }
}

/// Per-statement execution state: the work budget.
final class ExecutionContext {
    /// Rows processed so far.
    private(set) var work = 0
    /// The most rows one statement may process.
    let budget: Int

    init(budget: Int) {
        self.budget = budget
    }

    @inline(__always)
    func charge(_ rows: Int) throws(QueryError) {
        work &+= rows
        if work > budget {
            throw QueryError(
                .limitExceeded,
                "query stopped after processing more than \(budget) rows (work budget); add join conditions or filters")
        }
    }
}

/// A relation: named, typed columns and rows of values.
///
/// A relation over a QueryCore table keeps its rows column by column (``segment``) and builds a
/// row of values only when one is read: a selective query over a large table builds the rows it
/// selects, not the whole table. The whole table as rows (``rows``) is built once, on first use,
/// and shared by every query of that table version.
public final class Relation: Sendable {
    /// The relation's name (table or view), for messages.
    public let name: String
    /// Column names.
    public let columns: [String]
    /// Column affinities (comparison and insert conversions).
    let affinities: [Affinity]
    /// The rows given as values (relations not built from a segment).
    private let givenRows: [[Value]]?
    /// The same rows column by column, for tables that came from QueryCore (typed scans).
    let segment: Segment?
    /// ``segment`` as rows of values, built on first use of ``rows``.
    private let builtRows = Mutex<[[Value]]?>(nil)
    /// Dictionary codes of text columns of ``segment``, computed on first use (the relation is an
    /// immutable snapshot, cached per catalog version, so the codes are computed once per version).
    private let textCodes = Mutex<[Int: TextCodes]>([:])

    init(name: String, columns: [String], affinities: [Affinity], rows: [[Value]]) {
        self.name = name
        self.columns = columns
        self.affinities = affinities
        self.givenRows = rows
        self.segment = nil
    }

    init(name: String, columns: [String], affinities: [Affinity], segment: Segment) {
        self.name = name
        self.columns = columns
        self.affinities = affinities
        self.givenRows = nil
        self.segment = segment
    }

    /// Rows; each has `columns.count` values.
    ///
    /// - Complexity: O(1) after the first use; the first use of a segment-backed relation builds
    ///   every row (prefer ``rowCount``, ``row(_:)`` and ``rows(at:)`` where only some are read).
    public var rows: [[Value]] {
        if let givenRows { return givenRows }
        return builtRows.withLock { cached in
            if let cached { return cached }
            let rows = (0..<rowCount).map(segmentRow)
            cached = rows
            return rows
        }
    }

    /// Whether every row of a segment-backed relation has been built (``rows`` was used).
    var hasBuiltRows: Bool { builtRows.withLock { $0 != nil } }

    /// The number of rows (nothing is built).
    public var rowCount: Int { givenRows?.count ?? segment?.rowCount ?? 0 }

    /// Row `index` (built from the segment unless every row is built already).
    func row(_ index: Int) -> [Value] {
        if let givenRows { return givenRows[index] }
        if let cached = builtRows.withLock({ $0 }) { return cached[index] }
        return segmentRow(index)
    }

    /// The rows at `indices`, in their order.
    func rows(at indices: some Collection<Int>) -> [[Value]] {
        if let all = givenRows ?? builtRows.withLock({ $0 }) { return indices.map { all[$0] } }
        return indices.map(segmentRow)
    }

    private func segmentRow(_ index: Int) -> [Value] {
        let columns = segment!.columns
        var row: [Value] = []
        row.reserveCapacity(columns.count)
        for column in columns { row.append(column[index]) }
        return row
    }

    /// The dictionary codes of text column `column` of ``segment`` (nil if it is not a text column).
    func codes(ofTextColumn column: Int) -> TextCodes? {
        guard let segment, column < segment.columns.count, case .text(let text) = segment.columns[column].storage else { return nil }
        if let cached = textCodes.withLock({ $0[column] }) { return cached }
        let codes = TextCodes(text, nulls: segment.columns[column].nulls)
        textCodes.withLock { $0[column] = codes }
        return codes
    }

    /// A relation over a QueryCore table (all origins in a stable order).
    convenience init(table: Table) {
        self.init(
            name: table.name.rawValue, columns: table.schema.columnNames,
            affinities: table.schema.columns.map { Affinity($0.type) }, segment: table.consolidated())
    }
}

/// Where the compiler finds tables and views by name.
protocol RelationProvider: AnyObject {
    /// The relation called `name` (case-insensitive), a table or a computed view, or nil.
    func relation(named name: String, at location: SourceLocation) throws(QueryError) -> Relation?
    /// Every name the provider knows (for "did you mean" suggestions).
    var relationNames: [String] { get }
    /// The work budget for one statement.
    var workBudget: Int { get }
}

/// Closest-name suggestions for error messages.
enum NameSuggestion {
    /// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
    static func closest(to name: String, in candidates: [String]) -> String? {
        let target = Array(name.lowercased().utf8)
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(target, Array(candidate.lowercased().utf8))
            if d == 0 { continue }
            if best == nil || d < best!.1 { best = (candidate, d) }
        }
        guard let (candidate, d) = best else { return nil }
        return d <= max(1, min(3, target.count / 2)) ? candidate : nil
    }

    /// `" ; did you mean 'x'?"` or an empty string.
    static func hint(for name: String, in candidates: [String]) -> String {
        if let c = closest(to: name, in: candidates) { return "; did you mean '\(c)'?" }
        return ""
    }

    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// An error message of the form `what 'name' at L:C; did you mean 'x'?`.
func nameError(_ code: QueryError.Code, _ what: String, _ location: SourceLocation, _ hint: String) -> QueryError {
    QueryError(code, "\(what) at \(location)\(hint)", at: location)
}
