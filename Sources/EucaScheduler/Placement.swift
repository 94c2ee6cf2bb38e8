public import EucaCore

/// One node as placement sees it: what it has free now, and where it stands in the cluster's order.
public struct NodeSnapshot: Sendable, Hashable {
    public var id: NodeID
    public var totalCores: Int
    public var freeCores: Int
    public var totalMemoryMiB: Int
    public var freeMemoryMiB: Int
    public var totalDiskGiB: Int
    public var freeDiskGiB: Int
    public var instances: Int
    /// Whether the node is powered on; policies that save power prefer awake nodes.
    public var isAwake: Bool
    /// Its place in the cluster's order, counted from 0 (set by ``ClusterSnapshot``).
    public internal(set) var position: Int = 0

    public init(
        id: NodeID, totalCores: Int, freeCores: Int, totalMemoryMiB: Int, freeMemoryMiB: Int,
        totalDiskGiB: Int, freeDiskGiB: Int, instances: Int = 0, isAwake: Bool = true
    ) {
        self.id = id
        self.totalCores = totalCores
        self.freeCores = freeCores
        self.totalMemoryMiB = totalMemoryMiB
        self.freeMemoryMiB = freeMemoryMiB
        self.totalDiskGiB = totalDiskGiB
        self.freeDiskGiB = freeDiskGiB
        self.instances = instances
        self.isAwake = isAwake
    }

    /// A snapshot of a node's reported resources.
    public init(_ resources: NodeResources, isAwake: Bool = true) {
        self.init(
            id: resources.node, totalCores: resources.totalCores, freeCores: resources.freeCores,
            totalMemoryMiB: resources.totalMemoryMiB, freeMemoryMiB: resources.freeMemoryMiB,
            totalDiskGiB: resources.totalDiskGiB, freeDiskGiB: resources.freeDiskGiB,
            instances: resources.instances, isAwake: isAwake)
    }

    /// The node after an instance of `type` has been placed on it.
    public func placing(_ type: VMType) -> NodeSnapshot { placing(type, count: 1) }

    /// This node with `count` more instances of `type` on it.
    public func placing(_ type: VMType, count: Int) -> NodeSnapshot {
        var node = self
        node.add(type, count: count)
        return node
    }

    /// Takes the room of `count` more instances of `type`, in place.
    mutating func add(_ type: VMType, count: Int) {
        freeCores -= type.cores * count
        freeMemoryMiB -= type.memoryMiB * count
        freeDiskGiB -= type.diskGiB * count
        instances += count
    }
}

/// The cluster as placement sees it: its nodes in a stable order, and the last node chosen.
public struct ClusterSnapshot: Sendable, Hashable {
    public private(set) var nodes: [NodeSnapshot]
    /// The node chosen last, which round-robin placement continues after.
    public private(set) var lastChosen: NodeID?
    /// `lastChosen`'s position, if it is one of `nodes`.
    public private(set) var lastChosenPosition: Int?
    private let positions: [NodeID: Int]

    public init(nodes: [NodeSnapshot], lastChosen: NodeID? = nil) {
        var numbered = nodes
        var positions: [NodeID: Int] = [:]
        positions.reserveCapacity(nodes.count)
        for index in numbered.indices {
            numbered[index].position = index
            positions[numbered[index].id] = positions[numbered[index].id] ?? index
        }
        self.nodes = numbered
        self.positions = positions
        self.lastChosen = lastChosen
        self.lastChosenPosition = lastChosen.flatMap { positions[$0] }
    }

    /// Where `node` stands in the cluster's order.
    public func position(of node: NodeID) -> Int? { positions[node] }

    /// The snapshot after `type` has been placed on `node`.
    public func placing(_ type: VMType, on node: NodeID) -> ClusterSnapshot {
        var next = self
        next.place(type, on: node)
        return next
    }

    /// Records `type` placed on `node`, in place.
    public mutating func place(_ type: VMType, on node: NodeID) {
        if let index = positions[node] {
            nodes[index] = nodes[index].placing(type)
            lastChosenPosition = index
        }
        lastChosen = node
    }

    /// Records an instance of `type` gone from `node`, in place: its room is free again.
    public mutating func release(_ type: VMType, from node: NodeID) {
        if let index = positions[node] { nodes[index] = nodes[index].placing(type, count: -1) }
    }

    /// Marks `node` awake or asleep.
    public mutating func setAwake(_ awake: Bool, _ node: NodeID) {
        if let index = positions[node] { nodes[index].isAwake = awake }
    }

    /// Records `type` placed on the node at `position`, as ``place(_:on:)`` does by id.
    public mutating func place(_ type: VMType, at position: Int) {
        nodes[position].add(type, count: 1)
        lastChosenPosition = position
        lastChosen = nodes[position].id
    }

    /// Records an instance of `type` gone from the node at `position`.
    public mutating func release(_ type: VMType, at position: Int) {
        nodes[position].add(type, count: -1)
    }

