import EucaCore
import EucaScheduler
import MostFreeMemory

// Places twenty m1.large instances on three uneven nodes with each policy and prints where they went.
let nodes = ClusterSnapshot(nodes: [
    NodeSnapshot(id: "big", totalCores: 32, freeCores: 32, totalMemoryMiB: 65536, freeMemoryMiB: 65536, totalDiskGiB: 2000, freeDiskGiB: 2000),
    NodeSnapshot(id: "mid", totalCores: 16, freeCores: 16, totalMemoryMiB: 16384, freeMemoryMiB: 16384, totalDiskGiB: 1000, freeDiskGiB: 1000),
    NodeSnapshot(id: "small", totalCores: 8, freeCores: 8, totalMemoryMiB: 4096, freeMemoryMiB: 4096, totalDiskGiB: 500, freeDiskGiB: 500),
])
let large = VMTypeCatalog.eucalyptusDefaults["m1.large"]!
let requests = Array(repeating: PlacementRequest(vmType: large), count: 20)
let registry = PlacementRegistry.withMostFreeMemory
for name in registry.names {
    let (decisions, _) = registry.policy(named: name)!.place(requests, in: nodes)
    var counts: [String: Int] = [:]
    for decision in decisions { counts[decision.node?.rawValue ?? "unplaced", default: 0] += 1 }
    print(name.padding(toLength: 16, withPad: " ", startingAt: 0), counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
}
