public import EucaCore
public import EucaScheduler
import Foundation

/// The hosts of a simulated cluster, all alike.
public struct SimHosts: Sendable, Hashable {
    /// The hosts, group after group, in the cluster's order; hosts of a group are alike.
    public var groups: [SimHostGroup]
    /// How many hosts in all.
    public var count: Int { groups.reduce(0) { $0 + $1.count } }
    /// The first group's size: every host's, where they are alike.
    public var cores: Int { groups.first?.cores ?? 0 }
    public var memoryMiB: Int { groups.first?.memoryMiB ?? 0 }
    public var diskGiB: Int { groups.first?.diskGiB ?? 0 }
    /// How much each host draws by its CPU utilization; nil leaves energy out of the results.
    public var power: PowerModel?
    /// Whether a host with no VM draws nothing, as if powered down at once with no delay: a
    /// bound on what powering down can save. ``powerSaving`` models POWERSAVE itself.
    public var emptyHostsPowerOff = false
    /// How a policy that powers down idle nodes (POWERSAVE) does it here; nil: never.
    public var powerSaving: SimPowerSaving?
    /// Cores offered to placement per physical core (a node controller's overcommitted
    /// `MAX_CORES`): VMs may then ask for more CPU than a host has, and saturate it.
    public var cpuOvercommit: Double = 1

    /// `count` hosts alike.
    public init(
        count: Int, cores: Int, memoryMiB: Int, diskGiB: Int, power: PowerModel? = nil, emptyHostsPowerOff: Bool = false,
        powerSaving: SimPowerSaving? = nil
    ) {
        self.init(
            groups: [SimHostGroup(count: count, cores: cores, memoryMiB: memoryMiB, diskGiB: diskGiB)], power: power,
            emptyHostsPowerOff: emptyHostsPowerOff, powerSaving: powerSaving)
    }

    /// Hosts of several sizes, in the order given. A power model's utilization is each host's
    /// own cores in use over its own cores.
    public init(groups: [SimHostGroup], power: PowerModel? = nil, emptyHostsPowerOff: Bool = false, powerSaving: SimPowerSaving? = nil) {
        self.groups = groups
        self.power = power
        self.emptyHostsPowerOff = emptyHostsPowerOff
        self.powerSaving = powerSaving
    }
}

/// Hosts of one size.
public struct SimHostGroup: Sendable, Hashable {
    public var count: Int
    public var cores: Int
    public var memoryMiB: Int
    public var diskGiB: Int

    public init(count: Int, cores: Int, memoryMiB: Int, diskGiB: Int) {
        self.count = count
        self.cores = cores
        self.memoryMiB = memoryMiB
        self.diskGiB = diskGiB
    }
}

/// Powering idle hosts down and waking them, as a live cluster does for a policy whose
/// `powersDownIdleNodes` is set (POWERSAVE): a host that has run nothing for `idleThreshold`
/// seconds is powered down, unless it is the last one awake; placement may still choose it (the
/// policy sees it asleep), and a launch placed on it starts once it has woken, `wakeDelay`
/// seconds later, as do launches placed on it while it wakes. Asleep, a host draws
/// `sleepWatts`; waking, it draws as an awake host.
public struct SimPowerSaving: Sendable, Hashable {
    public var idleThreshold: Double
    public var wakeDelay: Double
    public var sleepWatts: Double

    /// The live cluster's default threshold (`PowerTimings`), a wake of 90 s, nothing drawn asleep.
    public init(idleThreshold: Double = 300, wakeDelay: Double = 90, sleepWatts: Double = 0) {
        self.idleThreshold = idleThreshold
        self.wakeDelay = wakeDelay
        self.sleepWatts = sleepWatts
    }
}

/// A host's power draw, in watts, as a function of its CPU utilization (0…1): the models
/// CloudSim's users know.
public enum PowerModel: Sendable, Hashable, Codable {
    /// Linear from `idle` watts at no load to `max` at full load.
    case linear(idle: Double, max: Double)
    /// SPECpower_ssj2008's eleven measurements, at 0 %, 10 %, … 100 % load, joined by straight
    /// lines.
    case specPower([Double])

    /// A model's problem, or nil: watts finite and not negative, eleven SPECpower points.
    public var problem: String? {
        switch self {
        case .linear(let idle, let max):
            guard idle >= 0, max >= idle, max.isFinite else { return "a linear model needs 0 <= idle <= max, finite" }
        case .specPower(let points):
            guard points.count == 11 else { return "a SPECpower model needs 11 points (0 %, 10 %, … 100 %), not \(points.count)" }
            guard points.allSatisfy({ $0 >= 0 && $0.isFinite }) else { return "SPECpower points are finite watts, not negative" }
        }
        return nil
    }

