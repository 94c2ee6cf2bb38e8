import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSim
import EucaTesting
import Foundation
import Logging
import Testing

/// The simulator and the live cluster controller take the same decisions: the same launches,
/// one after another, on the same hosts, with each built-in policy, land on the same nodes.
@Suite(.serialized) struct ContractTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let hosts = SimHosts(count: 6, cores: 8, memoryMiB: 8192, diskGiB: 100)

    /// 70 launches of Eucalyptus' types drawn from a seed: more than the hosts hold, so some
    /// find no room.
    static let types: [VMType] = {
        var generator = SeededGenerator(seed: 11)
        let catalog = [VMType.small, .small, .small, VMTypeCatalog.eucalyptusDefaults["c1.medium"]!, VMTypeCatalog.eucalyptusDefaults["m1.large"]!, .xlarge]
        return (0..<70).map { _ in catalog[Int(generator.next() % UInt64(catalog.count))] }
    }()

    /// Where the live cluster controller put each launch (nil where none had room).
    func live(_ policy: PlacementPolicy) async throws -> [NodeID?] {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-contract-\(UUID())").path
        var nodes: [any NodeControllerAPI] = []
        for index in 0..<Self.hosts.count {
            let hypervisor = InMemoryHypervisor(host: HostInfo(cores: Self.hosts.cores, memoryMiB: Self.hosts.memoryMiB))
            nodes.append(try NodeController(
                hypervisor: hypervisor, settings: NodeSettings(node: NodeID("h\(index)"), instancePath: "\(base)/h\(index)", maxDiskGiB: Self.hosts.diskGiB),
                logger: logger))
        }
        let cluster = ClusterController(zone: "zone-a", nodes: nodes, policy: policy, logger: logger)
        var placed: [NodeID?] = []
        for type in Self.types {
            let outcome = try await cluster.runInstances([InstanceLaunch.make(type)])
            placed.append(outcome.first?.failure == nil ? outcome.first?.node : nil)
        }
        return placed
    }

    /// Where the simulator put each arrival, with lifetimes past the end (no departures).
    func simulated(_ policy: PlacementPolicy) -> [NodeID?] {
        struct Listed: Workload {
            var arrivals: [VMArrival]
            mutating func next() -> VMArrival? { arrivals.isEmpty ? nil : arrivals.removeFirst() }
        }
        let arrivals = Self.types.enumerated().map { VMArrival(time: Double($0.offset), vmType: $0.element, lifetime: 1e9) }
        var placed: [NodeID?] = []
        _ = Simulator(hosts: Self.hosts, policy: policy).run(Listed(arrivals: arrivals), timings: false, decided: { placed.append($0.node) })
        return placed
    }

    @Test(arguments: PlacementRegistry.builtIn.names)
    func theSimulatorPlacesAsTheLiveClusterControllerDoes(_ name: String) async throws {
        let policy = try #require(PlacementRegistry.builtIn.policy(named: name))
        let live = try await live(policy)
        let simulated = simulated(policy)
        #expect(live.count == Self.types.count && live.contains(nil) && live.contains { $0 != nil })
        #expect(simulated == live, "\(name): live \(live.map { $0?.rawValue ?? "-" }), simulated \(simulated.map { $0?.rawValue ?? "-" })")
    }

    @Test func theComparisonTellsPoliciesApart() async throws {
        // Stacking and spreading differ on these launches: the contract above could fail.
        #expect(simulated(.roundRobin) != (try await live(.greedy)))
    }
}
