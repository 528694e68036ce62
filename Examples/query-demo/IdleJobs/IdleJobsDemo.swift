import QueryCore
import QuerySQL

/// The Persistent Query Agent paper's use case: an `IdleJobs` stream from a simulated HTCondor
/// queue, persistent queries over the last five minutes of it, and a subscriber that scales the
/// pool up and down in response. Everything runs on a virtual clock, so the output is the same
/// every run.
enum IdleJobsDemo {
    /// "Idle jobs above threshold over the last 5 minutes" (the paper's alias-in-WHERE form).
    static let scaleUpQuery = "select avg(idle) as avgIdle from IdleJobs.win:time(5 min) where avgIdle > 20"
    /// No job waited during the last 5 minutes and a whole machine's slots stayed free.
    static let scaleDownQuery =
        "select avg(idle) as avgIdle from IdleJobs.win:time(5 min) having max(idle) = 0 and min(free_slots) >= 4"

    static let tick: Duration = .seconds(30)
    static let duration: Duration = .seconds(2 * 3600)

    /// What a run did.
    struct Run {
        var reports: [CondorPool.Report] = []
        var decisions: [Autoscaler.Decision] = []
    }

    /// Runs the pool for two virtual hours, printing each scaling decision and a status line
    /// every ten minutes.
    static func run(seed: UInt64 = 2026, print: (String) -> Void = { Swift.print($0) }) throws -> Run {
        let manager = QueryManager()
        try manager.registerMetric(
            "IdleJobs",
            schema: try Schema([
                ("pool", .text), ("idle", .integer), ("running", .integer), ("free_slots", .integer),
                ("machines", .integer),
            ]),
            publishers: .only(["condor"])
        )
        let up = try manager.registerStatement(scaleUpQuery, owner: "autoscaler")
        let down = try manager.registerStatement(scaleDownQuery, owner: "autoscaler")
        let autoscaler = Autoscaler(scaleUp: up, scaleDown: down)
        try manager.addSink(autoscaler, to: up, as: "autoscaler")
        try manager.addSink(autoscaler, to: down, as: "autoscaler")

        print(
            """
            ── The PQA paper's use case: scaling an HTCondor pool on idle jobs ──

            A simulated pool of \(Autoscaler.minimumMachines) machines × \(CondorPool.slotsPerMachine) slots \
            publishes an IdleJobs event every \(Int(tick.secondsDouble)) s; \
            jobs arrive at \(format(CondorPool.submissionRate(at: .zero)))/min, \
            \(format(CondorPool.submissionRate(at: .seconds(CondorPool.burst.lowerBound * 60))))/min from minute \
            \(Int(CondorPool.burst.lowerBound)) to \(Int(CondorPool.burst.upperBound)), and run 6–14 min.
            pqa> \(scaleUpQuery)
            pqa> \(scaleDownQuery)
            The subscriber adds ⌈avgIdle ÷ \(CondorPool.slotsPerMachine)⌉ machines (at most \(Autoscaler.maximumStep) \
            at once, \(Autoscaler.maximumMachines) in all, \(Int(CondorPool.bootTime.secondsDouble)) s to boot), \
            removes one idle machine at a time, and waits \(Int(Autoscaler.cooldown.secondsDouble / 60)) min after each decision.

            """
        )
        var pool = CondorPool(seed: seed, machines: Autoscaler.minimumMachines)
        var result = Run()
        var now = Instant.zero
        while now <= .zero + duration {
            let report = pool.tick(to: now, step: tick)
            result.reports.append(report)
            try manager.publish(
                "IdleJobs",
                fields: [
                    "pool": "demo", "idle": .integer(Int64(report.idle)), "running": .integer(Int64(report.running)),
                    "free_slots": .integer(Int64(report.freeSlots)), "machines": .integer(Int64(report.machines)),
                ],
                at: now,
                as: "condor"
            )
            for decision in autoscaler.act(on: &pool) {
                let reason =
                    decision.action == .up
                    ? "avg idle \(format(decision.averageIdle)) over 5 min > 20"
                    : "no idle jobs for 5 min and ≥ \(CondorPool.slotsPerMachine) free slots"
                let change = "\(decision.action.rawValue): \(decision.from) → \(decision.to) machines"
                print("\(clock(decision.time))  \(change) (\(reason))")
            }
            if Int(now.seconds) % 600 == 0 {
                let jobs = "\(report.running) running, \(report.idle) idle, \(report.freeSlots) free slots"
                print("\(clock(now))  status: \(report.machines) machines, \(jobs)")
            }
            now = now + tick
        }
        result.decisions = autoscaler.decisions
        let ups = result.decisions.filter { $0.action == .up }.count
        let downs = result.decisions.count - ups
        let peak = result.reports.map(\.machines).max() ?? 0
        let dropped = manager.droppedTriggers(on: up) + manager.droppedTriggers(on: down)
        print(
            "\nIn \(Int(duration.secondsDouble / 60)) virtual minutes: \(ups) scale-ups, \(downs) scale-downs, "
                + "peak \(peak) machines; \(dropped) triggers dropped."
        )
        return result
    }

    static func clock(_ time: Instant) -> String {
        let s = Int(time.seconds)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "t=\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
    }

    static func format(_ value: Double) -> String {
        let tenths = (value * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }
}
