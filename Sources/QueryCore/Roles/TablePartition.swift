/// A set of tables served by one group of nodes (an aggregator set serving a user group, say).
///
/// A node configured with partitions answers questions about another partition's tables with a
/// ``Redirect`` naming that partition and its nodes.
public struct TablePartition: Sendable, Hashable {
    /// The partition's name.
    public var name: String
    /// The tables it serves.
    public var tables: Set<TableName>
    /// The nodes serving it, in preference order.
    public var nodes: [NodeID]

    /// Creates a partition.
    public init(name: String, tables: Set<TableName>, nodes: [NodeID]) {
        self.name = name
        self.tables = tables
        self.nodes = nodes
    }
}

extension Array where Element == TablePartition {
    /// The redirect for the first partition (in configuration order) serving any of `tables`, if a
    /// node serving only `served` must send the asker elsewhere; `nil` if `served` covers them all.
    func redirect(for tables: Set<TableName>, served: Set<TableName>?, queryID: QueryID?) -> Redirect? {
        guard let served else { return nil }
        let foreign = tables.subtracting(served)
        guard !foreign.isEmpty else { return nil }
        for partition in self where !partition.tables.isDisjoint(with: foreign) {
            return Redirect(
                queryID: queryID,
                tables: [TableName](foreign.intersection(partition.tables)),
                partition: partition.name,
                nodes: partition.nodes
            )
        }
        return Redirect(queryID: queryID, tables: [TableName](foreign), partition: "", nodes: [])
    }
}
