import QueryCore
import QuerySQL
import QuerySim

/// `swift run query-demo`: a small fleet in simulation (virtual time, so it runs in seconds),
/// the *Query* paper's example query verbatim and two more, and one fault: a machine dies, its
/// rows vanish after the drop timeout, and come back when it returns.
@main
struct QueryDemo {
    static let paperQuery = """
        SELECT p.process_name, sv.version, avg(p.rss) avg_memory FROM processes p, software_versions sv WHERE p.machine_id = sv.machine_id AND p.uid=5000 GROUP BY 1,2 HAVING avg_memory > 100*1000000;
        """

    static let clusterQuery = """
        SELECT m.cluster, m.region, count(DISTINCT p.machine_id) AS machines, count(*) AS processes, sum(p.rss) / 1000000 AS rss_mb FROM processes p, machines m WHERE p.machine_id = m.machine_id GROUP BY m.cluster, m.region ORDER BY m.cluster
        """

    static let rolloutQuery = """
        SELECT sv.version, count(DISTINCT sv.machine_id) AS machines, round(avg(p.cpu), 1) AS ghost_cpu, max(p.threads) AS max_threads FROM software_versions sv, processes p WHERE sv.machine_id = p.machine_id AND p.process_name = 'ghost' GROUP BY sv.version ORDER BY sv.version
        """

    static func main() throws {
        let shape = FleetShape(clusters: 3, machinesPerCluster: 4, proxiesPerCluster: 2, aggregators: 2, sqlNodes: 1)
        let configuration = FleetConfiguration(
            shape: shape, seed: 2026, interval: .seconds(120), dropAfter: .seconds(180),
            prewarm: ["processes", "software_versions", "machines"],
            network: NetworkConditions(latency: .exponential(minimum: .milliseconds(1), mean: .milliseconds(10))))
        let fleet = try Fleet(configuration, evaluator: SQLEngine())
        let sim = fleet.simulation
        let victim = FleetShape.edge(1, 2)

        print("""
            swift-query demo: a simulated fleet of \(shape.clusters) clusters × \(shape.machinesPerCluster) machines, \
            \(shape.proxiesPerCluster) proxies per cluster, \(shape.aggregators) TLAs and one SQL node.
            Generations every 120 s and the paper's 3-minute drop timeout, in virtual time.

            """)

        fleet.start()
        var script: [(Instant, String, [String])] = []
        func ask(_ seconds: Double, _ title: String, _ queries: [String]) { script.append((.seconds(seconds), title, queries)) }
        ask(400, "After three generations", [paperQuery, clusterQuery, rolloutQuery])
        sim.schedule(at: .seconds(430)) { sim in
            sim.crash(victim)
            print("── t=430s: machine \(victim) dies ──\n")
        }
        ask(530, "100 s later: \(victim) is silent but not yet dropped (its last rows are still served)", [clusterQuery])
        ask(760, "After the 180 s timeout: \(victim) is dropped and its rows are gone", [clusterQuery])
        sim.schedule(at: .seconds(800)) { sim in
            sim.restart(victim)
            print("── t=800s: machine \(victim) comes back ──\n")
        }
        ask(1100, "Three generations later: \(victim)'s rows are back", [clusterQuery])

        for (time, title, queries) in script {
            let ids = queries.map { fleet.submit($0, to: FleetShape.sql(0), at: time) }
            fleet.run(until: time + .seconds(1))
            print("── t=\(Int(time.seconds))s: \(title) ──\n")
            for (sql, id) in zip(queries, ids) {
                print("sql:0> \(sql)")
                guard let outcome = sim.query(id)?.outcome else {
                    print("  (no answer yet)\n")
                    continue
                }
                switch outcome {
                case .success(let answer):
                    print(TextTable.render(answer.result))
                    print(describe(answer))
                case .failure(let error):
                    print("  error: \(error)\n")
                }
            }
        }
        let stats = sim.statistics
        print("""
            Simulated \(Int(sim.now.seconds)) s: \(sim.stepsProcessed) role steps, \(stats.delivered) messages, \
            \(TextTable.grouped(String(stats.bytesSent))) bytes on the wire; trace \(sim.traceHash).
            Replay other runs with `swift run query-sim --scenario Examples/scenarios/kill-and-return.json`.

            """)
        _ = try IdleJobsDemo.run()
    }

    /// The completeness report printed under each result.
    static func describe(_ answer: QueryAnswer) -> String {
        let c = answer.completeness
        var lines: [String] = []
        var head = "  ↳ \(answer.result.rows.count) row\(answer.result.rows.count == 1 ? "" : "s") from generation \(answer.generation.number) (started t=\(Int(answer.generation.time.seconds))s)"
        if let old = c.oldestPublish, let new = c.newestPublish {
            head += "; rows published t=\(format(old.seconds))s…\(format(new.seconds))s (spread \(format((new - old).secondsDouble))s)"
        }
        lines.append(head)
        for t in c.tables {
            var line = "    \(t.table): \(t.machinesContributing)/\(t.machinesKnown) machines, \(t.clustersContributing)/\(t.clustersKnown) clusters"
            if !t.dropped.isEmpty {
                line += "; dropped: " + t.dropped.keys.sorted().map { "\($0) since t=\(Int(t.dropped[$0]!.seconds))s" }.joined(separator: ", ")
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }
}
