public import EucaScheduler

/// Prefers the node with the most free memory: instances spread by memory, not by turn.
public struct FreeMemoryScorer: PlacementScorer {
    public let name = "free-memory"
    public var weight: Double
    public init(weight: Double = 1) { self.weight = weight }

    public func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double {
        Double(node.freeMemoryMiB)
    }

    /// It reads the node's free memory only: nodes alike are scored once (a simulator of
    /// 100,000 hosts asks it once per kind of host, not once per host).
    public var dependence: NodeDependence { .state }
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

    public var dependence: NodeDependence { .state }
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