    /// The draw at `utilization` (clamped to 0…1).
    public func watts(utilization: Double) -> Double {
        let u = Swift.min(1, Swift.max(0, utilization))
        switch self {
        case .linear(let idle, let max): return idle + (max - idle) * u
        case .specPower(let points):
            let position = u * 10
            let low = Swift.min(9, Int(position.rounded(.down)))
            return points[low] + (points[low + 1] - points[low]) * (position - Double(low))
        }
    }
}

/// What one run did: the figures that depend only on the inputs (the same seed, policy and
/// version give the same ones, byte for byte), and how fast it went (which does not).
public struct SimSummary: Codable, Sendable, Hashable {
    public struct Outcome: Codable, Sendable, Hashable {
        public var policy: String
        public var hosts: Int
        public var arrivals: Int
        public var accepted: Int
        /// Rejected arrivals, by reason.
        public var rejected: [String: Int]
        public var departures: Int
        /// The simulated time of the last event, in seconds.
        public var simulatedSeconds: Double
        /// The time-weighted mean number of running VMs, and the most at once.
        public var meanRunning: Double
        public var peakRunning: Int
        /// The time-weighted mean share of all cores (as offered to placement: physical cores
        /// times the overcommit) and of all memory allocated.
        public var meanCoreAllocation: Double
        public var meanMemoryAllocation: Double
        /// The time-weighted mean share of all physical cores the VMs' CPU demand takes (their
        /// cores times their CPU use; allocation where the workload gives no use).
        public var meanCpuUsage: Double? = nil
        /// The time-weighted mean number of hosts running at least one VM, and the most at once.
        public var meanActiveHosts: Double
        public var peakActiveHosts: Int
        /// Placements that left a host over its capacity (an invariant checked at every event): 0.
        public var capacityViolations: Int
        public var events: Int
        /// Energy drawn by all hosts over the measured time, and the mean draw: only with a power
        /// model.
        public var energyKWh: Double? = nil
        public var meanPowerWatts: Double? = nil
        /// Arrivals refused although the cluster's free cores, memory and disk, added up, would
        /// have held them: refusals the hosts' fragmentation caused.
        public var rejectedDespiteRoom: Int? = nil
        /// The time-weighted mean share of all cores free on hosts whose memory or disk is too
        /// short for the smallest request seen (stranded), and of all memory free on hosts
        /// whose cores or disk are.
        public var meanStrandedCoreShare: Double? = nil
        public var meanStrandedMemoryShare: Double? = nil
        /// With ``SimPowerSaving``: hosts powered down, hosts woken for a launch, launches that
        /// waited for a host to wake, and the wait of every accepted launch (mean, median and
        /// 99th percentile, seconds).
        public var powerDowns: Int? = nil
        public var wakes: Int? = nil
        public var delayedLaunches: Int? = nil
        public var meanWaitSeconds: Double? = nil
        public var waitP50Seconds: Double? = nil
        public var waitP99Seconds: Double? = nil
        /// With ``SimServiceLevels``: VMs ended to make room for a launch of higher priority,
        /// and VMs ended by a policy's review (a lease's end), by policy. Refusals by admission
        /// are under `rejected`, as `sla:` and the policy's name.
        public var preempted: Int? = nil
        public var endedByReview: [String: Int]? = nil
        /// Beloglazov and Buyya's measures of service: SLATAH, the mean share of its active time
        /// a host spent with its VMs' CPU demand at or above its physical cores; PDM, the mean
        /// share of a VM's work lost to its migrations (10 % while one runs); SLAV, their
        /// product. And the migrations made.
        /// Present, and true, when the run stopped at its limit of events before its end.
        public var stoppedAtEventLimit: Bool? = nil
        public var slatah: Double? = nil
        public var pdm: Double? = nil
        public var slav: Double? = nil
        public var migrations: Int? = nil
    }

    public struct Performance: Codable, Sendable, Hashable {
        public var wallSeconds: Double
        public var eventsPerSecond: Double
        /// Decision latency quantiles, from every decision of the first 4,096 and every 16th after.
        public var decisionP50Microseconds: Double
        public var decisionP99Microseconds: Double
        /// The process's peak resident memory, MiB (Linux's VmHWM), when known.
        public var peakResidentMiB: Double? = nil
    }

    public var outcome: Outcome
    public var performance: Performance?
    /// The distributions behind the summary's quantiles, for CDF plots (`euca-sim run --cdf`);
    /// not part of the JSON summary.
    public var distributions: Distributions?

