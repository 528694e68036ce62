public import QueryCore

/// The built-in `processes` workload: every simulated machine publishes realistic `processes`,
/// `software_versions` and `machines` tables (and the first machine of each cluster its cluster's
/// `clusters` row), with the column names of the *Query* paper, and seeded churn per generation.
///
/// Each machine has its own random stream derived from the seed and its position, so a machine's
/// rows at generation *n* do not depend on which other machines were asked, or when. Processes of
/// user 5000 (the edge server `ghost` and its helpers) include ones whose average resident size is
/// well above 100 MB, so the paper's example query returns rows.
public struct ProcessesWorkload: Sendable {
    /// Workload settings.
    public struct Configuration: Sendable, Hashable {
        /// The seed (usually the simulation's).
        public var seed: UInt64
        /// Clusters in the fleet.
        public var clusters: Int
        /// Machines in each cluster.
        public var machinesPerCluster: Int
        /// Rows of `processes` per machine (at least the 12 resident daemons). Default 25.
        public var processesPerMachine: Int
        /// Fraction of rows that change each generation (0…1). Default 0.05.
        public var churn: Double

        /// Creates settings.
        public init(seed: UInt64, clusters: Int, machinesPerCluster: Int, processesPerMachine: Int = 25, churn: Double = 0.05) {
            self.seed = seed
            self.clusters = max(clusters, 0)
            self.machinesPerCluster = max(machinesPerCluster, 0)
            self.processesPerMachine = max(processesPerMachine, ProcessesWorkload.residentDaemons.count)
            self.churn = min(max(churn, 0), 1)
        }
    }

    /// The settings.
    public let configuration: Configuration
    private var machines: [MachineState?]

    /// Creates the workload; machines are generated lazily on first use.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.machines = Array(repeating: nil, count: configuration.clusters * configuration.machinesPerCluster)
    }

    /// Unix time of virtual time zero for the timestamps in the tables (`start_time`, `up_since`,
    /// `installed`): 2026-01-01T00:00:00Z, so they read like real epoch seconds.
    public static let epochBase: Int64 = 1_767_225_600

    /// The tables this workload publishes.
    public static let tableNames: [TableName] = ["clusters", "machines", "processes", "software_versions"]

    /// The `machine_id` of a machine: `cluster × 100,000 + machine + 1`.
    public static func machineID(cluster: Int, machine: Int) -> Int64 { Int64(cluster) * 100_000 + Int64(machine) + 1 }

    /// The tables machine `machine` of cluster `cluster` publishes at generation `generation` (≥ 1),
    /// timestamped `now`: `processes`, `software_versions`, `machines`, and on machine 0 `clusters`.
    ///
    /// Asking for an earlier generation than last time returns the current rows (data never goes back).
    public mutating func tables(cluster: Int, machine: Int, generation: UInt64, now: Instant) -> [(TableName, Segment)] {
        guard cluster >= 0, cluster < configuration.clusters, machine >= 0, machine < configuration.machinesPerCluster
        else { return [] }
        let index = cluster * configuration.machinesPerCluster + machine
        var state = machines[index] ?? MachineState(configuration: configuration, cluster: cluster, machine: machine)
        machines[index] = nil
        while state.generation < generation {
            state.advance(configuration: configuration, now: now)
        }
        let tables = state.segments(configuration: configuration, now: now)
        machines[index] = state
        return tables
    }
}

// MARK: - Schemas

extension ProcessesWorkload {
    /// `processes`: one row per running process, keyed by `pid`.
    public static let processesSchema = try! Schema(
        [
            ("machine_id", .integer), ("pid", .integer), ("ppid", .integer), ("uid", .integer),
            ("process_name", .text), ("version", .text), ("state", .text), ("rss", .integer), ("vsz", .integer),
            ("cpu", .real), ("threads", .integer), ("start_time", .integer),
        ], key: ["pid"])

    /// The package whose release `software_versions` reports: the edge server software, as in the
    /// paper's example (one row per machine, so its join with `processes` groups by release).
    public static let releasePackage = "ghost"

    /// `software_versions`: the machine's software release (one row, keyed by `software`).
    public static let softwareVersionsSchema = try! Schema(
        [("machine_id", .integer), ("software", .text), ("version", .text), ("installed", .integer)],
        key: ["software"])

    /// `machines`: one row per machine (published by the machine itself).
    public static let machinesSchema = try! Schema(
        [
            ("machine_id", .integer), ("cluster", .integer), ("hostname", .text), ("ip", .text), ("region", .text),
            ("cpus", .integer), ("memory", .integer), ("os", .text), ("kernel", .text), ("up_since", .integer),
        ], key: ["machine_id"])

    /// `clusters`: one row per cluster (published by the cluster's machine 0).
    public static let clustersSchema = try! Schema(
        [
            ("cluster", .integer), ("name", .text), ("region", .text), ("network", .text), ("machines", .integer),
            ("city", .text),
        ], key: ["cluster"])

