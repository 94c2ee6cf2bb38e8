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

    /// Moves an instance of `type` between nodes (a migration).
    public mutating func move(_ type: VMType, from source: Int, to target: Int) {
        leave(source)
        leave(target)
        snapshot.move(type, from: source, to: target)
        join(source)
        join(target)
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

    // What the policy's evaluation asks of a class, by slot.

    fileprivate var liveSlots: [Int32] { live }
    // (Read in place through the buffer: a class read by subscript is copied, its arrays retained.)
    fileprivate func first(_ slot: Int32) -> Int { classes.withUnsafeBufferPointer { $0[Int(slot)].members.first! } }
    fileprivate func count(_ slot: Int32) -> Int { classes.withUnsafeBufferPointer { $0[Int(slot)].members.count } }
    fileprivate func nearest(_ slot: Int32, from origin: Int) -> Int {
        classes.withUnsafeBufferPointer { $0[Int(slot)].members.nearest(from: origin)! }
    }
    fileprivate func farthest(_ slot: Int32, from origin: Int) -> Int {
        classes.withUnsafeBufferPointer { $0[Int(slot)].members.farthest(from: origin)! }
    }

    /// The class's member that can score highest in it under `order`: the nearest to the origin
    /// for a positive weight, the farthest for a negative one, the first otherwise.
    fileprivate func best(_ slot: Int32, by order: (any PlacementScorer)?, from origin: Int) -> Int {
        guard let order, order.weight != 0 else { return first(slot) }
        return order.weight > 0 ? nearest(slot, from: origin) : farthest(slot, from: origin)
    }

    /// Over all members of `slots`: the one nearest to `origin` (wrapping around) and the farthest.
    fileprivate func extremes(_ slots: [Int32], from origin: Int) -> (nearest: Int, farthest: Int) {
        let count = snapshot.nodes.count
        var nearest = 0, nearestDistance = Int.max, farthest = 0, farthestDistance = -1
        for slot in slots {
            let near = self.nearest(slot, from: origin), far = self.farthest(slot, from: origin)
            let nearDistance = (near - origin + count) % count, farDistance = (far - origin + count) % count
            if nearDistance < nearestDistance { (nearest, nearestDistance) = (near, nearDistance) }
            if farDistance > farthestDistance { (farthest, farthestDistance) = (far, farDistance) }
        }
        return (nearest, farthest)
    }
}

/// What a node's class is keyed by: everything of it but its id and position.
private struct NodeState: Hashable {
    var totalCores, freeCores, totalMemoryMiB, freeMemoryMiB, totalDiskGiB, freeDiskGiB, instances: Int
    var isAwake: Bool

    /// One word to the hasher: a class is looked up twice per placement.
    func hash(into hasher: inout Hasher) {
        func mix(_ mixed: UInt64, _ value: Int) -> UInt64 { (mixed ^ UInt64(bitPattern: Int64(value))) &* 0xBF58_476D_1CE4_E5B9 }
        var mixed = mix(0x9E37_79B9_7F4A_7C15, freeCores)
        mixed = mix(mix(mix(mixed, freeMemoryMiB), freeDiskGiB), instances)
        mixed = mix(mix(mix(mix(mixed, totalCores), totalMemoryMiB), totalDiskGiB), isAwake ? 1 : 0)
        hasher.combine(mixed)
    }

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
    /// The least and the greatest member, kept as members come and go.
    private(set) var first: Int?
    private(set) var last: Int?
    private static let smallLimit = 48

    init(universe: Int) { self.universe = universe }

    var isEmpty: Bool { count == 0 }

