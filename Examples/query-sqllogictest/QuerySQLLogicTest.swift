import ArgumentParser
import SQLLogicTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs sqllogictest files against the SQL engine and prints per-file counts and a total line.
@main
struct QuerySQLLogicTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query-sqllogictest", abstract: "Run sqllogictest scripts against swift-query's SQL engine.")

    @Option(name: .long, help: "Engine name for skipif/onlyif (default: sqlite).")
    var engineName = "sqlite"

    @Flag(name: .long, help: "Print every failure with its line and reason.")
    var verbose = false

    @Option(name: .long, help: "Work budget per statement, in rows processed.")
    var workBudget = 50_000_000

    @Option(name: .long, help: "With --verbose, list records slower than this many seconds.")
    var slow: Double = 1.0

    @Argument(help: "Files or directories (searched recursively for *.test).")
    var paths: [String]

    mutating func run() throws {
        var files: [String] = []
        for path in paths { files.append(contentsOf: Self.testFiles(path)) }
        guard !files.isEmpty else { throw ValidationError("no .test files found") }
        var runner = SQLLogicTestRunner(engineName: engineName, workBudget: workBudget)
        if verbose { runner.slowRecordSeconds = slow }
        var passed = 0, failed = 0
        for file in files {
            let start = Self.now()
            let result = runner.run(path: file)
            let seconds = Self.now() - start
            passed += result.passed
            failed += result.failed
            let total = result.passed + result.failed
            let rate = total == 0 ? 100.0 : Double(result.passed) * 100 / Double(total)
            print("\(file): \(result.passed) passed, \(result.failed) failed, \(result.skipped) skipped (\(Self.percent(rate))%, \(Self.percent(seconds)) s)")
            if verbose {
                for failure in result.failures { print("  \(file):\(failure.line): \(failure.reason)") }
                for record in result.slowRecords { print("  \(file):\(record.line): slow: \(record.reason)") }
                for error in result.runtimeErrors { print("  \(file):\(error.line): run-time error (compared as empty): \(error.reason)") }
            }
        }
        print("\(passed) passed, \(failed) failed")
    }

    static func percent(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        return String(scaled)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `path` itself if it is a file, else every `*.test` below it, sorted.
    static func testFiles(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [path] }
        defer { closedir(dir) }
        var found: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let full = path.hasSuffix("/") ? path + name : path + "/" + name
            if opendir(full).map({ closedir($0); return true }) == true {
                found.append(contentsOf: testFiles(full))
            } else if name.hasSuffix(".test") {
                found.append(full)
            }
        }
        return found.sorted()
    }
}
