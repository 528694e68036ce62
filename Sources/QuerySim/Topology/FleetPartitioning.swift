public import QueryCore

/// How a fleet is divided (issue #4): TLAs that see only some clusters (subnetworks), aggregator
/// sets (groups of TLAs and SQL nodes that talk only among themselves), and table partitions
/// (tables served by named groups of nodes, the others redirecting to them).
///
/// The empty value (the default) is the flat fleet: every TLA sees every cluster, every SQL node
/// lists every TLA, every node serves every table.
///
/// - **Subnetworks**: a listed TLA sees only its clusters (through all of their proxies); a TLA
///   not listed is a *mega* TLA and sees them all. Its children see what it sees.
/// - **Aggregator sets**: each set names TLAs and SQL nodes (a node in at most one set). A SQL
///   node of a set lists only its set's TLAs, and each node of a set is configured with the set
///   (a TLA refuses requests from outside it). Nodes in no set keep the flat behaviour.
/// - **Table partitions**: each partition names tables and the TLAs and SQL nodes serving them
///   (at least one SQL node: redirects send clients to its SQL nodes, in order). A node in one or
///   more partitions serves their tables and every table no partition names; a node in none serves
///   every table. Every node is configured with all the partitions, so it redirects questions
///   about tables it does not serve. A SQL node lists, of its (set's) TLAs, those serving every
///   table it serves (all of them if none does), and prewarms only tables it serves; a TLA
///   prewarms and defers only tables it serves.
public struct FleetPartitioning: Sendable, Hashable {
    /// The clusters one TLA sees.
    public struct Subnetwork: Sendable, Hashable {
        /// The TLA (`tla:<aggregator>`).
        public var aggregator: Int
        /// The clusters it sees (0-based, no repeats, at least one).
        public var clusters: [Int]

        /// Creates a subnetwork.
        public init(aggregator: Int, clusters: [Int]) {
            self.aggregator = aggregator
            self.clusters = clusters
        }
    }

    /// A named group of TLAs and SQL nodes.
    public struct Group: Sendable, Hashable {
        /// The name.
        public var name: String
        /// TLAs (`tla:<i>`).
        public var aggregators: [Int]
        /// SQL nodes (`sql:<i>`).
        public var sqlNodes: [Int]

        /// Creates a group.
        public init(name: String, aggregators: [Int], sqlNodes: [Int]) {
            self.name = name
            self.aggregators = aggregators
            self.sqlNodes = sqlNodes
        }
    }

    /// Tables served by a named group of nodes.
    public struct Partition: Sendable, Hashable {
        /// The name.
        public var name: String
        /// The tables it serves.
        public var tables: [TableName]
        /// TLAs serving them.
        public var aggregators: [Int]
        /// SQL nodes serving them, in the order redirects name them (at least one).
        public var sqlNodes: [Int]

        /// Creates a partition.
        public init(name: String, tables: [TableName], aggregators: [Int], sqlNodes: [Int]) {
            self.name = name
            self.tables = tables
            self.aggregators = aggregators
            self.sqlNodes = sqlNodes
        }
    }

    /// TLAs seeing a subset of the clusters (TLAs not listed see all).
    public var subnetworks: [Subnetwork]
    /// Aggregator sets.
    public var aggregatorSets: [Group]
    /// Table partitions.
    public var tablePartitions: [Partition]

    /// Creates a partitioning (the default: none).
    public init(subnetworks: [Subnetwork] = [], aggregatorSets: [Group] = [], tablePartitions: [Partition] = []) {
        self.subnetworks = subnetworks
        self.aggregatorSets = aggregatorSets
        self.tablePartitions = tablePartitions
    }

    /// Whether the fleet is flat.
    public var isEmpty: Bool { subnetworks.isEmpty && aggregatorSets.isEmpty && tablePartitions.isEmpty }