    /// The schema of a table of this workload.
    public static func schema(of table: TableName) -> Schema? {
        switch table.rawValue {
        case "processes": processesSchema
        case "software_versions": softwareVersionsSchema
        case "machines": machinesSchema
        case "clusters": clustersSchema
        default: nil
        }
    }
}

// MARK: - Catalogue

extension ProcessesWorkload {
    /// A kind of process: its name, owner, software package and resource ranges.
    struct ProcessKind: Sendable {
        var name: String
        var uid: Int64
        var software: String
        var rssMB: ClosedRange<Int64>
        var cpu: ClosedRange<Double>
        var threads: ClosedRange<Int64>
    }

    /// Daemons every machine runs (12 rows).
    static let residentDaemons: [ProcessKind] = [
        ProcessKind(name: "systemd", uid: 0, software: "systemd", rssMB: 8...14, cpu: 0...0.3, threads: 1...1),
        ProcessKind(name: "sshd", uid: 0, software: "openssh", rssMB: 5...9, cpu: 0...0.1, threads: 1...1),
        ProcessKind(name: "crond", uid: 0, software: "cronie", rssMB: 2...4, cpu: 0...0.05, threads: 1...1),
        ProcessKind(name: "rsyslogd", uid: 0, software: "rsyslog", rssMB: 6...20, cpu: 0...1.5, threads: 3...4),
        ProcessKind(name: "query-agent", uid: 0, software: "query-agent", rssMB: 30...60, cpu: 0.2...3, threads: 4...8),
        ProcessKind(name: "ntpd", uid: 38, software: "ntp", rssMB: 3...6, cpu: 0...0.1, threads: 1...1),
        ProcessKind(name: "ghost", uid: 5000, software: "ghost", rssMB: 400...1600, cpu: 5...80, threads: 16...64),
        ProcessKind(name: "ghost", uid: 5000, software: "ghost", rssMB: 400...1600, cpu: 5...80, threads: 16...64),
        ProcessKind(name: "dnsd", uid: 5000, software: "dnsd", rssMB: 120...400, cpu: 1...15, threads: 4...16),
        ProcessKind(name: "ghostmon", uid: 5000, software: "ghost", rssMB: 20...70, cpu: 0.1...2, threads: 2...4),
        ProcessKind(name: "logshipper", uid: 5000, software: "logshipper", rssMB: 40...95, cpu: 0.5...6, threads: 2...6),
        ProcessKind(name: "nginx", uid: 33, software: "nginx", rssMB: 15...60, cpu: 0.1...4, threads: 1...1),
    ]

    /// Processes that come and go (filling up to ``Configuration/processesPerMachine``).
    static let transientKinds: [ProcessKind] = [
        ProcessKind(name: "ghost-worker", uid: 5000, software: "ghost", rssMB: 150...450, cpu: 1...30, threads: 4...8),
        ProcessKind(name: "cache-fill", uid: 5000, software: "ghost", rssMB: 30...90, cpu: 0.5...20, threads: 1...2),
        ProcessKind(name: "bash", uid: 1000, software: "bash", rssMB: 3...6, cpu: 0...0.5, threads: 1...1),
        ProcessKind(name: "python3", uid: 1000, software: "python", rssMB: 20...120, cpu: 0...25, threads: 1...4),
        ProcessKind(name: "sort", uid: 5001, software: "coreutils", rssMB: 2...300, cpu: 1...99, threads: 1...1),
        ProcessKind(name: "curl", uid: 5001, software: "curl", rssMB: 4...10, cpu: 0...3, threads: 1...1),
        ProcessKind(name: "gzip", uid: 5001, software: "gzip", rssMB: 2...4, cpu: 10...99, threads: 1...1),
        ProcessKind(name: "kworker", uid: 0, software: "linux", rssMB: 0...0, cpu: 0...2, threads: 1...1),
    ]

    /// Packages every machine reports, with the versions a rollout moves through (oldest first).
    static let packages: [(software: String, versions: [String])] = [
        ("ghost", ["9.4.2", "9.5.0", "9.5.1", "9.6.0"]),
        ("dnsd", ["3.1.7", "3.2.0"]),
        ("openssl", ["3.0.13", "3.0.14", "3.0.15"]),
        ("linux", ["6.1.90", "6.1.94", "6.1.99"]),
        ("query-agent", ["1.8.0", "1.9.0"]),
        ("nginx", ["1.24.0", "1.26.1"]),
        ("openssh", ["9.2p1"]),
        ("python", ["3.11.2"]),
    ]

    static let regions = ["us-east", "us-west", "eu-central", "eu-west", "ap-south", "ap-northeast", "sa-east"]
    static let cities = ["Ashburn", "San Jose", "Frankfurt", "London", "Mumbai", "Tokyo", "São Paulo"]
    static let networks = ["freeflow", "essl", "dns", "media"]
}
