import EucaCore
import EucaScheduler
import EucaTesting
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