    /// Each distribution at the quantiles 0, 0.01, … 1 (101 values).
    public struct Distributions: Sendable, Hashable {
        /// Seconds from each accepted launch's arrival to its start.
        public var waitSeconds: [Double]
        /// Decision latencies, microseconds (with timings only).
        public var decisionMicroseconds: [Double]?

        /// The quantiles the values are taken at.
        public static let quantiles = (0...100).map { Double($0) / 100 }

        /// `quantile,wait_s,decision_us`, a row per quantile (decision_us empty without timings).
        public var csv: String {
            var text = "quantile,wait_s,decision_us\n"
            for (index, q) in Self.quantiles.enumerated() {
                text += "\(q),\(waitSeconds[index]),\(decisionMicroseconds.map { "\($0[index])" } ?? "")\n"
            }
            return text
        }
    }

    enum CodingKeys: String, CodingKey { case outcome, performance }

    public init(outcome: Outcome, performance: Performance? = nil, distributions: Distributions? = nil) {
        self.outcome = outcome
        self.performance = performance
        self.distributions = distributions
    }
}

/// A discrete-event simulation of one cluster: arrivals from a ``Workload``, each placed by a
/// ``PlacementPolicy`` on a ``ClusterSnapshot`` of the hosts — the same policy values and
/// snapshot types a live `ClusterController` uses — and each VM leaving when its lifetime ends.
/// Event-driven: the engine goes from one event's time to the next, never ticking.
public struct Simulator: Sendable {
    public var hosts: SimHosts
    public var policy: PlacementPolicy

    /// The cloud's service-level policies, asked as the cloud controller asks them; nil: none.
    public var serviceLevels: SimServiceLevels?
    /// Live migration, for study; nil: VMs stay where they were placed.
    public var migration: (any MigrationPolicy)?
    /// How fast a migration copies a VM's memory, MiB/s (125: a gigabit link).
    public var migrationBandwidthMiBps: Double = 125

    public init(
        hosts: SimHosts, policy: PlacementPolicy, serviceLevels: SimServiceLevels? = nil, migration: (any MigrationPolicy)? = nil
    ) {
        self.hosts = hosts
        self.policy = policy
        self.serviceLevels = serviceLevels
        self.migration = migration
    }

    /// The state at a moment of simulated time, as ``run(_:horizon:measureFrom:timings:every:progress:)``
    /// reports it at each interval (the rows of `euca-sim run --csv`).
    public struct Sample: Sendable, Hashable {
        /// Simulated seconds.
        public var time: Double
        public var running: Int
        public var activeHosts: Int
        /// Arrivals accepted and rejected so far.
        public var accepted: Int
        public var rejected: Int
        /// The share of all cores and of all memory in use.
        public var coreAllocation: Double
        public var memoryAllocation: Double
        /// All hosts' draw, in watts, with a power model.
        public var powerWatts: Double? = nil

        /// The CSV header of ``csvRow``.
        public static let csvHeader = "time_s,running,active_hosts,accepted_total,rejected_total,core_allocation,memory_allocation,power_w"
        /// One row; `power_w` is empty without a power model.
        public var csvRow: String {
            "\(time),\(running),\(activeHosts),\(accepted),\(rejected),\(coreAllocation),\(memoryAllocation),\(powerWatts.map { "\($0)" } ?? "")"
        }
    }

    /// One placement decision, as the live cluster controller logs its own ("instance placed"):
    /// the arrival, the node chosen (nil when none had room) and how many nodes passed the filters.
    public struct Decision: Sendable, Hashable {
        public var arrival: Int
        public var time: Double
        public var vmType: VMType
        public var node: NodeID?
        public var candidates: Int

        /// One JSON line: `{"arrival":1,"time":0,"type":"m1.small","node":"h3","candidates":8}`.
        public var jsonLine: String {
            let node = self.node.map { "\"\(TextEscaping.json($0.rawValue))\"" } ?? "null"
            return "{\"arrival\":\(arrival),\"time\":\(time),\"type\":\"\(TextEscaping.json(vmType.name))\",\"node\":\(node),\"candidates\":\(candidates)}"
        }
    }

