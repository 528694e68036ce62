import Testing

@testable import QueryCore

/// ``EdgeLink`` is ``Downstream`` for a sender that is the only origin of what it sends; this test
/// holds it to ``Downstream`` over random sequences of requests, resets, reconnects, expiries,
/// entries (fresh and merged), acknowledgements and resyncs while the edge's rows change, comparing
/// every entry's basis, what it carries, and the live tables.
@Suite struct EdgeLinkTests {
    static let tables: [TableName] = ["a", "b", "c"]
    static let edge: NodeID = "edge:0.0"

    @Test func agreesWithDownstreamForOneOrigin() throws {
        for seed in testSeeds(200, salt: 53) {
            var rng = SeededRandom(seed: seed)
            var store = TableStore(keepsHistory: true)
            var now = Instant.zero + .seconds(1)
            var link = EdgeLink(now: now)
            var reference = Downstream(now: now)
            var generation: UInt64 = 1
            var bump: Int64 = 0
            for step in 0..<120 {
                let context = "step \(step) \(replay(seed))"
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<25:
                    bump += 1
                    let rows = Fixtures.rows(Self.edge, count: Int.random(in: 1...4, using: &rng), bump: bump)
                    _ = try store.publish(rng.pick(Self.tables), origin: Self.edge, segment: rows, now: now)
                case 25..<35:
                    let request = TableRequest(
                        tables: Self.tables.filter { _ in rng.chance(0.6) },
                        lease: .seconds(Int64.random(in: 5...40, using: &rng)), reset: rng.chance(0.2))
                    link.record(request, now: now)
                    reference.record(request, now: now)
                case 35..<38:
                    link.startOver()
                    reference.startOver()
                case 38..<45:
                    now = now + .seconds(Int64.random(in: 1...15, using: &rng))
                    link.expire(at: now)
                    reference.expire(at: now)
                case 45..<75:
                    if rng.chance(0.5) { generation += 1 }
                    let table = rng.pick(Self.tables)
                    guard let slice = store[table]?.table.slices[Self.edge] else { continue }
                    let merge = rng.chance(0.2)
                    let number = merge ? generation - UInt64.random(in: 0...min(generation - 1, 2), using: &rng) : generation
                    let expected = reference.entry(
                        for: table, origins: [Self.edge], store: store, completeness: TableCompleteness(),
                        generation: number, merge: merge)
                    link.forgetOldPending(before: number)
                    let basis = link.basis(of: table)
                    let sent = basis.acked == slice.version ? nil : slice.version
                    link.sent(table, version: sent, generation: number, merge: merge)
                    #expect(basis.replaces == expected.replacesScope, "\(context)")
                    #expect(expected.removed.isEmpty, "\(context)")
                    #expect(sent == expected.copies.first?.copy.version, "\(context)")
                    if let copy = expected.copies.first?.copy, let base = copy.base {
                        // A delta is made against what the receiver holds: the basis.
                        #expect(basis.acked == base, "\(context)")
                    }
                case 75..<92:
                    let number = generation - UInt64.random(in: 0...min(generation - 1, 6), using: &rng)
                    let tables = Self.tables.filter { _ in rng.chance(0.7) }
                    link.acknowledge(generation: number, tables: tables)
                    reference.acknowledge(generation: number, tables: tables)
                default:
                    let number = generation - UInt64.random(in: 0...min(generation - 1, 3), using: &rng)
                    let origins: [NodeID] = rng.pick([[], [Self.edge], ["edge:0.9"]])
                    let request = ResyncRequest(generation: number, table: rng.pick(Self.tables), origins: origins)
                    link.resync(request, origin: Self.edge, generation: number)
                    reference.resync(request, generation: number, store: store)
                }
                #expect(link.liveTables(at: now) == reference.liveTables(at: now), "\(context)")
                #expect(link.hasLiveTables(at: now) == !reference.liveTables(at: now).isEmpty, "\(context)")
                for table in Self.tables {
                    let acked = reference.ackedVersion(of: Self.edge, table: table, store: store)
                    #expect(link.tables.first { $0.name == table }?.acked == acked, "\(table) \(context)")
                }
            }
        }
    }
}
