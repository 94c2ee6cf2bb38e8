import EucaCore
import EucaScheduler
import MostFreeMemory

// Places twenty m1.xlarge instances (1 GiB each) on three nodes with plenty of cores and different
// amounts of memory, with each registered policy, and prints where they went.
func node(_ name: NodeID, memoryGiB: Int) -> NodeSnapshot {
    NodeSnapshot(id: name, totalCores: 64, freeCores: 64, totalMemoryMiB: memoryGiB * 1024, freeMemoryMiB: memoryGiB * 1024,
                 totalDiskGiB: 2000, freeDiskGiB: 2000)
}
let nodes = ClusterSnapshot(nodes: [node("big", memoryGiB: 16), node("mid", memoryGiB: 12), node("small", memoryGiB: 8)])
let xlarge = VMTypeCatalog.eucalyptusDefaults["m1.xlarge"]!
let requests = Array(repeating: PlacementRequest(vmType: xlarge), count: 20)
let registry = PlacementRegistry.withMostFreeMemory
for name in registry.names {
    let (decisions, _) = registry.policy(named: name)!.place(requests, in: nodes)
    var counts: [String: Int] = [:]
    for decision in decisions { counts[decision.node?.rawValue ?? "unplaced", default: 0] += 1 }
    print(name.padding(toLength: 16, withPad: " ", startingAt: 0), counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
}