    /// Runs `workload` to its end (and every VM to its departure), or until `horizon` seconds of
    /// simulated time. The time-weighted means are taken from `measureFrom` (past a warm-up) to
    /// the end. `timings: false` leaves the performance figures out. `every`, with `sample`, is
    /// an interval of simulated seconds at each multiple of which (0 included) the state is
    /// handed to `sample`; `progress` is called every 65,536 events with the simulated time and
    /// the events so far.
    public func run(
        _ workload: some Workload, horizon: Double? = nil, measureFrom: Double = 0, timings: Bool = true,
        every interval: Double? = nil, sample: ((Sample) -> Void)? = nil, progress: ((Double, Int) -> Void)? = nil,
        decided: ((Decision) -> Void)? = nil, maxEvents: Int? = nil
    ) -> SimSummary {
        var workload = workload
        // Each host's group; the cores each group offers placement (overcommitted).
        var groupOf: [Int32] = []
        groupOf.reserveCapacity(hosts.count)
        for (index, group) in hosts.groups.enumerated() { groupOf += repeatElement(Int32(index), count: group.count) }
        let offered = hosts.groups.map { max($0.cores, Int((Double($0.cores) * hosts.cpuOvercommit).rounded(.down))) }
        var cluster = IndexedCluster(ClusterSnapshot(nodes: groupOf.indices.map { index in
            let group = hosts.groups[Int(groupOf[index])], cores = offered[Int(groupOf[index])]
            return NodeSnapshot(
                id: NodeID("h\(index)"), totalCores: cores, freeCores: cores, totalMemoryMiB: group.memoryMiB,
                freeMemoryMiB: group.memoryMiB, totalDiskGiB: group.diskGiB, freeDiskGiB: group.diskGiB)
        }))
        let totalCores = zip(hosts.groups, offered).reduce(0) { $0 + $1.0.count * $1.1 }
        let physicalCores = hosts.groups.reduce(0) { $0 + $1.count * $1.cores }
        let totalMemory = hosts.groups.reduce(0) { $0 + $1.count * $1.memoryMiB }
        let totalDisk = hosts.groups.reduce(0) { $0 + $1.count * $1.diskGiB }
        var departures = EventQueue()
        // Running VMs by slot; a departed VM's slot is taken by the next one accepted.
        var vms: [SimSlot] = []
        var saturation = SaturationLedger(capacities: groupOf.map { hosts.groups[Int($0)].cores })
        var pdmSum = 0.0, migrations = 0
        var nextMigration = migration.map { $0.interval > 0 ? $0.interval : Double.infinity }
        var freeSlots: [Int] = []
        var outcome = SimSummary.Outcome(
            policy: policy.name, hosts: hosts.count, arrivals: 0, accepted: 0, rejected: [:], departures: 0, simulatedSeconds: 0,
            meanRunning: 0, peakRunning: 0, meanCoreAllocation: 0, meanMemoryAllocation: 0, meanActiveHosts: 0, peakActiveHosts: 0, capacityViolations: 0,
            events: 0)
        var running = 0, coresUsed = 0, memoryUsed = 0, activeHosts = 0
        var perHost = [Int](repeating: 0, count: hosts.count)
        let saving = policy.powersDownIdleNodes ? hosts.powerSaving : nil
        var power = PowerLedger(
            model: hosts.power, groups: hosts.groups.map { ($0.count, $0.cores) }, emptyHostsOff: hosts.emptyHostsPowerOff,
            sleepWatts: saving?.sleepWatts ?? 0)
        var stranded = StrandedLedger(hosts: hosts.count)
        var waits = WaitLedger()
        // Power saving: when each idle host is due to be powered down (NaN while it runs
        // something), when each waking host is up, and the checks to come, by host.
        var idleDue = [Double](repeating: .nan, count: saving == nil ? 0 : hosts.count)
        var readyAt = [Double](repeating: 0, count: saving == nil ? 0 : hosts.count)
        var checks = EventQueue()
        var asleep = 0
        // Service levels: the VMs as the policies see them, those ended before their departure
        // (whose departure events are then passed over), and the next review.
        let levels = serviceLevels
        var book = ServiceLevelBook()
        var endedEarly = Set<Int>()
        // Reviews and migrations run on the tick of their interval, and are skipped while they
        // could not act: a review until the policies' next review time, a migration (a pure
        // function of the hosts and VMs) that moved nothing until something changes.
        var nextReview = levels.map { $0.reviewInterval > 0 ? $0.reviewInterval : Double.infinity }
        func tick(after time: Double, every interval: Double) -> Double? {
            let next = ((time / interval).rounded(.down) + 1) * interval
            if next > time { return next }
            return time + interval > time ? time + interval : nil
        }
        /// Something changed at `time`: a review or a migration skipped is due again.
        func changed(at time: Double) {
            if let levels, nextReview == nil { nextReview = tick(after: time, every: levels.reviewInterval) }
            if let policy = migration, nextMigration == nil { nextMigration = tick(after: time, every: policy.interval) }
        }
        if levels != nil {
            outcome.preempted = 0
            outcome.endedByReview = [:]
        }
        if let saving {
            outcome.powerDowns = 0
            outcome.wakes = 0
            for host in 0..<hosts.count {
                idleDue[host] = saving.idleThreshold
                checks.push(time: saving.idleThreshold, vm: host)
            }
        }
        func coresInUse(_ node: NodeSnapshot) -> Int { node.totalCores - node.freeCores }
        // Time-weighted sums, advanced at every event.
        var now = 0.0, runningArea = 0.0, coreArea = 0.0, memoryArea = 0.0, activeArea = 0.0, energy = 0.0
        var strandedCoreArea = 0.0, strandedMemoryArea = 0.0, usageArea = 0.0
        // The next sampling time; every multiple of the interval up to an event's time is sampled
        // with the state before that event.
        var nextSample: Double? = interval.flatMap { $0 > 0 && sample != nil ? 0 : nil }
        var samples = 0
        func advance(to time: Double) {
            while let due = nextSample, let interval, due <= time {
                sample?(Sample(
                    time: due, running: running, activeHosts: activeHosts, accepted: outcome.accepted,
                    rejected: outcome.arrivals - outcome.accepted,
                    coreAllocation: Double(coresUsed) / Double(max(1, totalCores)),
                    memoryAllocation: Double(memoryUsed) / Double(max(1, totalMemory)),
                    powerWatts: power.isModelled ? power.watt : nil))
                samples += 1
                // Past 1,000,000 rows, or where the interval no longer moves the time, sampling stops.
                nextSample = samples < 1_000_000 && due + interval > due ? due + interval : nil
            }
            let span = max(0, time - max(now, measureFrom))
            runningArea += Double(running) * span
            coreArea += Double(coresUsed) * span
            memoryArea += Double(memoryUsed) * span
            activeArea += Double(activeHosts) * span
            energy += power.watt * span
            strandedCoreArea += Double(stranded.cores) * span
            strandedMemoryArea += Double(stranded.memoryMiB) * span
            usageArea += Double(saturation.total) * span
            now = time
        }
        var latencies = LatencyHistogram()
        let clock = ContinuousClock()
        let started = clock.now
        var pending = workload.next()
        var rejectedDespiteRoom = 0
        var diskUsed = 0
        /// The host at `index` runs one more VM.
        func hostGains(_ index: Int) {
            if perHost[index] == 0 {
                activeHosts += 1
                outcome.peakActiveHosts = max(outcome.peakActiveHosts, activeHosts)
                if saving != nil { idleDue[index] = .nan }
            }
            perHost[index] += 1
        }
        /// The host at `index` runs one VM fewer from `time`: when it runs none, its power-down
        /// check is set.
        func hostLoses(_ index: Int, at time: Double) {
            perHost[index] -= 1
            guard perHost[index] == 0 else { return }
            activeHosts -= 1
            if let saving {
                idleDue[index] = time + saving.idleThreshold
                checks.push(time: idleDue[index], vm: index)
            }
        }
        /// The host at `index` had `inUse` cores allocated before a change: its draw and stranded
        /// room are counted again.
        func recount(_ index: Int, from inUse: Int) {
            power.move(Int(groupOf[index]), from: inUse, to: coresInUse(cluster.snapshot.nodes[index]))
            stranded.count(cluster.snapshot.nodes[index], at: index)
        }
        /// Ends the VM in `slot` at `time`: its room is free, and its host may go idle.
        func leave(_ slot: Int, at time: Double) {
            let vm = vms[slot]
            vms[slot].alive = false
            let index = Int(vm.host)
            saturation.change(index, by: -Int(vm.milliCores), vms: -1, at: time)
            let life = time - vm.start
            if life > 0 { pdmSum += 0.1 * vm.migratingSeconds / life }
            let inUse = coresInUse(cluster.snapshot.nodes[index])
            cluster.release(vm.type, at: index)
            recount(index, from: inUse)
            hostLoses(index, at: time)
            if levels != nil { book.remove(slot: slot) }
            changed(at: time)
            outcome.departures += 1
            running -= 1
            coresUsed -= vm.type.cores
            memoryUsed -= vm.type.memoryMiB
            diskUsed -= vm.type.diskGiB
        }
        /// Ends VMs before their time (a preemption, a review); their departures are passed over.
        func end(_ slots: [Int], at time: Double) {
            for slot in slots where !endedEarly.contains(slot) {
                leave(slot, at: time)
                endedEarly.insert(slot)
            }
        }
        while true {
            // At one time: departures first, then arrivals, then power-down checks, then reviews.
            var next: SimEvent?
            var time = Double.infinity
            if let due = departures.nextTime { (next, time) = (.departure, due) }
            if let arrival = pending, arrival.time < time { (next, time) = (.arrival, arrival.time) }
            // Checks and reviews alone do not keep a run going: it ends with the last arrival's VM.
            let going = pending != nil || running > 0
            if going, let due = checks.nextTime, due < time { (next, time) = (.check, due) }
            if going, let due = nextReview, due < time { (next, time) = (.review, due) }
            if going, let due = nextMigration, due < time { (next, time) = (.migration, due) }
            guard let next else { break }
            if let maxEvents, outcome.events >= maxEvents {
                outcome.stoppedAtEventLimit = true
                break
            }
            if let horizon, time > horizon {
                advance(to: horizon)
                break
            }
            // The departure of a VM ended early (preempted, or by a review) is passed over.
            var departing = -1
            if next == .departure {
                departing = departures.pop()!.vm
                if endedEarly.remove(departing) != nil {
                    freeSlots.append(departing)
                    continue
                }
            }
            advance(to: time)
            outcome.events += 1
            if let progress, outcome.events & 0xFFFF == 0 { progress(time, outcome.events) }
            switch next {
            case .arrival:
                let arrival = pending!
                pending = workload.next()
                outcome.arrivals += 1
                let account = arrival.account ?? SimServiceLevels.defaultAccount
                if let levels, let refusing = levels.admit(arrival.vmType, for: account, usage: book.usage[account] ?? AccountUsage()) {
                    outcome.rejected["sla:" + refusing, default: 0] += 1
                    decided?(Decision(arrival: outcome.arrivals, time: time, vmType: arrival.vmType, node: nil, candidates: 0))
                    continue
                }
                if stranded.see(arrival.vmType) {
                    for position in cluster.snapshot.nodes.indices { stranded.count(cluster.snapshot.nodes[position], at: position) }
                }
                let request = PlacementRequest(vmType: arrival.vmType)
                // Latencies: every decision of the first 4,096, then every 16th (reading the
                // clock costs about as much as a decision by class).
                let timed = timings && (outcome.arrivals <= 4096 || outcome.arrivals & 15 == 0)
                let before = timed ? clock.now : started
                var choice = policy.choose(request, in: cluster, explaining: false)
                if timed { latencies.record(clock.now - before) }
                if choice.position == nil, let levels, let (victims, node) = preemption(levels, arrival.vmType, account, cluster.snapshot, book, vms) {
                    end(victims, at: time)
                    outcome.preempted! += victims.count
                    choice = PlacementChoice(decision: .node(cluster.snapshot.nodes[node].id), candidates: 1, position: node)
                }
                decided?(Decision(
                    arrival: outcome.arrivals, time: time, vmType: arrival.vmType, node: choice.decision.node, candidates: choice.candidates))
                if let index = choice.position {
                    var start = time
                    if let saving {
                        if !cluster.snapshot.nodes[index].isAwake {
                            cluster.setAwake(true, at: index)
                            power.setAsleep(false, Int(groupOf[index]))
                            asleep -= 1
                            readyAt[index] = time + saving.wakeDelay
                            outcome.wakes! += 1
                        }
                        start = max(time, readyAt[index])
                        idleDue[index] = .nan
                    }
                    waits.record(start - time)
                    let inUse = coresInUse(cluster.snapshot.nodes[index])
                    cluster.place(arrival.vmType, at: index)
                    let node = cluster.snapshot.nodes[index]
                    if node.freeCores < 0 || node.freeMemoryMiB < 0 || node.freeDiskGiB < 0 { outcome.capacityViolations += 1 }
                    recount(index, from: inUse)
                    hostGains(index)
                    changed(at: time)
                    outcome.accepted += 1
                    running += 1
                    outcome.peakRunning = max(outcome.peakRunning, running)
                    coresUsed += arrival.vmType.cores
                    memoryUsed += arrival.vmType.memoryMiB
                    diskUsed += arrival.vmType.diskGiB
                    let milliCores = Int32((Double(arrival.vmType.cores * 1000) * (arrival.cpuUtilization ?? 1)).rounded())
                    let entry = SimSlot(type: arrival.vmType, host: Int32(index), milliCores: milliCores, start: start)
                    let slot: Int
                    if let free = freeSlots.popLast() {
                        slot = free
                        vms[slot] = entry
                    } else {
                        slot = vms.count
                        vms.append(entry)
                    }
                    saturation.change(index, by: Int(milliCores), vms: 1, at: time)
                    departures.push(time: start + arrival.lifetime, vm: slot)
                    if let levels {
                        book.add(
                            slot: slot, arrival: outcome.arrivals, account: account, type: arrival.vmType, start: start,
                            lease: levels.terms(of: account).leaseSeconds)
                    }
                } else {
                    outcome.rejected["no-capacity", default: 0] += 1
                    let type = arrival.vmType
                    if totalCores - coresUsed >= type.cores && totalMemory - memoryUsed >= type.memoryMiB && totalDisk - diskUsed >= type.diskGiB {
                        rejectedDespiteRoom += 1
                    }
                }
            case .departure:
                leave(departing, at: time)
                freeSlots.append(departing)
            case .review:
                let levels = levels!
                nextReview = tick(after: time, every: levels.reviewInterval)
                let viewed = book.instances { cluster.snapshot.nodes[Int(vms[$0].host)].id }
                guard !viewed.isEmpty else {
                    nextReview = nil
                    continue
                }
                let instances = viewed.map(\.instance)
                var ending: [(slot: Int, policy: String)] = []
                var named = Set<Int>()
                for policy in levels.policies {
                    for case .terminate(let id, _) in policy.review(instances, terms: levels.terms, now: Date(timeIntervalSince1970: time)) {
                        guard let slot = book.slot(of: id), named.insert(slot).inserted else { continue }
                        ending.append((slot, policy.name))
                    }
                }
                for (slot, name) in ending {
                    end([slot], at: time)
                    outcome.endedByReview![name, default: 0] += 1
                }
                if ending.isEmpty {
                    // Nothing to do now: the next review is the first tick at or after the
                    // earliest time any policy could act, or none until the VMs change.
                    let now = Date(timeIntervalSince1970: time)
                    let due = levels.policies.compactMap { $0.nextReview(of: instances, terms: levels.terms, after: now) }.min()
                    nextReview = due.flatMap { due in
                        tick(after: max(time, due.timeIntervalSince1970 - levels.reviewInterval), every: levels.reviewInterval)
                    }
                }
            case .migration:
                let policy = migration!
                nextMigration = tick(after: time, every: policy.interval)
                let current = vms.indices.filter { vms[$0].alive }.map { slot in
                    SimVM(slot: slot, vmType: vms[slot].type, host: Int(vms[slot].host), cpuUtilization: Double(vms[slot].milliCores) / Double(max(1, vms[slot].type.cores * 1000)))
                }
                let before = migrations
                defer { if migrations == before { nextMigration = nil } }
                guard !current.isEmpty else { continue }
                for move in policy.migrations(cluster.snapshot, vms: current) {
                    guard move.slot >= 0, move.slot < vms.count, vms[move.slot].alive, move.to >= 0, move.to < hosts.count else { continue }
                    let vm = vms[move.slot], source = Int(vm.host), target = move.to
                    let room = cluster.snapshot.nodes[target]
                    guard target != source, room.isAwake, room.freeCores >= vm.type.cores, room.freeMemoryMiB >= vm.type.memoryMiB,
                        room.freeDiskGiB >= vm.type.diskGiB
                    else { continue }
                    let (sourceInUse, targetInUse) = (coresInUse(cluster.snapshot.nodes[source]), coresInUse(room))
                    cluster.move(vm.type, from: source, to: target)
                    recount(source, from: sourceInUse)
                    recount(target, from: targetInUse)
                    saturation.change(source, by: -Int(vm.milliCores), vms: -1, at: time)
                    saturation.change(target, by: Int(vm.milliCores), vms: 1, at: time)
                    vms[move.slot].host = Int32(target)
                    vms[move.slot].migratingSeconds += Double(vm.type.memoryMiB) / migrationBandwidthMiBps
                    hostGains(target)
                    hostLoses(source, at: time)
                    migrations += 1
                }
            case .check:
                // Powers the host down if it has stayed idle since this check was set, and is
                // not the last one awake.
                let host = checks.pop()!.vm
                guard idleDue[host] == time, cluster.snapshot.nodes[host].isAwake, hosts.count - asleep > 1 else { continue }
                cluster.setAwake(false, at: host)
                power.setAsleep(true, Int(groupOf[host]))
                asleep += 1
                idleDue[host] = .nan
                outcome.powerDowns! += 1
                changed(at: time)
            }
        }
        outcome.simulatedSeconds = now
        let measured = now - measureFrom
        if measured > 0 {
            outcome.meanRunning = runningArea / measured
            outcome.meanCoreAllocation = coreArea / measured / Double(max(1, totalCores))
            outcome.meanMemoryAllocation = memoryArea / measured / Double(max(1, totalMemory))
            outcome.meanActiveHosts = activeArea / measured
            if power.isModelled {
                outcome.energyKWh = energy / 3_600_000
                outcome.meanPowerWatts = energy / measured
            }
            outcome.meanStrandedCoreShare = strandedCoreArea / measured / Double(max(1, totalCores))
            outcome.meanStrandedMemoryShare = strandedMemoryArea / measured / Double(max(1, totalMemory))
            outcome.meanCpuUsage = usageArea / 1000 / measured / Double(max(1, physicalCores))
        }
        outcome.rejectedDespiteRoom = rejectedDespiteRoom
        outcome.migrations = migrations
        outcome.slatah = saturation.slatah(at: now)
        outcome.pdm = outcome.departures > 0 ? pdmSum / Double(outcome.departures) : 0
        outcome.slav = outcome.slatah! * outcome.pdm!
        if saving != nil {
            let summary = waits.summary()
            outcome.delayedLaunches = waits.delayed
            outcome.meanWaitSeconds = summary.mean
            outcome.waitP50Seconds = summary.p50
            outcome.waitP99Seconds = summary.p99
        }
        var summary = SimSummary(outcome: outcome)
        var waitQuantiles: [Double] = []
        for q in SimSummary.Distributions.quantiles { waitQuantiles.append(waits.quantile(q)) }
        summary.distributions = SimSummary.Distributions(
            waitSeconds: waitQuantiles,
            decisionMicroseconds: timings ? SimSummary.Distributions.quantiles.map(latencies.quantile) : nil)
        if timings {
            let wall = (clock.now - started).seconds
            summary.performance = SimSummary.Performance(
                wallSeconds: wall, eventsPerSecond: wall > 0 ? Double(outcome.events) / wall : 0,
                decisionP50Microseconds: latencies.quantile(0.5), decisionP99Microseconds: latencies.quantile(0.99),
                peakResidentMiB: Self.peakResidentMiB())
        }
        return summary
    }
}

