import EucaCore
import EucaScheduler
import EucaSim
import EucaTesting
import Foundation
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
        #expect(Simulator.Sample.csvHeader.split(separator: ",").count == samples[0].csvRow.split(separator: ",").count)
    }
}
