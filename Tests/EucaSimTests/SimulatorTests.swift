import EucaCore
import EucaScheduler
@testable import EucaSim
import EucaTesting
import Foundation
import FoundationXML
import Testing

/// One at a time: each runs the engine for a few seconds on a thread of the shared pool, and two
/// at once would hold every thread of a 2-core machine from the tests that wait on timers.
@Suite(.serialized) struct SimulatorTests {
    /// Hosts so large nothing is ever refused: M/G/∞.
    let unlimited = SimHosts(count: 4, cores: 1_000_000, memoryMiB: 1_000_000_000, diskGiB: 1_000_000_000)

    @Test(arguments: [LifetimeDistribution.exponential(mean: 200), .uniform(50, 350), .logNormal(mu: 4.8, sigma: 0.8)])
    func withUnlimitedCapacityTheMeanNumberRunningIsArrivalRateTimesMeanLifetime(_ lifetime: LifetimeDistribution) {
        // λ = 5/s, measured from t = 2,000 s (past the warm-up) to 42,000 s: about 200,000
        // arrivals, the time average's standard error about 0.3 % (1 % is more than 3 of them).
        let workload = SyntheticWorkload(rate: 5, lifetime: lifetime, types: [(.small, 1)], until: 42_000, seed: 7)
        let whole = Simulator(hosts: unlimited, policy: .greedy).run(workload, horizon: 42_000, measureFrom: 2_000, timings: false).outcome
        let mean = whole.meanRunning
        let expected = 5 * lifetime.mean
        #expect(abs(mean - expected) / expected < 0.01, "mean running \(mean), λ·E[L] \(expected)")
        #expect(whole.rejected.isEmpty && whole.capacityViolations == 0)
    }

    @Test func theSameSeedGivesTheSameOutcomeByteForByteAndAnotherSeedDoesNot() throws {
        func run(_ seed: UInt64) throws -> Data {
            let workload = SyntheticWorkload(rate: 2, lifetime: .exponential(mean: 600), types: [(.small, 3), (.xlarge, 1)], until: 20_000, seed: seed)
            let summary = Simulator(hosts: SimHosts(count: 20, cores: 8, memoryMiB: 8192, diskGiB: 200), policy: .powerSave).run(workload, timings: false)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(summary)
        }
        #expect(try run(42) == run(42))
        #expect(try run(42) != run(43))
    }

    @Test func noHostIsEverOverCapacityAndWhatDoesNotFitIsRefused() {
        // Twice the load the cluster holds: many refusals, never an overfilled host.
        let hosts = SimHosts(count: 10, cores: 4, memoryMiB: 4096, diskGiB: 100)
        for policy in [PlacementPolicy.greedy, .roundRobin, .powerSave, .mostRoom] {
            let workload = SyntheticWorkload(rate: 1, lifetime: .exponential(mean: 200), types: [(.small, 1), (.xlarge, 1)], until: 10_000, seed: 3)
            let outcome = Simulator(hosts: hosts, policy: policy).run(workload, timings: false).outcome
            #expect(outcome.capacityViolations == 0, "\(policy.name)")
            #expect(outcome.rejected["no-capacity", default: 0] > 0 && outcome.accepted + outcome.rejected["no-capacity", default: 0] == outcome.arrivals)
            #expect(outcome.departures == outcome.accepted, "every VM left by the end")
            #expect(outcome.meanCoreAllocation <= 1 && outcome.meanActiveHosts <= Double(hosts.count))
        }
    }

    /// The simulator asks the policy the live cluster controller asks, with the same snapshot
    /// types: fed the same snapshots, it decides alike.
    @Test func itDecidesAsThePolicyDoesOnTheSameSnapshots() {
        let hosts = SimHosts(count: 3, cores: 4, memoryMiB: 4096, diskGiB: 100)
        // Three m1.small that stay: GREEDY stacks them on the first host, ROUNDROBIN spreads them.
        struct Three: Workload {
            var left = 3
            mutating func next() -> VMArrival? {
                guard left > 0 else { return nil }
                left -= 1
                return VMArrival(time: Double(3 - left), vmType: .small, lifetime: 1_000)
            }
        }
        for (policy, active) in [(PlacementPolicy.greedy, 1), (.roundRobin, 3)] {
            var snapshot = ClusterSnapshot(nodes: (0..<3).map { .make(NodeID("h\($0)"), cores: 4, memoryMiB: 4096, diskGiB: 100) })
            var used = Set<NodeID>()
            for _ in 0..<3 {
                let node = policy.place(PlacementRequest(vmType: .small), in: snapshot).node!
                snapshot.place(.small, on: node)
                used.insert(node)
            }
            let outcome = Simulator(hosts: hosts, policy: policy).run(Three(), horizon: 10, timings: false).outcome
            #expect(used.count == active && outcome.peakActiveHosts == active && outcome.accepted == 3, "\(policy.name)")
            #expect(outcome.peakRunning == 3)
        }
    }
}

