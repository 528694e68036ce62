import QueryCore
import QuerySQL
import Testing

/// Differential tests: aggregation over an external QueryCore table (columnar fast path) must give
/// exactly the rows (or the error) of the same data in a local table (general row path).
@Suite("Columnar aggregation agrees with row aggregation")
struct ColumnarAggregateTests {
    /// Random rows with NULLs in every column: small-domain integer and text keys, reals, texts
    /// that look like numbers, and integers large enough for sum() to overflow now and then.
    func databases(seed: UInt64, rows count: Int) throws -> (SQLDatabase, SQLDatabase) {
        var rng = SplitMix64(seed: seed)
        let names = ["nginx", "java", "sshd", "", "Java", "5", "1.5", "a-much-longer-process-name"]
        func maybeNull(_ v: Value, _ rng: inout SplitMix64) -> Value { rng.next() % 8 == 0 ? .null : v }
        var rows: [[Value]] = []
        for _ in 0..<count {
            let k = maybeNull(.integer(Int64(rng.next() % 7) - 2), &rng)
            let name = maybeNull(.text(names[Int(rng.next() % UInt64(names.count))]), &rng)
            let rss = maybeNull(.integer(Int64(rng.next() % 2000) - 500), &rng)
            let cpu = maybeNull(.real(Double(Int64(rng.next() % 800) - 100) / 4), &rng)
            let big = maybeNull(.integer(rng.next() % 40 == 0 ? Int64.max - Int64(rng.next() % 10) : Int64(rng.next() % 100)), &rng)
            rows.append([k, name, rss, cpu, big])
        }
        let schema = try Schema([("k", .integer), ("name", .text), ("rss", .integer), ("cpu", .real), ("big", .integer)])
        return try twinDatabases(table: "p", schema: schema, rows: rows)
    }

    static let queries = [
        "SELECT k, count(*), sum(rss), avg(rss), min(rss), max(rss) FROM p GROUP BY k",
        "SELECT name, count(*), count(cpu), sum(cpu), avg(cpu), min(cpu), max(cpu), total(rss) FROM p GROUP BY name",
        "SELECT name, k, count(rss), sum(rss) FROM p WHERE rss > 0 AND cpu < 150 GROUP BY name, k",
        "SELECT name, sum(rss) AS s FROM p GROUP BY name ORDER BY s DESC, name LIMIT 3",
        "SELECT k, min(name), max(name), sum(name), avg(name), count(DISTINCT name) FROM p GROUP BY k",
        "SELECT count(*), sum(rss), min(cpu), max(name), count(DISTINCT k) FROM p WHERE name <> 'java'",
        "SELECT count(*), sum(rss), avg(cpu) FROM p WHERE rss > 100000",
        "SELECT k, count(*) FROM p WHERE rss > 100000 GROUP BY k",
        "SELECT k, sum(big) FROM p GROUP BY k",
        "SELECT sum(big) FROM p WHERE big < 1000",
        "SELECT cpu, count(*), rss FROM p GROUP BY cpu HAVING count(*) > 1",
        "SELECT k, name, rss, count(*) FROM p GROUP BY k",
        "SELECT k + 1, count(*) FROM p GROUP BY 1",
        "SELECT name, sum(DISTINCT rss), total(cpu) FROM p GROUP BY name HAVING sum(rss) > 0",
        "SELECT count(*), avg(cpu) FROM p WHERE rss BETWEEN 100 AND 900 AND k <> 0",
        "SELECT k, count(*), sum(rss) FROM p WHERE cpu BETWEEN -5 AND '20' GROUP BY k",
        "SELECT name, count(*) FROM p WHERE name BETWEEN 'a' AND 'k' AND rss NOT BETWEEN 0 AND 10 GROUP BY name",
        "SELECT count(*) FROM p WHERE rss BETWEEN '100' AND 900.5",
        "SELECT k, name, rss FROM p ORDER BY rss DESC, k, name LIMIT 10",
        "SELECT rss, k FROM p ORDER BY rss LIMIT 7",
        "SELECT * FROM p ORDER BY k DESC LIMIT 5 OFFSET 3",
        "SELECT name, k FROM p WHERE rss > 0 ORDER BY k, name DESC LIMIT 12",
        "SELECT k, cpu FROM p ORDER BY k NULLS FIRST LIMIT 50",
        "SELECT k, cpu FROM p ORDER BY k DESC NULLS LAST LIMIT 60",
        "SELECT big, rss FROM p ORDER BY big DESC, rss LIMIT 3",
        "SELECT rss FROM p WHERE rss > 1400 ORDER BY rss DESC LIMIT 70",
        "SELECT count(*) FROM p WHERE name LIKE 'JA%'",
        "SELECT name, count(*) FROM p WHERE name NOT LIKE 'a-much%' GROUP BY name",
        "SELECT count(*) FROM p WHERE name LIKE '%' AND rss LIKE '1%' AND cpu NOT LIKE '2%'",
        "SELECT k, count(*) FROM p WHERE name LIKE 'n%' OR name LIKE '1.%' GROUP BY k",
    ]

    @Test(arguments: queries)
    func sameAnswers(_ sql: String) throws {
        for seed: UInt64 in [1, 2, 3, 42] {
            let (external, local) = try databases(seed: seed, rows: seed == 42 ? 0 : 300)
            let a = Result(catching: { () throws(QueryError) in try external.query(sql).rows })
            let b = Result(catching: { () throws(QueryError) in try local.query(sql).rows })
            switch (a, b) {
            case (.success(var x), .success(var y)):
                if !sql.contains("ORDER BY") {
                    x.sort { $0.description < $1.description }
                    y.sort { $0.description < $1.description }
                }
                #expect(x == y, "\(sql) differs (replay with seed \(seed)): columnar \(x.prefix(4)) vs rows \(y.prefix(4))")
            case (.failure(let x), .failure(let y)):
                #expect(x.message == y.message, "\(sql) (seed \(seed)): errors differ: \(x) vs \(y)")
            default:
                Issue.record("\(sql) (seed \(seed)): one path failed: columnar \(a) vs rows \(b)")
            }
        }
    }

    /// The overflow query really overflows for some seed (so the error branch above is exercised).
    @Test func overflowIsReported() throws {
        let (external, _) = try databases(seed: 1, rows: 300)
        #expect(throws: QueryError.self) { try external.query("SELECT sum(big) FROM p") }
    }
}
