import Testing

@testable import QueryCore

/// The shortcuts on a proxy's receiving path, each held to the general path it replaces: the
/// store's table list (`TableStore.Tables`) to a dictionary; applying with per-sender slot hints
/// (`sender:`) and without reports to applying by name lookups with reports; update sequences
/// found through a caller's index to those found by name; acknowledgements built without sorting
/// to sorted ones.
@Suite struct ProxyFastPathTests {
    static let table: TableName = "processes"

    // MARK: The table list

    @Test func tableListMatchesADictionary() {
        let names = (0..<40).map { TableName(unchecked: "t\($0)") }
        for seed in testSeeds(40, salt: 7101) {
            var rng = SeededRandom(seed: seed)
            var tables = TableStore.Tables()
            var reference: [TableName: Int] = [:]
            // Each value is marked by its table's slot layout.
            func stored(_ marker: Int) -> TableStore.Stored {
                TableStore.Stored(table: Table(name: "x", schema: Fixtures.schema, slotLayout: UInt64(marker)))
            }
            // Grow past the linear limit and shrink below it again, more than once.
            let rounds = 400
            for step in 0..<rounds {
                let growing = (step / 100) % 2 == 0
                let name = rng.pick(names)
                let marker = Int.random(in: 0..<1_000_000, using: &rng)
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<5 where growing, 0..<2:
                    tables[name] = stored(marker)
                    reference[name] = marker
                case 5..<7:
                    tables[name] = nil
                    reference[name] = nil
                case 7..<9, 2..<5:
                    let removed = tables.removeValue(forKey: name).map { Int($0.table.slotLayout) }
                    let expected = reference.removeValue(forKey: name)
                    #expect(removed == expected, replay(seed))
                default:
                    if let index = tables.index(forKey: name) {
                        tables.values[index].sortedSlots = [marker]
                        #expect(reference[name] != nil, replay(seed))
                    }
                }
                #expect(tables.count == reference.count, replay(seed))
                #expect(Set(tables.keys) == Set(reference.keys), replay(seed))
                for probe in names {
                    let found = tables.index(forKey: probe).map { Int(tables.values[$0].table.slotLayout) }
                    #expect(found == reference[probe], "\(replay(seed)) step \(step) \(probe)")
                    #expect(tables[probe].map { Int($0.table.slotLayout) } == reference[probe], replay(seed))
                }
            }
        }
    }

    // MARK: Applying with sender hints, without reports

    /// A store's whole state in comparable form: per table and held origin, its version, rows,
    /// scope and confirmation, and the copy it would send a receiver holding nothing or the
    /// version before.
    static func describe(_ store: TableStore) -> String {
        var lines: [String] = []
        for name in store.names {
            guard let stored = store[name] else { continue }
            for origin in stored.table.sortedOrigins {
                let slot = stored.table.slot(of: origin)!
                let slice = stored.table.slice(at: slot)!
                let record = stored.record(at: slot)
                let older = record?.kept.history.steps.first?.version
                let copy = store.copy(of: name, origin: origin, acked: older)
                lines.append(
                    "\(name) \(origin) v\(slice.version) \(slice.segment.rows) scope=\(record?.scope.rawValue ?? "-") "
                        + "confirmed=\(record?.confirmedAt.milliseconds ?? -1) copy=\(copy.map(Self.describe) ?? "-")")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ copy: TableCopy) -> String {
        switch copy {
        case .full(let version, let segment): "full@\(version) \(segment.rows)"
        case .delta(let base, let version, let upserts, let deletes):
            "delta \(base)->\(version) +\(upserts.rows) -\(deletes.rows)"
        }
    }

    /// Rows for an origin: a small change most of the time, sometimes a new set.
    static func rows(_ origin: NodeID, _ rng: inout SeededRandom, bump: Int64) -> Segment {
        let count = rng.chance(0.1) ? Int.random(in: 0...2, using: &rng) : Int.random(in: 3...6, using: &rng)
        var rows = Fixtures.rows(origin, count: count).rows
        for i in rows.indices where rng.chance(0.3) { rows[i][2] = .integer(Int64(i) * 100 + bump) }
        return try! Segment(schema: Fixtures.schema, rows: rows)
    }

    @Test func senderHintsApplyLikeLookupsByName() throws {
        let edges = (0..<90).map { NodeID("edge:0.\($0)") }
        var compactions = 0
        var hinted = 0
        for seed in testSeeds(12, salt: 7102) {
            var rng = SeededRandom(seed: seed)
            var published = TableStore(keepsHistory: true)
            // The fast path (hints, no reports) and the general one (lookups by name, reports).
            var fast = TableStore(keepsHistory: true)
            var general = TableStore(keepsHistory: true)
            var now = Instant.zero + .seconds(1)
            var bump: Int64 = 0
            var layouts: Set<UInt64> = []
            for step in 0..<40 {
                now = now + .seconds(1)
                let context = "\(replay(seed)) step \(step)"
                // Now and then most origins leave (their slots go unused: the table compacts them).
                let leaving = rng.chance(0.08)
                for (e, edge) in edges.enumerated() where leaving || rng.chance(0.4) {
                    bump += 1
                    var copies: [OriginCopy] = []
                    var removed: [NodeID] = []
                    if leaving && rng.chance(0.85) {
                        removed = [edge]
                    } else if rng.chance(0.03) {
                        // A delta for an origin the receiver never held (it asks for a resync).
                        let stranger = NodeID("edge:9.\(Int.random(in: 0..<3, using: &rng))")
                        copies.append(
                            OriginCopy(
                                origin: stranger,
                                copy: .delta(
                                    base: 1, version: 2, upserts: .empty(Fixtures.schema),
                                    deletes: .empty(Fixtures.schema.deleteSchema)),
                                publishedAt: now))
                    } else {
                        let changed = try published.publish(
                            Self.table, origin: edge, segment: Self.rows(edge, &rng, bump: bump), now: now)
                        let held = general[Self.table]?.table.version(of: edge)
                        // Sometimes an old version again (stale), sometimes a full copy regardless.
                        let acked = rng.chance(0.1) ? nil : held
                        if changed || held == nil || acked == nil,
                            let copy = published.copy(of: Self.table, origin: edge, acked: acked)
                        {
                            copies.append(OriginCopy(origin: edge, copy: copy, publishedAt: now))
                        }
                        // Rarely, an origin other than the sender itself (not hinted).
                        if rng.chance(0.05), let other = published.copy(of: Self.table, origin: rng.pick(edges), acked: nil) {
                            copies.append(OriginCopy(origin: rng.pick(edges), copy: other, publishedAt: now))
                        }
                    }
                    let entry = TableEntry(
                        table: Self.table, copies: copies, removed: removed, replacesScope: rng.chance(0.3),
                        completeness: TableCompleteness())
                    // Hints shared by several senders, and now and then a stray one.
                    let sender = rng.chance(0.05) ? Int.random(in: 0..<200, using: &rng) : e % 37
                    var fastActions: [RoleAction] = []
                    var generalActions: [RoleAction] = []
                    _ = fast.intake(
                        [entry], generation: UInt64(step), from: edge, scope: edge, keepReports: false,
                        sender: sender, role: "proxy", now: now, into: &fastActions)
                    let intake = general.intake(
                        [entry], generation: UInt64(step), from: edge, scope: edge, role: "proxy", now: now,
                        into: &generalActions)
                    #expect(intake.reports[Self.table] != nil, "\(context)")
                    #expect("\(fastActions)" == "\(generalActions)", "\(context) \(edge)")
                    if !copies.isEmpty, copies[0].origin == edge { hinted += 1 }
                }
                #expect(Self.describe(fast) == Self.describe(general), "\(context)")
                if let layout = fast[Self.table]?.table.slotLayout { layouts.insert(layout) }
            }
            compactions += max(0, layouts.count - 1)
        }
        // Both the hints and the compaction that invalidates them were exercised.
        #expect(hinted > 3_000)
        #expect(compactions > 5)
    }

    // MARK: Update sequences by index

    @Test func sequencesFoundByIndexMatchThoseFoundByName() {
        let senders = (0..<6).map { NodeID("edge:0.\($0)") }
        let names: [TableName] = ["a", "b", "c"]
        for seed in testSeeds(60, salt: 7103) {
            var rng = SeededRandom(seed: seed)
            var byIndex = SenderSequences()
            var byName = SenderSequences()
            // The caller's indices: a permutation that changes now and then (sources adopted),
            // with indices shared by two senders at times.
            var index = Array(0..<senders.count)
            var now = Instant.zero
            var sequence: UInt64 = 100
            for step in 0..<300 {
                now = now + .seconds(Int64.random(in: 0...(rng.chance(0.05) ? 400 : 20), using: &rng))
                if rng.chance(0.05) { index.shuffle(using: &rng) }
                if rng.chance(0.03) { index[Int.random(in: 0..<index.count, using: &rng)] = 0 }
                let s = Int.random(in: 0..<senders.count, using: &rng)
                // Mostly newer numbers; sometimes a duplicate, an older one or an unstamped update.
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: break
                case 1: sequence -= UInt64.random(in: 0...5, using: &rng)
                case 2: sequence = 0
                default: sequence = max(sequence, 1) + UInt64.random(in: 1...3, using: &rng)
                }
                let entries = names.filter { _ in rng.chance(0.6) }.map {
                    TableEntry(table: $0, copies: [], completeness: TableCompleteness())
                }
                let a = byIndex.fresh(
                    entries, sequence: sequence, from: senders[s], index: index[s], now: now,
                    forgetAfter: .seconds(180))
                let b = byName.fresh(entries, sequence: sequence, from: senders[s], now: now, forgetAfter: .seconds(180))
                #expect(a.entries.map(\.table) == b.entries.map(\.table), "\(replay(seed)) step \(step)")
                #expect(a.skipped == b.skipped, "\(replay(seed)) step \(step)")
                if sequence == 0 { sequence = 100 }
            }
        }
    }

    // MARK: The running generation

    @Test func collectorsRunningGenerationIsTheSchedules() {
        for seed in testSeeds(100, salt: 7105) {
            var rng = SeededRandom(seed: seed)
            let schedule = GenerationSchedule(
                interval: .nanoseconds(Int64.random(in: 1...(rng.chance(0.5) ? 1_000 : 300_000_000_000), using: &rng)),
                epoch: Instant(nanosecondsSinceEpoch: Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)))
            let collector = Collector(
                configuration: Collector.Configuration(
                    tier: .proxy, schedule: schedule, dropAfter: .seconds(30), deadlineTimer: TimerID("test.deadline"),
                    role: "proxy", noun: "machine", warmUpWaitsForSilentSources: true),
                sources: ["a"])
            for _ in 0..<50 {
                let now = Instant(
                    nanosecondsSinceEpoch: rng.chance(0.1)
                        ? Int64.random(in: Int64.min / 2...Int64.max / 2, using: &rng)
                        : schedule.epoch.nanosecondsSinceEpoch &+ Int64.random(in: -5_000...10_000_000_000_000, using: &rng))
                #expect(collector.runningGeneration(at: now) == schedule.number(at: now), replay(seed))
            }
        }
    }

    // MARK: Acknowledgements

    @Test func acknowledgementsWithoutSortingEqualSortedOnes() {
        let names: [TableName] = ["a", "b", "machines", "processes", "software_versions", "z.view"]
        for seed in testSeeds(200, salt: 7104) {
            var rng = SeededRandom(seed: seed)
            var tables = names.filter { _ in rng.chance(0.6) }
            if rng.chance(0.5) { tables.shuffle(using: &rng) }
            if rng.chance(0.2), let first = tables.first { tables.append(first) }
            let fast = TableAck(generation: 7, possiblySorted: tables)
            #expect(fast == TableAck(generation: 7, tables: tables), replay(seed))
        }
    }
}
