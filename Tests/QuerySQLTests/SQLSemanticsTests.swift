import QueryCore
import QuerySQL
import Testing

/// Runs `sql` on a fresh database with the standard fixture and returns the rows.
func rows(_ sql: String, setup: String = fixture) throws -> [[Value]] {
    let db = SQLDatabase()
    try db.execute(setup)
    return try db.query(sql).rows
}

/// One value of a one-row, one-column query.
func scalar(_ sql: String, setup: String = fixture) throws -> Value {
    let r = try rows(sql, setup: setup)
    #expect(r.count == 1 && r.first?.count == 1, "expected one value from \(sql), got \(r)")
    return r.first?.first ?? .null
}

let fixture = """
    CREATE TABLE t(a INTEGER, b TEXT, c REAL);
    INSERT INTO t VALUES (1, 'x', 1.5), (2, 'y', NULL), (3, 'x', 2.5), (NULL, 'z', 0.5);
    CREATE TABLE u(a INTEGER, d TEXT);
    INSERT INTO u VALUES (1, 'one'), (3, 'three'), (5, 'five');
    """

/// Exact identity of values (Value's == treats 1 and 1.0 as equal).
func same(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.null, .null): true
    case (.integer(let x), .integer(let y)): x == y
    case (.real(let x), .real(let y)): x == y
    case (.text(let x), .text(let y)): x == y
    default: false
    }
}

@Suite("SQLite arithmetic and typing")
struct ArithmeticTests {
    @Test(arguments: [
        ("SELECT 7 / 2", Value.integer(3)),
        ("SELECT -7 / 2", .integer(-3)),
        ("SELECT 7 % -3", .integer(1)),
        ("SELECT -7 % 3", .integer(-1)),
        ("SELECT 7.0 / 2", .real(3.5)),
        ("SELECT 1 / 0", .null),
        ("SELECT 1 % 0", .null),
        ("SELECT 1.5 / 0", .null),
        ("SELECT 9223372036854775807 + 1", .real(9223372036854775808.0)),
        ("SELECT -9223372036854775808", .integer(Int64.min)),
        ("SELECT - - 96", .integer(96)),
        ("SELECT - + - 5", .integer(5)),
        ("SELECT '12abc' + 1", .integer(13)),
        ("SELECT 'abc' * 2", .integer(0)),
        ("SELECT '1.5' + 1", .real(2.5)),
        ("SELECT COALESCE(43, - AVG(67)) / - 60", .integer(0)),
        ("SELECT CAST('12.9' AS INTEGER)", .integer(12)),
        ("SELECT CAST(3 AS REAL)", .real(3)),
        ("SELECT CAST(NULL AS INTEGER)", .null),
        ("SELECT CAST(12 AS TEXT)", .text("12")),
        ("SELECT 1 << 63", .integer(Int64.min)),
        ("SELECT 5 & 3 | 8", .integer(9)),
        ("SELECT ~5", .integer(-6)),
        ("SELECT 'a' || 1 || 2.5", .text("a12.5")),
        ("SELECT NULLIF(3, 3)", .null),
        ("SELECT NULLIF(3, 4)", .integer(3)),
        ("SELECT typeof(1.0)", .text("real")),
        ("SELECT abs(-3)", .integer(3)),
        ("SELECT round(2.5)", .real(3)),
        ("SELECT round(-2.5)", .real(-3)),
        ("SELECT round(1.2345, 2)", .real(1.23)),
        ("SELECT substr('hello', 2, 3)", .text("ell")),
        ("SELECT substr('hello', -3)", .text("llo")),
        ("SELECT instr('hello', 'll')", .integer(3)),
        ("SELECT replace('aXbX', 'X', '-')", .text("a-b-")),
        ("SELECT trim('  a  ')", .text("a")),
        ("SELECT upper('abc') || lower('DEF')", .text("ABCdef")),
        ("SELECT length('héllo')", .integer(5)),
        ("SELECT min(3, 1, 2)", .integer(1)),
        ("SELECT max(3, 'a', 2)", .text("a")),
        ("SELECT ifnull(NULL, 4)", .integer(4)),
        ("SELECT CASE 2 WHEN 1 THEN 'a' WHEN 2 THEN 'b' ELSE 'c' END", .text("b")),
        ("SELECT CASE WHEN NULL THEN 1 ELSE 2 END", .integer(2)),
        ("SELECT x'414243'", .text("ABC")),
    ])
    func constantExpression(_ sql: String, _ expected: Value) throws {
        let v = try scalar(sql, setup: "")
        #expect(same(v, expected), "\(sql) gave \(v), expected \(expected)")
    }

