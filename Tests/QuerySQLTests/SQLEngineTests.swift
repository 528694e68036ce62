import QueryCore
import QuerySQL
import Synchronization
import Testing

/// A catalog over fixed tables and views that counts view-definition lookups.
final class TestCatalog: TableCatalog {
    let tables: [TableName: Table]
    let views: [TableName: String]
    let version: UInt64
    let viewLookups = Mutex(0)

    init(tables: [Table], views: [TableName: String] = [:], version: UInt64 = 1) {
        self.tables = Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0) })
        self.views = views
        self.version = version
    }

    func table(_ name: TableName) -> Table? { tables[name] }

    func viewDefinition(_ name: TableName) -> String? {
        viewLookups.withLock { $0 += 1 }
        return views[name]
    }

    var knownNames: [TableName] { Array(tables.keys) + Array(views.keys) }
}

func makeTable(_ name: TableName, _ columns: [(String, ColumnType)], _ rowsByOrigin: [String: [[Value]]]) throws -> Table {
    let schema = try Schema(columns)
    var table = Table(name: name, schema: schema)
    for (origin, rows) in rowsByOrigin {
        try table.replace(
            origin: NodeID(origin), version: 1, segment: try Segment(schema: schema, rows: rows),
            publishedAt: Instant(nanosecondsSinceEpoch: 0))
    }
    return table
}

@Suite("SQLEngine over a catalog")
struct SQLEngineTests {
    func paperCatalog() throws -> TestCatalog {
        let processes = try makeTable(
            "processes", [("machine_id", .integer), ("process_name", .text), ("uid", .integer), ("rss", .integer)],
            [
                "edge:1": [[1, "java", 5000, 300_000_000], [1, "sshd", 0, 5_000_000]],
                "edge:2": [[2, "java", 5000, 150_000_000], [2, "nginx", 5000, 50_000_000]],
            ])
        let versions = try makeTable(
            "software_versions", [("machine_id", .integer), ("version", .text)],
            ["source": [[1, "v1"], [2, "v2"]]])
        return TestCatalog(
            tables: [processes, versions],
            views: ["big": "SELECT machine_id, process_name FROM processes WHERE rss > 100000000"])
    }

    @Test func paperQueryRunsVerbatim() throws {
        let sql = """
            SELECT p.process_name, sv.version, avg(p.rss) avg_memory
            FROM processes p, software_versions sv
            WHERE p.machine_id = sv.machine_id AND p.uid=5000
            GROUP BY 1,2 HAVING avg_memory > 100*1000000;
            """
        let result = try SQLEngine().evaluate(sql, in: try paperCatalog())
        #expect(result.columns == ["process_name", "version", "avg_memory"])
        #expect(Set(result.rows.map { $0.map(\.description) }) == [["java", "v1", "300000000.0"], ["java", "v2", "150000000.0"]])
    }

    @Test func tablesReferencedExpandsViews() throws {
        let engine = SQLEngine()
        let catalog = try paperCatalog()
        let names = try engine.tablesReferenced(
            by: "SELECT * FROM big b JOIN machines m ON b.machine_id = m.id WHERE EXISTS (SELECT 1 FROM clusters)", catalog: catalog)
        #expect(names == ["processes", "machines", "clusters"])
    }

    @Test func viewsAreComputedOncePerVersion() throws {
        let engine = SQLEngine()
        let catalog = try paperCatalog()
        let first = try engine.evaluate("SELECT count(*) FROM big", in: catalog)
        #expect(first.rows == [[2]])
        let lookupsAfterFirst = catalog.viewLookups.withLock { $0 }
        _ = try engine.evaluate("SELECT process_name FROM big ORDER BY 1", in: catalog)
        #expect(catalog.viewLookups.withLock { $0 } == lookupsAfterFirst)
    }

    @Test func unknownTableSuggestsACatalogName() throws {
        let catalog = try paperCatalog()
        do throws(QueryError) {
            _ = try SQLEngine().evaluate("SELECT * FROM procesess", in: catalog)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownTable)
            #expect(error.message.contains("did you mean 'processes'?"))
        }
    }

    @Test func statementsOtherThanSelectAreRejected() throws {
        #expect(throws: QueryError.self) { try SQLEngine().evaluate("DELETE FROM processes", in: try paperCatalog()) }
    }
}
