import QueryCore
import QuerySQL
import Testing

/// Differential tests: joins, aggregation over joins and `IN (subquery)` filters over external
/// QueryCore tables (columnar joins on index tuples, typed probes) must give exactly the rows, in
/// the same order, or the same error, as the same data in local tables (general row path).
@Suite("Columnar joins agree with row joins")
struct ColumnarJoinTests {
    /// Three random tables with NULLs in every column: small-domain integer and text join keys
    /// (duplicates on both sides), sparse integer keys, reals that equal integers now and then, and
    /// texts that look like numbers.
    func databases(seed: UInt64, rows: Int) throws -> (SQLDatabase, SQLDatabase) {
        var rng = SplitMix64(seed: seed)
        func maybeNull(_ v: Value, _ rng: inout SplitMix64) -> Value { rng.next() % 9 == 0 ? .null : v }
        let groups = ["g1", "g2", "G1", "", "3", "g-long-group-name"]
        let names = ["nginx", "java", "5", "2.0", "g1"]
        var a: [[Value]] = []
        for _ in 0..<rows {
            let k = maybeNull(.integer(Int64(rng.next() % 12) - 2), &rng)
            let x = maybeNull(.integer(Int64(rng.next() % 50)), &rng)
            let name = maybeNull(.text(names[Int(rng.next() % UInt64(names.count))]), &rng)
            let r = maybeNull(.real(Double(Int64(rng.next() % 40) - 8) / 2), &rng)
            let sparse = maybeNull(.integer(Int64(rng.next() % 6) * 1_000_000_007), &rng)
            let big = maybeNull(.integer(rng.next() % 30 == 0 ? Int64.max - 5 : Int64(rng.next() % 9)), &rng)
            a.append([k, x, name, r, sparse, big])
        }
        var b: [[Value]] = []
        for _ in 0..<(rows / 3) {
            let k = maybeNull(.integer(Int64(rng.next() % 10)), &rng)
            let grp = maybeNull(.text(groups[Int(rng.next() % UInt64(groups.count))]), &rng)
            let v = maybeNull(.integer(Int64(rng.next() % 50)), &rng)
            let sparse = maybeNull(.integer(Int64(rng.next() % 6) * 1_000_000_007), &rng)
            b.append([k, grp, v, sparse])
        }
        var c: [[Value]] = []
        for _ in 0..<8 {
            let grp = maybeNull(.text(groups[Int(rng.next() % UInt64(groups.count))]), &rng)
            let region = maybeNull(.text(["east", "west", "nginx"][Int(rng.next() % 3)]), &rng)
            let w = maybeNull(.real(Double(Int64(rng.next() % 16) - 2) / 2), &rng)
            c.append([grp, region, w])
        }
        return try twinDatabases(tables: [
            ("a", try Schema([("k", .integer), ("x", .integer), ("name", .text), ("r", .real), ("sparse", .integer), ("big", .integer)]), a),
            ("b", try Schema([("k", .integer), ("grp", .text), ("v", .integer), ("sparse", .integer)]), b),
            ("c", try Schema([("grp", .text), ("region", .text), ("w", .real)]), c),
        ])
    }

