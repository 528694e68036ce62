import Foundation
import QueryCore
import QueryTransport

/// The JSON configuration of one `query-node` process. Durations are seconds (fractions allowed);
/// node ids follow QuerySim's `FleetShape` names (`edge:<cluster>.<machine>`, `proxy:<cluster>.<i>`,
/// `tla:<i>`, `tla-child:<i>.<j>`, `sql:<i>`, `cluster:<c>`).
///
/// ```json
/// { "id": "sql:0", "listen": "127.0.0.1:7400", "metrics": "127.0.0.1:9400",
///   "peers": ["127.0.0.1:7300", "127.0.0.1:7301"], "interval": 5,
///   "aggregators": ["tla:0", "tla:1"], "prewarm": ["processes"] }
/// ```
struct NodeConfig: Decodable, Sendable {
    /// The node's id (every role but `edge`, whose ids come from `cluster` and the machine range).
    var id: String?
    /// Where peers and clients connect (`host:port`).
    var listen: String?
    /// Where Prometheus scrapes `/metrics` (`host:port`).
    var metrics: String?
    /// Peer processes to dial (`host:port`).
    var peers: [String]?

    /// Generation interval (default 120 s) and the schedule's epoch (default the Unix epoch).
    var interval: Double?
    var epoch: Double?
    /// Tier offsets within a generation (defaults: ¼, ½, ¾ of the interval).
    var proxyOffset: Double?
    var aggregatorOffset: Double?
    var queryOffset: Double?

    /// Completeness and failover timings (role defaults when absent).
    var dropAfter: Double?
    var failoverAfter: Double?
    /// TLA: a child silent this long is dropped (default two intervals).
    var childDropAfter: Double?
    var queryTimeout: Double?
    var idleExpiry: Double?
    var interestLease: Double?

    /// Transport liveness: keepalive ping interval and idle timeout (defaults 2 s, 10 s).
    var keepalive: Double?
    var idleTimeout: Double?

    /// Edge and proxy: the cluster index.
    var cluster: Int?
    /// Edge: how many machines this process hosts (overridden by `--machines`), starting at
    /// `firstMachine`. Proxy: how many machines the cluster has.
    var machines: Int?
    var firstMachine: Int?
    /// Edge: proxies to talk to (default: any that ask).
    var pinnedProxies: [String]?

    /// TLA: the clusters it serves, each with its proxies in preference order.
    var clusters: [ClusterConfig]?
    /// TLA: tables deferred to a child (`table` → child id).
    var deferred: [String: String]?
    /// TLA, SQL: the aggregator set this node belongs to.
    var aggregatorSet: AggregatorSetConfig?
    /// TLA, SQL: the tables this node serves (default all) and where the others are.
    var servedTables: [String]?
    var partitions: [PartitionConfig]?
    /// Proxy, TLA, SQL: tables always requested.
    var prewarm: [String]?
    /// TLA: proxies it may use; proxy: TLAs it may serve; SQL: TLAs it may use (fault isolation).
    var pinnedAggregators: [String]?

    /// TLA child: its parent TLA.
    var parent: String?

    /// SQL: TLAs in failover order, and views (`name` → SQL).
    var aggregators: [String]?
    var views: [String: String]?
    /// SQL: tables whose rows are published to the node's query manager as events on every new
    /// generation (one stream per table, named after it, fields = its columns plus `origin`), so
    /// continuous queries can watch the collection tree. They are requested as if prewarmed.
    var eventTables: [String]?
    /// SQL: where other SQL nodes accept clients (`id` → `host:port`), for redirects.
    var directory: [String: String]?

    /// Mutual TLS for every connection: this node's certificate and key, and the fleet CA (PEM files).
    var tls: TLSConfig?

    /// SQL: a JSON push endpoint (`POST /events`, `EventPushServer`) publishing into the node's
    /// query manager, with bearer tokens (without `tokens`, anyone who reaches it may publish).
    var push: PushConfig?

