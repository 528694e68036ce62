import Testing

@testable import QueryCore

/// ``Downstream`` keeps everything about one table together so a sender looks each table up once;
/// this test holds it to the layout it replaced (`ReferenceDownstream`, one dictionary per kind of
/// fact) over random sequences of requests, resets, reconnects, expiries, entries, acknowledgements
/// and resyncs, while the sender's rows change underneath.
@Suite struct DownstreamTests {
    static let tables: [TableName] = ["a", "b", "c"]
    static let origins: [NodeID] = (0..<5).map { NodeID("edge:0.\($0)") }

    /// An entry's content in comparable form.
    static func shape(_ entry: TableEntry) -> String {
        let copies = entry.copies.map { "\($0.origin)@\($0.copy.version)\($0.copy.isFull ? "F" : "D\($0.copy.base!)")" }
        return "\(entry.table) copies=\(copies) removed=\(entry.removed) replaces=\(entry.replacesScope)"
    }

    @Test func perTableStateAgreesWithTheReference() throws {
        for seed in testSeeds(200, salt: 77) {
            var rng = SeededRandom(seed: seed)
            var store = TableStore(keepsHistory: true)
            var now = Instant.zero + .seconds(1)
            var new = Downstream(now: now)
            var reference = ReferenceDownstream(now: now)
            var generation: UInt64 = 1
            var bump: [NodeID: Int64] = [:]
            for step in 0..<120 {
                let context = "seed \(seed) step \(step)"
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<25:
                    // The sender's rows change (or an origin appears).
                    let table = rng.pick(Self.tables), origin = rng.pick(Self.origins)
                    bump[origin, default: 0] += 1
                    let rows = Fixtures.rows(origin, count: Int.random(in: 1...4, using: &rng), bump: bump[origin]!)
                    _ = try store.publish(table, origin: origin, segment: rows, now: now)
                case 25..<35:
                    let tables = Self.tables.filter { _ in rng.chance(0.6) }
                    let request = TableRequest(
                        tables: tables, lease: .seconds(Int64.random(in: 5...40, using: &rng)),
                        reset: rng.chance(0.2), standby: false)
                    new.record(request, now: now)
                    reference.record(request, now: now)
                case 35..<38:
                    new.startOver()
                    reference.startOver()
                case 38..<45:
                    now = now + .seconds(Int64.random(in: 1...15, using: &rng))
                    new.expire(at: now)
                    reference.expire(at: now)
                case 45..<75:
                    if rng.chance(0.5) { generation += 1 }
                    let table = rng.pick(Self.tables)
                    let origins = Self.origins.filter { origin in rng.chance(0.8) && store.holds(table, origin: origin) }
                    let merge = rng.chance(0.2)
                    let number = merge ? generation - UInt64.random(in: 0...min(generation - 1, 2), using: &rng) : generation
                    let a = new.entry(
                        for: table, origins: origins, store: store, completeness: TableCompleteness(),
                        generation: number, merge: merge)
                    let b = reference.entry(
                        for: table, origins: origins, store: store, completeness: TableCompleteness(),
                        generation: number, merge: merge)
                    #expect(Self.shape(a) == Self.shape(b), "\(context)")
                case 75..<92:
                    let number = generation - UInt64.random(in: 0...min(generation - 1, 6), using: &rng)
                    let tables = Self.tables.filter { _ in rng.chance(0.7) }
                    new.acknowledge(generation: number, tables: tables)
                    reference.acknowledge(generation: number, tables: tables)
                default:
                    let number = generation - UInt64.random(in: 0...min(generation - 1, 3), using: &rng)
                    let origins = rng.chance(0.3) ? [] : Self.origins.filter { _ in rng.chance(0.4) }
                    let request = ResyncRequest(generation: number, table: rng.pick(Self.tables), origins: origins)
                    new.resync(request, generation: number, store: store)
                    reference.resync(request, generation: number)
                }
                #expect(new.liveTables(at: now) == reference.liveTables(at: now), "\(context)")
            }
        }
    }

    /// One sender's store and its `Downstream` for one receiver interested in table `a`, for the
    /// hand-written lost-acknowledgement cases below.
    struct OneReceiver {
        let table: TableName = "a"
        let now = Instant.zero + .seconds(1)
        var store = TableStore(keepsHistory: true)
        var downstream: Downstream

        /// Origins publishing two rows each.
        init(publishing origins: [NodeID]) throws {
            downstream = Downstream(now: now)
            for origin in origins { try publish(origin) }
            downstream.record(TableRequest(tables: [table], lease: .seconds(60), reset: false, standby: false), now: now)
        }

        mutating func publish(_ origin: NodeID) throws {
            _ = try store.publish(table, origin: origin, segment: Fixtures.rows(origin, count: 2, bump: 1), now: now)
        }

        mutating func entry(_ origins: [NodeID], _ generation: UInt64, merge: Bool = false) -> TableEntry {
            downstream.entry(
                for: table, origins: origins, store: store, completeness: TableCompleteness(),
                generation: generation, merge: merge)
        }

        mutating func acknowledge(_ generation: UInt64) { downstream.acknowledge(generation: generation, tables: [table]) }
    }

    /// A receiver that applied a removal whose acknowledgement was lost no longer holds the origin,
    /// though the sender's acknowledged state says it does: when the origin returns unchanged (a
    /// dropped machine that comes back), the sender must send it in full, not skip it as held.
    @Test func anOriginReturningAfterAnUnacknowledgedRemovalIsSentInFull() throws {
        let origin = Self.origins[0], other = Self.origins[1]
        var sender = try OneReceiver(publishing: [origin, other])
        #expect(sender.entry([origin, other], 1).copies.count == 2)
        sender.acknowledge(1)
        // Generation 2 drops the origin; the receiver applies it, but its acknowledgement is lost.
        #expect(sender.entry([other], 2).removed == [origin])
        // Generation 3: the origin is back with the same rows (same version).
        let back = sender.entry([origin, other], 3)
        #expect(back.copies.map(\.origin) == [origin], "\(Self.shape(back))")
        #expect(back.copies.first?.copy.isFull == true)
        // Once that is acknowledged, an unchanged origin is skipped again.
        sender.acknowledge(3)
        #expect(sender.entry([origin, other], 4).copies.isEmpty)
    }

    /// The mirror case (seed 230): a receiver applied a full entry whose acknowledgement was lost;
    /// when one of its origins then leaves (a dropped machine), the removal must be sent although
    /// the sender never saw that origin acknowledged.
    @Test func anOriginSentButNotAcknowledgedIsRemovedWhenItLeaves() throws {
        let origin = Self.origins[0], other = Self.origins[1]
        var sender = try OneReceiver(publishing: [origin, other])
        // Generation 1 replaces the receiver's scope with both origins; its acknowledgement is lost.
        let first = sender.entry([origin, other], 1)
        #expect(first.replacesScope && first.copies.count == 2)
        // Generation 2: the origin has left. The receiver may hold it: it is removed.
        let second = sender.entry([other], 2)
        #expect(second.removed == [origin], "\(Self.shape(second))")
        sender.acknowledge(2)
        // Acknowledged: nothing more to remove.
        #expect(sender.entry([other], 3).removed.isEmpty)
    }

    /// Seed 1518 (`query-sim --seeds 1518 --faults mix`): a SQL node failed over to another TLA, whose
    /// first entry of a table (replacing the node's scope, which still held rows from the old TLA)
    /// was lost. The next entry listed every origin but merged, so rows of a machine dropped since
    /// stayed. Every entry replaces the scope until one that did is acknowledged.
    @Test func aLostScopeReplacementIsRepeatedUntilAcknowledged() throws {
        let origin = Self.origins[0], other = Self.origins[1]
        var sender = try OneReceiver(publishing: [origin, other])
        #expect(sender.entry([origin, other], 1).replacesScope)
        // Lost, with its acknowledgement: generation 2 still replaces, and so does 3.
        let second = sender.entry([origin, other], 2)
        #expect(second.replacesScope && second.copies.count == 2, "\(Self.shape(second))")
        #expect(sender.entry([origin, other], 3).replacesScope)
        // An acknowledgement of an entry that replaced ends it (here generation 3's).
        sender.acknowledge(3)
        let fourth = sender.entry([origin, other], 4)
        #expect(!fourth.replacesScope && fourth.copies.isEmpty, "\(Self.shape(fourth))")
        // After a reset request the first entry replaces again, and again until acknowledged.
        sender.downstream.record(
            TableRequest(tables: [sender.table], lease: .seconds(60), reset: true, standby: false), now: sender.now)
        #expect(sender.entry([origin, other], 5).replacesScope)
        #expect(sender.entry([origin, other], 6).replacesScope)
        sender.acknowledge(6)
        #expect(!sender.entry([origin, other], 7).replacesScope)
    }

    /// Seed 192: a resync reply and a later entry of the same generation may reach the receiver in
    /// either order (the reply, replacing the scope, could remove what the later entry added), so
    /// the next generation's entry replaces the receiver's scope instead of trusting either order.
    @Test func aSecondEntryOfOneGenerationMakesTheNextOneReplaceTheScope() throws {
        let origin = Self.origins[0], other = Self.origins[1]
        var sender = try OneReceiver(publishing: [other])
        _ = sender.entry([other], 1)
        sender.acknowledge(1)
        #expect(!sender.entry([other], 2).replacesScope)
        sender.acknowledge(2)
        // Generation 3: the receiver asks for the table in full; the reply replaces its scope.
        sender.downstream.resync(ResyncRequest(generation: 3, table: sender.table, origins: []), generation: 3, store: sender.store)
        #expect(sender.entry([other], 3, merge: true).replacesScope)
        // A new origin arrives and goes out in a second entry of generation 3.
        try sender.publish(origin)
        #expect(sender.entry([origin, other], 3, merge: true).copies.map(\.origin).contains(origin))
        sender.acknowledge(3)
        // Which arrived last is unknown: generation 4 replaces the scope with every origin.
        let next = sender.entry([origin, other], 4)
        #expect(next.replacesScope && next.copies.count == 2, "\(Self.shape(next))")
        sender.acknowledge(4)
        #expect(!sender.entry([origin, other], 5).replacesScope)
    }
}
