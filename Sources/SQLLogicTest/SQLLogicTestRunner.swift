import Crypto
import QueryCore
public import QuerySQL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs sqllogictest scripts (SQLite's conformance format) against ``SQLDatabase``, following the
/// reference runner's exact rules (see `shared/conformance/sqllogictest/FORMAT.md`).
public struct SQLLogicTestRunner: Sendable {
    /// The engine name compared with `skipif`/`onlyif` (case-insensitive).
    public var engineName: String
    /// The work budget per statement (rows processed).
    public var workBudget: Int
    /// Records taking longer than this are listed in ``FileResult/slowRecords``.
    public var slowRecordSeconds: Double = .infinity

    /// Creates a runner.
    public init(engineName: String = "sqlite", workBudget: Int = 50_000_000) {
        self.engineName = engineName
        self.workBudget = workBudget
    }

    /// One failed record.
    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        /// 1-based line of the record's first line.
        public var line: Int
        /// Why it failed.
        public var reason: String
        public var description: String { "\(line): \(reason)" }
    }

    /// The outcome of one file.
    public struct FileResult: Sendable {
        /// The file's name as given.
        public var name: String
        /// Records (statements and queries) that passed.
        public var passed = 0
        /// Records that failed.
        public var failed = 0
        /// Records skipped by `skipif`/`onlyif` (or after `halt`: not counted).
        public var skipped = 0
        /// Failures in file order.
        public var failures: [Failure] = []
        /// Run-time errors seen (compared as empty results, as the reference does).
        public var runtimeErrors: [Failure] = []
        /// Records slower than the runner's ``SQLLogicTestRunner/slowRecordSeconds``, with their time.
        public var slowRecords: [Failure] = []
    }

    /// Reads and runs the file at `path`.
    public func run(path: String) -> FileResult {
        guard let bytes = SQLLogicTestRunner.readFile(path) else {
            var result = FileResult(name: path)
            result.failed = 1
            result.failures = [Failure(line: 0, reason: "cannot read file")]
            return result
        }
        return run(bytes: bytes, name: path)
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return bytes
    }

    struct Line {
        var number: Int
        var text: String
    }

    /// Splits bytes on `\n`, drops a trailing `\r`, drops comment lines, marks blank lines (nil text).
    static func lines(_ bytes: [UInt8]) -> [(Int, String?)] {
        var result: [(Int, String?)] = []
        var start = 0
        var number = 0
        var i = 0
        while start < bytes.count {
            i = start
            while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            number += 1
            var end = i
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            let line = bytes[start..<end]
            start = i + 1
            if line.first == UInt8(ascii: "#") { continue }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0B || $0 == 0x0C }) {
                result.append((number, nil))
            } else {
                result.append((number, String(decoding: line, as: UTF8.self)))
            }
        }
        return result
    }

    /// Runs a script's bytes.
    public func run(bytes: [UInt8], name: String) -> FileResult {
        var result = FileResult(name: name)
        let database = SQLDatabase(workBudget: workBudget)
        var threshold = 8
        var labels: [String: String] = [:]
        let all = SQLLogicTestRunner.lines(bytes)
        var index = 0
        let engine = engineName.lowercased()
        fileLoop: while index < all.count {
            // Skip blank lines, then gather a record up to the next blank line.
            while index < all.count && all[index].1 == nil { index += 1 }
            if index >= all.count { break }
            var record: [Line] = []
            while index < all.count, let text = all[index].1 {
                record.append(Line(number: all[index].0, text: text))
                index += 1
            }
            var skip = false
            var headerIndex = 0
            while headerIndex < record.count {
                let tokens = SQLLogicTestRunner.tokens(record[headerIndex].text)
                guard let first = tokens.first, first == "skipif" || first == "onlyif" else { break }
                let target = tokens.count > 1 ? tokens[1].lowercased() : ""
                if first == "skipif" && target == engine { skip = true }
                if first == "onlyif" && target != engine { skip = true }
                headerIndex += 1
            }
            guard headerIndex < record.count else { continue }
            let header = record[headerIndex]
            let tokens = SQLLogicTestRunner.tokens(header.text)
            let started = SQLLogicTestRunner.now()
            defer {
                let elapsed = SQLLogicTestRunner.now() - started
                if elapsed > slowRecordSeconds {
                    result.slowRecords.append(Failure(line: header.number, reason: "took \(Int(elapsed * 1000)) ms"))
                }
            }
            let body = Array(record[(headerIndex + 1)...])
            switch tokens[0] {
            case "halt":
                if skip {
                    result.skipped += 1
                    continue
                }
                break fileLoop
            case "hash-threshold":
                if !skip, tokens.count > 1, let n = Int(tokens[1]) { threshold = n }
            case "statement":
                if skip {
                    result.skipped += 1
                    continue
                }
                let sql = body.map(\.text).joined(separator: "\n")
                let expectError = tokens.count > 1 && tokens[1] == "error"
                guard tokens.count > 1, tokens[1] == "ok" || tokens[1] == "error" else {
                    fail(&result, header.number, "unknown statement mode '\(tokens.dropFirst().first ?? "")'")
                    continue
                }
                do throws(QueryError) {
                    try database.execute(sql)
                    if expectError { fail(&result, header.number, "statement succeeded but an error was expected") } else { result.passed += 1 }
                } catch {
                    if expectError { result.passed += 1 } else { fail(&result, header.number, "statement error: \(error)") }
                }
            case "query":
                let types = tokens.count > 1 ? tokens[1] : ""
                let sortMode = tokens.count > 2 ? tokens[2] : "nosort"
                let label = tokens.count > 3 ? String(tokens[3].prefix(20)) : nil
                var sqlLines: [String] = []
                var expected: [String] = []
                var sawSeparator = false
                for line in body {
                    if sawSeparator {
                        expected.append(line.text)
                    } else if line.text == "----" {
                        sawSeparator = true
                    } else {
                        sqlLines.append(line.text)
                    }
                }
                if skip {
                    result.skipped += 1
                    if let label, !expected.isEmpty {
                        let hash = SQLLogicTestRunner.expectedHash(expected)
                        if let stored = labels[label] {
                            if stored != hash {
                                // Reported against the query that ran, not this skipped one.
                            }
                        } else {
                            labels[label] = hash
                        }
                    }
                    continue
                }
                guard !types.isEmpty, types.allSatisfy({ $0 == "T" || $0 == "I" || $0 == "R" }) else {
                    fail(&result, header.number, "bad result types '\(types)'")
                    continue
                }
                guard ["nosort", "rowsort", "valuesort"].contains(sortMode) else {
                    fail(&result, header.number, "unknown sort mode '\(sortMode)'")
                    continue
                }
                let sql = sqlLines.joined(separator: "\n")
                var rows: [[Value]] = []
                do throws(QueryError) {
                    let statements = try Parser.parseStatements(sql)
                    guard case .select(let select) = statements.first else {
                        fail(&result, header.number, "query failed: not a SELECT")
                        continue
                    }
                    let answer: QueryResult
                    do throws(QueryError) {
                        answer = try database.query(select)
                    } catch where error.code == .runtimeError {
                        result.runtimeErrors.append(Failure(line: header.number, reason: "\(error)"))
                        answer = QueryResult(columns: [], rows: [])
                    }
                    if !answer.columns.isEmpty && answer.columns.count != types.count {
                        fail(&result, header.number, "wrong number of columns: expected \(types.count), got \(answer.columns.count)")
                        continue
                    }
                    rows = answer.rows
                } catch {
                    fail(&result, header.number, "query failed: \(error)")
                    continue
                }
                let typeLetters = Array(types)
                var renderedRows = rows.map { row in row.enumerated().map { ValueRenderer.render($0.element, type: typeLetters[$0.offset]) } }
                var values: [String]
                switch sortMode {
                case "rowsort":
                    renderedRows.sort { a, b in
                        for (x, y) in zip(a, b) where x != y { return x.utf8.lexicographicallyPrecedes(y.utf8) }
                        return false
                    }
                    values = renderedRows.flatMap { $0 }
                case "valuesort":
                    values = renderedRows.flatMap { $0 }
                    values.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                default:
                    values = renderedRows.flatMap { $0 }
                }
                let useHash = threshold > 0 && values.count > threshold
                var hashLine: String?
                if label != nil || useHash {
                    let md5 = SQLLogicTestRunner.md5(values)
                    hashLine = "\(values.count) values hashing to \(md5)"
                    if let label {
                        if let stored = labels[label] {
                            if stored != md5 {
                                fail(&result, header.number, "label '\(label)' hash mismatch")
                                continue
                            }
                        } else {
                            labels[label] = md5
                        }
                    }
                }
                if useHash {
                    if expected.count == 1 && expected[0] == hashLine! {
                        result.passed += 1
                    } else {
                        fail(&result, header.number, "wrong result hash: expected [\(expected.joined(separator: " "))] got [\(hashLine!)]")
                    }
                } else if values == expected {
                    result.passed += 1
                } else {
                    let got = values.prefix(20).joined(separator: " ")
                    let want = expected.prefix(20).joined(separator: " ")
                    fail(&result, header.number, "wrong result: expected [\(want)] got [\(got)]")
                }
            default:
                fail(&result, header.number, "unknown record type '\(tokens[0])'; file stopped")
                break fileLoop
            }
        }
        return result
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private func fail(_ result: inout FileResult, _ line: Int, _ reason: String) {
        result.failed += 1
        result.failures.append(Failure(line: line, reason: reason))
    }

    /// Up to four whitespace-separated tokens.
    static func tokens(_ line: String) -> [String] {
        Array(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).prefix(4).map(String.init))
    }

    /// The md5 of values each followed by a newline (lower-case hex).
    static func md5(_ values: [String]) -> String {
        var hasher = Insecure.MD5()
        for v in values {
            hasher.update(data: Array(v.utf8))
            hasher.update(data: [0x0A])
        }
        return hasher.finalize().map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined()
    }

    /// The md5 an expected block stands for (a hash line's hash, or the hash of its lines).
    static func expectedHash(_ expected: [String]) -> String {
        let marker = " values hashing to "
        if expected.count == 1, expected[0].contains(marker) {
            let parts = expected[0].split(separator: " ")
            if let last = parts.last { return String(last) }
        }
        return md5(expected)
    }
}

