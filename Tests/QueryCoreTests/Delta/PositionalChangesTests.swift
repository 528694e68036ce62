import Testing

@testable import QueryCore

/// The publisher's one-pass positional diff (``Segment/positionalChanges(to:oldKeysUnique:)``)
/// held to the general diff and the reference diff: on in-place edits, replaced rows, moved,
/// swapped and repeated keys, row count and schema changes, keyless tables, nulls over different
/// placeholders, text whose offsets do not start at zero, NaN and -0.0, and more than 64 rows.
@Suite struct PositionalChangesTests {
    /// An edit like a machine's next publish: values changed in place, some rows replaced by rows
    /// with fresh keys, and sometimes what the positional pass must hand to the general diff (keys
    /// moved, swapped or repeated, rows added or removed).
    static func republish(_ segment: Segment, using rng: inout SeededRandom) -> Segment {
        let schema = segment.schema
        var rows = DiffReferenceTests.editInPlace(segment, using: &rng).rows
        guard schema.isKeyed, !rows.isEmpty else { return try! Segment(schema: schema, rows: rows) }
        let key = schema.keyColumns
        // Replacements: a fresh key (most likely found nowhere) and fresh values at the same place.
        let replacing = rng.chance(0.5) ? 0.1 : 0
        for r in rows.indices where rng.chance(replacing) {
            var row = RandomData.row(schema, using: &rng, domain: 1_000_000)
            if rng.chance(0.7) { for c in row.indices where !key.contains(c) && rng.chance(0.5) { row[c] = rows[r][c] } }
            rows[r] = row
        }
        switch Int.random(in: 0..<12, using: &rng) {
        case 0 where rows.count > 1:  // two rows swap keys (moved keys)
            let i = Int.random(in: 0..<rows.count, using: &rng)
            let j = Int.random(in: 0..<rows.count, using: &rng)
            for c in key { (rows[i][c], rows[j][c]) = (rows[j][c], rows[i][c]) }
        case 1 where rows.count > 1:  // a row takes another row's key (a repeat)
            let i = Int.random(in: 0..<rows.count, using: &rng)
            let j = Int.random(in: 0..<rows.count, using: &rng)
            for c in key { rows[i][c] = rows[j][c] }
        case 2:  // a row takes the key an old row had at another place (moved)
            let i = Int.random(in: 0..<rows.count, using: &rng)
            let j = Int.random(in: 0..<segment.rowCount, using: &rng)
            for c in key { rows[i][c] = segment.columns[c][j] }
        default:
            break
        }
        return try! Segment(schema: schema, rows: rows)
    }

    /// Whether `a` holds no key twice.
    static func keysUnique(_ a: Segment) -> Bool {
        a.schema.isKeyed && (try? Segment.checkUniqueKeys(a.diffKeyColumns, rowCount: a.rowCount)) != nil
    }

    /// Whether the positional pass can decide `a` → `b` (keyed, old keys unique, same row count,
    /// every key that differs at its position found nowhere else, within the comparison budget).
    static func positionallyDecidable(_ a: Segment, _ b: Segment) -> Bool {
        guard a.schema == b.schema, a.schema.isKeyed, a.rowCount == b.rowCount, keysUnique(a), keysUnique(b) else {
            return false
        }
        let key = a.schema.keyColumns
        let oldKeys = a.exactRows.map { row in key.map { row[$0] } }
        let newKeys = b.exactRows.map { row in key.map { row[$0] } }
        let moved = oldKeys.indices.filter { oldKeys[$0] != newKeys[$0] }
        guard moved.count * a.rowCount <= Segment.positionalKeyChecks else { return false }
        let oldSet = Set(oldKeys)
        let newSet = Set(newKeys)
        return moved.allSatisfy { !oldSet.contains(newKeys[$0]) && !newSet.contains(oldKeys[$0]) }
    }