    /// Checks the partitioning against a fleet shape.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` naming the entry (`subnetworks[1].clusters[0]`)
    ///   and the problem: an index outside the fleet, a node or cluster listed twice, a TLA with two
    ///   subnetworks, a node in two sets, an empty or unnamed group, a name used twice, a table in
    ///   two partitions, a partition without SQL nodes.
    public func validate(_ shape: FleetShape) throws(QueryError) {
        func bad(_ path: String, _ why: String) -> QueryError { QueryError(.invalidArgument, "\(path): \(why)") }
        func indices(_ list: [Int], _ count: Int, _ what: String, _ path: String) throws(QueryError) {
            var seen: Set<Int> = []
            for (k, i) in list.enumerated() {
                guard (0..<count).contains(i) else {
                    throw bad("\(path)[\(k)]", "\(what) \(i) is not in the fleet (it has \(what)s 0…\(count - 1))")
                }
                guard seen.insert(i).inserted else { throw bad("\(path)[\(k)]", "\(what) \(i) is listed twice") }
            }
        }
        var withSubnetwork: [Int: Int] = [:]
        for (k, subnetwork) in subnetworks.enumerated() {
            let path = "subnetworks[\(k)]"
            try indices([subnetwork.aggregator], shape.aggregators, "TLA", "\(path).tla")
            if let earlier = withSubnetwork[subnetwork.aggregator] {
                throw bad("\(path).tla", "tla:\(subnetwork.aggregator) already has a subnetwork (subnetworks[\(earlier)])")
            }
            withSubnetwork[subnetwork.aggregator] = k
            guard !subnetwork.clusters.isEmpty else { throw bad("\(path).clusters", "a TLA must see at least one cluster") }
            try indices(subnetwork.clusters, shape.clusters, "cluster", "\(path).clusters")
        }
        var names: Set<String> = []
        var inSet: [NodeID: Int] = [:]
        for (k, set) in aggregatorSets.enumerated() {
            let path = "aggregatorSets[\(k)]"
            guard !set.name.isEmpty else { throw bad("\(path).name", "a set needs a name") }
            guard names.insert(set.name).inserted else { throw bad("\(path).name", "the name '\(set.name)' is used twice") }
            guard !set.aggregators.isEmpty else { throw bad("\(path).tlas", "a set needs at least one TLA") }
            guard !set.sqlNodes.isEmpty else { throw bad("\(path).sqlNodes", "a set needs at least one SQL node") }
            try indices(set.aggregators, shape.aggregators, "TLA", "\(path).tlas")
            try indices(set.sqlNodes, shape.sqlNodes, "SQL node", "\(path).sqlNodes")
            let members =
                set.aggregators.enumerated().map { ("\(path).tlas[\($0.offset)]", FleetShape.aggregator($0.element)) }
                + set.sqlNodes.enumerated().map { ("\(path).sqlNodes[\($0.offset)]", FleetShape.sql($0.element)) }
            for (at, node) in members {
                if let earlier = inSet[node] { throw bad(at, "\(node) is already in aggregatorSets[\(earlier)]") }
                inSet[node] = k
            }
        }
        names = []
        var partitionOf: [TableName: Int] = [:]
        for (k, partition) in tablePartitions.enumerated() {
            let path = "tablePartitions[\(k)]"
            guard !partition.name.isEmpty else { throw bad("\(path).name", "a partition needs a name") }
            guard names.insert(partition.name).inserted else {
                throw bad("\(path).name", "the name '\(partition.name)' is used twice")
            }
            guard !partition.tables.isEmpty else { throw bad("\(path).tables", "a partition needs at least one table") }
            for (t, table) in partition.tables.enumerated() {
                if let earlier = partitionOf[table] {
                    throw bad("\(path).tables[\(t)]", "'\(table)' is already served by tablePartitions[\(earlier)]")
                }
                partitionOf[table] = k
            }
            guard !partition.sqlNodes.isEmpty else {
                throw bad("\(path).sqlNodes", "a partition needs at least one SQL node (redirects send clients there)")
            }
            try indices(partition.aggregators, shape.aggregators, "TLA", "\(path).tlas")
            try indices(partition.sqlNodes, shape.sqlNodes, "SQL node", "\(path).sqlNodes")
        }
    }

