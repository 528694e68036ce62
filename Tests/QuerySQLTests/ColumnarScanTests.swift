import QueryCore
import QuerySQL
import Testing

@Suite("Columnar scans agree with row evaluation")
struct ColumnarScanTests {
    /// The same seeded rows as an external (typed, columnar) table and as a local table.
    func databases(seed: UInt64) throws -> (SQLDatabase, SQLDatabase) {
        var rng = SplitMix64(seed: seed)
        let names = ["nginx", "java", "sshd", "", "Java"]
        var rows: [[Value]] = []
        for _ in 0..<500 {
            let rss: Value = rng.next() % 10 == 0 ? .null : .integer(Int64(rng.next() % 1000) - 100)
            let cpu: Value = rng.next() % 10 == 0 ? .null : .real(Double(rng.next() % 400) / 100)
            let name: Value = rng.next() % 10 == 0 ? .null : .text(names[Int(rng.next() % UInt64(names.count))])
            rows.append([rss, cpu, name])
        }
        let schema = try Schema([("rss", .integer), ("cpu", .real), ("name", .text)])
        return try twinDatabases(table: "p", schema: schema, rows: rows)
    }

    @Test(arguments: [
        "SELECT count(*) FROM p WHERE rss > 100",
        "SELECT count(*), sum(rss) FROM p WHERE rss <= 2.5 AND name = 'java'",
        "SELECT count(*) FROM p WHERE cpu >= 1 AND cpu < 3 AND rss <> 7",
        "SELECT count(*) FROM p WHERE cpu = 2",
        "SELECT count(*) FROM p WHERE name > 'java' AND name <> ''",
        "SELECT count(*) FROM p WHERE rss = '5'",
        "SELECT count(*) FROM p WHERE name = 5",
        "SELECT rss, name FROM p WHERE rss >= 890 ORDER BY rss, name",
    ])
    func sameAnswers(_ sql: String) throws {
        let seed: UInt64 = 7
        let (external, local) = try databases(seed: seed)
        let a = try external.query(sql).rows, b = try local.query(sql).rows
        #expect(a == b, "\(sql) differs (seed \(seed)): columnar \(a.prefix(5)) vs rows \(b.prefix(5))")
    }
}