    @Test func integerOverflowInSumIsARuntimeError() throws {
        let db = SQLDatabase()
        try db.execute("CREATE TABLE big(x INTEGER); INSERT INTO big VALUES (9223372036854775807), (1)")
        #expect(throws: QueryError.self) { try db.query("SELECT sum(x) FROM big") }
        do {
            _ = try db.query("SELECT sum(x) FROM big")
        } catch {
            #expect(error.code == .runtimeError)
        }
        #expect(same(try db.query("SELECT total(x) FROM big").rows[0][0], .real(9223372036854775808.0)))
    }

    @Test func affinityOnInsertAndCompare() throws {
        let setup = "CREATE TABLE k(i INTEGER, t TEXT, r REAL, n); INSERT INTO k VALUES ('42', 42, '1', '7')"
        let r = try rows("SELECT typeof(i), typeof(t), typeof(r), typeof(n), i = '42', t = 42 FROM k", setup: setup)
        #expect(r == [["integer", "text", "real", "text", 1, 1]])
    }
}

@Suite("Three-valued logic and predicates")
struct LogicTests {
    @Test(arguments: [
        ("SELECT NULL AND 0", Value.integer(0)),
        ("SELECT NULL AND 1", .null),
        ("SELECT NULL OR 1", .integer(1)),
        ("SELECT NULL OR 0", .null),
        ("SELECT NOT NULL", .null),
        ("SELECT NOT ( NOT - 79 >= NULL )", .null),
        ("SELECT 1 IN (2, NULL)", .null),
        ("SELECT 2 IN (2, NULL)", .integer(1)),
        ("SELECT NULL IN ()", .integer(0)),
        ("SELECT NULL NOT IN ()", .integer(1)),
        ("SELECT 3 BETWEEN 1 AND 5", .integer(1)),
        ("SELECT 3 NOT BETWEEN 1 AND NULL", .null),
        ("SELECT 'abc' LIKE 'A%'", .integer(1)),
        ("SELECT 'abc' GLOB 'A*'", .integer(0)),
        ("SELECT 'a_c' LIKE 'a!_c' ESCAPE '!'", .integer(1)),
        ("SELECT NULL IS NULL", .integer(1)),
        ("SELECT 1 IS NOT DISTINCT FROM 1", .integer(1)),
        ("SELECT NULL IS DISTINCT FROM NULL", .integer(0)),
        ("SELECT 5 NOTNULL", .integer(1)),
        ("SELECT 1 = 1.0", .integer(1)),
        ("SELECT 'a' > 99999", .integer(1)),
    ])
    func predicate(_ sql: String, _ expected: Value) throws {
        let v = try scalar(sql, setup: "")
        #expect(same(v, expected), "\(sql) gave \(v), expected \(expected)")
    }
}

@Suite("Queries over tables")
struct QueryTests {
    @Test func whereOrderLimit() throws {
        #expect(try rows("SELECT a FROM t WHERE a > 1 ORDER BY a DESC") == [[3], [2]])
        #expect(try rows("SELECT a FROM t ORDER BY a") == [[nil], [1], [2], [3]])
        #expect(try rows("SELECT a FROM t ORDER BY a DESC NULLS FIRST LIMIT 2") == [[nil], [3]])
        #expect(try rows("SELECT a FROM t ORDER BY 1 LIMIT 2 OFFSET 1") == [[1], [2]])
        #expect(try rows("SELECT a AS z FROM t WHERE z >= 2 ORDER BY z") == [[2], [3]])
    }

