extension QueryNode {
    /// The derived data of the tables an update is about, held aside while the update is applied
    /// (a handful of tables: a linear list, no dictionary per update).
    ///
    /// A table listed twice in one update gives back none: its rows may change between the two.
    struct HeldDerivedData {
        private var held: [(table: TableName, derived: DerivedTableData?)] = []

        init(capacity: Int) { held.reserveCapacity(capacity) }

        /// Holds `derived` (what the catalog held for `table`, if anything).
        mutating func append(_ table: TableName, _ derived: DerivedTableData?) {
            if let index = held.firstIndex(where: { $0.table == table }) {
                held[index].derived = nil
            } else {
                held.append((table, derived))
            }
        }

        /// What was held for `table`.
        subscript(table: TableName) -> DerivedTableData? {
            held.first { $0.table == table }?.derived
        }
    }
}

extension TableStore.Intake {
    /// Whether applying the update left table `name`'s rows as they were: no copy applied and no
    /// origin removed (stale or refused copies change nothing). `false` when unknown.
    func leftUnchanged(_ name: TableName) -> Bool {
        guard let report = reports[name] else { return false }
        return report.applied == 0 && report.removed == 0
    }
}
