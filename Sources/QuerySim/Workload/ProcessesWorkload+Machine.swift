import QueryCore

extension ProcessesWorkload {
    /// One process row.
    struct ProcessRow: Sendable {
        var pid: Int64
        var ppid: Int64
        var kind: Int  // index: resident daemons first, then transient kinds
        var version: String
        var state: String
        var rss: Int64
        var vsz: Int64
        var cpu: Double
        var threads: Int64
        var startTime: Int64
    }

    /// The evolving state of one simulated machine.
    struct MachineState: Sendable {
        let cluster: Int
        let machine: Int
        let machineID: Int64
        var random: SimulationRandom
        var generation: UInt64 = 0
        var nextPID: Int64
        var processes: [ProcessRow] = []
        /// Index into each package's version list.
        var packageVersions: [Int]
        var installed: [Int64]
        var upSince: Int64 = 0

        init(configuration: Configuration, cluster: Int, machine: Int) {
            self.cluster = cluster
            self.machine = machine
            self.machineID = ProcessesWorkload.machineID(cluster: cluster, machine: machine)
            var random = SimulationRandom(seed: configuration.seed, stream: 0x5EED_0000_0000 &+ UInt64(bitPattern: machineID))
            self.nextPID = 300 + Int64(random.next() % 700)
            self.packageVersions = ProcessesWorkload.packages.map { package in
                // Most machines are on the second-newest version; some lag, a few lead.
                let newest = package.versions.count - 1
                let draw = Double(random.next() >> 11) / 9_007_199_254_740_992.0
                if draw < 0.1 { return 0 }
                if draw < 0.85 { return max(newest - 1, 0) }
                return newest
            }
            self.installed = ProcessesWorkload.packages.map { _ in Int64(random.next() % 8_000_000) }
            self.random = random
        }

        mutating func kind(_ index: Int) -> ProcessKind {
            index < residentDaemons.count
                ? residentDaemons[index] : transientKinds[index - residentDaemons.count]
        }

