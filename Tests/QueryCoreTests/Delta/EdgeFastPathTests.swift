import Testing

@testable import QueryCore

/// The edge's publish fast paths held to the general ones: the two-phase gather of one source's
/// rows against the per-column gather, the diff with hints (columns known identical, old keys known
/// unique: rows matched by position) against the diff without them and the reference diff, chains
/// of publishes against the reference diff, and the edge's integer clock against the schedule.
@Suite struct EdgeFastPathTests {
    /// Random picks of one segment's rows (any order, repeats) give the rows the general gather
    /// gives, column by column, null bitmaps only where a picked row is null.
    @Test func pickingRowsMatchesTheGeneralGather() {
        var checked = 0
        for seed in testSeeds(400, salt: 41) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, maxRows: 70, using: &rng)
            guard !a.isEmpty else { continue }
            let count = Int.random(in: 0...(a.rowCount + 3), using: &rng)
            let picks: [Int32] = (0..<count).map { _ in Int32(Int.random(in: 0..<a.rowCount, using: &rng)) }
            let fast = picks.withUnsafeBufferPointer { Segment.pickingRows($0, of: a.columns, schema: schema) }
            if schema.columns.contains(where: { $0.type == .any }) {
                #expect(fast == nil || picks.isEmpty, replay(seed))
                continue
            }
            guard let fast else {
                Issue.record("no fast gather for \(schema) \(replay(seed))")
                continue
            }
            checked += 1
            let aRows = a.exactRows
            #expect(fast.exactRows == picks.map { aRows[Int($0)] }, replay(seed))
            #expect(fast.rowCount == picks.count && fast.schema == schema, replay(seed))
            for c in schema.columns.indices {
                let general = Column.gathering(picks, from: a.columns[c], nil)
                #expect(fast.columns[c].hasBitwiseIdenticalValues(to: general), replay(seed))
                #expect((fast.columns[c].nulls == nil) == (general.nulls == nil), replay(seed))
            }
            #expect(fast.byteSize == Segment.gathering(picks, columns: a.columns, schema: schema).byteSize, replay(seed))
        }
        #expect(checked > 150)
    }

    /// A diff given true hints (the publisher's: every column compared, old keys unique when they
    /// are) gives exactly the diff without hints, error for error.
    @Test func hintsNeverChangeTheDiff() {
        var positional = 0
        for seed in testSeeds(600, salt: 42) {
            let (a, b) = DiffReferenceTests.pair(seed)
            let plain = DeltaStrategyDifferentialTests.outcome { () throws(QueryError) in try a.diff(to: b) }
            let identical = a.bitwiseIdenticalColumns(to: b)
            let unique = a.schema.isKeyed && (try? Segment.checkUniqueKeys(a.diffKeyColumns, rowCount: a.rowCount)) != nil
            let hints = DiffHints(identicalColumns: identical.mask, exact: a.rowCount == b.rowCount, oldKeysUnique: unique)
            if unique, a.rowCount == b.rowCount, a.schema.keyColumns.allSatisfy({ hints.isIdentical($0) }) {
                positional += 1
            }
            let hinted = DeltaStrategyDifferentialTests.outcome { () throws(QueryError) in
                try a.diff(to: b, strategy: .automatic, hints: hints)
            }
            switch (plain, hinted) {
            case (.success(let p), .success(let h)):
                #expect(p.upserts.exactRows == h.upserts.exactRows && p.deletes.exactRows == h.deletes.exactRows, replay(seed))
                #expect(p.upserts.schema == h.upserts.schema && p.deletes.schema == h.deletes.schema, replay(seed))
            case (.failure(let p), .failure(let h)):
                #expect(p.code == h.code && p.message == h.message, replay(seed))
            default:
                Issue.record("hints changed the outcome: \(plain) vs \(hinted) \(replay(seed))")
            }
        }
        #expect(positional > 150)
    }

    /// Publishing a chain of edits (so later diffs know the old keys unique and match by position)
    /// keeps every version's delta equal to the reference diff, and skips only identical rows.
    @Test func publishChainsCarryTheReferenceDiff() {
        var deltas = 0
        for seed in testSeeds(150, salt: 43) {
            var rng = SeededRandom(seed: seed)
            let schema = DeltaStrategyDifferentialTests.schema(using: &rng)
            var current = DeltaStrategyDifferentialTests.segment(
                schema, count: Int.random(in: 0...40, using: &rng), duplicates: rng.chance(0.1), using: &rng)
            var tables = PublishedTables()
            _ = tables.publish("t", segment: current, now: .seconds(1))
            for step in 2...8 {
                let next: Segment
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: next = try! Segment(schema: schema, rows: current.rows)
                case 1: next = DeltaStrategyDifferentialTests.segment(schema, count: current.rowCount, duplicates: rng.chance(0.2), using: &rng)
                default: next = DiffReferenceTests.editInPlace(current, using: &rng)
                }
                let before = tables["t"]!
                let changed = tables.publish("t", segment: next, now: .seconds(Double(step)))
                #expect(changed == (current.exactMultiset != next.exactMultiset), replay(seed))
                let after = tables["t"]!
                #expect(after.segment.exactRows == (changed ? next : current).exactRows, replay(seed))
                if changed, schema.isKeyed, let expected = DiffReferenceTests.referenceKeyedDiff(current, next),
                    case .delta(_, _, let upserts, let deletes) = after.copy(acked: before.version)
                {
                    #expect(upserts.exactRows == expected.upserts && deletes.exactRows == expected.deletes, replay(seed))
                    deltas += 1
                }
                if changed { current = next }
            }
        }
        #expect(deltas > 200)
    }

    /// The word-at-a-time byte comparison agrees with a byte loop at every length and difference
    /// position (the tail word overlaps bytes already compared).
    @Test func bytesEqualAgreesWithAByteLoop() {
        var rng = SeededRandom(seed: 45)
        for count in 0...100 {
            let a: [UInt8] = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for position in -1..<count {
                var b = a
                if position >= 0 { b[position] ^= UInt8.random(in: 1...255, using: &rng) }
                let fast = a.withUnsafeBufferPointer { x in
                    b.withUnsafeBufferPointer { y in
                        count == 0 || RowIdentity.bytesEqual(x.baseAddress!, y.baseAddress!, count)
                    }
                }
                #expect(fast == (a == b), "count \(count), difference at \(position)")
            }
        }
    }

    /// The edge's clock answers what the schedule answers, at and around generation boundaries,
    /// before the epoch and near the ends of time.
    @Test func edgeClockAgreesWithTheSchedule() {
        for seed in testSeeds(300, salt: 44) {
            var rng = SeededRandom(seed: seed)
            let interval = Duration.nanoseconds(Int64.random(in: 1...600_000_000_000, using: &rng))
            let epoch = Instant(nanosecondsSinceEpoch: Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng))
            let schedule = GenerationSchedule(interval: interval, epoch: epoch)
            let clock = EdgeClock(schedule)
            var times: [Int64] = [.min, .max, .max - 1, .min + 1, epoch.nanosecondsSinceEpoch]
            for _ in 0..<20 {
                let n = Int64.random(in: -3...5_000, using: &rng)
                let boundary = epoch.nanosecondsSinceEpoch &+ n &* schedule.interval.nanoseconds
                times += [boundary, boundary &- 1, boundary &+ 1, Int64.random(in: .min ... .max, using: &rng)]
            }
            for t in times {
                let now = Instant(nanosecondsSinceEpoch: t)
                #expect(clock.latestNumber(at: now) == schedule.latestSlot(.edge, at: now), replay(seed))
                #expect(
                    clock.nextStart(after: now) == schedule.slot(.edge, of: schedule.nextSlot(.edge, after: now)),
                    replay(seed))
            }
            var cache: (duration: Duration, nanoseconds: Int64)?
            for t in times {
                let nanoseconds = Int64.random(in: .min ... .max, using: &rng) >> Int.random(in: 0...63, using: &rng)
                let instant = Instant(nanosecondsSinceEpoch: t)
                #expect(instant.advanced(byNanoseconds: nanoseconds) == instant + .nanoseconds(nanoseconds), replay(seed))
                let lease = rng.chance(0.5) ? interval : .nanoseconds(nanoseconds)
                #expect(lease.nanoseconds(cachedIn: &cache) == lease.nanoseconds, replay(seed))
            }
            for number in [0, 1, 2, UInt64.random(in: 0...100_000, using: &rng), .max, .max / 2] {
                #expect(clock.generation(number) == schedule.generation(number), replay(seed))
            }
        }
    }
}