extension Simulator {
    /// The process's peak resident set so far, from `/proc/self/status` (nil where there is none).
    static func peakResidentMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return (kilobytes / 1024 * 10).rounded() / 10
    }
}

/// What the engine does next.
enum SimEvent { case departure, arrival, check, review, migration }

/// A VM's slot: what it is, where it runs, what of its cores it uses, since when, and how long
/// its migrations have taken.
struct SimSlot {
    var type: VMType
    var host: Int32
    var milliCores: Int32
    var start: Double
    var migratingSeconds = 0.0
    var alive = true
}

/// The first plan any policy has for making room for one `type` of `account`'s: the victims'
/// slots and the host the launch then goes to. Nil when none has one, or its node is not a host.
func preemption(
    _ levels: SimServiceLevels, _ type: VMType, _ account: AccountID, _ snapshot: ClusterSnapshot, _ book: ServiceLevelBook,
    _ vms: [SimSlot]
) -> (victims: [Int], host: Int)? {
    let request = AdmissionRequest(accountId: account, vmType: type, minCount: 1, maxCount: 1)
    let view = ZoneView(
        zone: SimServiceLevels.zone, nodes: snapshot.nodes,
        instances: book.instances { snapshot.nodes[Int(vms[$0].host)].id }.map(\.instance))
    for policy in levels.policies {
        guard let plan = policy.preempt(for: request, shortBy: 1, in: view, terms: levels.terms) else { continue }
        guard let node = plan.nodes.first, let host = snapshot.position(of: node) else { return nil }
        return (plan.victims.compactMap { book.slot(of: $0) }, host)
    }
    return nil
}

/// Decision latencies in buckets 5 % wide, from 10 ns up: quantiles without keeping every sample.
struct LatencyHistogram {
    private var counts: [Int] = []
    private var total = 0
    private static let growth = 1.05

    mutating func record(_ duration: Duration) {
        let nanoseconds = max(10, Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9)
        let bucket = Int(log(nanoseconds / 10) / log(Self.growth))
        if bucket >= counts.count { counts.append(contentsOf: repeatElement(0, count: bucket - counts.count + 1)) }
        counts[bucket] += 1
        total += 1
    }

    /// The `q` quantile, in microseconds (the upper edge of its bucket).
    func quantile(_ q: Double) -> Double {
        guard total > 0 else { return 0 }
        let wanted = Int((Double(total) * q).rounded(.up))
        var seen = 0
        for (bucket, count) in counts.enumerated() {
            seen += count
            if seen >= wanted { return 10 * pow(Self.growth, Double(bucket + 1)) / 1000 }
        }
        return 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
