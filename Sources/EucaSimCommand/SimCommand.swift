public import ArgumentParser
import EucaCore
public import EucaScheduler
import EucaSim
import Foundation

/// `euca-sim`, whole: a package with placement policies of its own gets the same command with
/// them selectable by `--policy`, from a one-line `main`:
///
///     SimCommand.main(registry: .withMyPolicies)
public struct SimCommand: ParsableCommand {
    public init() {}

    /// Parses the process's arguments and runs, with `registry`'s policies for `run --policy`;
    /// `--help` and bad arguments are answered as by `euca-sim`.
    public static func main(registry: PlacementRegistry) {
        do {
            var command = try parseAsRoot()
            if let run = command as? Run {
                try run.run(registry: registry)
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    public static let configuration = CommandConfiguration(
        commandName: "euca-sim",
        abstract: "Simulate a cluster placing a workload with the cloud's own placement policies.",
        subcommands: [Run.self, Plot.self])

    struct Plot: ParsableCommand {
        init() {}
        static let configuration = CommandConfiguration(
            abstract: "Draw runs' CSV files (euca-sim run --csv) as SVG charts, every run overlaid on each.",
            discussion: """
                From runs' --csv files: utilization.svg, active-hosts.svg, arrivals.svg and, where a \
                run has a power model, power.svg; from their --cdf files: wait-cdf.svg and, where \
                they were timed, decision-cdf.svg; all into --out. Each run is FILE or FILE=LABEL \
                (the label in the legend; the file's name without .csv by default). The same files \
                give the same bytes.
                """)

        @Option(help: "The directory to write the charts into (made if need be).") var out = "."
        @Flag(help: "Write each chart as PNG too (drawn here: no other program is needed).") var png = false
        @Argument(help: "The runs: FILE or FILE=LABEL.") var runs: [String]

        func run() throws {
            guard !runs.isEmpty else { throw ValidationError("give at least one run's CSV file") }
            var parsed: [SimPlots.Run] = []
            for run in runs {
                let parts = run.split(separator: "=", maxSplits: 1).map(String.init)
                let path = parts[0]
                let label = parts.count == 2 ? parts[1] : URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                guard let data = FileManager.default.contents(atPath: path), data.count <= 64 << 20 else {
                    throw ValidationError("cannot read \(path) (at most 64 MiB)")
                }
                switch SimPlots.Run.parse(String(decoding: data, as: UTF8.self), label: label) {
                case .success(let found): parsed.append(found)
                case .failure(let error):
                    FileHandle.standardError.write(Data("euca-sim: \(path): \(error.reason)\n".utf8))
                    throw ExitCode(65)
                }
            }
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw ValidationError("--out: cannot make the directory \(out)")
            }
            for (name, chart) in SimPlots.charts(parsed) {
                var files = [(name, Array(chart.svg.utf8))]
                if png { files.append((String(name.dropLast(4)) + ".png", chart.png)) }
                for (file, contents) in files {
                    let path = out + "/" + file
                    try OutputFile.write(contents, to: path, option: "--out")
                    print("CHART\t\(path)")
                }
            }
        }
    }

    struct Run: ParsableCommand {
        init() {}
        static let configuration = CommandConfiguration(
            abstract: "Run a synthetic workload (Poisson arrivals) on identical hosts; print a summary as JSON.",
            discussion: """
                The policy is a name of the registry: the built-in GREEDY, ROUNDROBIN, POWERSAVE and \
                MOSTROOM, and a package's own where its command registers them \
                (SimCommand.main(registry:) in EucaSimCommand). The same \
                seed gives the same outcome; --no-timings leaves out the figures that vary from run \
                to run, for byte-identical output.
                """)

        @Option(help: "How many hosts.") var hosts = 100
        @Option(help: "Each host's cores.") var cores = 16
        @Option(help: "Each host's memory, MiB.") var memory = 65536
        @Option(help: "Each host's disk, GiB.") var disk = 1000
        @Option(help: "The placement policy, by name.") var policy = "GREEDY"
        @Option(help: "Arrivals per second.") var rate = 1.0
        @Option(help: "Lifetimes: exponential:MEAN, fixed:SECONDS, uniform:LOW:HIGH or lognormal:MU:SIGMA.") var lifetime = "exponential:3600"
        @Option(help: "VM types and their weights: m1.small:1,c1.xlarge:0.5 (Eucalyptus' default types).") var types = "m1.small:1"
        @Option(help: "Arrivals stop after this many simulated seconds.") var duration = 86400.0
        @Option(help: "The simulation stops at this simulated time (default: when every VM has left).") var horizon: Double?
        @Option(help: "The workload's seed.") var seed: UInt64 = 1
        @Option(help: "Replay this trace instead of a synthetic workload (the rate, lifetime, types, duration and seed are then not used).")
        var trace: String?
        @Option(help: "The trace's format: jsonl (Euca's own), swf (the Parallel Workloads Archive's), azure (Azure's vmtable.csv, sorted by creation time), azure-packing (a directory of Azure's 2020 packing trace's vm.csv and vmType.csv, exported from its SQLite file with headers; requests are fractions of one machine), bitbrains (a directory of Bitbrains' per-VM files) or google (Google 2011's task_events, decompressed; requests are fractions of one host).") var format = "jsonl"
        @Option(help: "Hosts of several sizes, from a file: a group a line, COUNT CORES MEMORY_MIB [DISK_GIB], in the cluster's order (instead of --hosts).")
        var hostsFile: String?
        @Option(help: "Hosts from Google's 2011 machine_events (decompressed): a host per machine, its sizes fractions of --cores and --memory (instead of --hosts).")
        var googleMachines: String?
        @Option(help: "--format azure-packing: the machine type (machineId) whose fractions size the VMs (default: each VM type's lowest).")
        var machine: String?
        @Flag(help: "Read the whole trace, put it in time order and count time from its first arrival: for the cloud's own EVENT_LOG, written as instances end.")
        var sort = false
        @Flag(help: "Leave out wall time, events/s and decision latencies.") var noTimings = false
        @Option(help: "Write the state at every --interval of simulated time to this CSV file (time_s,running,active_hosts,accepted_total,rejected_total,core_allocation,memory_allocation,power_w).")
        var csv: String?
        @Option(help: "The CSV's interval, in simulated seconds (at most 1,000,000 rows are written).") var interval = 3600.0
        @Option(help: "Each host's power draw by CPU load: linear:IDLE:MAX (watts), or specpower:W0,W10,…,W100 (SPECpower's 11 points). Adds energy to the summary and power_w to the CSV.")
        var power: String?
        @Option(help: "Write the distributions of launch waits and decision latencies to this CSV file (quantile,wait_s,decision_us: 101 rows, for euca-sim plot's CDFs).")
        var cdf: String?
        @Option(help: "Write each placement decision to this file, a JSON line each (arrival, time, type, node or null, candidates): what the live cluster controller logs as \"instance placed\".")
        var decisions: String?
        @Flag(help: "With --power, a host with no VM draws nothing (as if powered down at once with no delay: a bound on what powering down saves).")
        var emptyHostsOff = false
        @Option(help: "For a policy that powers idle hosts down (POWERSAVE): power a host down after this many idle seconds (never the last one awake), as euca-cc does; a launch placed on it waits for it to wake.")
        var powerDownAfter: Double?
        @Option(help: "With --power-down-after: seconds a host takes to wake.") var wakeDelay: Double?
        @Option(help: "With --power-down-after and --power: watts a host draws asleep.") var sleepWatts: Double?
        @Option(help: "Service-level policies, as the cloud controller asks them: quota, lease, priority (comma-separated). With --terms and none named: all three.")
        var sla: String?
        @Option(help: "A JSON file of each account's terms: {\"111111111111\": {\"maxInstances\": 10, \"maxCores\": 40, \"maxMemoryMiB\": 65536, \"leaseSeconds\": 3600, \"priority\": 1}}, every key optional.")
        var terms: String?
        @Option(help: "With --sla: seconds between the policies' reviews (leases end at the first after them).") var slaReview = 60.0
        @Option(help: "Cores offered to placement per physical core (a node's overcommitted MAX_CORES); VMs' CPU demand can then saturate a host (SLATAH).")
        var overcommit = 1.0
        @Option(help: "Live migration, for study: consolidate[:INTERVAL[:UNDERLOAD]] empties hosts under UNDERLOAD of their cores allocated (default 0.3) onto busier ones every INTERVAL seconds (default 300).")
        var migrate: String?
        @Option(help: "With --migrate: MiB/s a migration copies a VM's memory at (125: a gigabit link).") var migrationBandwidth = 125.0
        @Option(help: "Stop the run after this many events (the summary then says stoppedAtEventLimit).") var maxEvents = 2_000_000_000
        @Option(help: "Synthetic workloads: how many accounts launch (000000000001 upwards, each arrival's drawn evenly).") var accounts = 1

        func run() throws { try run(registry: .builtIn) }

        func run(registry: PlacementRegistry) throws {
            guard interval >= SimLimits.interval, interval <= SimLimits.seconds else {
                throw ValidationError("--interval is from 0.001 to 10^12 seconds")
            }
            guard rate > 0, rate.isFinite, (0...SimLimits.seconds).contains(duration), horizon.map({ (0...SimLimits.seconds).contains($0) }) ?? true else {
                throw ValidationError("--rate must be positive, --duration and --horizon from 0 to 10^12 seconds")
            }
            guard trace != nil || rate * duration <= 1e10 else {
                throw ValidationError("--rate times --duration is at most 10^10 arrivals")
            }
            guard (1...SimLimits.hosts).contains(hosts), (1...SimLimits.cores).contains(cores), (1...SimLimits.memoryMiB).contains(memory),
                (0...SimLimits.diskGiB).contains(disk)
            else {
                throw ValidationError("--hosts is from 1 to 10,000,000, --cores from 1 to 100,000, --memory and --disk up to 2^36")
            }
            guard maxEvents >= 1 else { throw ValidationError("--max-events is at least 1") }
            let outputs = [csv, cdf, decisions].compactMap { $0 }
            guard Set(outputs).count == outputs.count else { throw ValidationError("--csv, --cdf and --decisions name different files") }
            if machine != nil, format != "azure-packing" { throw ValidationError("--machine is for --format azure-packing") }
            if accounts != 1, trace != nil { throw ValidationError("--accounts is for synthetic workloads; a trace names its accounts") }
            guard let chosen = registry.policy(named: policy) else {
                throw ValidationError("--policy is one of \(registry.names.joined(separator: ", "))")
            }
            if powerDownAfter != nil, !chosen.powersDownIdleNodes {
                throw ValidationError("--power-down-after is for a policy that powers idle hosts down (POWERSAVE), not \(chosen.name)")
            }
            let model = try power.map(Self.power)
            if emptyHostsOff, model == nil { throw ValidationError("--empty-hosts-off needs --power") }
            var saving: SimPowerSaving?
            if let powerDownAfter {
                let wake = wakeDelay ?? SimPowerSaving().wakeDelay, sleep = sleepWatts ?? 0
                guard [powerDownAfter, wake, sleep].allSatisfy({ (0...SimLimits.seconds).contains($0) }) else {
                    throw ValidationError("--power-down-after, --wake-delay and --sleep-watts are from 0 to 10^12")
                }
                if sleepWatts != nil, model == nil { throw ValidationError("--sleep-watts needs --power") }
                saving = SimPowerSaving(idleThreshold: powerDownAfter, wakeDelay: wake, sleepWatts: sleep)
            } else if wakeDelay != nil || sleepWatts != nil {
                throw ValidationError("--wake-delay and --sleep-watts need --power-down-after")
            }
            guard overcommit >= 1, overcommit <= 64, overcommit.isFinite else { throw ValidationError("--overcommit is from 1 to 64") }
            guard migrationBandwidth >= 0.001, migrationBandwidth <= 1e12 else { throw ValidationError("--migration-bandwidth is from 0.001 to 10^12 MiB/s") }
            var simHosts = SimHosts(
                groups: try hostGroups(), power: model, emptyHostsPowerOff: emptyHostsOff, powerSaving: saving)
            simHosts.cpuOvercommit = overcommit
            var simulator = Simulator(hosts: simHosts, policy: chosen, serviceLevels: try serviceLevels(), migration: try migration())
            simulator.migrationBandwidthMiBps = migrationBandwidth
            let summary: SimSummary
            if let trace, format == "bitbrains" {
                let workload = try Self.opening("cannot read the directory \(trace)") { try BitbrainsWorkload(directory: trace) }
                try Self.stop(trace, workload.failure)
                summary = try observed(simulator, workload, end: horizon)
            } else if let trace, format == "azure-packing" {
                let workload = try Self.opening("cannot open \(trace)/vmType.csv and vm.csv") {
                    try AzurePackingTrace(directory: trace, machineCores: cores, machineMemoryMiB: memory, machine: machine)
                }
                try Self.stop(trace, workload.failure)
                if workload.skipped > 0, workload.count == 0 {
                    try Self.stop(trace, "no VM's type is listed for machine \(TextEscaping.quoted(machine ?? ""))")
                }
                if workload.skipped > 0 {
                    FileHandle.standardError.write(Data("euca-sim: \(workload.skipped) VMs of types the machine does not list were skipped\n".utf8))
                }
                summary = try observed(simulator, workload, end: horizon)
            } else if let trace, format == "google" {
                let workload = try Self.opening("cannot open \(trace)") { try GoogleTaskEvents(path: trace, machineCores: cores, machineMemoryMiB: memory) }
                try Self.stop(trace, workload.failure)
                summary = try observed(simulator, workload, end: horizon)
                try Self.stop(trace, workload.failure)
            } else if let trace {
                guard let format = TraceWorkload.Format(rawValue: format) else {
                    throw ValidationError("--format is one of \((TraceWorkload.Format.allCases.map(\.rawValue) + ["azure-packing", "bitbrains", "google"]).joined(separator: ", "))")
                }
                let workload = try Self.opening("cannot open \(trace)") { try TraceWorkload(path: trace, format: format, ordered: !sort) }
                if sort {
                    let sorted = SortedWorkload(workload)
                    try Self.stop(trace, workload.failure)
                    summary = try observed(simulator, sorted, end: horizon)
                } else {
                    summary = try observed(simulator, workload, end: horizon)
                }
                try Self.stop(trace, workload.failure)
            } else {
                guard (1...1_000_000).contains(accounts) else { throw ValidationError("--accounts is from 1 to 1,000,000") }
                let workload = SyntheticWorkload(
                    rate: rate, lifetime: try Self.lifetime(lifetime), types: try Self.types(types), until: duration, accounts: accounts,
                    seed: seed)
                summary = try observed(simulator, workload, end: horizon ?? duration)
            }
            if let cdf, let distributions = summary.distributions {
                try OutputFile.write(Array(distributions.csv.utf8), to: cdf, option: "--cdf")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        }

        /// Runs `workload`, writing the CSV if asked, and a progress line to standard error every
        /// second when it is a terminal (simulated time, events/s, and the time left where the
        /// end is known).
        func observed(_ simulator: Simulator, _ workload: some Workload, end: Double?) throws -> SimSummary {
            let decided = try decisions.map { try OutputFile(path: $0, option: "--decisions") }
            let rows = try csv.map { try OutputFile(path: $0, option: "--csv") }
            rows?.append(Simulator.Sample.csvHeader + "\n")
            let terminal = isatty(STDERR_FILENO) == 1
            let clock = ContinuousClock()
            let started = clock.now
            var shown = started
            let summary = simulator.run(
                workload, horizon: horizon, timings: !noTimings, every: csv == nil ? nil : interval,
                sample: { sample in rows?.append(sample.csvRow + "\n") },
                progress: terminal ? { time, events in
                    let now = clock.now
                    guard now - shown >= .seconds(1) else { return }
                    shown = now
                    let wall = Double((now - started).components.seconds) + Double((now - started).components.attoseconds) / 1e18
                    var line = "simulated \(Int(time)) s, \(events) events, \(Int(Double(events) / max(wall, 1e-9))) events/s"
                    if let end, end > 0, time > 0 { line += ", about \(Int(wall * max(0, end - time) / time)) s left" }
                    FileHandle.standardError.write(Data(("\r" + line + "   ").utf8))
                } : nil,
                decided: decided == nil ? nil : { decision in decided?.append(decision.jsonLine + "\n") },
                maxEvents: maxEvents)
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            try decided?.close()
            try rows?.close()
            if summary.outcome.stoppedAtEventLimit == true {
                FileHandle.standardError.write(Data("euca-sim: stopped at --max-events (\(maxEvents)) before the run's end\n".utf8))
            }
            return summary
        }

        /// The hosts: `--hosts` alike, or the groups of `--hosts-file` or `--google-machines`.
        func hostGroups() throws -> [SimHostGroup] {
            guard hostsFile == nil || googleMachines == nil else { throw ValidationError("--hosts-file and --google-machines exclude each other") }
            let read: Result<[SimHostGroup], TraceFailure>
            let path: String
            do {
                if let hostsFile {
                    path = hostsFile
                    read = try HostFiles.groups(path: hostsFile, diskGiB: disk)
                } else if let googleMachines {
                    path = googleMachines
                    read = try HostFiles.googleMachines(path: googleMachines, machineCores: cores, machineMemoryMiB: memory, diskGiB: disk)
                } else {
                    return [SimHostGroup(count: hosts, cores: cores, memoryMiB: memory, diskGiB: disk)]
                }
            } catch {
                throw ValidationError("cannot open \(hostsFile ?? googleMachines ?? "")")
            }
            switch read {
            case .success(let groups): return groups
            case .failure(let failure):
                FileHandle.standardError.write(Data("euca-sim: \(path): \(failure.description)\n".utf8))
                throw ExitCode(65)
            }
        }

        /// The migration policy `--migrate` names; nil without it.
        func migration() throws -> ConsolidationPolicy? {
            guard let migrate else { return nil }
            let parts = migrate.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let numbers = parts.dropFirst().map { Double($0) }
            guard parts[0] == "consolidate", parts.count <= 3, numbers.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw ValidationError("--migrate is consolidate[:INTERVAL[:UNDERLOAD]]")
            }
            let policy = ConsolidationPolicy(interval: numbers.first.map { $0! } ?? 300, underload: numbers.dropFirst().first.map { $0! } ?? 0.3)
            guard (SimLimits.interval...SimLimits.seconds).contains(policy.interval), (0...1).contains(policy.underload) else {
                throw ValidationError("--migrate: the interval is positive seconds, the underload a share from 0 to 1")
            }
            return policy
        }

        /// The service levels `--sla`, `--terms` and `--sla-review` ask for; nil with neither.
        func serviceLevels() throws -> SimServiceLevels? {
            guard sla != nil || terms != nil else { return nil }
            guard slaReview >= SimLimits.interval, slaReview <= SimLimits.seconds else { throw ValidationError("--sla-review is from 0.001 to 10^12 seconds") }
            let known: [String: any SLAPolicy] = ["quota": QuotaPolicy(), "lease": LeasePolicy(), "priority": PriorityPolicy()]
            let names = sla.map { $0.split(separator: ",").map(String.init) } ?? ["quota", "lease", "priority"]
            guard !names.isEmpty else { throw ValidationError("--sla names at least one of quota, lease and priority") }
            let policies = try names.map { name in
                guard let policy = known[name] else { throw ValidationError("--sla names quota, lease or priority, not \"\(TextEscaping.quoted(name, limit: 32))\"") }
                return policy
            }
            var accountTerms: [AccountID: AccountTerms] = [:]
            if let terms {
                struct Terms: Decodable {
                    var maxInstances, maxCores, maxMemoryMiB, leaseSeconds, priority: Int?

                    enum CodingKeys: String, CodingKey, CaseIterable { case maxInstances, maxCores, maxMemoryMiB, leaseSeconds, priority }

                    /// Refuses keys it does not know: a misspelt limit is not silently no limit.
                    init(from decoder: any Decoder) throws {
                        struct AnyKey: CodingKey {
                            var stringValue: String
                            var intValue: Int? { nil }
                            init(stringValue: String) { self.stringValue = stringValue }
                            init?(intValue: Int) { nil }
                        }
                        let known = Set(CodingKeys.allCases.map(\.rawValue))
                        for key in try decoder.container(keyedBy: AnyKey.self).allKeys where !known.contains(key.stringValue) {
                            throw DecodingError.dataCorrupted(.init(codingPath: [key], debugDescription: "unknown key"))
                        }
                        let values = try decoder.container(keyedBy: CodingKeys.self)
                        maxInstances = try values.decodeIfPresent(Int.self, forKey: .maxInstances)
                        maxCores = try values.decodeIfPresent(Int.self, forKey: .maxCores)
                        maxMemoryMiB = try values.decodeIfPresent(Int.self, forKey: .maxMemoryMiB)
                        leaseSeconds = try values.decodeIfPresent(Int.self, forKey: .leaseSeconds)
                        priority = try values.decodeIfPresent(Int.self, forKey: .priority)
                    }
                }
                guard let data = FileManager.default.contents(atPath: terms), data.count <= 1 << 24 else {
                    throw ValidationError("--terms: cannot read \(terms) (at most 16 MiB)")
                }
                let decoded: [String: Terms]
                do {
                    decoded = try JSONDecoder().decode([String: Terms].self, from: data)
                } catch {
                    throw ValidationError("--terms: \(terms) is not an object of accounts, each with maxInstances, maxCores, maxMemoryMiB, leaseSeconds and priority (whole numbers, every key optional, no other)")
                }
                for (account, entry) in decoded {
                    guard !account.isEmpty, account.utf8.count <= 64,
                        [entry.maxInstances, entry.maxCores, entry.maxMemoryMiB, entry.leaseSeconds].allSatisfy({ ($0 ?? 0) >= 0 })
                    else { throw ValidationError("--terms: account \"\(TextEscaping.quoted(account))\": limits and leases are not negative, names 1 to 64 characters") }
                    accountTerms[AccountID(rawValue: account)] = AccountTerms(
                        maxInstances: entry.maxInstances, maxCores: entry.maxCores, maxMemoryMiB: entry.maxMemoryMiB,
                        leaseSeconds: entry.leaseSeconds, priority: entry.priority ?? 0)
                }
            }
            return SimServiceLevels(policies: policies, terms: accountTerms, reviewInterval: slaReview)
        }

        /// Opens a trace, or refuses `--trace` with `problem`.
        static func opening<Trace>(_ problem: String, _ open: () throws -> Trace) throws -> Trace {
            do {
                return try open()
            } catch {
                throw ValidationError("--trace: \(problem)")
            }
        }

        /// Ends the run with exit status 65 when the trace failed, saying where and why.
        static func stop(_ trace: String, _ failure: String?) throws {
            guard let failure else { return }
            FileHandle.standardError.write(Data("euca-sim: \(trace): \(failure)\n".utf8))
            throw ExitCode(65)
        }

        static func lifetime(_ text: String) throws -> LifetimeDistribution {
            let parts = text.split(separator: ":").map(String.init)
            let numbers = parts.dropFirst().compactMap(Double.init)
            guard numbers.count == parts.count - 1, numbers.allSatisfy({ $0.isFinite }) else {
                throw ValidationError("--lifetime \"\(TextEscaping.quoted(text))\": the numbers after the kind are not numbers")
            }
            switch (parts.first, numbers.count) {
            case ("exponential", 1) where numbers[0] > 0 && numbers[0] <= SimLimits.seconds: return .exponential(mean: numbers[0])
            case ("fixed", 1) where numbers[0] >= 0 && numbers[0] <= SimLimits.seconds: return .fixed(numbers[0])
            case ("uniform", 2) where 0 <= numbers[0] && numbers[0] <= numbers[1] && numbers[1] <= SimLimits.seconds:
                return .uniform(numbers[0], numbers[1])
            case ("lognormal", 2) where numbers[1] >= 0 && abs(numbers[0]) <= 100 && numbers[1] <= 10:
                return .logNormal(mu: numbers[0], sigma: numbers[1])
            default: throw ValidationError("--lifetime is exponential:MEAN, fixed:SECONDS or uniform:LOW:HIGH (up to 10^12 s), or lognormal:MU:SIGMA (|MU| <= 100, SIGMA <= 10); lifetimes drawn are at most 10^12 s")
            }
        }

        static func power(_ text: String) throws -> PowerModel {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            let numbers = parts.count == 2 ? parts[1].split(separator: parts[0] == "linear" ? ":" : ",").map { Double($0) } : []
            guard !numbers.isEmpty, numbers.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--power is linear:IDLE:MAX or specpower:W0,W10,...,W100, in watts")
            }
            let watts = numbers.compactMap { $0 }
            let model: PowerModel
            switch (parts[0], watts.count) {
            case ("linear", 2): model = .linear(idle: watts[0], max: watts[1])
            case ("specpower", _): model = .specPower(watts)
            default: throw ValidationError("--power is linear:IDLE:MAX or specpower:W0,W10,...,W100, in watts")
            }
            if let problem = model.problem { throw ValidationError("--power: \(problem)") }
            return model
        }

        static func types(_ text: String) throws -> [(type: VMType, weight: Double)] {
            var found: [(type: VMType, weight: Double)] = []
            for item in text.split(separator: ",") {
                let parts = item.split(separator: ":").map(String.init)
                guard parts.count == 2, let type = VMTypeCatalog.eucalyptusDefaults[parts[0]], let weight = Double(parts[1]), weight >= 0, weight.isFinite
                else {
                    let names = VMTypeCatalog.eucalyptusDefaults.types.map(\.name).joined(separator: ", ")
                    throw ValidationError("--types \"\(TextEscaping.quoted(item))\" is not NAME:WEIGHT with one of \(names)")
                }
                found.append((type, weight))
            }
            guard found.contains(where: { $0.weight > 0 }) else { throw ValidationError("--types gives at least one type a weight above 0") }
            return found
        }
    }
}

/// A file a run writes, opened as a shell's `>` opens it (through a link, into a device or a
/// pipe, as the path says; created 0644 if missing), written in 64 KiB pieces; the first error
/// is kept and reported at close.
final class OutputFile {
    private let descriptor: Int32
    private let path: String
    private let option: String
    private var pending: [UInt8] = []
    private var failure: Int32 = 0

    init(path: String, option: String) throws {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ValidationError("\(option): cannot write \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.option = option
    }

    /// Writes `bytes` to `path` whole.
    static func write(_ bytes: [UInt8], to path: String, option: String) throws {
        let file = try OutputFile(path: path, option: option)
        file.pending = bytes
        try file.close()
    }

    func append(_ text: String) {
        pending += text.utf8
        if pending.count >= 1 << 16 { flush() }
    }

    private func flush() {
        var offset = 0
        while failure == 0, offset < pending.count {
            let wrote = pending[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if wrote < 0 {
                if errno != EINTR { failure = errno }
            } else {
                offset += wrote
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    func close() throws {
        flush()
        let closed = Foundation.close(descriptor)
        if failure == 0, closed != 0 { failure = errno }
        if failure != 0 { throw ValidationError("\(option): cannot write \(path): \(String(cString: strerror(failure)))") }
    }
}
