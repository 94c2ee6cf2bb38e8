import EucaCore
@testable import EucaScheduler
import EucaSim
import EucaTesting
import Testing

/// Placement by class takes exactly the decisions placement node by node takes: for every
/// built-in policy and for mixes of state and order scorers, weights of either sign, and
/// tie-breakers, over random sequences of placements, releases and power changes.
/// One at a time: the cases are CPU-bound for seconds in a debug build, and two at once would hold
/// every thread of a 2-core machine from the tests that wait on timers.
@Suite(.serialized) struct IndexedClusterTests {
    struct FewestInstances: PlacementScorer {
        let name = "fewest-instances"
        var weight = 1.0
        func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double { -Double(node.instances) }
        var dependence: NodeDependence { .state }
    }

    struct FreeMemory: PlacementScorer {
        let name = "free-memory"
        var weight = 1.0
        func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double { Double(node.freeMemoryMiB) }
        var dependence: NodeDependence { .state }
    }

    /// Reads the node's name: must be asked of every node.
    struct AvoidEvenNames: PlacementFilter {
        let name = "avoid-even"
        func evaluate(_ node: NodeSnapshot, for _: PlacementRequest) -> Verdict {
            (Int(node.id.rawValue.dropFirst()) ?? 0) % 7 == 0 ? .never("unlucky") : .fits
        }
    }

    static let policies: [PlacementPolicy] = [
        .greedy, .roundRobin, .powerSave, .mostRoom,
        PlacementPolicy(name: "LASTFIT", filters: [CapacityFilter()], scorers: [NodeOrderScorer(weight: -1)]),
        PlacementPolicy(name: "PACK-THEN-ORDER", filters: [CapacityFilter()], scorers: [PackingScorer(weight: 2), NodeOrderScorer(weight: 0.5)]),
        PlacementPolicy(name: "SPREAD-RR", filters: [CapacityFilter()], scorers: [PackingScorer(weight: -1), RoundRobinScorer(weight: 0.25)]),
        PlacementPolicy(name: "ZERO-ORDER", filters: [CapacityFilter()], scorers: [FreeMemory(), RoundRobinScorer(weight: 0)]),
        PlacementPolicy(name: "LEAST-THEN-MEMORY", filters: [CapacityFilter()], scorers: [FewestInstances()], tieBreakers: [FreeMemory()]),
        PlacementPolicy(name: "LEAST-THEN-RR", filters: [CapacityFilter()], scorers: [FewestInstances()], tieBreakers: [FreeMemory(weight: -1), RoundRobinScorer()]),
        PlacementPolicy(name: "ONLY-BREAKERS", filters: [CapacityFilter()], scorers: [], tieBreakers: [FewestInstances(), NodeOrderScorer(weight: -1)]),
        PlacementPolicy(name: "FILTER-ONLY", filters: [CapacityFilter()], scorers: []),
        PlacementPolicy(name: "BY-NAME", filters: [CapacityFilter(), AvoidEvenNames()], scorers: [PackingScorer()]),
    ]

    /// 150 hosts of three sizes, so classes both large (bitmaps) and small (arrays) occur.
    static func hosts() -> ClusterSnapshot {
        ClusterSnapshot(nodes: (0..<150).map { index in
            let cores = [8, 8, 16][index % 3], memory = [8192, 8192, 32768][index % 3]
            return NodeSnapshot(
                id: NodeID("h\(index)"), totalCores: cores, freeCores: cores, totalMemoryMiB: memory, freeMemoryMiB: memory,
                totalDiskGiB: 200, freeDiskGiB: 200)
        })
    }

    @Test(arguments: policies.map(\.name))
    func choosingByClassTakesTheSameDecisions(_ name: String) {
        let policy = Self.policies.first { $0.name == name }!
        #expect(policy.judgesByClass == (name != "BY-NAME"))
        var cluster = IndexedCluster(Self.hosts())
        var random = SeededGenerator(seed: UInt64(name.utf8.count * 7919))
        let types = VMTypeCatalog.eucalyptusDefaults.types
        var running: [(VMType, Int)] = []
        var compared = 0
        for step in 0..<1500 {
            let type = types[Int(random.next() % UInt64(types.count))]
            let request = PlacementRequest(vmType: type)
            let indexed = policy.choose(request, in: cluster, explaining: false)
            let scanned = policy.choose(request, in: cluster.snapshot, explaining: false)
            #expect(indexed == scanned, "step \(step), \(type.name): by class \(indexed), node by node \(scanned)")
            guard indexed == scanned else { return }
            compared += 1
            if let node = indexed.decision.node, let position = cluster.snapshot.position(of: node) {
                cluster.place(type, at: position)
                running.append((type, position))
            }
            // Leave about as often as arrive once the cluster is busy, and power nodes up and down.
            if !running.isEmpty, random.next() % 100 < (step < 600 ? 25 : 55) {
                let gone = running.remove(at: Int(random.next() % UInt64(running.count)))
                cluster.release(gone.0, at: gone.1)
            }
            if random.next() % 10 == 0 {
                let position = Int(random.next() % 150)
                cluster.setAwake(!cluster.snapshot.nodes[position].isAwake, at: position)
            }
        }
        #expect(compared == 1500)
        #expect(cluster.classCount > 3 && cluster.classCount < 150)
    }

    @Test func aFullClusterExplainsItselfAsTheSnapshotDoes() {
        var cluster = IndexedCluster(ClusterSnapshot(nodes: [.make("a", cores: 1), .make("b", cores: 1)]))
        cluster.place(.small, at: 0)
        cluster.place(.small, at: 1)
        let request = PlacementRequest(vmType: .small)
        #expect(PlacementPolicy.greedy.choose(request, in: cluster) == PlacementPolicy.greedy.choose(request, in: cluster.snapshot))
        #expect(PlacementPolicy.greedy.choose(request, in: cluster).candidates == 0)
        // A preferred node is honoured as on the snapshot.
        cluster.release(.small, at: 1)
        #expect(PlacementPolicy.greedy.choose(PlacementRequest(vmType: .small, preferredNode: "b"), in: cluster).decision == .node("b"))
    }

    /// The ordered set under the classes, against the standard library's set.
    @Test(arguments: [40, 5000])
    func positionSetAnswersAsASortedSet(_ universe: Int) {
        var set = PositionSet(universe: universe)
        var reference = Set<Int>()
        var random = SeededGenerator(seed: UInt64(universe))
        for step in 0..<2000 {
            let position = Int(random.next() % UInt64(universe))
            if reference.contains(position) {
                reference.remove(position)
                set.remove(position)
            } else {
                reference.insert(position)
                set.insert(position)
            }
            let probe = Int(random.next() % UInt64(universe + 1))
            guard universe < 100 || step % 8 == 0 else { continue }
            let sorted = reference.sorted()
            #expect(set.count == reference.count)
            #expect(set.first == sorted.first && set.last == sorted.last)
            #expect(set.atOrAfter(probe) == sorted.first { $0 >= probe })
            #expect(set.before(probe) == sorted.last { $0 < probe })
        }
    }
}