    static let queries = [
        // The benchmark's shapes: join + group by text keys of both sides, HAVING on an alias.
        "SELECT a.name, b.grp, avg(a.x) m, count(*) FROM a, b WHERE a.k = b.k AND a.x > 3 GROUP BY 1, 2 HAVING m > 10",
        "SELECT c.region, count(*), sum(a.x) FROM a JOIN b ON a.k = b.k JOIN c ON b.grp = c.grp WHERE a.x < 40 GROUP BY c.region",
        "SELECT b.grp, count(*), max(a.x), min(a.r), sum(a.r), avg(c.w), total(c.w) FROM a JOIN b ON a.k = b.k JOIN c USING (grp) GROUP BY b.grp",
        "SELECT b.k, sum(a.x) s FROM a JOIN b ON b.k = a.k GROUP BY b.k ORDER BY s DESC, b.k LIMIT 4",
        // Plain joins (row order without ORDER BY must match too).
        "SELECT * FROM a JOIN b ON a.k = b.k",
        "SELECT a.x, b.v, c.region FROM c, b, a WHERE c.grp = b.grp AND b.k = a.k AND a.x > 20",
        "SELECT a.name, b.v FROM a JOIN b ON a.sparse = b.sparse WHERE b.v < 10",
        "SELECT a.x, b.v FROM a, b WHERE a.k = b.k AND a.x = b.v",
        "SELECT a1.x, a2.x FROM a a1 JOIN a a2 ON a1.k = a2.k WHERE a1.x > 45",
        "SELECT a.x, c.w FROM a, c WHERE a.x < 3 AND c.w > 2",
        "SELECT count(*) FROM a, b, c WHERE a.k = b.k AND b.grp = c.grp AND a.name = c.region",
        // Mixed key types: integer = real, integer = text (affinity), text = text.
        "SELECT a.x, c.w FROM a JOIN c ON a.k = c.w",
        "SELECT a.name, a.r, b.k FROM a JOIN b ON a.name = b.k",
        "SELECT a.r, b.v FROM a JOIN b ON a.r = b.k",
        "SELECT c.region, count(*) FROM a JOIN c ON a.name = c.grp GROUP BY c.region",
        // Filters that are not column-vs-constant, constant filters, bare columns, errors.
        "SELECT b.grp, count(*) FROM a JOIN b ON a.k = b.k WHERE a.x + b.v > 50 AND a.x % 2 = 0 GROUP BY b.grp",
        "SELECT count(*), sum(a.x) FROM a JOIN b ON a.k = b.k WHERE 1 = 0",
        "SELECT a.name, b.v, count(*) FROM a JOIN b USING (k) GROUP BY a.name",
        "SELECT b.grp, sum(a.big) FROM a JOIN b ON a.k = b.k GROUP BY b.grp",
        "SELECT a.k, a.name, count(*), sum(a.x) FROM a GROUP BY a.k, a.name ORDER BY 4 DESC, 1, 2 LIMIT 5",
        "SELECT a.sparse, count(*) FROM a GROUP BY a.sparse",
        // IN (subquery) as a typed probe.
        "SELECT count(*), sum(x) FROM a WHERE k IN (SELECT k FROM b WHERE grp = 'g1')",
        "SELECT count(*), sum(x) FROM a WHERE k NOT IN (SELECT k FROM b WHERE v < 20)",
        "SELECT count(*), sum(x) FROM a WHERE k NOT IN (SELECT k FROM b WHERE k IS NOT NULL AND v < 20)",
        "SELECT count(*) FROM a WHERE k IN (SELECT k FROM b WHERE v > 1000)",
        "SELECT count(*) FROM a WHERE k NOT IN (SELECT k FROM b WHERE v > 1000)",
        "SELECT x, name FROM a WHERE name IN (SELECT grp FROM b) AND x > 30",
        "SELECT x FROM a WHERE k IN (SELECT name FROM a) AND x > 40",
        "SELECT x FROM a WHERE r IN (SELECT k FROM b) AND x > 40",
        "SELECT x FROM a WHERE sparse IN (SELECT sparse FROM b WHERE v < 5)",
        "SELECT b.grp, count(*) FROM a JOIN b ON a.k = b.k WHERE a.x IN (SELECT v FROM b WHERE grp = 'g2') GROUP BY b.grp",
    ]

    @Test(arguments: queries)
    func sameAnswers(_ sql: String) throws {
        for seed: UInt64 in [1, 2, 3, 42] {
            let (external, local) = try databases(seed: seed, rows: seed == 42 ? 0 : 240)
            let a = Result(catching: { () throws(QueryError) in try external.query(sql).rows })
            let b = Result(catching: { () throws(QueryError) in try local.query(sql).rows })
            switch (a, b) {
            case (.success(let x), .success(let y)):
                #expect(x == y, "\(sql) differs (replay with seed \(seed)): columnar \(x.prefix(4)) vs rows \(y.prefix(4))")
            case (.failure(let x), .failure(let y)):
                #expect(x.message == y.message, "\(sql) (seed \(seed)): errors differ: \(x) vs \(y)")
            default:
                Issue.record("\(sql) (seed \(seed)): one path failed: columnar \(a) vs rows \(b)")
            }
        }
    }

    /// The data makes the joins non-trivial: matches, and an overflowing sum for some seed.
    @Test func dataExercisesThePaths() throws {
        let (external, _) = try databases(seed: 1, rows: 240)
        let joined = try external.query("SELECT count(*) FROM a JOIN b ON a.k = b.k").rows
        #expect((joined.first?.first).flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? 0 > 100)
        var overflowed = false
        for seed: UInt64 in [1, 2, 3] {
            let (db, _) = try databases(seed: seed, rows: 240)
            do { _ = try db.query("SELECT b.grp, sum(a.big) FROM a JOIN b ON a.k = b.k GROUP BY b.grp") } catch { overflowed = true }
        }
        #expect(overflowed)
    }
}
