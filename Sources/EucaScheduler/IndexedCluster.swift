public import EucaCore

/// A ``ClusterSnapshot`` that also keeps its nodes grouped by state: nodes with the same totals,
/// free room, instance count and awake flag are one class. A policy whose filters and scorers
/// promise to read only that state (``NodeDependence/state``), and at most one scorer of the
/// cluster's order (``NodeDependence/order``), is then asked once per class instead of once per
/// node, and takes exactly the decision it takes on the plain snapshot. A cluster of 100,000
/// alike hosts holds a few hundred classes; other policies are asked of every node as before.
///
/// Changes go through ``place(_:at:)``, ``release(_:at:)`` and ``setAwake(_:at:)``, which keep
/// the two views together.
public struct IndexedCluster: Sendable {
    public private(set) var snapshot: ClusterSnapshot
    /// Each node's class, by position.
    private var classOf: [Int32]
    /// Classes by slot; a slot whose class emptied is reused.
    private var classes: [NodeClass] = []
    private var freeSlots: [Int32] = []
    /// The slots in use.
    private var live: [Int32] = []
    private var slotByState: [NodeState: Int32] = [:]

    public init(_ snapshot: ClusterSnapshot) {
        self.snapshot = snapshot
        classOf = [Int32](repeating: -1, count: snapshot.nodes.count)
        for position in snapshot.nodes.indices { join(position) }
    }

    /// How many classes the nodes fall into now.
    public var classCount: Int { live.count }

    /// Records `type` placed on the node at `position`.
    public mutating func place(_ type: VMType, at position: Int) {
        leave(position)
        snapshot.place(type, at: position)
        join(position)
    }

    /// Records an instance of `type` gone from the node at `position`.
    public mutating func release(_ type: VMType, at position: Int) {
        leave(position)
        snapshot.release(type, at: position)
        join(position)
    }

    /// Marks the node at `position` awake or asleep.
    public mutating func setAwake(_ awake: Bool, at position: Int) {
        leave(position)
        snapshot.setAwake(awake, at: position)
        join(position)
    }

    private mutating func join(_ position: Int) {
        let state = NodeState(snapshot.nodes[position])
        let slot: Int32
        if let found = slotByState[state] {
            slot = found
        } else if let reused = freeSlots.popLast() {
            slot = reused
            classes[Int(slot)] = NodeClass(state: state, universe: snapshot.nodes.count, liveIndex: live.count)
            live.append(slot)
            slotByState[state] = slot
        } else {
            slot = Int32(classes.count)
            classes.append(NodeClass(state: state, universe: snapshot.nodes.count, liveIndex: live.count))
            live.append(slot)
            slotByState[state] = slot
        }
        classes[Int(slot)].members.insert(position)
        classOf[position] = slot
    }

    private mutating func leave(_ position: Int) {
        let slot = Int(classOf[position])
        classes[slot].members.remove(position)
        guard classes[slot].members.isEmpty else { return }
        slotByState[classes[slot].state] = nil
        let index = classes[slot].liveIndex
        let moved = live.removeLast()
        if index < live.count {
            live[index] = moved
            classes[Int(moved)].liveIndex = index
        }
        classes[slot].members = PositionSet(universe: 0)
        freeSlots.append(Int32(slot))
    }

    /// The classes in use, each as its members (for the policy's evaluation).
    fileprivate var liveClasses: some Collection<PositionSet> {
        live.lazy.map { classes[Int($0)].members }
    }
}

/// What a node's class is keyed by: everything of it but its id and position.
private struct NodeState: Hashable {
    var totalCores, freeCores, totalMemoryMiB, freeMemoryMiB, totalDiskGiB, freeDiskGiB, instances: Int
    var isAwake: Bool

    init(_ node: NodeSnapshot) {
        totalCores = node.totalCores
        freeCores = node.freeCores
        totalMemoryMiB = node.totalMemoryMiB
        freeMemoryMiB = node.freeMemoryMiB
        totalDiskGiB = node.totalDiskGiB
        freeDiskGiB = node.freeDiskGiB
        instances = node.instances
        isAwake = node.isAwake
    }
}

private struct NodeClass {
    var state: NodeState
    var members: PositionSet
    var liveIndex: Int

    init(state: NodeState, universe: Int, liveIndex: Int) {
        self.state = state
        members = PositionSet(universe: universe)
        self.liveIndex = liveIndex
    }
}

/// A set of positions below `universe`, ordered: a short sorted array while it is small, a
/// bitmap with a summary word per 64 words once it is not, so the first member at or after a
/// position is found in a few word scans at any size.
struct PositionSet: Sendable {
    private var small: [Int32] = []
    private var words: [UInt64] = []
    private var summary: [UInt64] = []
    private let universe: Int
    private(set) var count = 0
    private static let smallLimit = 48

