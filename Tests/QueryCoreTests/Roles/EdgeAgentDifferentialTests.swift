import Testing

@testable import QueryCore

/// ``EdgeAgent`` keeps its own tables (``PublishedTables``) and receivers (``EdgeLink``) and shares
/// entries between receivers; these tests hold it to the edge built on the general sender's
/// machinery (``ReferenceEdgeAgent``: ``TableStore`` and ``Downstream``) over random sequences of
/// publishes (changed and unchanged rows, schema changes, keys held twice), requests, resets,
/// acknowledgements, resyncs, reconnects and generations: every action must be the same, down to
/// the rows of every copy and the sequence number of every update (the edge numbers its updates as
/// it builds them; the reference stamps its actions as every other role does).
@Suite struct EdgeAgentDifferentialTests {
    static let edge: NodeID = "edge:0.0"
    static let proxies: [NodeID] = ["proxy:0.0", "proxy:0.1", "proxy:0.2"]
    static let tables: [TableName] = ["a", "b", "c"]
    static let integerSchema = try! Schema([("pid", .integer), ("name", .text), ("rss", .integer)], key: ["pid"])

    /// Rows keyed by `pid` (or, for the second schema, by name): a few keys, few distinct values, so
    /// that unchanged publishes, small deltas and full copies all happen; sometimes a key twice.
    static func rows(_ rng: inout SeededRandom) -> Segment {
        if rng.chance(0.1) {
            return Fixtures.rows(edge, count: Int.random(in: 0...3, using: &rng), bump: Int64.random(in: 0...1, using: &rng))
        }
        var rows: [[Value]] = []
        for pid in 0..<6 where rng.chance(0.8) {
            rows.append([.integer(Int64(pid)), .text("p\(pid)"), .integer(Int64.random(in: 0...2, using: &rng))])
        }
        if rng.chance(0.05), let first = rows.first { rows.append(first) }  // a key held twice
        return try! Segment(schema: integerSchema, rows: rows)
    }

    /// An action in comparable form, with the rows of every copy.
    static func describe(_ action: RoleAction) -> String {
        guard case .send(.update(let update), let peer) = action else { return "\(action)" }
        var text = "update \(update.generation.number) #\(update.sequence) to \(peer):"
        for entry in update.entries {
            text += " [\(entry.table) replaces=\(entry.replacesScope) removed=\(entry.removed) \(entry.completeness)"
            for copy in entry.copies {
                text += " \(copy.origin)@\(copy.publishedAt.nanosecondsSinceEpoch) "
                switch copy.copy {
                case .full(let version, let segment):
                    text += "full \(version) \(segment.schema) \(segment.rows)"
                case .delta(let base, let version, let upserts, let deletes):
                    text += "delta \(base)->\(version) +\(upserts.rows) -\(deletes.rows)"
                }
            }
            text += "]"
        }
        if !update.notPublished.isEmpty { text += " not published \(update.notPublished)" }
        return text
    }

    @Test func agreesWithTheEdgeBuiltOnTableStoreAndDownstream() {
        for seed in testSeeds(100, salt: 91) {
            var rng = SeededRandom(seed: seed)
            let pinned: Set<NodeID>? = rng.chance(0.3) ? Set(Self.proxies.prefix(2)) : nil
            let configuration = EdgeAgent.Configuration(schedule: GenerationSchedule(interval: .seconds(10)), pinnedProxies: pinned)
            var edge = EdgeAgent(id: Self.edge, configuration: configuration)
            var reference = ReferenceEdgeAgent(id: Self.edge, configuration: configuration)
            var now = Instant.zero + .seconds(1)
            var sent = 0
            func step(_ input: RoleInput, _ context: @autoclosure () -> String) {
                let a = edge.handle(input, now: now).map(Self.describe)
                let b = reference.handle(input, now: now).map(Self.describe)
                sent += a.filter { $0.hasPrefix("update") }.count
                #expect(a == b, "\(context()) \(replay(seed))")
            }
            step(.started, "started")
            for index in 0..<160 {
                let context = "step \(index)"
                let number = configuration.schedule.number(at: now)
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<22:
                    step(.publish(rng.pick(Self.tables), Self.rows(&rng)), context)
                case 22..<32:
                    let tables = Self.tables.filter { _ in rng.chance(0.6) }
                    let request = TableRequest(
                        tables: tables, lease: .seconds(Int64.random(in: 5...40, using: &rng)), reset: rng.chance(0.2))
                    step(.received(.request(request), from: rng.pick(Self.proxies)), context)
                case 32..<52:
                    let generation = number - UInt64.random(in: 0...min(number, 3), using: &rng)
                    let ack = TableAck(generation: generation, tables: Self.tables.filter { _ in rng.chance(0.7) })
                    step(.received(.ack(ack), from: rng.pick(Self.proxies)), context)
                case 52..<60:
                    let generation = number - UInt64.random(in: 0...min(number, 3), using: &rng)
                    let origins: [NodeID] = rng.pick([[], [Self.edge], ["edge:0.9"], [Self.edge, "edge:0.9"]])
                    let request = ResyncRequest(generation: generation, table: rng.pick(Self.tables), origins: origins)
                    step(.received(.resync(request), from: rng.pick(Self.proxies)), context)
                case 60..<63:
                    step(.peerUp(rng.pick(Self.proxies)), context)
                case 63..<80:
                    now = now + .milliseconds(Int64.random(in: 100...9_000, using: &rng))
                default:
                    step(.timerFired(EdgeAgent.generationTimer), context)
                }
                #expect(edge.publishedTables == reference.publishedTables, "\(context) \(replay(seed))")
                #expect(edge.requesters(at: now) == reference.requesters(at: now), "\(context) \(replay(seed))")
                for table in Self.tables {
                    #expect(edge.version(of: table) == reference.version(of: table), "\(context) \(replay(seed))")
                }
            }
            #expect(sent > 0, "seed \(seed) sent no update: the sequence exercised nothing")
        }
    }
}