    /// Moves an instance of `type` from one node to another (a migration): the last node chosen
    /// stays as it was.
    public mutating func move(_ type: VMType, from source: Int, to target: Int) {
        nodes[source].add(type, count: -1)
        nodes[target].add(type, count: 1)
    }

    /// Marks the node at `position` awake or asleep.
    public mutating func setAwake(_ awake: Bool, at position: Int) {
        nodes[position].isAwake = awake
    }
}

/// What is to be placed.
public struct PlacementRequest: Sendable, Hashable {
    public var vmType: VMType
    public var instanceId: InstanceID?
    /// A node to use if it passes every filter (an instance restarting goes back to its node).
    public var preferredNode: NodeID?

    public init(vmType: VMType, instanceId: InstanceID? = nil, preferredNode: NodeID? = nil) {
        self.vmType = vmType
        self.instanceId = instanceId
        self.preferredNode = preferredNode
    }
}

/// A filter's verdict on one node.
public enum Verdict: Sendable, Hashable {
    case fits
    /// Might fit after something changes (an instance ends, a node wakes).
    case notNow(String)
    /// No retry helps.
    case never(String)
}

/// What of a node a filter's or scorer's answer depends on. A promise that lets placement over
/// many nodes (``IndexedCluster``) judge nodes that are alike once instead of one by one; the
/// decision is the same either way.
public enum NodeDependence: Sendable, Hashable {
    /// Anything, the node's id and position included: the filter or scorer is asked of every
    /// node. The default, always safe.
    case anyField
    /// Only the node's totals, free cores, memory and disk, instance count and awake flag (and
    /// the cluster as a whole): nodes alike in these get the same answer.
    case state
    /// Scorers only: the score is exactly `-((position - origin) mod count)`, `origin` being
    /// ``PlacementScorer/orderOrigin(in:)`` and `count` the cluster's nodes: the first node at
    /// or after the origin, wrapping around, scores highest. First fit and round robin are this.
    case order
}

/// Rules one node in or out. Called for every node on every placement: cheap, no I/O, no state.
public protocol PlacementFilter: Sendable {
    var name: String { get }
    func evaluate(_ node: NodeSnapshot, for request: PlacementRequest) -> Verdict
    /// Whether `evaluate` would answer `.fits`, without building a reason: placement asks this
    /// of every node and asks `evaluate` only to explain why nothing fits. The default calls
    /// `evaluate`; a filter on the hot path implements it directly.
    func admits(_ node: NodeSnapshot, for request: PlacementRequest) -> Bool
    /// What of the node the verdict reads: `.state` lets nodes alike be judged once. The
    /// default, `.anyField`, is always correct.
    var dependence: NodeDependence { get }
}

extension PlacementFilter {
    public func admits(_ node: NodeSnapshot, for request: PlacementRequest) -> Bool {
        evaluate(node, for: request) == .fits
    }

    public var dependence: NodeDependence { .anyField }
}

/// Ranks nodes that passed every filter. Raw scores are scaled to 0...1 across the candidates and
/// multiplied by `weight`; the node with the highest sum wins, ties going to the earlier node.
/// A negative weight reverses a scorer. Called for every candidate: cheap, no I/O, no state.
public protocol PlacementScorer: Sendable {
    var name: String { get }
    var weight: Double { get }
    func score(_ node: NodeSnapshot, for request: PlacementRequest, in cluster: ClusterSnapshot) -> Double
    /// What of the node the score reads: `.state` or `.order` let nodes alike be scored once.
    /// The default, `.anyField`, is always correct.
    var dependence: NodeDependence { get }
    /// For an `.order` scorer, the position that scores highest now. The default is 0.
    func orderOrigin(in cluster: ClusterSnapshot) -> Int
}

extension PlacementScorer {
    public var dependence: NodeDependence { .anyField }
    public func orderOrigin(in _: ClusterSnapshot) -> Int { 0 }
}

/// The outcome of one placement.
public enum PlacementDecision: Sendable, Hashable {
    case node(NodeID)
    /// No node passed; each node's reason.
    case unplaceable([NodeID: String])

    public var node: NodeID? {
        if case .node(let node) = self { return node }
        return nil
    }
}

/// One placement with how it was reached, for the log and for comparing runs: the decision, how
/// many nodes passed every filter, and the chosen node's weighted score (nil where no scorer ran:
/// one candidate, a preferred node, or no scorers).
public struct PlacementChoice: Sendable, Hashable {
    public var decision: PlacementDecision
    public var candidates: Int
    public var score: Double?
    /// The chosen node's position in the snapshot it was chosen from.
    public var position: Int?

    public init(decision: PlacementDecision, candidates: Int, score: Double? = nil, position: Int? = nil) {
        self.decision = decision
        self.candidates = candidates
        self.score = score
        self.position = position
    }
}