    /// Edge workload (QuerySim's `ProcessesWorkload`): seed, processes per machine, churn.
    var seed: UInt64?
    var processesPerMachine: Int?
    var churn: Double?

    struct TLSConfig: Decodable, Sendable {
        var certificate: String
        var key: String
        var ca: String?
        var requireClientCertificate: Bool?
        /// Query-manager principals by client-certificate common name (default: the CN itself).
        var principals: [String: String]?
        /// Query-manager principals by client-certificate subject alternative name (URI, DNS
        /// name or email), consulted when the common name is not in `principals`.
        var principalsByAlternativeName: [String: String]?
        /// Whether a certificate none of whose names is mapped is refused manager requests.
        var requireListedPrincipals: Bool?
    }

    struct PushConfig: Decodable, Sendable {
        /// Where it listens (`host:port`).
        var listen: String
        /// The path events are posted to (default `/events`).
        var path: String?
        /// The principal events are published as (default `push`); metrics' publisher rights apply.
        var principal: String?
        /// Whether an unknown stream is declared from its first event (default false).
        var declaresUnknownStreams: Bool?
        /// Bearer tokens; absent means no authentication (a trusted network only).
        var tokens: [PushTokenConfig]?
        /// Seconds a kept-alive connection may idle (default 60).
        var idleTimeout: Double?
        /// Seconds a request may take to arrive in full (default 30).
        var requestTimeout: Double?
        /// Open connections at most; more are answered 503 (default 1024).
        var maxConnections: Int?
    }

    struct PushTokenConfig: Decodable, Sendable {
        /// A name for logs and errors.
        var name: String
        /// The secret, or a file holding it (surrounding whitespace ignored).
        var token: String?
        var tokenFile: String?
        /// The streams it may publish to (default all).
        var streams: [String]?
    }

    struct ClusterConfig: Decodable, Sendable {
        var cluster: Int
        var proxies: [String]
    }

    struct AggregatorSetConfig: Decodable, Sendable {
        var name: String
        var members: [String]
    }

    struct PartitionConfig: Decodable, Sendable {
        var name: String
        var tables: [String]
        var nodes: [String]
    }
}

extension NodeConfig {
    static func seconds(_ value: Double?) -> Duration? {
        value.map { .nanoseconds(Int64(($0 * 1e9).rounded())) }
    }

    var schedule: GenerationSchedule {
        GenerationSchedule(
            interval: Self.seconds(interval) ?? .seconds(120), proxyOffset: Self.seconds(proxyOffset),
            aggregatorOffset: Self.seconds(aggregatorOffset), queryOffset: Self.seconds(queryOffset),
            epoch: .seconds(epoch ?? 0))
    }

    func nodeID(_ field: String) throws(QueryError) -> NodeID {
        guard let id else { throw QueryError(.invalidArgument, "config needs \"id\" for this role") }
        return try NodeID(validating: id)
    }

    static func nodes(_ names: [String]?) throws(QueryError) -> [NodeID] {
        var result: [NodeID] = []
        for name in names ?? [] { result.append(try NodeID(validating: name)) }
        return result
    }

    /// The prewarm list with the event tables added (each once, in order).
    var prewarmAndEventTables: [String] {
        var seen = Set<String>()
        return ((prewarm ?? []) + (eventTables ?? [])).filter { seen.insert($0).inserted }
    }

    static func tables(_ names: [String]?) throws(QueryError) -> [TableName] {
        var result: [TableName] = []
        for name in names ?? [] { result.append(try TableName(validating: name)) }
        return result
    }

    static func nodeSet(_ names: [String]?) throws(QueryError) -> Set<NodeID>? {
        guard let names else { return nil }
        return Set(try nodes(names))
    }

    static func tableSet(_ names: [String]?) throws(QueryError) -> Set<TableName>? {
        guard let names else { return nil }
        return Set(try tables(names))
    }

