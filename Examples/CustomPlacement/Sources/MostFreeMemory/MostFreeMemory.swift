public import EucaScheduler

/// Prefers the node with the most free memory: instances spread by memory, not by turn.
public struct FreeMemoryScorer: PlacementScorer {
    public let name = "free-memory"
    public var weight: Double
    public init(weight: Double = 1) { self.weight = weight }

    public func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double {
        Double(node.freeMemoryMiB)
    }
}

/// Keeps a margin of memory free on every node, for the host itself.
public struct MemoryHeadroomFilter: PlacementFilter {
    public let name = "memory-headroom"
    public var headroomMiB: Int
    public init(headroomMiB: Int) { self.headroomMiB = headroomMiB }

    public func evaluate(_ node: NodeSnapshot, for request: PlacementRequest) -> Verdict {
        node.freeMemoryMiB - request.vmType.memoryMiB >= headroomMiB
            ? .fits : .notNow("would leave less than \(headroomMiB) MiB free")
    }
}

extension PlacementPolicy {
    /// MOSTFREEMEMORY: capacity, a 512 MiB headroom, then the node with the most free memory.
    public static let mostFreeMemory = PlacementPolicy(
        name: "MOSTFREEMEMORY",
        filters: [CapacityFilter(), MemoryHeadroomFilter(headroomMiB: 512)],
        scorers: [FreeMemoryScorer()])
}

extension PlacementRegistry {
    /// The built-in policies plus this package's, as a daemon's `main` registers them.
    public static var withMostFreeMemory: PlacementRegistry {
        var registry = PlacementRegistry.builtIn
        try! registry.register("MOSTFREEMEMORY") { .mostFreeMemory }
        return registry
    }
}