/// A placement policy: filters decide where an instance may run, scorers decide where it should.
///
/// A pure function of the snapshot, so the same policy runs in a live cluster and in a simulator.
public struct PlacementPolicy: Sendable {
    public var name: String
    public var filters: [any PlacementFilter]
    public var scorers: [any PlacementScorer]
    /// Scorers asked, in order, only among the nodes whose weighted scores tie: the first that
    /// tells them apart decides (by its raw score, the higher wins; its weight only gives its
    /// sign). "Fewest instances, then most free memory" is `scorers: [fewest instances]`,
    /// `tieBreakers: [free memory]`. A tie they leave goes to the earlier node.
    public var tieBreakers: [any PlacementScorer]
    /// Whether the cluster should power down nodes that stay idle (through its `NodePower`), to be
    /// woken when this policy chooses them again.
    public var powersDownIdleNodes: Bool

    public init(
        name: String, filters: [any PlacementFilter], scorers: [any PlacementScorer], tieBreakers: [any PlacementScorer] = [],
        powersDownIdleNodes: Bool = false
    ) {
        self.name = name
        self.filters = filters
        self.scorers = scorers
        self.tieBreakers = tieBreakers
        self.powersDownIdleNodes = powersDownIdleNodes
    }

    /// Chooses a node for `request`.
    public func place(_ request: PlacementRequest, in cluster: ClusterSnapshot) -> PlacementDecision {
        choose(request, in: cluster).decision
    }

    /// Chooses a node for `request`, saying how. `explaining: false` leaves an unplaceable
    /// decision's reasons empty (finding them asks every filter of every node again).
    public func choose(_ request: PlacementRequest, in cluster: ClusterSnapshot, explaining: Bool = true) -> PlacementChoice {
        let nodes = cluster.nodes
        var candidates: [Int] = []
        candidates.reserveCapacity(nodes.count)
        nodes: for index in nodes.indices {
            for filter in filters where !filter.admits(nodes[index], for: request) { continue nodes }
            candidates.append(index)
        }
        guard !candidates.isEmpty else {
            return PlacementChoice(decision: .unplaceable(explaining ? reasons(request, in: cluster) : [:]), candidates: 0)
        }
        if let preferred = request.preferredNode, let index = cluster.position(of: preferred), candidates.contains(index) {
            return PlacementChoice(decision: .node(preferred), candidates: candidates.count, position: index)
        }
        guard candidates.count > 1, !scorers.isEmpty || !tieBreakers.isEmpty else {
            return PlacementChoice(decision: .node(nodes[candidates[0]].id), candidates: candidates.count, position: candidates[0])
        }

        var totals = [Double](repeating: 0, count: candidates.count)
        var raw = [Double](repeating: 0, count: candidates.count)
        for scorer in scorers {
            var low = Double.infinity
            var high = -Double.infinity
            for (slot, index) in candidates.enumerated() {
                let value = scorer.score(nodes[index], for: request, in: cluster)
                raw[slot] = value
                low = min(low, value)
                high = max(high, value)
            }
            let span = high - low
            for slot in candidates.indices {
                let scaled = span > 0 ? (raw[slot] - low) / span : 1
                totals[slot] += scaled * scorer.weight
            }
        }
        var best = 0
        for slot in candidates.indices.dropFirst() where totals[slot] > totals[best] { best = slot }
        if !tieBreakers.isEmpty {
            best = breakTie(among: candidates.indices.filter { totals[$0] == totals[best] }, candidates, request, cluster) ?? best
        }
        return PlacementChoice(
            decision: .node(nodes[candidates[best]].id), candidates: candidates.count, score: scorers.isEmpty ? nil : totals[best],
            position: candidates[best])
    }

    /// The slot the tie-breakers choose among `tied` (slots of `candidates`), or nil when one slot
    /// ties or none tells them apart.
    private func breakTie(among tied: [Int], _ candidates: [Int], _ request: PlacementRequest, _ cluster: ClusterSnapshot) -> Int? {
        var tied = tied
        for breaker in tieBreakers where tied.count > 1 {
            let sign = breaker.weight < 0 ? -1.0 : 1.0
            let values = tied.map { sign * breaker.score(cluster.nodes[candidates[$0]], for: request, in: cluster) }
            guard let top = values.max() else { break }
            tied = zip(tied, values).filter { $0.1 == top }.map(\.0)
        }
        return tied.first
    }

    /// Why each node is ruled out: the first filter that refuses it, with its reason.
    func reasons(_ request: PlacementRequest, in cluster: ClusterSnapshot) -> [NodeID: String] {
        var reasons: [NodeID: String] = [:]
        nodes: for node in cluster.nodes {
            for filter in filters {
                switch filter.evaluate(node, for: request) {
                case .fits: continue
                case .notNow(let why), .never(let why):
                    reasons[node.id] = "\(filter.name): \(why)"
                    continue nodes
                }
            }
        }
        return reasons
    }

    /// Places `count` instances one after another, each seeing the previous ones placed.
    public func place(
        _ requests: [PlacementRequest], in cluster: ClusterSnapshot
    ) -> (decisions: [PlacementDecision], cluster: ClusterSnapshot) {
        var cluster = cluster
        var decisions: [PlacementDecision] = []
        for request in requests {
            let decision = place(request, in: cluster)
            if let node = decision.node { cluster.place(request.vmType, on: node) }
            decisions.append(decision)
        }
        return (decisions, cluster)
    }
}