    // MARK: Derived configuration

    /// The clusters `tla:<a>` sees, sorted.
    public func clusters(ofAggregator a: Int, in shape: FleetShape) -> [Int] {
        subnetworks.first { $0.aggregator == a }.map { $0.clusters.sorted() } ?? Array(0..<shape.clusters)
    }

    /// The set `node` belongs to, if any.
    public func aggregatorSet(of node: NodeID) -> AggregatorSet? {
        for set in aggregatorSets {
            let members = Set(set.aggregators.map(FleetShape.aggregator) + set.sqlNodes.map(FleetShape.sql))
            if members.contains(node) { return AggregatorSet(name: set.name, members: members) }
        }
        return nil
    }

    /// The partitions as the roles know them (nodes: the partition's SQL nodes, in order).
    public var rolePartitions: [TablePartition] {
        tablePartitions.map { TablePartition(name: $0.name, tables: Set($0.tables), nodes: $0.sqlNodes.map(FleetShape.sql)) }
    }

    /// The tables `node` serves (`nil`: all): its partitions' tables and every table no partition
    /// names, out of `all`.
    public func servedTables(by node: NodeID, all: [TableName]) -> Set<TableName>? {
        let mine = tablePartitions.filter {
            $0.aggregators.map(FleetShape.aggregator).contains(node) || $0.sqlNodes.map(FleetShape.sql).contains(node)
        }
        guard !mine.isEmpty else { return nil }
        let named = Set(tablePartitions.flatMap(\.tables))
        return Set(mine.flatMap(\.tables)).union(all.filter { !named.contains($0) })
    }

    /// The TLAs `sql:<s>` lists, in preference order: its set's TLAs (all, with no set), those
    /// serving every table it serves first, each group starting at `tla:<s mod n>` as in a flat
    /// fleet. The others are standbys: they redirect requests for tables they do not serve.
    public func aggregators(ofSQL s: Int, in shape: FleetShape, all: [TableName]) -> [NodeID] {
        let node = FleetShape.sql(s)
        let flat = (0..<shape.aggregators).map { FleetShape.aggregator((s + $0) % shape.aggregators) }
        var list = flat
        if let set = aggregatorSet(of: node) { list = list.filter { set.members.contains($0) } }
        let served = servedTables(by: node, all: all) ?? Set(all)
        let serving = list.filter { tla in servedTables(by: tla, all: all).map { served.isSubset(of: $0) } ?? true }
        return serving + list.filter { !serving.contains($0) }
    }
}

extension FleetPartitioning {
    /// One line for reports: `subnetworks tla:1=[0,2]; sets a={tla:0,sql:0} …; partitions procs[processes]@sql:1 …`.
    public var summary: String {
        if isEmpty { return "flat" }
        var parts: [String] = []
        if !subnetworks.isEmpty {
            parts.append(
                "subnetworks " + subnetworks.map { "tla:\($0.aggregator)=\($0.clusters.sorted())" }.joined(separator: " "))
        }
        if !aggregatorSets.isEmpty {
            parts.append(
                "sets "
                    + aggregatorSets.map { set in
                        let members = set.aggregators.map { "tla:\($0)" } + set.sqlNodes.map { "sql:\($0)" }
                        return "\(set.name){\(members.joined(separator: ","))}"
                    }
                    .joined(separator: " "))
        }
        if !tablePartitions.isEmpty {
            parts.append(
                "partitions "
                    + tablePartitions.map { p in
                        let nodes = p.aggregators.map { "tla:\($0)" } + p.sqlNodes.map { "sql:\($0)" }
                        return "\(p.name)[\(p.tables.map(\.rawValue).joined(separator: ","))]@\(nodes.joined(separator: ","))"
                    }
                    .joined(separator: " "))
        }
        return parts.joined(separator: "; ")
    }
}
