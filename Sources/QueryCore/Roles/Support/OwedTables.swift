/// The tables a role's sources owe it in full.
///
/// A role lets go of a table nobody wants any more (its rows would otherwise stay, unconfirmed,
/// and pass for current when the interest returns). When the table is wanted again, a source whose
/// interest lease had not yet run out still believes its old copies held here and sends deltas, or
/// nothing for rows that did not change: every source is asked for the table in full
/// (``ResyncRequest`` naming no origin), again each generation until its scope-replacing entry of
/// the table arrives.
struct OwedTables: Sendable {
    /// Source → the tables it owes.
    private var owed: [NodeID: Set<TableName>] = [:]
    /// Tables let go here, by name.
    private var forgotten: Set<TableName> = []

    /// Whether no source owes anything (checked per update: nothing else is done then).
    var isEmpty: Bool { owed.isEmpty }

    /// Notes that `table` was let go.
    mutating func forgot(_ table: TableName) { forgotten.insert(table) }

    /// Notes that `tables` are wanted (again): each one let go before is owed by every one of
    /// `sources`.
    mutating func wanted(_ tables: [TableName], from sources: [NodeID]) {
        guard !forgotten.isEmpty else { return }
        for table in tables where forgotten.contains(table) {
            forgotten.remove(table)
            for source in sources { owed[source, default: []].insert(table) }
        }
    }

    /// The sources that still owe `table` in full, sorted.
    func sources(owing table: TableName) -> [NodeID] {
        owed.keys.filter { owed[$0]!.contains(table) }.sorted()
    }

    /// Notes that `source` owes only those of its tables it `listed` in its newest regular update.
    mutating func received(onlyListed listed: [TableName], from source: NodeID) {
        guard let tables = owed[source] else { return }
        let kept = tables.filter(listed.contains)
        owed[source] = kept.isEmpty ? nil : kept
    }

    /// Notes that `source` sent `table` in full.
    mutating func received(_ table: TableName, inFullFrom source: NodeID) {
        guard var tables = owed[source], tables.remove(table) != nil else { return }
        owed[source] = tables.isEmpty ? nil : tables
    }

    /// The requests to send, by source, sorted; tables no longer `wanted` are owed no more.
    ///
    /// - Parameter reported: The newest generation each source reported (`0`: none yet; its first
    ///   update brings its full state anyway). A request names that generation, so the reply, which
    ///   lists only the table asked for, is not taken for a newer regular update (one that lists
    ///   every table the source publishes, and whose unlisted tables' rows would vanish).
    mutating func requests(
        reported: (NodeID) -> UInt64, wanted: [TableName]
    ) -> [(source: NodeID, request: ResyncRequest)] {
        var requests: [(source: NodeID, request: ResyncRequest)] = []
        for source in owed.keys.sorted() {
            let tables = owed[source]!.filter(wanted.contains)
            owed[source] = tables.isEmpty ? nil : tables
            let number = reported(source)
            guard number > 0 else { continue }
            for table in tables.sorted() {
                requests.append((source, ResyncRequest(generation: number, table: table, origins: [])))
            }
        }
        return requests
    }
}
