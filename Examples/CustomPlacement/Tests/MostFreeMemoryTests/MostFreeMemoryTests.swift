import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSim
import EucaTesting
import Foundation
import Logging
import MostFreeMemory
import Testing

@Test func thePolicyChoosesTheNodeWithTheMostFreeMemory() {
    let cluster = ClusterSnapshot(nodes: [
        NodeSnapshot(id: "a", totalCores: 8, freeCores: 8, totalMemoryMiB: 4096, freeMemoryMiB: 1024, totalDiskGiB: 100, freeDiskGiB: 100),
        NodeSnapshot(id: "b", totalCores: 8, freeCores: 8, totalMemoryMiB: 4096, freeMemoryMiB: 4096, totalDiskGiB: 100, freeDiskGiB: 100),
    ])
    let small = VMTypeCatalog.eucalyptusDefaults["m1.small"]!
    #expect(PlacementPolicy.mostFreeMemory.place(PlacementRequest(vmType: small), in: cluster) == .node("b"))
}

@Test func theHeadroomKeepsANodeFromFillingUp() {
    let cluster = ClusterSnapshot(nodes: [
        NodeSnapshot(id: "a", totalCores: 8, freeCores: 8, totalMemoryMiB: 1024, freeMemoryMiB: 600, totalDiskGiB: 100, freeDiskGiB: 100),
    ])
    let small = VMTypeCatalog.eucalyptusDefaults["m1.small"]!
    #expect(PlacementPolicy.mostFreeMemory.place(PlacementRequest(vmType: small), in: cluster).node == nil)
}

@Test func theRegistryOffersItByName() {
    #expect(PlacementRegistry.withMostFreeMemory.policy(named: "mostfreememory")?.name == "MOSTFREEMEMORY")
}

/// The contract every placement policy meets, from Euca's own test helpers.
@Test(arguments: PlacementPolicyContract.cases)
func meetsThePlacementContract(_ check: PlacementPolicyContract.Case) throws {
    try check.run(on: .mostFreeMemory)
}

/// The policy in a live cluster controller, over node controllers on in-memory hypervisors: the
/// same code `euca-cc-mostfreememory` runs, with nothing booted.
@Test func aClusterOfInMemoryNodesPlacesByTheMostFreeMemory() async throws {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("most-free-\(UUID())").path
    let nodes = try [("small", 2048), ("large", 8192)].map { name, memory in
        try NodeController(
            hypervisor: InMemoryHypervisor(host: HostInfo(cores: 16, memoryMiB: memory)),
            settings: NodeSettings(node: NodeID(name), instancePath: "\(base)/\(name)", maxDiskGiB: 100), logger: logger)
    }
    let cluster = ClusterController(zone: "zone-a", nodes: nodes, policy: .mostFreeMemory, logger: logger)
    await cluster.poll()
    // Two c1.xlarge (2 GiB each) go to the node with 8 GiB; it still has more free (4 GiB) than
    // the other (2 GiB), so the small one goes there too. ROUNDROBIN would alternate.
    let outcomes = try await cluster.runInstances([.make(.xlarge), .make(.xlarge), .make()])
    #expect(outcomes.map(\.node) == ["large", "large", "large"])
    // One more c1.xlarge leaves it 1,920 MiB free, less than the other's 2,048: the next small
    // one goes to the other node.
    let more = try await cluster.runInstances([.make(.xlarge), .make()])
    #expect(more.map(\.node) == ["large", "small"])
}

/// The same policy value in the simulator, unchanged: spread by memory, it keeps more hosts busy
/// than GREEDY, which packs.
@Test func thePolicyRunsInTheSimulatorUnchanged() {
    let hosts = SimHosts(count: 20, cores: 16, memoryMiB: 16_384, diskGiB: 500)
    func run(_ policy: PlacementPolicy) -> SimSummary.Outcome {
        let workload = SyntheticWorkload(rate: 0.2, lifetime: .exponential(mean: 600), types: [(.small, 1)], until: 20_000, seed: 1)
        return Simulator(hosts: hosts, policy: policy).run(workload, timings: false).outcome
    }
    let spread = run(.mostFreeMemory), packed = run(.greedy)
    #expect(spread.capacityViolations == 0 && spread.rejected.isEmpty && spread.policy == "MOSTFREEMEMORY")
    #expect(spread.meanActiveHosts > packed.meanActiveHosts)
}
