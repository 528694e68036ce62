import ArgumentParser
import Foundation
import QueryCore
import QuerySQL
import QuerySim

/// `query-sim`: deterministic fleet simulations from the command line.
///
/// ```
/// query-sim --seeds 1-200 --faults mix      # seed sweep with invariant checks
/// query-sim --scenario Examples/scenarios/kill-and-return.json
/// query-sim --scenario run.json --logs --log-lines 500 --trace machines   # what happened inside
/// ```
@main
struct QuerySimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query-sim",
        abstract: "Simulate a swift-query collection tree deterministically: seed sweeps with faults, or scripted scenarios.",
        discussion: """
            With --seeds, every seed builds a small random fleet, injects the chosen faults, asks queries and checks \
            the invariants (version monotonicity, drop after timeout, eventual arrival, every query answered or cleanly \
            failed, snapshot spread). A failing seed prints the command that replays it. The last line is \
            'N passed, N failed'.

            With --scenario, the JSON file's fleet and events are run and one JSON line is printed per query.
            Fault names: none, mix (= crash,partition,network,skew), or a comma-separated list of crash, partition, \
            network, skew, correlated (related nodes failing together), ondemand (tables requested on demand: interest \
            lapses and returns) and shapes (fleets drawn from a wider range: 1-5 clusters of 1-6 machines, 1-3 proxies \
            per cluster, 1-3 TLAs with 0-2 children, 1-3 SQL nodes, none, one or both of processes and \
            software_versions deferred to the children), partitioned (subnetworks, aggregator sets and/or table \
            partitions drawn per seed, with queries sent to SQL nodes that must redirect them; invariants: redirects \
            are followed to an answer, completeness counts only the answering TLA's subnetwork, no node talks to \
            another aggregator set's nodes). Without shapes or partitioned every seed builds the fleet it always did.
            """)

    @Option(name: .long, help: "Seeds to run: N, A-B or a comma-separated list of those (e.g. 1-200).")
    var seeds: String?

    @Option(name: .long, help: "Faults to inject with --seeds: none, mix, or a list of crash,partition,network,skew,correlated,ondemand,shapes,partitioned.")
    var faults: String = "mix"

    @Option(name: .long, help: "Run a scenario file and print one JSON line per query.")
    var scenario: String?

    @Flag(name: .long, help: "With --seeds, also print a line per passing seed (with its trace hash).")
    var verbose = false

    @Flag(name: .long, help: "With --seeds, print the captured node logs of failing seeds; with --scenario, the run's logs (to standard error).")
    var logs = false

    @Option(name: .long, help: "With --logs, how many of the latest log lines to print (default 60).")
    var logLines = 60

    @Option(name: .long, help: "With --scenario, print (to standard error) every message that names this table: requests, updates, resyncs, acks, as sent and as received.")
    var trace: String?

    func validate() throws {
        if (seeds == nil) == (scenario == nil) {
            throw ValidationError("give exactly one of --seeds and --scenario")
        }
        if FaultMix(parsing: faults) == nil {
            throw ValidationError("unknown fault mix '\(faults)'; use none, mix, or a list of crash, partition, network, skew, correlated, ondemand, shapes, partitioned")
        }
        if let seeds { _ = try Self.parseSeeds(seeds) }
        if let trace {
            if scenario == nil { throw ValidationError("--trace goes with --scenario") }
            do { _ = try TableName(validating: trace) } catch { throw ValidationError(error.message) }
        }
    }

    func run() throws {
        if let scenario {
            try runScenario(path: scenario)
        } else if let seeds {
            try runSeeds(seeds)
        }
    }

    // MARK: Seeds

    static func parseSeeds(_ text: String) throws -> [UInt64] {
        var result: [UInt64] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = UInt64(bounds[0]), let high = UInt64(bounds.last!),
                low <= high, high - low < 1_000_000
            else { throw ValidationError("bad seed range '\(part)'; expected N or A-B with A ≤ B") }
            result.append(contentsOf: low...high)
        }
        guard !result.isEmpty else { throw ValidationError("no seeds given") }
        return result
    }

    func runSeeds(_ text: String) throws {
        let list = try Self.parseSeeds(text)
        let mix = FaultMix(parsing: faults)!
        var runner = SeedRun(queries: SeedRun.standardQueries)
        runner.logLines = max(1, logLines)
        var passed = 0, failed = 0
        for seed in list {
            let result: SeedRun.Result
            do {
                result = try runner.run(seed: seed, faults: mix, evaluator: SQLEngine())
            } catch {
                print("seed \(seed): could not build the fleet: \(error)")
                failed += 1
                continue
            }
            let shape = result.shape
            var fleet = "\(shape.clusters)×\(shape.machinesPerCluster) machines, \(shape.aggregators) TLAs"
                + (shape.childrenPerAggregator > 0 ? " with children" : "") + ", \(shape.sqlNodes) SQL"
            if mix.shapes {
                fleet = "\(shape.clusters)×\(shape.machinesPerCluster) machines, \(shape.proxiesPerCluster) proxies per cluster, "
                    + "\(shape.aggregators) TLA(s) × \(shape.childrenPerAggregator) children, \(shape.sqlNodes) SQL, deferred ["
                    + result.deferredTables.map(\.rawValue).joined(separator: ", ") + "]"
            }
            if mix.partitioned { fleet += "; " + result.partitioning.summary }
            if result.passed {
                passed += 1
                if verbose {
                    print(
                        "seed \(seed) passed (\(fleet); \(result.answered) answered, \(result.failed) failed cleanly; "
                            + "max spread \(result.maxSpread.secondsDouble)s; trace \(result.traceHash))")
                }
            } else {
                failed += 1
                print("seed \(seed) FAILED (\(fleet); faults \(mix)):")
                print("  prewarm: [\(result.prewarm.map(\.rawValue).joined(separator: ", "))]")
                for line in result.script { print("  fault: \(line)") }
                for violation in result.violations.prefix(10) { print("  \(violation)") }
                if result.violations.count > 10 { print("  … \(result.violations.count - 10) more") }
                if logs { print(result.logs.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")) }
                print("  replay: swift run query-sim --seeds \(seed) --faults \(mix)\(logs ? "" : " --logs")")
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    // MARK: Scenario

    func runScenario(path: String) throws {
        let text: String
        do {
            text = try Scenario.readFile(path)
        } catch {
            FileHandle.standardError.write(Data("query-sim: \(path): \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        let engine = SQLEngine(workBudget: Scenario.limits.queryWork)
        let scenario: Scenario
        do {
            scenario = try Scenario.parse(text) { (sql: String) throws(QueryError) in
                _ = try engine.tablesReferenced(by: sql, catalog: SnapshotCatalog())
            }
        } catch {
            FileHandle.standardError.write(Data("query-sim: \(path): \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        var observer: ((SimulationStep) -> Void)?
        if let trace {
            guard let table = try? TableName(validating: trace) else { throw ExitCode(2) }  // checked in validate()
            observer = { step in
                let time = String(format: "%9.3f", step.time.seconds)
                if case .received(let message, let peer) = step.input, let text = Self.describe(message, table: table) {
                    FileHandle.standardError.write(Data("\(time) \(step.node) <- \(peer): \(text)\n".utf8))
                }
                for case .send(let message, let to) in step.actions {
                    guard let text = Self.describe(message, table: table) else { continue }
                    FileHandle.standardError.write(Data("\(time) \(step.node) -> \(to): \(text)\n".utf8))
                }
            }
        }
        let report = try ScenarioRunner(scenario: scenario, evaluator: engine).run(
            logLines: logs ? max(1, logLines) : 0, observer: observer)
        for line in report.lines { print(line.serialized) }
        if logs { FileHandle.standardError.write(Data((report.logs + "\n").utf8)) }
        FileHandle.standardError.write(Data("trace \(report.traceHash)\n".utf8))
        for violation in report.violations {
            FileHandle.standardError.write(Data("invariant violated: \(violation)\n".utf8))
        }
    }

    /// A line about `message` if it names `table` (a request listing it, an update or deferral with
    /// its entry, a resync or ack of it), else `nil`.
    static func describe(_ message: Message, table: TableName) -> String? {
        func entry(_ entries: [TableEntry]) -> String? {
            guard let e = entries.first(where: { $0.table == table }) else { return nil }
            let c = e.completeness
            return "\(e.copies.count) copies\(e.replacesScope ? " (replaces)" : ""), removed \(e.removed.count), "
                + "machines [\(c.machinesContributing), \(c.machinesKnown)], clusters [\(c.clustersContributing), \(c.clustersKnown)]"
        }
        switch message {
        case .request(let r) where r.tables.contains(table):
            return "request\(r.reset ? " reset" : "")\(r.standby ? " standby" : "") \(r.tables.map(\.rawValue))"
        case .update(let u):
            if u.notPublished.contains(table) { return "update g\(u.generation.number) #\(u.sequence): not published" }
            guard let e = entry(u.entries) else { return nil }
            return "update g\(u.generation.number) #\(u.sequence): \(e)"
        case .deferral(let d):
            guard let e = entry(d.entries) else { return nil }
            return "deferral g\(d.generation.number): \(e)"
        case .resync(let r) where r.table == table:
            return "resync g\(r.generation) origins \(r.origins.map(\.rawValue))"
        case .ack(let a) where a.tables.contains(table):
            return "ack g\(a.generation)"
        default:
            return nil
        }
    }
}