@Suite struct SamplingTests {
    @Test func theStateIsSampledAtEveryIntervalAndAgreesWithTheSummary() {
        let hosts = SimHosts(count: 5, cores: 4, memoryMiB: 4096, diskGiB: 100)
        let workload = SyntheticWorkload(rate: 0.5, lifetime: .exponential(mean: 60), types: [(.small, 1)], until: 1_000, seed: 2)
        var samples: [Simulator.Sample] = []
        var reported: [Int] = []
        let outcome = Simulator(hosts: hosts, policy: .greedy)
            .run(workload, horizon: 1_000, timings: false, every: 100, sample: { samples.append($0) }, progress: { _, events in reported.append(events) })
            .outcome
        #expect(samples.map(\.time) == stride(from: 0.0, through: 1_000, by: 100).map { $0 })
        #expect(samples.first?.running == 0 && samples.allSatisfy { $0.running <= outcome.peakRunning && $0.activeHosts <= 5 })
        #expect(zip(samples, samples.dropFirst()).allSatisfy { $0.accepted <= $1.accepted })
        #expect(samples.last.map { $0.accepted + $0.rejected } ?? 0 <= outcome.arrivals)
        #expect(reported.isEmpty, "fewer than 65,536 events: no progress report")
        #expect(Simulator.Sample.csvHeader.split(separator: ",").count == samples[0].csvRow.split(separator: ",", omittingEmptySubsequences: false).count)
    }

    /// Arrivals given in advance, for energy figures that can be worked out by hand.
    struct Listed: Workload {
        var arrivals: [VMArrival]
        mutating func next() -> VMArrival? { arrivals.isEmpty ? nil : arrivals.removeFirst() }
    }

