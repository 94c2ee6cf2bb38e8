public import EucaCore

/// Passes nodes with enough free cores, memory and disk for the VM type.
public struct CapacityFilter: PlacementFilter {
    public let name = "capacity"
    public init() {}

    public func evaluate(_ node: NodeSnapshot, for request: PlacementRequest) -> Verdict {
        let type = request.vmType
        if type.cores > node.totalCores || type.memoryMiB > node.totalMemoryMiB || type.diskGiB > node.totalDiskGiB {
            return .never("\(type.name) is larger than the whole node")
        }
        if type.cores > node.freeCores { return .notNow("\(node.freeCores) cores free, \(type.cores) needed") }
        if type.memoryMiB > node.freeMemoryMiB {
            return .notNow("\(node.freeMemoryMiB) MiB free, \(type.memoryMiB) MiB needed")
        }
        if type.diskGiB > node.freeDiskGiB { return .notNow("\(node.freeDiskGiB) GiB disk free, \(type.diskGiB) GiB needed") }
        return .fits
    }

    public func admits(_ node: NodeSnapshot, for request: PlacementRequest) -> Bool {
        let type = request.vmType
        return type.cores <= node.freeCores && type.memoryMiB <= node.freeMemoryMiB && type.diskGiB <= node.freeDiskGiB
    }

    public var dependence: NodeDependence { .state }
}

/// Prefers nodes earlier in the cluster's order: with it alone, placement is first fit.
public struct NodeOrderScorer: PlacementScorer {
    public let name = "node-order"
    public var weight: Double
    public init(weight: Double = 1) { self.weight = weight }

    public func score(_ node: NodeSnapshot, for _: PlacementRequest, in cluster: ClusterSnapshot) -> Double {
        -Double(node.position)
    }

    public var dependence: NodeDependence { .order }
}

/// Prefers the node that comes next after the last one chosen, wrapping around.
public struct RoundRobinScorer: PlacementScorer {
    public let name = "round-robin"
    public var weight: Double
    public init(weight: Double = 1) { self.weight = weight }

    public func score(_ node: NodeSnapshot, for _: PlacementRequest, in cluster: ClusterSnapshot) -> Double {
        let count = cluster.nodes.count
        guard let last = cluster.lastChosenPosition else { return -Double(node.position) }
        return -Double((node.position - last - 1 + count) % count)
    }

    public var dependence: NodeDependence { .order }
    public func orderOrigin(in cluster: ClusterSnapshot) -> Int {
        cluster.lastChosenPosition.map { ($0 + 1) % max(1, cluster.nodes.count) } ?? 0
    }
}

/// Prefers nodes that are powered on, so sleeping nodes wake only when the awake ones are full.
public struct AwakeScorer: PlacementScorer {
    public let name = "awake"
    public var weight: Double
    public init(weight: Double = 4) { self.weight = weight }

    public func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double {
        node.isAwake ? 1 : 0
    }

    public var dependence: NodeDependence { .state }
}

/// Prefers the fullest node (least free cores and memory, as fractions of the node), packing
/// instances onto few nodes.
public struct PackingScorer: PlacementScorer {
    public let name = "packing"
    public var weight: Double
    public init(weight: Double = 1) { self.weight = weight }

    public func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double {
        let cores = node.totalCores > 0 ? Double(node.freeCores) / Double(node.totalCores) : 0
        let memory = node.totalMemoryMiB > 0 ? Double(node.freeMemoryMiB) / Double(node.totalMemoryMiB) : 0
        return -(cores + memory)
    }

    public var dependence: NodeDependence { .state }
}

extension PlacementPolicy {
    /// GREEDY: the first node, in the cluster's order, that has room (Eucalyptus' first fit).
    public static let greedy = PlacementPolicy(name: "GREEDY", filters: [CapacityFilter()], scorers: [NodeOrderScorer()])

    /// ROUNDROBIN: the next node with room after the last one chosen (Eucalyptus' default).
    public static let roundRobin = PlacementPolicy(
        name: "ROUNDROBIN", filters: [CapacityFilter()], scorers: [RoundRobinScorer()])

    /// POWERSAVE: pack instances onto the fullest awake node; a sleeping node is chosen only when
    /// no awake one has room. The cluster powers down nodes left idle (Eucalyptus' power-saving
    /// scheduler).
    public static let powerSave = PlacementPolicy(
        name: "POWERSAVE", filters: [CapacityFilter()], scorers: [AwakeScorer(), PackingScorer()], powersDownIdleNodes: true)
}

/// Placement policies by name, as `SCHEDPOLICY` selects them.
///
/// Daemons start from ``builtIn`` and add out-of-tree policies with ``register(_:_:)``, so a plugin
/// needs only a short `main`.
public struct PlacementRegistry: Sendable {
    public typealias Factory = @Sendable () -> PlacementPolicy
    private var factories: [String: Factory] = [:]

    public init() {}

    /// GREEDY, ROUNDROBIN, POWERSAVE and MOSTROOM.
    public static var builtIn: PlacementRegistry {
        var registry = PlacementRegistry()
        try! registry.register("GREEDY") { .greedy }
        try! registry.register("ROUNDROBIN") { .roundRobin }
        try! registry.register("POWERSAVE") { .powerSave }
        try! registry.register("MOSTROOM") { .mostRoom }
        return registry
    }

    /// Adds a policy. Names are compared without regard to case; a name already taken is refused.
    public mutating func register(_ name: String, _ factory: @escaping Factory) throws(EucaError) {
        let key = name.uppercased()
        guard factories[key] == nil else {
            throw EucaError(.duplicate, nil, "a placement policy named \(key) is already registered")
        }
        factories[key] = factory
    }

    /// A new instance of the policy named `name`, or nil.
    public func policy(named name: String) -> PlacementPolicy? {
        factories[name.uppercased()]?()
    }

    /// Every registered name, sorted.
    public var names: [String] { factories.keys.sorted() }
}