        mutating func uniform(_ range: ClosedRange<Int64>) -> Int64 {
            range.lowerBound + Int64(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
        }

        mutating func uniform(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + random.nextUnit() * (range.upperBound - range.lowerBound)
        }

        mutating func spawn(kind index: Int, now: Int64) -> ProcessRow {
            let kind = kind(index)
            let pid = nextPID
            nextPID += 1 + Int64(random.next() % 50)
            if nextPID > 4_000_000 { nextPID = 300 }
            let packageIndex = ProcessesWorkload.packages.firstIndex { $0.software == kind.software }
            let version = packageIndex.map { ProcessesWorkload.packages[$0].versions[packageVersions[$0]] } ?? "1.0"
            let rss = uniform(kind.rssMB) * 1_000_000 + uniform(0...999_999)
            return ProcessRow(
                pid: pid, ppid: index < residentDaemons.count ? 1 : 1 + Int64(random.next() % 2000), kind: index,
                version: version, state: random.chance(0.9) ? "S" : "R", rss: rss,
                vsz: rss * 2 + uniform(10...200) * 1_000_000, cpu: (uniform(kind.cpu) * 10).rounded() / 10,
                threads: uniform(kind.threads), startTime: now)
        }

        /// Moves the machine to the next generation.
        mutating func advance(configuration: Configuration, now: Instant) {
            generation += 1
            let seconds = ProcessesWorkload.epochBase + Int64(now.seconds.rounded(.down))
            if generation == 1 {
                upSince = seconds - 86_400 - Int64(random.next() % 3_000_000)
                // Until now `installed` held how long before boot each package was installed.
                installed = installed.map { upSince - $0 }
                processes = residentDaemons.indices.map { spawn(kind: $0, now: upSince + Int64($0)) }
                while processes.count < configuration.processesPerMachine {
                    processes.append(spawn(kind: residentDaemons.count + Int(random.next() % UInt64(transientKinds.count)), now: seconds - Int64(random.next() % 86_400)))
                }
                return
            }
            let churn = configuration.churn
            // Resource drift: about `churn` of the rows change their numbers.
            for i in processes.indices where random.chance(churn) {
                let kind = kind(processes[i].kind)
                let drift = 0.9 + random.nextUnit() * 0.2
                let low = kind.rssMB.lowerBound * 1_000_000, high = (kind.rssMB.upperBound + 1) * 1_000_000
                processes[i].rss = min(max(Int64(Double(processes[i].rss) * drift), low), high)
                processes[i].cpu = (uniform(kind.cpu) * 10).rounded() / 10
                processes[i].state = random.chance(0.8) ? "S" : "R"
            }
            // Process turnover: a fifth as often, a transient process exits and another starts.
            for i in processes.indices where processes[i].kind >= residentDaemons.count && random.chance(churn / 5) {
                processes[i] = spawn(kind: residentDaemons.count + Int(random.next() % UInt64(transientKinds.count)), now: seconds)
            }
            // Rollouts: rarely, a package moves to its next version (and its processes restart).
            for p in packageVersions.indices where random.chance(churn / 20) {
                guard packageVersions[p] + 1 < ProcessesWorkload.packages[p].versions.count else { continue }
                packageVersions[p] += 1
                installed[p] = seconds
                let software = ProcessesWorkload.packages[p].software
                for i in processes.indices where kind(processes[i].kind).software == software {
                    processes[i] = spawn(kind: processes[i].kind, now: seconds)
                }
            }
        }

        /// The machine's current tables.
        func segments(configuration: Configuration, now: Instant) -> [(TableName, Segment)] {
            var result: [(TableName, Segment)] = []
            let regionIndex = cluster % ProcessesWorkload.regions.count
            if machine == 0 {
                var clusters = SegmentBuilder(schema: ProcessesWorkload.clustersSchema, capacity: 1)
                try! clusters.append([
                    .integer(Int64(cluster)), .text("c\(cluster)"), .text(ProcessesWorkload.regions[regionIndex]),
                    .text(ProcessesWorkload.networks[cluster % ProcessesWorkload.networks.count]),
                    .integer(Int64(configuration.machinesPerCluster)), .text(ProcessesWorkload.cities[regionIndex]),
                ])
                result.append(("clusters", clusters.finish()))
            }
            var machines = SegmentBuilder(schema: ProcessesWorkload.machinesSchema, capacity: 1)
            let linux = ProcessesWorkload.packages.firstIndex { $0.software == "linux" }!
            try! machines.append([
                .integer(machineID), .integer(Int64(cluster)), .text("m\(machine).c\(cluster).fleet.example"),
                .text("10.\(cluster / 256 % 256).\(cluster % 256).\(machine % 250 + 1)"),
                .text(ProcessesWorkload.regions[regionIndex]), .integer(machineID % 3 == 0 ? 32 : 16),
                .integer(machineID % 3 == 0 ? 128_000_000_000 : 64_000_000_000), .text("Debian 12"),
                .text(ProcessesWorkload.packages[linux].versions[packageVersions[linux]]), .integer(upSince),
            ])
            result.append(("machines", machines.finish()))
            var processes = SegmentBuilder(schema: ProcessesWorkload.processesSchema, capacity: self.processes.count)
            for row in self.processes {
                let kind = row.kind < residentDaemons.count
                    ? residentDaemons[row.kind] : transientKinds[row.kind - residentDaemons.count]
                try! processes.append([
                    .integer(machineID), .integer(row.pid), .integer(row.ppid), .integer(kind.uid), .text(kind.name),
                    .text(row.version), .text(row.state), .integer(row.rss), .integer(row.vsz), .real(row.cpu),
                    .integer(row.threads), .integer(row.startTime),
                ])
            }
            result.append(("processes", processes.finish()))
            var software = SegmentBuilder(schema: ProcessesWorkload.softwareVersionsSchema, capacity: 1)
            for (p, package) in ProcessesWorkload.packages.enumerated() where package.software == ProcessesWorkload.releasePackage {
                try! software.append([
                    .integer(machineID), .text(package.software), .text(package.versions[packageVersions[p]]),
                    .integer(installed[p]),
                ])
            }
            result.append(("software_versions", software.finish()))
            return result
        }
    }
}