    @Test func groupByHavingAliasesAndOrdinals() throws {
        #expect(try rows("SELECT b, count(*) n FROM t GROUP BY b HAVING n > 1") == [["x", 2]])
        #expect(try rows("SELECT b, sum(a) FROM t GROUP BY 1 ORDER BY 1") == [["x", 4], ["y", 2], ["z", nil]])
        #expect(try rows("SELECT count(*), count(a), sum(a), avg(a), total(a), min(a), max(a) FROM t") == [[4, 3, 6, 2.0, 6.0, 1, 3]])
        #expect(try rows("SELECT count(*), sum(a), max(a) FROM t WHERE a > 100") == [[0, nil, nil]])
        #expect(try rows("SELECT b FROM t WHERE a > 100 GROUP BY b") == [])
        #expect(try rows("SELECT group_concat(b), group_concat(DISTINCT b) FROM t") == [["x,y,x,z", "x,y,z"]])
        #expect(try rows("SELECT count(DISTINCT b) FROM t") == [[3]])
    }

    @Test func bareColumnTakesTheRowOfMax() throws {
        #expect(try rows("SELECT b, max(c) FROM t") == [["x", 2.5]])
    }

    @Test func joins() throws {
        #expect(try rows("SELECT t.b, u.d FROM t, u WHERE t.a = u.a ORDER BY u.d") == [["x", "one"], ["x", "three"]])
        #expect(try rows("SELECT t.b, u.d FROM t JOIN u ON t.a = u.a ORDER BY 2") == [["x", "one"], ["x", "three"]])
        #expect(try rows("SELECT t.a, u.d FROM t LEFT JOIN u ON t.a = u.a ORDER BY t.a") == [[nil, nil], [1, "one"], [2, nil], [3, "three"]])
        #expect(try rows("SELECT a, d FROM t JOIN u USING (a) ORDER BY a") == [[1, "one"], [3, "three"]])
        #expect(try rows("SELECT count(*) FROM t CROSS JOIN u") == [[12]])
        #expect(try rows("SELECT * FROM u AS x, (SELECT max(a) m FROM u) AS y WHERE x.a = y.m") == [[5, "five", 5]])
    }

    @Test func subqueries() throws {
        #expect(try rows("SELECT a, (SELECT count(*) FROM t AS x WHERE x.a < t.a) FROM t WHERE a IS NOT NULL ORDER BY a") == [[1, 0], [2, 1], [3, 2]])
        #expect(try rows("SELECT d FROM u WHERE a IN (SELECT a FROM t) ORDER BY d") == [["one"], ["three"]])
        #expect(try rows("SELECT d FROM u WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.a = u.a)") == [["five"]])
        #expect(try rows("SELECT 5 NOT IN (SELECT a FROM t)") == [[nil]])
    }