    mutating func insert(_ position: Int) {
        count += 1
        first = min(first ?? position, position)
        last = max(last ?? position, position)
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
        } else {
            let word = position >> 6
            words[word] &= ~(1 << UInt64(position & 63))
            if words[word] == 0 { summary[word >> 6] &= ~(1 << UInt64(word & 63)) }
        }
        if count == 0 {
            first = nil
            last = nil
        } else {
            if position == first { first = scanAtOrAfter(position + 1) }
            if position == last { last = scanBefore(position) }
        }
    }

    /// The least member at or after `position`.
    func atOrAfter(_ position: Int) -> Int? {
        guard let first, let last, position <= last else { return nil }
        return position <= first ? first : scanAtOrAfter(position)
    }

    /// The greatest member before `position`.
    func before(_ position: Int) -> Int? {
        guard let first, let last, position > first else { return nil }
        return position > last ? last : scanBefore(position)
    }

    private func scanAtOrAfter(_ position: Int) -> Int? {
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

    private func scanBefore(_ position: Int) -> Int? {
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
    func nearest(from origin: Int) -> Int? {
        if let found = atOrAfter(origin) { return found }
        return first
    }

    /// The last member before `origin`, wrapping around: the member an order scorer ranks lowest.
    func farthest(from origin: Int) -> Int? {
        if let found = before(origin) { return found }
        return last
    }

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
        var admitted: [Int32] = []
        var candidates = 0
        classes: for slot in cluster.liveSlots {
            let representative = nodes[cluster.first(slot)]
            for filter in filters where !filter.admits(representative, for: request) { continue classes }
            admitted.append(slot)
            candidates += cluster.count(slot)
        }
        guard candidates > 0 else {
            return PlacementChoice(decision: .unplaceable(explaining ? reasons(request, in: snapshot) : [:]), candidates: 0)
        }
        guard candidates > 1, !scorers.isEmpty || !tieBreakers.isEmpty else {
            let first = admitted.lazy.map { cluster.first($0) }.min()!
            return PlacementChoice(decision: .node(nodes[first].id), candidates: candidates, position: first)
        }
        if scorers.count == 1, tieBreakers.isEmpty {
            return chooseByOne(scorers[0], request, cluster, admitted, candidates)
        }

        // Each class's member that can score highest in it: with an order scorer of positive
        // weight, its first at or after the origin; of negative weight, its last before it;
        // otherwise (all its members scoring alike) its first.
        let order = scorers.first { $0.dependence == .order }
        let origin = order?.orderOrigin(in: snapshot) ?? 0
        let members: [Int] = admitted.map { slot in cluster.best(slot, by: order, from: origin) }
        var totals = [Double](repeating: 0, count: admitted.count)
        var raw = [Double](repeating: 0, count: admitted.count)
        for scorer in scorers {
            var low = Double.infinity
            var high = -Double.infinity
            for index in admitted.indices {
                raw[index] = scorer.score(nodes[members[index]], for: request, in: snapshot)
                low = min(low, raw[index])
                high = max(high, raw[index])
            }
            if scorer.dependence == .order {
                // The extremes over every candidate, not only the members kept.
                let (nearest, farthest) = cluster.extremes(admitted, from: origin)
                high = scorer.score(nodes[nearest], for: request, in: snapshot)
                low = scorer.score(nodes[farthest], for: request, in: snapshot)
            }
            let span = high - low
            for index in admitted.indices {
                let scaled = span > 0 ? (raw[index] - low) / span : 1
                totals[index] += scaled * scorer.weight
            }
        }
        var best = 0
        for index in admitted.indices.dropFirst()
        where totals[index] > totals[best] || (totals[index] == totals[best] && members[index] < members[best]) {
            best = index
        }
        var chosen = members[best]
        if !tieBreakers.isEmpty {
            // Tied: every member of a class whose members all score alike, else the kept member.
            let alike = order == nil || order!.weight == 0
            let tied = admitted.indices.filter { totals[$0] == totals[best] }
                .map { (slot: admitted[$0], member: members[$0], whole: alike) }
            chosen = breakTie(among: tied, request, cluster) ?? chosen
        }
        return PlacementChoice(
            decision: .node(nodes[chosen].id), candidates: candidates, score: scorers.isEmpty ? nil : totals[best], position: chosen)
    }

    /// One scorer and no tie-breaker, in one pass: the highest weighted score is the highest raw
    /// score for a positive weight and the lowest for a negative one; ties go to the earlier node.
    private func chooseByOne(
        _ scorer: any PlacementScorer, _ request: PlacementRequest, _ cluster: IndexedCluster, _ admitted: [Int32], _ candidates: Int
    ) -> PlacementChoice {
        let snapshot = cluster.snapshot
        let nodes = snapshot.nodes
        let sign = scorer.weight > 0 ? 1.0 : scorer.weight < 0 ? -1.0 : 0
        var low = Double.infinity, high = -Double.infinity
        var chosen = Int.max, chosenValue = -Double.infinity, chosenRaw = 0.0
        if scorer.dependence == .order {
            let origin = scorer.orderOrigin(in: snapshot)
            let (nearest, farthest) = cluster.extremes(admitted, from: origin)
            high = scorer.score(nodes[nearest], for: request, in: snapshot)
            low = scorer.score(nodes[farthest], for: request, in: snapshot)
            chosen = sign > 0 ? nearest : sign < 0 ? farthest : admitted.lazy.map { cluster.first($0) }.min()!
            chosenRaw = scorer.score(nodes[chosen], for: request, in: snapshot)
        } else {
            for slot in admitted {
                let member = cluster.first(slot)
                let raw = scorer.score(nodes[member], for: request, in: snapshot)
                low = min(low, raw)
                high = max(high, raw)
                let value = sign * raw
                if value > chosenValue || (value == chosenValue && member < chosen) {
                    chosen = member
                    chosenValue = value
                    chosenRaw = raw
                }
            }
        }
        let span = high - low
        let total = 0 + (span > 0 ? (chosenRaw - low) / span : 1) * scorer.weight
        return PlacementChoice(decision: .node(nodes[chosen].id), candidates: candidates, score: total, position: chosen)
    }

    /// The tie-breakers over classes, as the node-by-node choice applies them: each entry is a
    /// whole class or one member of it.
    private func breakTie(
        among tied: [(slot: Int32, member: Int, whole: Bool)], _ request: PlacementRequest, _ cluster: IndexedCluster
    ) -> Int? {
        var tied = tied
        let snapshot = cluster.snapshot
        let nodes = snapshot.nodes
        func size(_ entries: [(slot: Int32, member: Int, whole: Bool)]) -> Int {
            entries.reduce(0) { $0 + ($1.whole ? cluster.count($1.slot) : 1) }
        }
        for breaker in tieBreakers where size(tied) > 1 {
            let sign = breaker.weight < 0 ? -1.0 : 1.0
            if breaker.dependence == .order {
                // Members score apart: a whole class is down to its best member.
                let origin = breaker.orderOrigin(in: snapshot)
                tied = tied.map { entry in
                    guard entry.whole else { return entry }
                    let member = sign > 0 ? cluster.nearest(entry.slot, from: origin) : cluster.farthest(entry.slot, from: origin)
                    return (entry.slot, member, false)
                }
            }
            let values = tied.map { sign * breaker.score(nodes[$0.whole ? cluster.first($0.slot) : $0.member], for: request, in: snapshot) }
            guard let top = values.max() else { break }
            tied = zip(tied, values).filter { $0.1 == top }.map(\.0)
        }
        return tied.map { $0.whole ? cluster.first($0.slot) : $0.member }.min()
    }
}