    init(universe: Int) { self.universe = universe }

    var isEmpty: Bool { count == 0 }

    mutating func insert(_ position: Int) {
        count += 1
        if words.isEmpty {
            let at = lowerBound(Int32(position))
            small.insert(Int32(position), at: at)
            if small.count > Self.smallLimit { spread() }
            return
        }
        words[position >> 6] |= 1 << UInt64(position & 63)
        summary[position >> 12] |= 1 << UInt64((position >> 6) & 63)
    }

    mutating func remove(_ position: Int) {
        count -= 1
        if words.isEmpty {
            small.remove(at: lowerBound(Int32(position)))
            return
        }
        let word = position >> 6
        words[word] &= ~(1 << UInt64(position & 63))
        if words[word] == 0 { summary[word >> 6] &= ~(1 << UInt64(word & 63)) }
    }

    /// The least member.
    var first: Int? { atOrAfter(0) }

    /// The greatest member.
    var last: Int? { before(universe) }

    /// The least member at or after `position`.
    func atOrAfter(_ position: Int) -> Int? {
        guard position < universe else { return nil }
        if words.isEmpty {
            let at = lowerBound(Int32(position))
            return at < small.count ? Int(small[at]) : nil
        }
        var word = position >> 6
        let within = words[word] & (~0 << UInt64(position & 63))
        if within != 0 { return word << 6 | within.trailingZeroBitCount }
        word += 1
        var group = word >> 6
        guard group < summary.count else { return nil }
        var bits = word & 63 == 0 ? summary[group] : summary[group] & (~0 << UInt64(word & 63))
        while bits == 0 {
            group += 1
            guard group < summary.count else { return nil }
            bits = summary[group]
        }
        word = group << 6 | bits.trailingZeroBitCount
        return word << 6 | words[word].trailingZeroBitCount
    }

    /// The greatest member before `position`.
    func before(_ position: Int) -> Int? {
        guard position > 0 else { return nil }
        if words.isEmpty {
            let at = lowerBound(Int32(min(position, universe)))
            return at > 0 ? Int(small[at - 1]) : nil
        }
        let last = min(position, universe) - 1
        var word = last >> 6
        let shift = UInt64(63 - (last & 63))
        let within = (words[word] << shift) >> shift
        if within != 0 { return word << 6 | (63 - within.leadingZeroBitCount) }
        guard word > 0 else { return nil }
        word -= 1
        var group = word >> 6
        let keep = UInt64(63 - (word & 63))
        var bits = (summary[group] << keep) >> keep
        while bits == 0 {
            guard group > 0 else { return nil }
            group -= 1
            bits = summary[group]
        }
        word = group << 6 | (63 - bits.leadingZeroBitCount)
        return word << 6 | (63 - words[word].leadingZeroBitCount)
    }

    /// The first member at or after `origin`, wrapping around: the member an order scorer
    /// ranks highest.
    func nearest(from origin: Int) -> Int? { atOrAfter(origin) ?? first }

    /// The last member before `origin`, wrapping around: the member an order scorer ranks lowest.
    func farthest(from origin: Int) -> Int? { before(origin) ?? last }

