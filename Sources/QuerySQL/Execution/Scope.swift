import QueryCore

/// The names visible to expressions of one select core: its FROM sources, result aliases, and the
/// enclosing query's scope (for correlated subqueries).
final class Scope {
    /// One FROM source as the binder sees it.
    struct Source {
        /// The name it is referenced by (alias or table name), lower-cased.
        var name: String
        var columns: [String]
        var lowered: [String]
        var affinities: [Affinity]
        /// Columns left out of `*` (the right side of `USING`).
        var hidden: Set<Int> = []
    }

    let parent: Scope?
    var sources: [Source] = []
    /// Where each source's columns start in the row expressions are compiled against (nil: absent).
    var offsets: [Int?] = []
    /// Result-column aliases, lower-cased, in select-list order.
    var aliases: [(String, Expression)] = []
    /// Whether unknown names may fall back to result aliases (WHERE, GROUP BY, HAVING, ORDER BY).
    var allowAliases = false
    /// Collects aggregate calls while compiling post-aggregation expressions.
    var aggregates: AggregateCollector?
    /// Sources referenced since the last reset.
    var referenced = Set<Int>()
    /// Whether any expression of this scope reads an enclosing query's row.
    var correlated = false
    /// How many references to enclosing queries' rows were compiled in this scope so far.
    var outerReferences = 0
    /// Aliases being expanded (guards `x AS x` cycles).
    var expanding = Set<String>()
    /// Column names joined by `USING` (unqualified references are not ambiguous).
    var usingColumns = Set<String>()

    init(parent: Scope?) {
        self.parent = parent
    }

    /// Resolves a column reference within this scope's sources.
    func lookup(table: String?, name: String, at location: SourceLocation) throws(QueryError) -> (Int, Int)? {
        let lowered = name.lowercased()
        if let table {
            let t = table.lowercased()
            for (s, source) in sources.enumerated() where source.name == t {
                if let c = source.lowered.firstIndex(of: lowered) { return (s, c) }
                throw nameError(
                    .unknownColumn, "unknown column '\(table).\(name)'", location,
                    NameSuggestion.hint(for: name, in: source.columns))
            }
            return nil
        }
        var found: (Int, Int)?
        for (s, source) in sources.enumerated() {
            if let c = source.lowered.firstIndex(of: lowered) {
                if found != nil {
                    if usingColumns.contains(lowered) { continue }
                    throw QueryError(.ambiguousColumn, "ambiguous column name '\(name)' at \(location)", at: location)
                }
                found = (s, c)
            }
        }
        return found
    }

    /// The expression of the result alias `name`, if any.
    func alias(_ name: String) -> Expression? {
        let lowered = name.lowercased()
        return aliases.first { $0.0 == lowered }?.1
    }

    /// Every name an unknown column could have meant.
    var candidateNames: [String] {
        var names: [String] = []
        var scope: Scope? = self
        while let s = scope {
            for source in s.sources { names.append(contentsOf: source.columns) }
            names.append(contentsOf: s.aliases.map(\.0))
            scope = s.parent
        }
        return names
    }

    /// The width of a row holding every source.
    var wideWidth: Int { sources.reduce(0) { $0 + $1.columns.count } }

    /// Sets the layout to every source side by side.
    func useWideLayout() {
        var offset = 0
        offsets = sources.map { source in
            defer { offset += source.columns.count }
            return offset
        }
    }

    /// Sets the layout to one source alone (its own narrow rows).
    func useNarrowLayout(_ index: Int) {
        offsets = sources.indices.map { $0 == index ? 0 : nil }
    }
}

/// The aggregate calls found while compiling the post-aggregation expressions of a core.
final class AggregateCollector {
    /// Where aggregate results start in a group row.
    let base: Int
    var specs: [AggregateSpec] = []

    init(base: Int) {
        self.base = base
    }
}

/// One aggregate call: its function, `DISTINCT`, and compiled arguments (over input rows).
struct AggregateSpec {
    enum Kind { case count, countStar, sum, total, avg, min, max, groupConcat }
    var kind: Kind
    var distinct: Bool
    var arguments: [Eval]
    /// When the single argument is a column of the current row: its index (for columnar aggregation).
    var argumentColumn: Int? = nil
}
