/// Which faults a seeded run injects.
public struct FaultMix: Sendable, Hashable, CustomStringConvertible {
    /// Crash and later restart machines, proxies, TLAs, children and SQL nodes.
    public var crashes: Bool
    /// Partition single nodes away and heal them.
    public var partitions: Bool
    /// Bursts of loss, duplication and reordering.
    public var network: Bool
    /// Clock skew on every node.
    public var skew: Bool
    /// Failures of related nodes together: a whole cluster cut off, both proxies of a cluster
    /// crashed, a TLA crashed with its children, every TLA cut off from the SQL nodes, a machine
    /// crashed twice in a row.
    public var correlated: Bool
    /// Interest that comes and goes: each seed prewarms some of the tables (all, none or a random
    /// few) and the rest are requested on demand, so interest lapses and returns at every tier as
    /// the queries using a table come and go.
    public var onDemand: Bool
    /// Fleet shapes beyond the default sweep's: each seed draws its fleet from a stream of its own
    /// (1–5 clusters of 1–6 machines, 1–3 proxies per cluster, 1–3 TLAs with 0–2 children each,
    /// 1–3 SQL nodes, and which tables the TLAs defer to their children: none, `software_versions`,
    /// `processes` or both). With a single proxy per cluster there is no failover: a cluster whose
    /// proxy is down or cut off stops reporting and is dropped like a silent one.
    public var shapes: Bool
    /// Partitioned fleets (issue #4): each seed draws, from a stream of its own, subnetworks (TLAs
    /// seeing some clusters, maybe beside a mega TLA seeing all), aggregator sets (TLAs and SQL
    /// nodes talking only within their set) and/or table partitions (tables served by named groups
    /// of nodes, the others redirecting), with at least two SQL nodes, and adds queries sent to
    /// SQL nodes that must redirect them. See ``SeedRun/drawPartitioning(seed:shape:)``.
    public var partitioned: Bool

    /// Creates a mix.
    public init(
        crashes: Bool = false, partitions: Bool = false, network: Bool = false, skew: Bool = false,
        correlated: Bool = false, onDemand: Bool = false, shapes: Bool = false, partitioned: Bool = false
    ) {
        self.crashes = crashes
        self.partitions = partitions
        self.network = network
        self.skew = skew
        self.correlated = correlated
        self.onDemand = onDemand
        self.shapes = shapes
        self.partitioned = partitioned
    }

    /// No faults.
    public static let none = FaultMix()
    /// Crashes, partitions, network faults and skew. `correlated`, `ondemand`, `shapes` and
    /// `partitioned` are asked for by name (`mix,correlated,ondemand,shapes,partitioned`): they widen the sweep beyond what the mix has
    /// passed over thousands of seeds (and leave the mix's seeds replaying as they did).
    public static let mix = FaultMix(crashes: true, partitions: true, network: true, skew: true)

    /// The names accepted by ``init(parsing:)``.
    public static let names = [
        "none", "mix", "crash", "partition", "network", "skew", "correlated", "ondemand", "shapes",
        "partitioned",
    ]

    /// Parses `mix`, `none`, or a comma-separated list of `crash`, `partition`, `network`, `skew`,
    /// `correlated`, `ondemand`, `shapes`, `partitioned`.
    public init?(parsing text: String) {
        var mix = FaultMix()
        for part in text.split(separator: ",").map({ String($0.filter { $0 != " " }) }) {
            switch part {
            case "none": break
            case "mix", "all":
                mix.crashes = true
                mix.partitions = true
                mix.network = true
                mix.skew = true
            case "crash", "crashes": mix.crashes = true
            case "partition", "partitions": mix.partitions = true
            case "network", "loss": mix.network = true
            case "skew": mix.skew = true
            case "correlated": mix.correlated = true
            case "ondemand", "on-demand": mix.onDemand = true
            case "shapes", "shape": mix.shapes = true
            case "partitioned": mix.partitioned = true
            default: return nil
            }
        }
        self = mix
    }

    public var description: String {
        if self == .mix { return "mix" }
        let parts = [
            crashes ? "crash" : nil, partitions ? "partition" : nil, network ? "network" : nil, skew ? "skew" : nil,
            correlated ? "correlated" : nil, onDemand ? "ondemand" : nil, shapes ? "shapes" : nil, partitioned ? "partitioned" : nil,
        ]
            .compactMap { $0 }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}