    private func lowerBound(_ value: Int32) -> Int {
        var low = 0, high = small.count
        while low < high {
            let middle = (low + high) / 2
            if small[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func spread() {
        words = [UInt64](repeating: 0, count: (universe + 63) / 64)
        summary = [UInt64](repeating: 0, count: (words.count + 63) / 64)
        for position in small.map(Int.init) {
            words[position >> 6] |= 1 << UInt64(position & 63)
            summary[position >> 12] |= 1 << UInt64((position >> 6) & 63)
        }
        small = []
    }
}

extension PlacementPolicy {
    /// Whether every filter reads only a node's state, and every scorer and tie-breaker its
    /// state or (one of them at most) the cluster's order: then nodes alike can be judged once.
    public var judgesByClass: Bool {
        for filter in filters where filter.dependence != .state { return false }
        var orders = 0
        for scorer in scorers { if !Self.countOrder(scorer, &orders) { return false } }
        for breaker in tieBreakers { if !Self.countOrder(breaker, &orders) { return false } }
        return orders <= 1
    }

    /// Counts `scorer` into `orders` if it scores by order; false if it reads anything.
    private static func countOrder(_ scorer: any PlacementScorer, _ orders: inout Int) -> Bool {
        switch scorer.dependence {
        case .anyField: return false
        case .order: orders += 1
        case .state: break
        }
        return true
    }

    /// Chooses a node for `request`: the same choice as ``choose(_:in:explaining:)`` on
    /// `cluster.snapshot`, found by class where ``judgesByClass`` allows (and no node is
    /// preferred), node by node otherwise.
    public func choose(_ request: PlacementRequest, in cluster: IndexedCluster, explaining: Bool = true) -> PlacementChoice {
        let snapshot = cluster.snapshot
        guard request.preferredNode == nil, judgesByClass else { return choose(request, in: snapshot, explaining: explaining) }
        let nodes = snapshot.nodes
        var admitted: [PositionSet] = []
        var candidates = 0
        classes: for members in cluster.liveClasses {
            let representative = nodes[members.first!]
            for filter in filters where !filter.admits(representative, for: request) { continue classes }
            admitted.append(members)
            candidates += members.count
        }
        guard candidates > 0 else {
            return PlacementChoice(decision: .unplaceable(explaining ? reasons(request, in: snapshot) : [:]), candidates: 0)
        }
        guard candidates > 1, !scorers.isEmpty || !tieBreakers.isEmpty else {
            let first = admitted.map { $0.first! }.min()!
            return PlacementChoice(decision: .node(nodes[first].id), candidates: candidates)
        }

        // Each class's member that can score highest in it: with an order scorer of positive
        // weight, its first at or after the origin; of negative weight, its last before it;
        // otherwise (all its members scoring alike) its first.
        let order = scorers.first { $0.dependence == .order }
        let origin = order?.orderOrigin(in: snapshot) ?? 0
        let members: [Int] = admitted.map { set in
            guard let order, order.weight != 0 else { return set.first! }
            return order.weight > 0 ? set.nearest(from: origin)! : set.farthest(from: origin)!
        }
        var totals = [Double](repeating: 0, count: admitted.count)
        var raw = [Double](repeating: 0, count: admitted.count)
        for scorer in scorers {
            var low = Double.infinity
            var high = -Double.infinity
            for slot in admitted.indices {
                raw[slot] = scorer.score(nodes[members[slot]], for: request, in: snapshot)
                low = min(low, raw[slot])
                high = max(high, raw[slot])
            }
            if scorer.dependence == .order {
                // The extremes over every candidate, not only the members kept: the nearest to the
                // origin scores highest, the farthest lowest.
                let distance = { (position: Int) in (position - origin + nodes.count) % nodes.count }
                let nearest = admitted.map { $0.nearest(from: origin)! }.min(by: { distance($0) < distance($1) })!
                let farthest = admitted.map { $0.farthest(from: origin)! }.max(by: { distance($0) < distance($1) })!
                high = scorer.score(nodes[nearest], for: request, in: snapshot)
                low = scorer.score(nodes[farthest], for: request, in: snapshot)
            }
            let span = high - low
            for slot in admitted.indices {
                let scaled = span > 0 ? (raw[slot] - low) / span : 1
                totals[slot] += scaled * scorer.weight
            }
        }
        var best = 0
        for slot in admitted.indices.dropFirst()
        where totals[slot] > totals[best] || (totals[slot] == totals[best] && members[slot] < members[best]) {
            best = slot
        }
        var chosen = members[best]
        if !tieBreakers.isEmpty {
            // Tied: every member of a class whose members all score alike, else the kept member.
            let alike = order == nil || order!.weight == 0
            let tied = admitted.indices.filter { totals[$0] == totals[best] }
                .map { (set: admitted[$0], member: members[$0], whole: alike) }
            chosen = breakTie(among: tied, request, snapshot) ?? chosen
        }
        return PlacementChoice(decision: .node(nodes[chosen].id), candidates: candidates, score: scorers.isEmpty ? nil : totals[best])
    }

    /// The tie-breakers over classes, as the node-by-node choice applies them: each entry is a
    /// whole class or one member of it.
    private func breakTie(
        among tied: [(set: PositionSet, member: Int, whole: Bool)], _ request: PlacementRequest, _ snapshot: ClusterSnapshot
    ) -> Int? {
        var tied = tied
        let nodes = snapshot.nodes
        func size(_ entries: [(set: PositionSet, member: Int, whole: Bool)]) -> Int {
            entries.reduce(0) { $0 + ($1.whole ? $1.set.count : 1) }
        }
        for breaker in tieBreakers where size(tied) > 1 {
            let sign = breaker.weight < 0 ? -1.0 : 1.0
            if breaker.dependence == .order {
                // Members score apart: a whole class is down to its best member.
                let origin = breaker.orderOrigin(in: snapshot)
                tied = tied.map { entry in
                    guard entry.whole else { return entry }
                    let member = sign > 0 ? entry.set.nearest(from: origin)! : entry.set.farthest(from: origin)!
                    return (entry.set, member, false)
                }
            }
            let values = tied.map { sign * breaker.score(nodes[$0.whole ? $0.set.first! : $0.member], for: request, in: snapshot) }
            guard let top = values.max() else { break }
            tied = zip(tied, values).filter { $0.1 == top }.map(\.0)
        }
        return tied.map { $0.whole ? $0.set.first! : $0.member }.min()
    }
}
