import EucaCore
import EucaScheduler
import EucaTesting
import Testing

@Suite struct PlacementTests {
    let nodes = ClusterSnapshot(nodes: [.make("a"), .make("b"), .make("c")])

    @Test func greedyFillsTheFirstNodeFirst() {
        let requests = Array(repeating: PlacementRequest(vmType: .xlarge), count: 3)
        let (decisions, _) = PlacementPolicy.greedy.place(requests, in: nodes)
        #expect(decisions.map(\.node) == ["a", "a", "b"])
    }

    @Test func roundRobinTakesTheNextNodeAfterTheLastChosen() {
        let requests = Array(repeating: PlacementRequest(vmType: .small), count: 5)
        let (decisions, cluster) = PlacementPolicy.roundRobin.place(requests, in: nodes)
        #expect(decisions.map(\.node) == ["a", "b", "c", "a", "b"])
        #expect(cluster.lastChosen == "b")
        // It continues from where the last placement left off.
        #expect(PlacementPolicy.roundRobin.place(PlacementRequest(vmType: .small), in: cluster) == .node("c"))
    }

    @Test func roundRobinSkipsFullNodes() {
        let cluster = ClusterSnapshot(nodes: [.make("a"), .make("b", freeCores: 0), .make("c")], lastChosen: "a")
        #expect(PlacementPolicy.roundRobin.place(PlacementRequest(vmType: .small), in: cluster) == .node("c"))
    }

    @Test func noRoomGivesEachNodesReason() {
        let cluster = ClusterSnapshot(nodes: [.make("a", freeMemoryMiB: 64), .make("b", cores: 2)])
        guard case .unplaceable(let reasons) = PlacementPolicy.greedy.place(PlacementRequest(vmType: .xlarge), in: cluster) else {
            Issue.record("placed an instance that fits nowhere")
            return
        }
        #expect(reasons["a"]?.contains("MiB free") == true)
        #expect(reasons["b"]?.contains("larger than the whole node") == true)
    }

    @Test func aPreferredNodeWinsWhenItFits() {
        let request = PlacementRequest(vmType: .small, preferredNode: "c")
        #expect(PlacementPolicy.greedy.place(request, in: nodes) == .node("c"))
        let full = ClusterSnapshot(nodes: [.make("a"), .make("c", freeCores: 0)])
        #expect(PlacementPolicy.greedy.place(request, in: full) == .node("a"))
    }

    @Test func scorersCombineByWeight() {
        struct MostFreeMemory: PlacementScorer {
            let name = "free-memory"
            var weight = 2.0
            func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double { Double(node.freeMemoryMiB) }
        }
        let cluster = ClusterSnapshot(nodes: [.make("a", freeMemoryMiB: 1024), .make("b", freeMemoryMiB: 4096)])
        let policy = PlacementPolicy(name: "SPREAD", filters: [CapacityFilter()], scorers: [NodeOrderScorer(), MostFreeMemory()])
        #expect(policy.place(PlacementRequest(vmType: .small), in: cluster) == .node("b"))
    }

    @Test func theRegistryKnowsTheBuiltInsAndRefusesDuplicates() throws {
        var registry = PlacementRegistry.builtIn
        #expect(registry.names == ["GREEDY", "MOSTROOM", "POWERSAVE", "ROUNDROBIN"])
        #expect(registry.policy(named: "roundrobin")?.name == "ROUNDROBIN")
        try registry.register("POWERSAVE-EXPERIMENT") { .greedy }
        #expect(throws: EucaError.self) { try registry.register("greedy") { .greedy } }
        #expect(registry.policy(named: "nope") == nil)
    }
}

@Suite struct PowerSavePlacementTests {
    @Test func powerSavePacksOntoTheFullestAwakeNode() {
        let cluster = ClusterSnapshot(nodes: [.make("a"), .make("b", freeCores: 3, freeMemoryMiB: 4096), .make("c", freeCores: 6)])
        let requests = Array(repeating: PlacementRequest(vmType: .small), count: 4)
        let (decisions, after) = PlacementPolicy.powerSave.place(requests, in: cluster)
        // b is fullest and keeps being chosen while it has room; then c, the next fullest.
        #expect(decisions.map(\.node) == ["b", "b", "b", "c"])
        #expect(after.nodes.map(\.freeCores) == [8, 0, 5])
    }

    @Test func aSleepingNodeIsChosenOnlyWhenNoAwakeNodeHasRoom() {
        let cluster = ClusterSnapshot(nodes: [.make("asleep", isAwake: false), .make("awake", freeCores: 1)])
        let (decisions, _) = PlacementPolicy.powerSave.place(Array(repeating: PlacementRequest(vmType: .small), count: 2), in: cluster)
        #expect(decisions.map(\.node) == ["awake", "asleep"])
        #expect(PlacementPolicy.powerSave.powersDownIdleNodes)
    }
}

/// "Fewest instances, then most free memory": a lexicographic order two weighted scorers cannot
/// say, since each is rescaled to 0...1 before weighting.
@Suite struct TieBreakTests {
    struct FewestInstances: PlacementScorer {
        let name = "fewest-instances"
        let weight = 1.0
        func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double { -Double(node.instances) }
    }

    struct FreeMemory: PlacementScorer {
        let name = "free-memory"
        var weight = 1.0
        func score(_ node: NodeSnapshot, for _: PlacementRequest, in _: ClusterSnapshot) -> Double { Double(node.freeMemoryMiB) }
    }

    let cluster = ClusterSnapshot(nodes: [
        .make("a", freeMemoryMiB: 2048, instances: 1), .make("b", freeMemoryMiB: 4096, instances: 3),
        .make("c", freeMemoryMiB: 3072, instances: 1), .make("d", freeMemoryMiB: 8192, instances: 2),
    ])

    @Test func theTieBreakerDecidesOnlyAmongNodesThatTie() {
        let policy = PlacementPolicy(name: "LEASTINSTANCES", filters: [CapacityFilter()], scorers: [FewestInstances()], tieBreakers: [FreeMemory()])
        let choice = policy.choose(PlacementRequest(vmType: .small), in: cluster)
        // a and c have the fewest; of them c has more memory free. d has the most memory but more instances.
        #expect(choice.decision == .node("c") && choice.candidates == 4 && choice.score == 1)
        // Weighted together, the two scorers would pick d: the lexicographic order is not a sum.
        let summed = PlacementPolicy(name: "SUM", filters: [CapacityFilter()], scorers: [FewestInstances(), FreeMemory()])
        #expect(summed.place(PlacementRequest(vmType: .small), in: cluster) == .node("d"))
        // A negative weight reverses a tie-breaker: the least memory free among the tied.
        let packing = PlacementPolicy(name: "P", filters: [CapacityFilter()], scorers: [FewestInstances()], tieBreakers: [FreeMemory(weight: -1)])
        #expect(packing.place(PlacementRequest(vmType: .small), in: cluster) == .node("a"))
        // Tie-breakers alone order every node.
        let alone = PlacementPolicy(name: "M", filters: [CapacityFilter()], scorers: [], tieBreakers: [FreeMemory()])
        #expect(alone.choose(PlacementRequest(vmType: .small), in: cluster) == PlacementChoice(decision: .node("d"), candidates: 4, score: nil, position: 3))
    }
}
