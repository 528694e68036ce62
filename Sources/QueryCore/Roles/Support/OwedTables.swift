/// The tables a role's sources owe it in full.
///
/// A role lets go of a table nobody wants any more (its rows would otherwise stay, unconfirmed,
/// and pass for current when the interest returns). When the table is wanted again, a source whose
/// interest lease had not yet run out still believes its old copies held here and sends deltas, or
/// nothing for rows that did not change: every source is asked for the table in full
/// (``ResyncRequest`` naming no origin), again each generation until its scope-replacing entry of
/// the table arrives.
///
/// A proxy also counts on its machines for tables newly asked for (``asked(_:from:)``): a machine
/// owes each one until its first entry of it (always full) arrives, or its newest regular update
/// names it among the tables it does not publish (``GenerationUpdate/notPublished``). Until then it
/// is known but not contributing: its request or its reply may have been lost (an update that
/// neither carries the table nor says it is not published comes from a machine that was not asked),
/// and the proxy asks it again every generation. These tables are not asked for with resyncs: the
/// machine's first entry of a table is a full copy anyway.
struct OwedTables: Sendable {
    /// Source → the tables it owes.
    private var owed: [NodeID: Set<TableName>] = [:]
    /// Tables let go here, by name.
    private var forgotten: Set<TableName> = []
    /// Tables let go and wanted again: their owers are sent resync requests.
    private var resynced: Set<TableName> = []

    /// Whether no source owes anything (checked per update: nothing else is done then).
    var isEmpty: Bool { owed.isEmpty }

    /// Whether `source` owes anything.
    func owes(_ source: NodeID) -> Bool { owed[source] != nil }

    /// Notes that `table` was let go.
    mutating func forgot(_ table: TableName) { forgotten.insert(table) }

    /// Notes that `tables` are wanted (again): each one let go before is owed by every one of
    /// `sources`, and asked for with resync requests.
    mutating func wanted(_ tables: [TableName], from sources: [NodeID]) {
        guard !forgotten.isEmpty else { return }
        for table in tables where forgotten.contains(table) {
            forgotten.remove(table)
            resynced.insert(table)
            for source in sources { owed[source, default: []].insert(table) }
        }
    }

    /// Notes that `tables` were just asked for: each is owed by every one of `sources` until it
    /// sends the table in full or says it does not publish it.
    mutating func asked(_ tables: [TableName], from sources: [NodeID]) {
        guard !tables.isEmpty else { return }
        for source in sources { owed[source, default: []].formUnion(tables) }
    }

    /// Notes that `source` owes `table` again: its newest regular update neither carried it nor
    /// said it is not published (it has no interest in it: a request was lost, or its lease lapsed).
    mutating func owe(_ table: TableName, by source: NodeID) {
        owed[source, default: []].insert(table)
    }

    /// The sources that still owe `table` in full, sorted.
    func sources(owing table: TableName) -> [NodeID] {
        owed.keys.filter { owed[$0]!.contains(table) }.sorted()
    }

    /// Notes that `source`'s newest regular update said it does not publish `tables`.
    mutating func received(notPublished tables: [TableName], from source: NodeID) {
        guard var owing = owed[source] else { return }
        owing.subtract(tables)
        owed[source] = owing.isEmpty ? nil : owing
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
        var stillOwed: Set<TableName> = []
        for source in owed.keys.sorted() {
            let tables = owed[source]!.filter(wanted.contains)
            owed[source] = tables.isEmpty ? nil : tables
            stillOwed.formUnion(tables)
            guard !resynced.isEmpty else { continue }
            let number = reported(source)
            guard number > 0 else { continue }
            for table in tables.sorted() where resynced.contains(table) {
                requests.append((source, ResyncRequest(generation: number, table: table, origins: [])))
            }
        }
        if !resynced.isEmpty { resynced.formIntersection(stillOwed) }
        return requests
    }
}