    @Test func energyIsEachHostsDrawAtItsLoadOverTime() throws {
        // Two 4-core hosts, 100 W idle and 300 W at full load. GREEDY stacks: one m1.small (1
        // core) from 0 to 100 s, a second on the same host from 50 to 150 s; the other host idles.
        let vms = Listed(arrivals: [VMArrival(time: 0, vmType: .small, lifetime: 100), VMArrival(time: 50, vmType: .small, lifetime: 100)])
        let hosts = SimHosts(count: 2, cores: 4, memoryMiB: 8192, diskGiB: 100, power: .linear(idle: 100, max: 300))
        let outcome = Simulator(hosts: hosts, policy: .greedy).run(vms, timings: false).outcome
        // Busy host: 150 W for 50 s, 200 W for 50 s, 150 W for 50 s; idle host 100 W for 150 s.
        let busy: Double = 150 * 50 + 200 * 50 + 150 * 50
        let joules: Double = busy + 100 * 150
        #expect(outcome.energyKWh == joules / 3_600_000)
        #expect(outcome.meanPowerWatts == joules / 150)

        // With empty hosts off, the idle host and the busy one's empty end draw nothing.
        let off = SimHosts(count: 2, cores: 4, memoryMiB: 8192, diskGiB: 100, power: .linear(idle: 100, max: 300), emptyHostsPowerOff: true)
        let saved = Simulator(hosts: off, policy: .greedy).run(vms, timings: false).outcome
        #expect(saved.energyKWh == busy / 3_600_000)
        // Without a model there is no energy figure at all.
        #expect(Simulator(hosts: SimHosts(count: 2, cores: 4, memoryMiB: 8192, diskGiB: 100), policy: .greedy).run(vms, timings: false)
            .outcome.energyKWh == nil)
    }

    @Test func powerSaveSleepsIdleHostsAndLaunchesWaitForTheirWake() throws {
        // Two 1-core hosts (100 W idle, 200 W busy, 10 W asleep), powered down after 100 idle
        // seconds, 50 s to wake. A runs on h0 from 0 to 1000; h1 sleeps at 100; B (arriving at
        // 200) finds only h1, wakes it and starts at 250, ending at 350; h1 sleeps again at 450;
        // h0, idle from 1000, is the last one awake and stays up.
        let one = VMType(name: "one", cores: 1, memoryMiB: 512, diskGiB: 1)
        let vms = Listed(arrivals: [VMArrival(time: 0, vmType: one, lifetime: 1000), VMArrival(time: 200, vmType: one, lifetime: 100)])
        let hosts = SimHosts(
            count: 2, cores: 1, memoryMiB: 1024, diskGiB: 10, power: .linear(idle: 100, max: 200),
            powerSaving: SimPowerSaving(idleThreshold: 100, wakeDelay: 50, sleepWatts: 10))
        var placed: [NodeID?] = []
        let outcome = Simulator(hosts: hosts, policy: .powerSave).run(vms, timings: false, decided: { placed.append($0.node) }).outcome
        #expect(placed == ["h0", "h1"])
        #expect(outcome.powerDowns == 2 && outcome.wakes == 1 && outcome.delayedLaunches == 1)
        #expect(outcome.meanWaitSeconds == 25 && outcome.waitP50Seconds == 0 && outcome.waitP99Seconds == 50)
        #expect(outcome.simulatedSeconds == 1000, "the last check (h0 at 1100) does not lengthen the run")
        // 0–100: 200 + 100; 100–200: 200 + 10 asleep; 200–350: 200 + 200 (waking with B placed);
        // 350–450: 200 + 100; 450–1000: 200 + 10.
        let joules: Double = 300 * 100 + 210 * 100 + 400 * 150 + 300 * 100 + 210 * 550
        #expect(outcome.energyKWh == joules / 3_600_000)

        // A policy that does not power down ignores the timings; without them, POWERSAVE never sleeps.
        let greedy = Simulator(hosts: hosts, policy: .greedy).run(vms, timings: false).outcome
        #expect(greedy.powerDowns == nil && greedy.energyKWh == (300 * 1000 + 100 * 100) / 3_600_000)
        var untimed = hosts
        untimed.powerSaving = nil
        #expect(Simulator(hosts: untimed, policy: .powerSave).run(vms, timings: false).outcome.wakes == nil)
    }

    @Test func fragmentationIsCountedAsRefusalsDespiteRoomAndStrandedCapacity() {
        // Two hosts of 2 cores and 1024 MiB, ROUNDROBIN. X (1 core, all the memory) on h0 strands
        // h0's other core; Y on h1; Z (2 cores) finds one core free on each: refused though the
        // cluster has two.
        let vms = Listed(arrivals: [
            VMArrival(time: 0, vmType: VMType(name: "x", cores: 1, memoryMiB: 1024, diskGiB: 1), lifetime: 100),
            VMArrival(time: 10, vmType: VMType(name: "y", cores: 1, memoryMiB: 512, diskGiB: 1), lifetime: 90),
            VMArrival(time: 20, vmType: VMType(name: "z", cores: 2, memoryMiB: 512, diskGiB: 1), lifetime: 90),
        ])
        let outcome = Simulator(hosts: SimHosts(count: 2, cores: 2, memoryMiB: 1024, diskGiB: 10), policy: .roundRobin)
            .run(vms, timings: false).outcome
        #expect(outcome.rejected == ["no-capacity": 1] && outcome.rejectedDespiteRoom == 1)
        // One core of four stranded from 0 to 100; no memory is (every host with memory free has a core).
        #expect(outcome.meanStrandedCoreShare == 0.25 && outcome.meanStrandedMemoryShare == 0)
    }

    @Test func quotasRefuseLaunchesAsTheCloudsAdmissionDoes() {
        let lab = AccountID(rawValue: "111111111111"), other = AccountID(rawValue: "222222222222")
        let vms = Listed(arrivals: (0..<4).map { VMArrival(time: Double($0), vmType: .small, lifetime: 1000, account: lab) }
            + [VMArrival(time: 5, vmType: .small, lifetime: 1000, account: other)])
        let levels = SimServiceLevels(policies: [QuotaPolicy(), LeasePolicy(), PriorityPolicy()], terms: [lab: AccountTerms(maxInstances: 2)])
        var placed: [NodeID?] = []
        let outcome = Simulator(hosts: SimHosts(count: 4, cores: 8, memoryMiB: 8192, diskGiB: 100), policy: .greedy, serviceLevels: levels)
            .run(vms, timings: false, decided: { placed.append($0.node) }).outcome
        #expect(outcome.accepted == 3 && outcome.rejected == ["sla:quota": 2])
        #expect(placed == ["h0", "h0", nil, nil, "h0"], "the other account is not held to the lab's quota")
        #expect(outcome.preempted == 0 && outcome.endedByReview == [:])
    }

    @Test func aLeaseEndsItsVMAtTheFirstReviewAfterIt() {
        let lab = AccountID(rawValue: "111111111111")
        let vms = Listed(arrivals: [VMArrival(time: 0, vmType: .small, lifetime: 1000, account: lab), VMArrival(time: 10, vmType: .small, lifetime: 50)])
        let levels = SimServiceLevels(policies: [LeasePolicy()], terms: [lab: AccountTerms(leaseSeconds: 100)], reviewInterval: 30)
        let outcome = Simulator(hosts: SimHosts(count: 2, cores: 8, memoryMiB: 8192, diskGiB: 100), policy: .greedy, serviceLevels: levels)
            .run(vms, timings: false).outcome
        // The lease ends at 100; reviews run at 30, 60, 90, 120: the VM ends at 120, not 1000,
        // and its own departure later is passed over.
        #expect(outcome.endedByReview == ["lease": 1] && outcome.departures == 2 && outcome.simulatedSeconds == 120)
        #expect(outcome.meanRunning == (120 + 50) / 120.0)
    }

    @Test func aPolicyThatSaysNothingOfItsNextReviewIsReviewedOnEveryTick() {
        // Ends any VM older than 100 s; it does not say when it next could act, so it is asked at
        // every tick (30, 60, 90, 120): the VM ends at 120. LeasePolicy, which says, is skipped
        // over the ticks before a lease ends and ends it at the same tick.
        struct Elderly: SLAPolicy {
            let name = "elderly"
            func review(_ instances: [SLAInstance], terms: [AccountID: AccountTerms], now: Date) -> [SLAAction] {
                instances.filter { now.timeIntervalSince($0.launchTime) >= 100 }.map { .terminate($0.id, reason: "old") }
            }
        }
        let vms = Listed(arrivals: [VMArrival(time: 0, vmType: .small, lifetime: 1000)])
        let hosts = SimHosts(count: 1, cores: 8, memoryMiB: 8192, diskGiB: 100)
        let elderly = Simulator(hosts: hosts, policy: .greedy, serviceLevels: SimServiceLevels(policies: [Elderly()], reviewInterval: 30))
            .run(vms, timings: false).outcome
        #expect(elderly.endedByReview == ["elderly": 1] && elderly.simulatedSeconds == 120 && elderly.events == 5)
        let leased = Simulator(
            hosts: hosts, policy: .greedy,
            serviceLevels: SimServiceLevels(policies: [LeasePolicy()], terms: [SimServiceLevels.defaultAccount: AccountTerms(leaseSeconds: 100)], reviewInterval: 30))
            .run(vms, timings: false).outcome
        #expect(leased.endedByReview == ["lease": 1] && leased.simulatedSeconds == 120 && leased.events < elderly.events)
    }

    @Test func aLaunchOfHigherPriorityPreemptsAsThePolicyPlans() {
        let low = AccountID(rawValue: "111111111111"), high = AccountID(rawValue: "222222222222")
        let one = VMType(name: "one", cores: 1, memoryMiB: 512, diskGiB: 1)
        let vms = Listed(arrivals: [
            VMArrival(time: 0, vmType: one, lifetime: 500, account: low), VMArrival(time: 1, vmType: one, lifetime: 500, account: low),
            VMArrival(time: 2, vmType: one, lifetime: 100, account: high),
        ])
        let levels = SimServiceLevels(policies: [PriorityPolicy()], terms: [high: AccountTerms(priority: 5)])
        var placed: [NodeID?] = []
        let outcome = Simulator(hosts: SimHosts(count: 1, cores: 2, memoryMiB: 4096, diskGiB: 10), policy: .greedy, serviceLevels: levels)
            .run(vms, timings: false, decided: { placed.append($0.node) }).outcome
        // The newest of the low account's two is ended; the launch takes its room.
        #expect(outcome.preempted == 1 && outcome.accepted == 3 && outcome.rejected == [:] && placed == ["h0", "h0", "h0"])
        #expect(outcome.departures == 3 && outcome.capacityViolations == 0 && outcome.simulatedSeconds == 500)
        #expect(outcome.meanRunning == (500 + 1 + 100) / 500.0)
    }

    @Test func slatahIsTheShareOfActiveTimeAHostsDemandFillsItsCores() {
        // One host of 2 cores: a VM from 0 to 100, another from 50 to 150. Both use all their
        // cores: the host is saturated from 50 to 100, a third of the 150 s it is active.
        let one = VMType(name: "one", cores: 1, memoryMiB: 512, diskGiB: 1)
        func run(_ cpu: Double?, overcommit: Double = 1, count: Int = 2) -> SimSummary.Outcome {
            var hosts = SimHosts(count: 1, cores: 2, memoryMiB: 4096, diskGiB: 10)
            hosts.cpuOvercommit = overcommit
            let vms = Listed(arrivals: (0..<count).map { VMArrival(time: Double($0) * 50, vmType: one, lifetime: 100, cpuUtilization: cpu) })
            return Simulator(hosts: hosts, policy: .greedy).run(vms, timings: false).outcome
        }
        #expect(run(nil).slatah == 50.0 / 150 && run(1).slatah == 50.0 / 150)
        #expect(run(0.5).slatah == 0, "half-used cores never fill the host")
        // Overcommitted twice, four half-used VMs fill the two physical cores from 150 to 200.
        let overcommitted = run(0.5, overcommit: 2, count: 4)
        #expect(overcommitted.accepted == 4 && overcommitted.slatah == 0 && overcommitted.pdm == 0 && overcommitted.migrations == 0)
        #expect(run(1, overcommit: 2, count: 4).slatah == 150.0 / 250, "saturated from 50 to 200 of 0 to 250")
    }

    @Test func consolidationDrainsTheLeastLoadedHostsAndPDMCountsTheMoves() {
        // Three hosts of 4 cores, ROUNDROBIN spreads three long VMs; at 100 s consolidation (under
        // 30 % allocated) drains h0 and h1 onto h2, the fullest that stays. A move copies 1,250 MiB
        // at 125 MiB/s: 10 s at 10 % slower, out of a 1,000 s life.
        let vm = VMType(name: "vm", cores: 1, memoryMiB: 1250, diskGiB: 1)
        let vms = Listed(arrivals: (0..<3).map { VMArrival(time: Double($0), vmType: vm, lifetime: 1000) })
        let hosts = SimHosts(count: 3, cores: 4, memoryMiB: 8192, diskGiB: 10)
        let outcome = Simulator(hosts: hosts, policy: .roundRobin, migration: ConsolidationPolicy(interval: 100, underload: 0.3))
            .run(vms, timings: false).outcome
        #expect(outcome.migrations == 2 && outcome.capacityViolations == 0 && outcome.departures == 3)
        let lost: Double = 0.1 * 10 / 1000
        #expect(outcome.pdm == (lost + lost) / 3)
        #expect(outcome.slav == outcome.slatah! * outcome.pdm!)
        // Active: h0 from 0 and h1 from 1, both until 100 s; h2 from 2 until the last leaves at 1002.
        let hostSeconds: Double = 100 + 99 + 1000
        #expect(abs(outcome.meanActiveHosts - hostSeconds / 1002) < 1e-9)
    }

    @Test func movesThatCannotBeMadeArePassedOver() {
        struct Reckless: MigrationPolicy {
            let name = "reckless"
            let interval = 10.0
            func migrations(_ cluster: ClusterSnapshot, vms: [SimVM]) -> [(slot: Int, to: Int)] {
                // Unknown slots and hosts, the VM's own host, and a host with no room.
                [(999, 0), (-1, 0), (vms[0].slot, 99), (vms[0].slot, vms[0].host), (vms[0].slot, 1 - vms[0].host)]
            }
        }
        let big = VMType(name: "big", cores: 4, memoryMiB: 512, diskGiB: 1)
        // Both hosts full from 1 s until both VMs leave at 95 s: every move asked for meanwhile is impossible.
        let vms = Listed(arrivals: [VMArrival(time: 0, vmType: big, lifetime: 95), VMArrival(time: 1, vmType: big, lifetime: 94)])
        let outcome = Simulator(hosts: SimHosts(count: 2, cores: 4, memoryMiB: 4096, diskGiB: 10), policy: .greedy, migration: Reckless())
            .run(vms, timings: false).outcome
        #expect(outcome.migrations == 0 && outcome.capacityViolations == 0 && outcome.accepted == 2)
    }

    @Test func hostsOfSeveralSizesAreEachMeasuredByTheirOwnCores() {
        // A 2-core host and a 4-core one, 100 W idle and 200 W at full load each. A (1 core) goes
        // on the first; B (3 cores) fits only the second: 150 W and 175 W for 100 s.
        let hosts = SimHosts(
            groups: [SimHostGroup(count: 1, cores: 2, memoryMiB: 4096, diskGiB: 10), SimHostGroup(count: 1, cores: 4, memoryMiB: 4096, diskGiB: 10)],
            power: .linear(idle: 100, max: 200))
        let vms = Listed(arrivals: [
            VMArrival(time: 0, vmType: VMType(name: "a", cores: 1, memoryMiB: 512, diskGiB: 1), lifetime: 100),
            VMArrival(time: 0, vmType: VMType(name: "b", cores: 3, memoryMiB: 512, diskGiB: 1), lifetime: 100),
        ])
        var placed: [NodeID?] = []
        let outcome = Simulator(hosts: hosts, policy: .greedy).run(vms, timings: false, decided: { placed.append($0.node) }).outcome
        #expect(placed == ["h0", "h1"] && outcome.hosts == 2)
        #expect(outcome.energyKWh == (150 + 175) * 100 / 3_600_000.0)
        #expect(outcome.meanCoreAllocation == 4.0 / 6 && outcome.slatah == 0 && outcome.meanCpuUsage == 4.0 / 6)
    }

    @Test func specPowerPointsAreJoinedByStraightLines() {
        let points: [Double] = [86, 107, 118, 130, 142, 155, 170, 185, 203, 228, 248]
        let model = PowerModel.specPower(points)
        #expect(model.problem == nil)
        #expect(model.watts(utilization: 0) == 86 && model.watts(utilization: 1) == 248 && model.watts(utilization: 0.1) == 107)
        #expect(abs(model.watts(utilization: 0.25) - 124) < 1e-9)
        #expect(model.watts(utilization: 2) == 248 && model.watts(utilization: -1) == 86)
        #expect(PowerModel.specPower([1, 2]).problem != nil && PowerModel.linear(idle: 200, max: 100).problem != nil)
        #expect(PowerModel.specPower(points.map { _ in -1 }).problem != nil && PowerModel.linear(idle: 0, max: .infinity).problem != nil)
    }

    @Test func theCSVCarriesThePowerDrawAndItsAreaIsTheEnergy() {
        let workload = SyntheticWorkload(rate: 0.5, lifetime: .exponential(mean: 300), types: [(.small, 1)], until: 10_000, seed: 3)
        let hosts = SimHosts(count: 10, cores: 8, memoryMiB: 16_384, diskGiB: 100, power: .specPower([86, 107, 118, 130, 142, 155, 170, 185, 203, 228, 248]))
        var samples: [Simulator.Sample] = []
        let outcome = Simulator(hosts: hosts, policy: .roundRobin)
            .run(workload, horizon: 10_000, timings: false, every: 1, sample: { samples.append($0) }).outcome
        #expect(samples.allSatisfy { ($0.powerWatts ?? 0) >= 860 && ($0.powerWatts ?? .infinity) <= 2480 })
        // Sampled every second, the draw's sum is the energy within a hundredth.
        let sampled = samples.dropLast().reduce(0) { $0 + ($1.powerWatts ?? 0) } / 3_600_000
        #expect(abs(sampled - (outcome.energyKWh ?? 0)) / (outcome.energyKWh ?? 1) < 0.01)
    }
}

