public import QueryCore

/// The size of a simulated fleet and the names of its nodes.
///
/// Nodes are named `edge:<cluster>.<machine>`, `proxy:<cluster>.<i>`, `tla:<i>`,
/// `tla-child:<i>.<j>` and `sql:<i>`, all 0-based.
public struct FleetShape: Sendable, Hashable {
    /// Number of clusters.
    public var clusters: Int
    /// Machines (edge agents) per cluster.
    public var machinesPerCluster: Int
    /// Cluster proxies per cluster (≥ 2 for redundancy).
    public var proxiesPerCluster: Int
    /// Top-level aggregators.
    public var aggregators: Int
    /// Children per TLA (0: none).
    public var childrenPerAggregator: Int
    /// SQL nodes.
    public var sqlNodes: Int

    /// Creates a shape.
    public init(
        clusters: Int, machinesPerCluster: Int, proxiesPerCluster: Int = 2, aggregators: Int = 2,
        childrenPerAggregator: Int = 0, sqlNodes: Int = 1
    ) {
        self.clusters = clusters
        self.machinesPerCluster = machinesPerCluster
        self.proxiesPerCluster = proxiesPerCluster
        self.aggregators = aggregators
        self.childrenPerAggregator = childrenPerAggregator
        self.sqlNodes = sqlNodes
    }

    /// Checks the counts.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` naming the bad count.
    public func validate() throws(QueryError) {
        func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(QueryError) {
            guard range.contains(value) else {
                throw QueryError(.invalidArgument, "\(name) is \(value); it must be in \(range.lowerBound)…\(range.upperBound)")
            }
        }
        try check("clusters", clusters, 1...100_000)
        try check("machinesPerCluster", machinesPerCluster, 1...100_000)
        try check("proxiesPerCluster", proxiesPerCluster, 1...16)
        try check("aggregators", aggregators, 1...64)
        try check("tlaChildren", childrenPerAggregator, 0...64)
        try check("sqlNodes", sqlNodes, 1...64)
        try check("clusters × machinesPerCluster", clusters * machinesPerCluster, 1...10_000_000)
    }

    /// Total machines.
    public var machineCount: Int { clusters * machinesPerCluster }

    /// `edge:<cluster>.<machine>`.
    public static func edge(_ cluster: Int, _ machine: Int) -> NodeID { NodeID("edge:\(cluster).\(machine)") }
    /// `proxy:<cluster>.<i>`.
    public static func proxy(_ cluster: Int, _ i: Int) -> NodeID { NodeID("proxy:\(cluster).\(i)") }
    /// `tla:<i>`.
    public static func aggregator(_ i: Int) -> NodeID { NodeID("tla:\(i)") }
    /// `tla-child:<i>.<j>`.
    public static func child(_ i: Int, _ j: Int) -> NodeID { NodeID("tla-child:\(i).\(j)") }
    /// `sql:<i>`.
    public static func sql(_ i: Int) -> NodeID { NodeID("sql:\(i)") }
    /// The name of cluster `c` as proxies and TLAs know it: `cluster:<c>`.
    public static func cluster(_ c: Int) -> NodeID { NodeID("cluster:\(c)") }

    /// What a node name denotes.
    public enum NodeKind: Sendable, Hashable {
        /// `edge:<cluster>.<machine>`: a machine's edge agent.
        case edge(cluster: Int, machine: Int)
        /// `proxy:<cluster>.<index>`: a cluster proxy.
        case proxy(cluster: Int, index: Int)
        /// `tla:<i>`: a top-level aggregator.
        case aggregator(Int)
        /// `tla-child:<aggregator>.<index>`: a TLA's child.
        case child(aggregator: Int, index: Int)
        /// `sql:<i>`: a SQL node.
        case sql(Int)
    }

    /// Parses a node name of this fleet.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` saying why the name is not a node of this fleet.
    public func kind(of name: String) throws(QueryError) -> NodeKind {
        func numbers(_ text: Substring, count: Int) -> [Int]? {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == count else { return nil }
            var result: [Int] = []
            for part in parts {
                guard !part.isEmpty, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber), part.count <= 9,
                    let n = Int(part)
                else { return nil }
                result.append(n)
            }
            return result
        }
        func bad(_ why: String) -> QueryError {
            QueryError(.invalidArgument, "unknown node '\(name)': \(why)")
        }
        guard let colon = name.firstIndex(of: ":") else {
            throw bad("expected edge:<c>.<m>, proxy:<c>.<i>, tla:<i>, tla-child:<i>.<j> or sql:<i>")
        }
        let prefix = name[..<colon], rest = name[name.index(after: colon)...]
        switch prefix {
        case "edge":
            guard let n = numbers(rest, count: 2) else { throw bad("expected edge:<cluster>.<machine>") }
            guard n[0] < clusters else { throw bad("the fleet has clusters 0…\(clusters - 1)") }
            guard n[1] < machinesPerCluster else { throw bad("clusters have machines 0…\(machinesPerCluster - 1)") }
            return .edge(cluster: n[0], machine: n[1])
        case "proxy":
            guard let n = numbers(rest, count: 2) else { throw bad("expected proxy:<cluster>.<i>") }
            guard n[0] < clusters else { throw bad("the fleet has clusters 0…\(clusters - 1)") }
            guard n[1] < proxiesPerCluster else { throw bad("clusters have proxies 0…\(proxiesPerCluster - 1)") }
            return .proxy(cluster: n[0], index: n[1])
        case "tla":
            guard let n = numbers(rest, count: 1) else { throw bad("expected tla:<i>") }
            guard n[0] < aggregators else { throw bad("the fleet has TLAs 0…\(aggregators - 1)") }
            return .aggregator(n[0])
        case "tla-child":
            guard let n = numbers(rest, count: 2) else { throw bad("expected tla-child:<i>.<j>") }
            guard n[0] < aggregators else { throw bad("the fleet has TLAs 0…\(aggregators - 1)") }
            guard n[1] < childrenPerAggregator else {
                throw bad(childrenPerAggregator == 0 ? "the fleet has no TLA children" : "TLAs have children 0…\(childrenPerAggregator - 1)")
            }
            return .child(aggregator: n[0], index: n[1])
        case "sql":
            guard let n = numbers(rest, count: 1) else { throw bad("expected sql:<i>") }
            guard n[0] < sqlNodes else { throw bad("the fleet has SQL nodes 0…\(sqlNodes - 1)") }
            return .sql(n[0])
        default:
            throw bad("expected edge:<c>.<m>, proxy:<c>.<i>, tla:<i>, tla-child:<i>.<j> or sql:<i>")
        }
    }
}
