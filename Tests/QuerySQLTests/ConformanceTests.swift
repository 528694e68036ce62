import QueryCore
import QuerySQL
import SQLLogicTest
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shared sqllogictest corpus, found as `../shared/conformance/sqllogictest` from the package root.
enum Corpus {
    static let directory: String? = {
        // #filePath = <root>/Tests/QuerySQLTests/ConformanceTests.swift
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let root = parts.joined(separator: "/")
        let parent = root.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let path = parent + "/shared/conformance/sqllogictest"
        return access(path + "/select1.test", R_OK) == 0 ? path : nil
    }()
}

@Suite("sqllogictest conformance (fast subset)")
struct ConformanceTests {
    @Test(arguments: [
        "select1.test", "evidence/in1.test", "evidence/in2.test", "evidence/slt_lang_aggfunc.test",
        "evidence/slt_lang_createview.test", "evidence/slt_lang_dropview.test",
    ])
    func file(_ name: String) throws {
        guard let directory = Corpus.directory else {
            print("skipping \(name): ../shared/conformance/sqllogictest not found")
            return
        }
        let result = SQLLogicTestRunner(engineName: "sqlite").run(path: directory + "/" + name)
        #expect(result.failed == 0, "\(name): \(result.failures.prefix(5).map(\.description))")
        #expect(result.passed > 0)
    }

    @Test func portableEngineNameSkipsSQLiteOnlyRecords() throws {
        guard let directory = Corpus.directory else { return }
        let result = SQLLogicTestRunner(engineName: "swiftsql").run(path: directory + "/evidence/slt_lang_aggfunc.test")
        // The file halts at its top for every engine but sqlite: only the setup statements run.
        #expect(result.failed == 0)
        #expect(result.passed == 5)
    }

    @Test func rendererFollowsSQLitePrintf() {
        #expect(ValueRenderer.formatReal(-9223372036854775808.0) == "-9223372036854776000.000")
        #expect(ValueRenderer.formatReal(1.0005) == "1.001")
        #expect(ValueRenderer.formatReal(0.1235) == "0.124")
        #expect(ValueRenderer.formatReal(5) == "5.000")
        #expect(ValueRenderer.render(.real(-0.5), type: "I") == "0")
        #expect(ValueRenderer.render(.text("12abc"), type: "I") == "12")
        #expect(ValueRenderer.render(.text(""), type: "T") == "(empty)")
        #expect(ValueRenderer.render(.real(1.0), type: "T") == "1.0")
    }

    @Test func runnerSplitsCRLFAndHashes() {
        let script = "hash-threshold 2\r\n\r\nstatement ok\r\nCREATE TABLE t(a INTEGER)\r\n\r\n# comment\r\nstatement ok\r\nINSERT INTO t VALUES (1), (2), (3)\r\n\r\nquery I rowsort\r\nSELECT a FROM t\r\n----\r\n3 values hashing to 6e2d9aa0ec1f0b9b5c0e8ea8b4cf4a7f\r\n"
        let result = SQLLogicTestRunner().run(bytes: Array(script.utf8), name: "inline")
        #expect(result.passed == 2)
        #expect(result.failed == 1)  // the hash above is deliberately wrong
        #expect(result.failures.first?.reason.contains("3 values hashing to") == true)
    }
}