/// Charts drawn from runs' CSV files.
@Suite struct PlotTests {
    @Test func chartsOverlayEveryRunAndShowLabelsAsText() throws {
        let header = Simulator.Sample.csvHeader
        let a = try SimPlots.Run.parse(header + "\n0,0,0,0,0,0,0,\n3600,5,2,5,0,0.25,0.1,\n7200,8,3,9,1,0.5,0.2,\n", label: "GREEDY").get()
        let b = try SimPlots.Run.parse(header + "\n0,0,0,0,0,0,0,100\n3600,5,5,5,0,0.25,0.1,250\n7200,8,5,9,0,0.5,0.2,300\n", label: "<b>&\"x\"").get()
        let charts = SimPlots.charts([a, b])
        #expect(charts.map(\.name) == ["utilization.svg", "active-hosts.svg", "arrivals.svg", "power.svg"])
        let utilization = charts[0].chart.svg
        #expect(utilization.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(utilization.contains("&lt;b&gt;&amp;&quot;x&quot;") && !utilization.contains("<b>"))
        // Only the run with a power model is on the power chart; arrivals has two lines a run.
        #expect(charts[3].chart.series.map(\.label) == ["<b>&\"x\""])
        #expect(charts[2].chart.series.count == 4)
        // The same runs, the same bytes; the document parses as XML.
        #expect(SimPlots.charts([a, b])[0].chart.svg == utilization)
        #expect(throws: Never.self) { _ = try XMLDocumentCheck.parse(utilization) }
    }