    /// Every outcome agrees with the general diff: `unchanged` only for identical rows, `changed`
    /// with exactly the general (and reference) upserts and deletes, `general` with hints that are
    /// true and leave the general diff's result (or error) as it is without them.
    @Test func positionalChangesAgreeWithTheGeneralDiff() {
        var replaced = 0
        var changedInPlace = 0
        var general = 0
        var unchanged = 0
        for seed in testSeeds(900, salt: 51) {
            var rng = SeededRandom(seed: seed)
            let schema = DeltaStrategyDifferentialTests.schema(using: &rng)
            let count = rng.chance(0.2) ? Int.random(in: 60...140, using: &rng) : Int.random(in: 0...40, using: &rng)
            let a = DeltaStrategyDifferentialTests.segment(schema, count: count, duplicates: rng.chance(0.05), using: &rng)
            let b: Segment
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: b = try! Segment(schema: schema, rows: a.rows)  // the same rows, new arrays
            case 1: b = RandomData.edit(a, using: &rng)
            case 2: b = DeltaStrategyDifferentialTests.segment(DeltaStrategyDifferentialTests.schema(using: &rng), count: count, duplicates: false, using: &rng)
            default: b = Self.republish(a, using: &rng)
            }
            let unique = Self.keysUnique(a)
            let claimUnique = unique && !rng.chance(0.1)  // a publisher may not know it yet
            let plain = DeltaStrategyDifferentialTests.outcome { () throws(QueryError) in try a.diff(to: b) }
            switch a.positionalChanges(to: b, oldKeysUnique: claimUnique) {
            case .unchanged:
                unchanged += 1
                #expect(a.schema == b.schema && a.exactRows == b.exactRows, replay(seed))
            case .changed(let upserts, let deletes):
                #expect(a.schema.isKeyed && claimUnique, replay(seed))
                guard case .success(let expected) = plain else {
                    Issue.record("positional diff where the general diff fails: \(plain) \(replay(seed))")
                    continue
                }
                #expect(upserts.exactRows == expected.upserts.exactRows, replay(seed))
                #expect(deletes.exactRows == expected.deletes.exactRows, replay(seed))
                #expect(upserts.schema == a.schema && deletes.schema == a.schema.deleteSchema, replay(seed))
                #expect(!upserts.isEmpty || !deletes.isEmpty, replay(seed))
                #expect(Self.keysUnique(b), replay(seed))
                if let reference = DiffReferenceTests.referenceKeyedDiff(a, b) {
                    #expect(upserts.exactRows == reference.upserts && deletes.exactRows == reference.deletes, replay(seed))
                } else {
                    Issue.record("positional diff where the reference finds a repeated key \(replay(seed))")
                }
                if deletes.isEmpty { changedInPlace += 1 } else { replaced += 1 }
            case .general(let hints):
                general += 1
                #expect(
                    !(claimUnique && Self.positionallyDecidable(a, b) && a.exactRows != b.exactRows),
                    "decidable by position but handed to the general diff \(replay(seed))")
                // Identical rows in other arrays (any-typed columns are never bitwise identical)
                // are decided here only when keyed with unique old keys.
                #expect(
                    a.schema != b.schema || a.exactRows != b.exactRows || !a.schema.isKeyed || !claimUnique,
                    replay(seed))
                if a.schema == b.schema, a.rowCount == b.rowCount {
                    #expect(hints.identicalColumnsExact, replay(seed))
                    for c in 0..<min(a.schema.count, 64) where hints.isIdentical(c) {
                        let same = (0..<a.rowCount).allSatisfy {
                            RowIdentity.valuesIdentical(a.columns[c], $0, b.columns[c], $0)
                        }
                        #expect(same, replay(seed))
                    }
                } else {
                    #expect(hints.identicalColumns == 0 && !hints.identicalColumnsExact, replay(seed))
                }
                #expect(hints.oldKeysUnique == (claimUnique && a.schema == b.schema && a.rowCount == b.rowCount), replay(seed))
                guard a.schema == b.schema else { continue }
                let hinted = DeltaStrategyDifferentialTests.outcome { () throws(QueryError) in
                    try a.diff(to: b, strategy: .automatic, hints: hints)
                }
                switch (plain, hinted) {
                case (.success(let p), .success(let h)):
                    #expect(p.upserts.exactRows == h.upserts.exactRows && p.deletes.exactRows == h.deletes.exactRows, replay(seed))
                case (.failure(let p), .failure(let h)):
                    #expect(p.code == h.code && p.message == h.message, replay(seed))
                default:
                    Issue.record("hints changed the outcome: \(plain) vs \(hinted) \(replay(seed))")
                }
            }
        }
        #expect(
            replaced > 40 && changedInPlace > 60 && general > 100 && unchanged > 30,
            "replaced \(replaced), in place \(changedInPlace), general \(general), unchanged \(unchanged)")
    }

    /// `column` rebuilt with other placeholders under its nulls, and (text) its bytes behind a
    /// prefix so that its offsets do not start at zero: the same rows, different arrays.
    static func disguised(_ column: Column, using rng: inout SeededRandom) -> Column {
        func placeholder<T>(_ values: [T], _ other: () -> T) -> [T] {
            var values = values
            for i in values.indices where column.isNull(i) && rng.chance(0.7) { values[i] = other() }
            return values
        }
        let storage: Column.Storage
        switch column.storage {
        case .integer(let v): storage = .integer(placeholder(v) { Int64.random(in: -5...5, using: &rng) })
        case .real(let v): storage = .real(placeholder(v) { rng.pick([-0.0, .nan, 2.5]) })
        case .boolean(let v): storage = .boolean(placeholder(v) { true })
        case .any(let v): storage = .any(v)
        case .text(let t):
            let prefix = Int.random(in: 0...5, using: &rng)
            var bytes = [UInt8](repeating: 0x7A, count: prefix)
            var offsets: [UInt32] = [UInt32(prefix)]
            for i in 0..<column.count {
                let start = Int(t.offsets[i])
                let end = Int(t.offsets[i + 1])
                if column.isNull(i) && rng.chance(0.7) {
                    bytes += Array("junk".utf8.prefix(Int.random(in: 0...4, using: &rng)))
                } else {
                    bytes += t.bytes[start..<end]
                }
                offsets.append(UInt32(bytes.count))
            }
            storage = .text(TextColumn(bytes: bytes, offsets: offsets))
        }
        return Column(storage: storage, nulls: column.nulls, count: column.count)
    }

    /// Segments whose arrays differ from their rows' usual layout (other placeholders under
    /// nulls, text offsets that do not start at zero) give the outcome of their plain copies:
    /// `unchanged` for identical rows (keyed, old keys unique), and otherwise the same diff.
    @Test func disguisedArraysGiveTheSameOutcome() {
        var unchanged = 0
        var changed = 0
        for seed in testSeeds(250, salt: 52) {
            var rng = SeededRandom(seed: seed)
            let schema = DeltaStrategyDifferentialTests.schema(using: &rng)
            let count = rng.chance(0.3) ? Int.random(in: 60...150, using: &rng) : Int.random(in: 1...40, using: &rng)
            let a = DeltaStrategyDifferentialTests.segment(schema, count: count, duplicates: false, using: &rng)
            let b = rng.chance(0.4) ? a : Self.republish(a, using: &rng)
            func disguise(_ s: Segment) -> Segment {
                Segment(unchecked: schema, columns: s.columns.map { Self.disguised($0, using: &rng) }, rowCount: s.rowCount)
            }
            let (x, y) = (disguise(a), disguise(b))
            let unique = Self.keysUnique(a)
            let plain = DeltaStrategyDifferentialTests.outcome { () throws(QueryError) in try a.diff(to: b) }
            switch x.positionalChanges(to: y, oldKeysUnique: unique) {
            case .unchanged:
                unchanged += 1
                #expect(a.exactRows == b.exactRows, replay(seed))
            case .changed(let upserts, let deletes):
                changed += 1
                guard case .success(let expected) = plain else {
                    Issue.record("positional diff where the general diff fails \(replay(seed))")
                    continue
                }
                #expect(upserts.exactRows == expected.upserts.exactRows, replay(seed))
                #expect(deletes.exactRows == expected.deletes.exactRows, replay(seed))
            case .general(let hints):
                #expect(!(unique && a.exactRows == b.exactRows && a.schema.isKeyed), replay(seed))
                let hinted = DeltaStrategyDifferentialTests.outcome { () throws(QueryError) in
                    try x.diff(to: y, strategy: .automatic, hints: hints)
                }
                switch (plain, hinted) {
                case (.success(let p), .success(let h)):
                    #expect(p.upserts.exactRows == h.upserts.exactRows && p.deletes.exactRows == h.deletes.exactRows, replay(seed))
                case (.failure(let p), .failure(let h)):
                    #expect(p.code == h.code, replay(seed))
                default:
                    Issue.record("disguised arrays changed the outcome: \(plain) vs \(hinted) \(replay(seed))")
                }
            }
        }
        #expect(unchanged > 30 && changed > 20, "unchanged \(unchanged), changed \(changed)")
    }

    /// Chains of publishes like a machine's (values drifting, processes replaced, now and then a
    /// key moved or repeated) carry, at every step, the delta the general diff makes from the
    /// previous version, and the same full copies.
    @Test func publishChainsCarryTheGeneralDelta() throws {
        var deltasWithDeletes = 0
        for seed in testSeeds(120, salt: 53) {
            var rng = SeededRandom(seed: seed)
            let schema = DeltaStrategyDifferentialTests.schema(using: &rng)
            var current = DeltaStrategyDifferentialTests.segment(
                schema, count: Int.random(in: 1...70, using: &rng), duplicates: rng.chance(0.05), using: &rng)
            var tables = PublishedTables()
            _ = tables.publish("t", segment: current, now: .seconds(1))
            for step in 2...10 {
                let next = Self.republish(current, using: &rng)
                let before = tables["t"]!
                let changed = tables.publish("t", segment: next, now: .seconds(Double(step)))
                #expect(changed == (current.exactMultiset != next.exactMultiset), replay(seed))
                guard changed else { continue }
                let after = tables["t"]!
                let sent = after.copy(acked: before.version)
                let general = TableCopy.between(
                    base: (before.version, before.segment), target: (after.version, after.segment))
                switch (sent, general) {
                case (.delta(let b1, let v1, let u1, let d1), .delta(let b2, let v2, let u2, let d2)?):
                    #expect(b1 == b2 && v1 == v2, replay(seed))
                    #expect(u1.exactRows == u2.exactRows && d1.exactRows == d2.exactRows, replay(seed))
                    #expect(u1.schema == u2.schema && d1.schema == d2.schema, replay(seed))
                    if !d1.isEmpty { deltasWithDeletes += 1 }
                case (.full(let v1, let s1), .full(let v2, let s2)?):
                    #expect(v1 == v2 && s1.exactRows == s2.exactRows, replay(seed))
                case (.full(let v1, let s1), nil):
                    #expect(v1 == after.version && s1.exactRows == next.exactRows, replay(seed))
                default:
                    Issue.record("published \(sent), general \(String(describing: general)) \(replay(seed))")
                }
                current = next
            }
        }
        #expect(deltasWithDeletes > 40)
    }

    /// The small picked rows are the rows the general gather picks, column for column: the same
    /// values and null bitmaps (only where a picked row is null), text offsets from 0, the same
    /// size; every row in order is the segment itself.
    @Test func pickedRowsMatchTheGeneralGather() {
        var checked = 0
        for seed in testSeeds(400, salt: 54) {
            var rng = SeededRandom(seed: seed)
            let schema = RandomData.schema(using: &rng)
            let a = RandomData.segment(schema, maxRows: 90, using: &rng)
            let disguised = Segment(
                unchecked: schema, columns: a.columns.map { Self.disguised($0, using: &rng) }, rowCount: a.rowCount)
            let count = a.isEmpty ? 0 : Int.random(in: 0...(a.rowCount + 2), using: &rng)
            var picks: [Int32] = (0..<count).map { _ in Int32(Int.random(in: 0..<a.rowCount, using: &rng)) }
            if rng.chance(0.2) { picks = (0..<Int32(a.rowCount)).map { $0 } }
            if rng.chance(0.3) { picks.sort() }
            let fast = picks.withUnsafeBufferPointer { disguised.pickedRows($0) }
            let general = picks.withUnsafeBufferPointer { disguised.gathering($0, other: nil) }
            #expect(fast.schema == general.schema && fast.rowCount == general.rowCount, replay(seed))
            #expect(fast.exactRows == general.exactRows, replay(seed))
            #expect(fast.byteSize == general.byteSize, replay(seed))
            for c in schema.columns.indices where fast.rowCount > 0 {
                #expect(fast.columns[c].hasBitwiseIdenticalValues(to: general.columns[c]) || schema.columns[c].type == .any, replay(seed))
                #expect((fast.columns[c].nulls == nil) == (general.columns[c].nulls == nil), replay(seed))
            }
            checked += picks.isEmpty ? 0 : 1
        }
        #expect(checked > 300)
    }
}
