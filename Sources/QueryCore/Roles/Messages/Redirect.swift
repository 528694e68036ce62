/// "Ask elsewhere": the node does not serve some of the tables asked about; the partition named
/// here does, at the nodes listed (in preference order). A client follows it by asking those nodes.
public struct Redirect: Sendable, Hashable, CustomStringConvertible {
    /// The query or request this answers, if any.
    public var queryID: QueryID?
    /// The tables that are served elsewhere, sorted.
    public var tables: [TableName]
    /// The partition that serves them.
    public var partition: String
    /// The nodes serving that partition, in preference order.
    public var nodes: [NodeID]

    /// Creates a redirect.
    public init(queryID: QueryID? = nil, tables: [TableName], partition: String, nodes: [NodeID]) {
        self.queryID = queryID
        self.tables = tables.sorted()
        self.partition = partition
        self.nodes = nodes
    }

    public var description: String {
        let names = tables.map { "'\($0)'" }.joined(separator: ", ")
        let at = nodes.map(\.rawValue).joined(separator: ", ")
        return "table(s) \(names) are served by partition '\(partition)' at \(at.isEmpty ? "no known node" : at)"
    }
}