    @Test func correlatedSubqueriesUseIndexesButStayCorrect() throws {
        // Equality correlation: answered through a hash index built once.
        #expect(try rows("SELECT a, (SELECT d FROM u WHERE u.a = t.a) FROM t ORDER BY a") == [[nil, nil], [1, "one"], [2, nil], [3, "three"]])
        // A filter that reads the outermost query two levels up must not be cached.
        #expect(
            try rows("SELECT a, (SELECT count(*) FROM u WHERE EXISTS (SELECT 1 WHERE u.a = t.a)) FROM t ORDER BY a")
                == [[nil, 0], [1, 1], [2, 0], [3, 1]])
        #expect(try rows("SELECT d FROM u WHERE EXISTS (SELECT 1 FROM t WHERE t.a = u.a AND t.b = 'x') ORDER BY d") == [["one"], ["three"]])
    }

    @Test func compoundSelects() throws {
        #expect(try rows("SELECT a FROM t UNION SELECT a FROM u") == [[nil], [1], [2], [3], [5]])
        #expect(try rows("SELECT a FROM t INTERSECT SELECT a FROM u") == [[1], [3]])
        #expect(try rows("SELECT a FROM u EXCEPT SELECT a FROM t") == [[5]])
        #expect(try rows("SELECT a FROM u UNION ALL SELECT a FROM u ORDER BY 1 DESC LIMIT 3") == [[5], [5], [3]])
        #expect(try rows("SELECT DISTINCT b FROM t ORDER BY b") == [["x"], ["y"], ["z"]])
    }

    @Test func viewsAndMutation() throws {
        let db = SQLDatabase()
        try db.execute(fixture)
        try db.execute("CREATE VIEW v AS SELECT a, b FROM t WHERE a > 1")
        #expect(try db.query("SELECT * FROM v ORDER BY a").rows == [[2, "y"], [3, "x"]])
        #expect(throws: QueryError.self) { try db.execute("DELETE FROM v") }
        #expect(throws: QueryError.self) { try db.execute("CREATE VIEW v AS SELECT 1") }
        try db.execute("UPDATE t SET a = a * 10 WHERE b = 'x'")
        #expect(try db.query("SELECT * FROM v ORDER BY a").rows == [[2, "y"], [10, "x"], [30, "x"]])
        try db.execute("DELETE FROM t WHERE a IS NULL")
        #expect(try db.query("SELECT count(*) FROM t").rows == [[3]])
        try db.execute("DROP VIEW v")
        #expect(throws: QueryError.self) { try db.execute("DROP VIEW v") }
        try db.execute("DROP VIEW IF EXISTS v; CREATE INDEX i1 ON t(a); DROP INDEX i1")
    }

    @Test func primaryKeyAndInsertOrReplace() throws {
        let db = SQLDatabase()
        try db.execute("CREATE TABLE p(k INTEGER PRIMARY KEY, v TEXT); INSERT INTO p VALUES (1, 'a')")
        #expect(throws: QueryError.self) { try db.execute("INSERT INTO p VALUES (1, 'b')") }
        try db.execute("INSERT OR REPLACE INTO p VALUES (1, 'c'); INSERT INTO p(v, k) VALUES ('d', 2)")
        #expect(try db.query("SELECT k, v FROM p ORDER BY k").rows == [[1, "c"], [2, "d"]])
        try db.execute("INSERT INTO p SELECT k + 10, v FROM p")
        #expect(try db.query("SELECT count(*) FROM p").rows == [[4]])
    }

    @Test func externalTablesJoinLocalOnes() throws {
        let schema = try Schema([("machine_id", .integer), ("rss", .integer), ("process_name", .text)])
        var table = Table(name: "processes", schema: schema)
        let segment = try Segment(schema: schema, rows: [[1, 500, "nginx"], [2, 700, "nginx"], [1, 100, "sshd"]])
        try table.replace(origin: "edge:1", version: 1, segment: segment, publishedAt: Instant(nanosecondsSinceEpoch: 0))
        let db = SQLDatabase()
        db.register(table)
        try db.execute("CREATE TABLE owners(machine_id INTEGER, owner TEXT); INSERT INTO owners VALUES (1, 'ann'), (2, 'bob')")
        let r = try db.query(
            "SELECT o.owner, sum(p.rss) total_rss FROM processes p, owners o WHERE p.machine_id = o.machine_id GROUP BY 1 ORDER BY 1")
        #expect(r.columns == ["owner", "total_rss"])
        #expect(r.rows == [["ann", 600], ["bob", 700]])
    }

    @Test func manyTableJoinIsPlannedNotCrossed() throws {
        // 20 tables of 10 rows joined by an equality chain: a cross product would be 10^20 rows.
        var setup = ""
        for i in 1...20 {
            setup += "CREATE TABLE j\(i)(a INTEGER, b INTEGER);"
            for r in 1...10 { setup += "INSERT INTO j\(i) VALUES (\(r), \(r * i));" }
        }
        let from = (1...20).map { "j\($0)" }.joined(separator: ", ")
        let chain = (1..<20).map { "j\($0).a = j\($0 + 1).a" }.joined(separator: " AND ")
        let r = try rows("SELECT count(*), sum(j20.b) FROM \(from) WHERE \(chain) AND j1.a < 4", setup: setup)
        #expect(r == [[3, 120]])
    }
}
