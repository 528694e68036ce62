import QueryCore
import QuerySim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A simulated HTCondor pool on a virtual clock: jobs are submitted (a trickle, then a burst,
/// then a trickle again), wait idle in the queue, run on free slots for 6–14 minutes and
/// finish. Machines have four slots each; a machine added by the autoscaler takes two minutes to
/// boot before its slots take jobs. Seeded, so every run is the same.
struct CondorPool {
    /// What the pool reports every tick, published as an `IdleJobs` event.
    struct Report: Sendable, Hashable {
        var time: Instant
        var idle: Int
        var running: Int
        var freeSlots: Int
        var machines: Int
    }

    static let slotsPerMachine = 4
    static let bootTime: Duration = .seconds(120)

    private var random: SimulationRandom
    /// Idle jobs' run times, first come first served.
    private var queue: [Duration] = []
    /// End times of running jobs.
    private var running: [Instant] = []
    /// Times at which machines are (or will be) ready.
    private(set) var machineReadyTimes: [Instant]

    init(seed: UInt64, machines: Int) {
        random = SimulationRandom(seed: seed, stream: "condor")
        machineReadyTimes = Array(repeating: .zero, count: machines)
    }

    /// Machines in the pool, booting ones included.
    var machines: Int { machineReadyTimes.count }

    /// The burst: minutes 20 to 40.
    static let burst = 20.0..<40.0
    /// Submissions per minute at `time`: 8 during the burst, 0.5 otherwise.
    static func submissionRate(at time: Instant) -> Double {
        burst.contains(time.seconds / 60) ? 8 : 0.5
    }

    /// Advances the pool to `now` (a tick of `step`): finishes jobs, takes submissions, starts
    /// idle jobs on free slots, and reports.
    mutating func tick(to now: Instant, step: Duration) -> Report {
        running.removeAll { $0 <= now }
        let arrivals = poisson(mean: Self.submissionRate(at: now) * step.secondsDouble / 60)
        for _ in 0..<arrivals { queue.append(.seconds(360 + Double(random.next() % 481))) }
        let slots = machineReadyTimes.filter { $0 <= now }.count * Self.slotsPerMachine
        while running.count < slots, !queue.isEmpty { running.append(now + queue.removeFirst()) }
        return Report(
            time: now,
            idle: queue.count,
            running: running.count,
            freeSlots: slots - running.count,
            machines: machines
        )
    }

    /// Adds `count` machines that are ready `bootTime` after `now`.
    mutating func addMachines(_ count: Int, at now: Instant) {
        machineReadyTimes.append(contentsOf: Array(repeating: now + Self.bootTime, count: count))
    }

    /// Removes a machine whose slots are free at `now`; returns whether one was.
    mutating func removeIdleMachine(at now: Instant) -> Bool {
        let ready = machineReadyTimes.filter { $0 <= now }.count
        guard (ready - 1) * Self.slotsPerMachine >= running.count, let last = machineReadyTimes.indices.last else {
            return false
        }
        machineReadyTimes.remove(at: last)
        return true
    }

    /// A Poisson draw (Knuth's method; means here are small).
    private mutating func poisson(mean: Double) -> Int {
        let limit = exp(-mean)
        var product = random.nextUnit()
        var count = 0
        while product > limit {
            count += 1
            product *= random.nextUnit()
        }
        return count
    }
}
