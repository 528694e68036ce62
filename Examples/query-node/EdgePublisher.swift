import Logging
import QueryCore
import QuerySim
import QueryTransport
import ServiceLifecycle

/// Publishes a simulated workload (QuerySim's `ProcessesWorkload`) into the edges of this
/// process: each hosted machine publishes its tables shortly before every generation starts.
struct EdgePublisher<T: Transport>: Service {
    let runtime: NodeRuntime<T, ContinuousClock>
    let machines: [(cluster: Int, machine: Int, id: NodeID)]
    let schedule: GenerationSchedule
    let workloadConfiguration: ProcessesWorkload.Configuration
    let logger: Logger

    func run() async throws {
        let lead = schedule.interval / 20
        let clock = ContinuousClock()
        // Publish the current generation at once, so the first generation has data.
        let first = max(1, schedule.number(at: runtime.now()))
        await cancelWhenGracefulShutdown {
            var workload = ProcessesWorkload(configuration: workloadConfiguration)
            var generation = first
            while !Task.isCancelled {
                let now = runtime.now()
                // The workload counts generations from 1 at start-up (it replays its churn from there).
                let step = generation - first + 1
                for (cluster, machine, id) in machines {
                    for (table, segment) in workload.tables(cluster: cluster, machine: machine, generation: step, now: now) {
                        runtime.publish(table, segment, at: id)
                    }
                }
                logger.debug("published", metadata: ["generation": "\(generation)", "machines": "\(machines.count)"])
                generation += 1
                let next = schedule.generation(generation).time - lead
                let wait = runtime.now().duration(to: next)
                if wait > .zero {
                    do {
                        try await clock.sleep(for: wait)
                    } catch {
                        return
                    }
                }
            }
        }
    }
}
