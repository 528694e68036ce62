extension TableStore {
    /// How many of `slots` of `table` hold rows, per scope (the cluster a TLA or child received
    /// them from): what each cluster's completeness figures may claim at this hop.
    ///
    /// - Complexity: O(`slots`).
    func heldOrigins(of table: TableName, amongSlots slots: [Int]) -> [NodeID: Int] {
        guard let stored = self[table] else { return [:] }
        var counts: [NodeID: Int] = [:]
        for slot in slots where stored.table.slice(at: slot) != nil {
            if let scope = stored.scope(at: slot) { counts[scope, default: 0] += 1 }
        }
        return counts
    }
}