    func partitionList() throws(QueryError) -> [TablePartition] {
        var result: [TablePartition] = []
        for partition in partitions ?? [] {
            result.append(
                TablePartition(
                    name: partition.name, tables: Set(try Self.tables(partition.tables)),
                    nodes: try Self.nodes(partition.nodes)))
        }
        return result
    }

    func aggregatorSetValue() throws(QueryError) -> AggregatorSet? {
        guard let set = aggregatorSet else { return nil }
        return AggregatorSet(name: set.name, members: Set(try Self.nodes(set.members)))
    }

    func endpoint(_ text: String?) throws(QueryError) -> Endpoint? {
        guard let text else { return nil }
        return try Endpoint(parsing: text)
    }

    func peerEndpoints() throws(QueryError) -> [Endpoint] {
        var result: [Endpoint] = []
        for peer in peers ?? [] { result.append(try Endpoint(parsing: peer)) }
        return result
    }

    var tlsSettings: TLSSettings? {
        tls.map {
            TLSSettings(
                certificateChainFile: $0.certificate, privateKeyFile: $0.key, trustRootsFile: $0.ca,
                requireClientCertificate: $0.requireClientCertificate ?? true,
                principals: CertificatePrincipals(
                    byCommonName: $0.principals ?? [:], byAlternativeName: $0.principalsByAlternativeName ?? [:],
                    requireListed: $0.requireListedPrincipals ?? false))
        }
    }

    func directoryValue() throws(QueryError) -> [NodeID: Endpoint] {
        var result: [NodeID: Endpoint] = [:]
        for (node, address) in directory ?? [:] { result[try NodeID(validating: node)] = try Endpoint(parsing: address) }
        return result
    }
}

extension NodeConfig.PushConfig {
    /// The endpoint's configuration, reading token files.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.invalidArgument` naming the token that is missing its
    ///   secret, whose file cannot be read, or whose secret is unusable.
    func serverConfiguration() throws(QueryError) -> EventPushServer.Configuration {
        var configuration = EventPushServer.Configuration(listen: try Endpoint(parsing: listen))
        if let path { configuration.path = path }
        configuration.declaresUnknownStreams = declaresUnknownStreams ?? false
        for (key, seconds) in [("idleTimeout", idleTimeout), ("requestTimeout", requestTimeout)] {
            if let seconds, !(seconds > 0 && seconds.isFinite) {
                throw QueryError(.invalidArgument, "push.\(key) must be a positive number of seconds, not \(seconds)")
            }
        }
        // Clamped to a billion seconds so the conversion cannot overflow.
        func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((min(seconds, 1e9) * 1000).rounded())) }
        if let idleTimeout { configuration.limits.idleTimeout = duration(idleTimeout) }
        if let requestTimeout { configuration.limits.requestTimeout = duration(requestTimeout) }
        if let maxConnections {
            guard maxConnections > 0 else {
                throw QueryError(.invalidArgument, "push.maxConnections must be at least 1, not \(maxConnections)")
            }
            configuration.limits.maximumConnections = maxConnections
        }
        guard let tokens else { return configuration }
        var parsed: [PushToken] = []
        for token in tokens {
            let secret: String
            switch (token.token, token.tokenFile) {
            case (let literal?, nil):
                secret = literal
            case (nil, let file?):
                do {
                    secret = try String(contentsOfFile: file, encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw QueryError(
                        .invalidArgument, "push token '\(token.name)': cannot read tokenFile '\(file)': \(error)")
                }
            default:
                throw QueryError(
                    .invalidArgument, "push token '\(token.name)' needs exactly one of \"token\" and \"tokenFile\"")
            }
            parsed.append(try PushToken(name: token.name, secret: secret, streams: token.streams.map(Set.init)))
        }
        configuration.authentication = .bearerTokens(parsed)
        return configuration
    }
}