    @Test func axesEndOnRoundTicks() {
        let axis = LineChart.axis(low: 0, high: 0.87)
        #expect(axis.low == 0 && axis.high == 1 && axis.ticks.count == 6)
        #expect(LineChart.axis(low: 3, high: 3).high > 3)
        #expect(LineChart.label(0.30000000000000004) == "0.3" && LineChart.label(25_000) == "25k" && LineChart.label(-0.0) == "0")
    }

    @Test func aFileThatIsNotACSVOfARunIsRefusedNamingTheLine() {
        let header = Simulator.Sample.csvHeader
        for (text, reason) in [("", "empty"), ("a,b\n1,2\n", "line 1"), (header + "\n1,2\n", "line 2"), (header + "\n0,x,0,0,0,0,0,\n", "line 2")] {
            guard case .failure(let error) = SimPlots.Run.parse(text, label: "r") else {
                Issue.record("\(text) was taken")
                continue
            }
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}

/// Whether a document is well-formed XML, through Foundation's parser.
enum XMLDocumentCheck {
    final class Failure: NSObject, XMLParserDelegate, @unchecked Sendable {
        var error: (any Error)?
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { error = parseError }
    }

    static func parse(_ text: String) throws {
        let parser = XMLParser(data: Data(text.utf8))
        let delegate = Failure()
        parser.delegate = delegate
        if !parser.parse() { throw delegate.error ?? CocoaError(.coderReadCorrupt) }
    }
}

/// The departures' queue gives events as a sorted list would: earliest first, ties in push order.
@Suite struct EventQueueTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func itGivesEventsInTimeThenPushOrder(_ seed: UInt64) {
        var queue = EventQueue()
        // Sorted by time, then push order (which the VM numbers are).
        var reference: [(time: Double, vm: Int)] = []
        var random = SeededGenerator(seed: seed)
        var now = 0.0, pushes = 0
        for _ in 0..<20_000 {
            if random.next() % 3 != 0 || reference.isEmpty {
                // Times repeat often (whole seconds, and zero-length lives) and span orders of magnitude.
                let choice = random.next() % 4
                let time = now + (choice == 0 ? 0 : choice == 1 ? Double(random.next() % 5) : random.unit() * pow(10, Double(random.next() % 7)))
                queue.push(time: time, vm: pushes)
                var low = 0, high = reference.count
                while low < high {
                    let middle = (low + high) / 2
                    if reference[middle].time <= time { low = middle + 1 } else { high = middle }
                }
                reference.insert((time, pushes), at: low)
                pushes += 1
            } else {
                let expected = reference.removeFirst()
                #expect(queue.nextTime == expected.time)
                let event = queue.pop()
                #expect(event?.time == expected.time && event?.vm == expected.vm)
                now = expected.time
            }
            #expect(queue.count == reference.count)
        }
        for expected in reference { #expect(queue.pop()?.vm == expected.vm) }
        #expect(queue.pop() == nil && queue.nextTime == nil)
    }
}
