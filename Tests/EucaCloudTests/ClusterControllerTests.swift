import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaTesting
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct ClusterControllerTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func cluster(nodes: Int, cores: Int, policy: PlacementPolicy = .greedy) throws -> ClusterController {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-cc-\(UUID())").path
        let controllers: [any NodeControllerAPI] = try (0..<nodes).map { index in
            try NodeController(
                hypervisor: InMemoryHypervisor(host: HostInfo(cores: cores, memoryMiB: 65536), bootTime: .milliseconds(20)),
                settings: NodeSettings(node: NodeID("n\(index)"), instancePath: "\(base)/n\(index)", maxDiskGiB: 1000),
                logger: logger)
        }
        return ClusterController(zone: "z", nodes: controllers, policy: policy, logger: logger)
    }

    /// One in-memory node controller, "n0".
    func oneNode(cores: Int, memoryMiB: Int, diskGiB: Int) throws -> NodeController {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-cc-\(UUID())").path
        return try NodeController(
            hypervisor: InMemoryHypervisor(host: HostInfo(cores: cores, memoryMiB: memoryMiB)),
            settings: NodeSettings(node: "n0", instancePath: "\(base)/n0", maxDiskGiB: diskGiB), logger: logger)
    }

    func launches(_ count: Int, _ type: VMType = .small) -> [InstanceLaunch] {
        (0..<count).map { _ in
            InstanceLaunch(
                instanceId: .generate(), reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"),
                vmType: type, imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:01", zone: "z")
        }
    }

    /// A node that never answers a launch does not hold it: the launch fails after the cluster's
    /// launch timeout, like every other call to a node after its own.
    @Test func aLaunchOnAHungNodeFailsAfterTheLaunchTimeout() async throws {
        let inner = try oneNode(cores: 4, memoryMiB: 8192, diskGiB: 100)
        let cluster = ClusterController(
            zone: "z", nodes: [neverLaunching(inner)], policy: .greedy,
            timings: ClusterTimings(launchTimeout: .milliseconds(200)), logger: logger)
        let outcomes = try await cluster.runInstances(launches(1))
        guard case .failed(let why)? = outcomes.first?.failure else {
            Issue.record("expected a failed launch, got \(outcomes)")
            return
        }
        #expect(why.contains("no answer"))
    }

    @Test func concurrentLaunchesNeverOvercommitANode() async throws {
        let cluster = try cluster(nodes: 2, cores: 3)
        // Six cores in all; three batches of three race for them while the nodes are still booting.
        let outcomes = await withTaskGroup(of: [InstanceOutcome].self) { group in
            for _ in 0..<3 { group.addTask { (try? await cluster.runInstances(launches(3))) ?? [] } }
            var all: [InstanceOutcome] = []
            for await batch in group { all += batch }
            return all
        }
        #expect(outcomes.count == 9)
        #expect(outcomes.filter { $0.failure == nil }.count == 6)
        #expect(outcomes.filter { $0.failure == .insufficientCapacity }.count == 3)
        let resources = try await cluster.describeResources()
        #expect(resources.nodes.map(\.freeCores) == [0, 0])
    }

    @Test func operationsReachTheNodeThatHoldsTheInstance() async throws {
        let cluster = try cluster(nodes: 3, cores: 4, policy: .roundRobin)
        let batch = launches(3)
        let outcomes = try await cluster.runInstances(batch)
        #expect(Set(outcomes.compactMap(\.node)) == ["n0", "n1", "n2"])
        let stopped = try await cluster.stopInstances([batch[1].instanceId])
        #expect(stopped.first?.failure == nil && stopped.first?.node == outcomes[1].node)
        let reports = try await cluster.describeInstances().reports
        #expect(reports.first { $0.instanceId == batch[1].instanceId }?.state == .shutoff)
        let terminated = try await cluster.terminateInstances([batch[0].instanceId, InstanceID.generate()])
        #expect(terminated.map(\.failure) == [nil, .notFound])
    }

    @Test func aPollUnderWayDoesNotUndoWhatALaunchOrTerminateTaught() async throws {
        let inner = try oneNode(cores: 4, memoryMiB: 65536, diskGiB: 1000)
        let held = HeldAnswers()
        let cluster = ClusterController(zone: "z", nodes: [held.node(inner)], policy: .greedy, logger: logger)
        let first = launches(1)
        _ = try await cluster.runInstances(first)
        // A poll takes its answer, and is held there while a launch and a terminate finish.
        held.holding.withLock { $0 = true }
        let poll = Task { await cluster.poll() }
        await held.gate.waitForSleepers(1)
        let second = launches(1)
        #expect(try await cluster.runInstances(second).first?.failure == nil)
        _ = try await cluster.terminateInstances(first.map(\.instanceId))
        held.gate.advance(by: .seconds(1))
        await poll.value
        let ids = Set(try await cluster.describeInstances().reports.map(\.instanceId))
        #expect(ids == [second[0].instanceId])
    }
}

extension ClusterControllerTests {
    /// Figures a poll asked for before a launch, answered after it, would show the launch's
    /// room free again: the cluster keeps the newer figures.
    @Test func aPollAnsweredLateDoesNotReplaceNewerFigures() async throws {
        let inner = try oneNode(cores: 2, memoryMiB: 65536, diskGiB: 1000)
        let held = HeldAnswers()
        let cluster = ClusterController(zone: "z", nodes: [held.node(inner)], policy: .greedy, logger: logger)
        await cluster.poll()
        held.holding.withLock { $0 = true }
        let poll = Task { await cluster.poll() }
        await held.gate.waitForSleepers(1)
        held.holding.withLock { $0 = false }
        #expect(try await cluster.runInstances(launches(1)).first?.failure == nil)
        #expect(try await cluster.describeResources().nodes.map(\.freeCores) == [1])
        held.gate.advance(by: .seconds(1))
        await poll.value
        #expect(try await cluster.describeResources().nodes.map(\.freeCores) == [1])
    }
}

extension ClusterControllerTests {
    /// A node whose hypervisor lists its instances only after a backlog (of launches) still
    /// answers for its room: it stays reachable, its figures count, and the instances it last
    /// listed stand until it lists them again.
    @Test func aNodeSlowToListItsInstancesStaysReachable() async throws {
        let inner = try oneNode(cores: 4, memoryMiB: 65536, diskGiB: 1000)
        let held = HeldAnswers()
        let cluster = ClusterController(
            zone: "z", nodes: [held.node(inner)], policy: .greedy, timings: ClusterTimings(nodeTimeout: .milliseconds(100)), logger: logger)
        let first = launches(1)
        _ = try await cluster.runInstances(first)
        await cluster.poll()

        held.holding.withLock { $0 = true }
        _ = try await inner.runInstance(launches(1)[0])
        await cluster.poll()
        let state = try #require(await cluster.nodeStates().first?.state)
        #expect(state.reachable && state.listingLate)
        #expect(state.reports.keys.sorted() == [first[0].instanceId])
        // The node's own figures, taken in that poll, count the instance launched behind the cluster's back.
        #expect(try await cluster.describeResources().nodes.map(\.freeCores) == [2])

        held.holding.withLock { $0 = false }
        await cluster.poll()
        let again = try #require(await cluster.nodeStates().first?.state)
        #expect(again.reachable && !again.listingLate && again.reports.count == 2)
    }

    /// A roomy node whose launches wait on a gate, behind a cluster that hands it `perNode` at once.
    func gatedCluster(launchesPerNode perNode: Int) throws -> (GatedLaunches, ClusterController) {
        let inner = try oneNode(cores: 64, memoryMiB: 65536, diskGiB: 1000)
        let gated = GatedLaunches()
        let cluster = ClusterController(
            zone: "z", nodes: [gated.node(inner)], policy: .greedy, timings: ClusterTimings(launchesPerNode: perNode), logger: logger)
        return (gated, cluster)
    }

    /// A large batch is handed to a node a few launches at a time, not all at once.
    @Test func aNodeIsAskedToRunAFewLaunchesAtATime() async throws {
        let (gated, cluster) = try gatedCluster(launchesPerNode: 3)
        let batch = Task { try await cluster.runInstances(launches(10)) }
        var released = 0
        while released < 10 {
            // Three in flight while three are left; then what is left.
            await gated.gate.waitForSleepers(min(3, 10 - released))
            let waiting = gated.gate.sleepers
            released += waiting
            gated.gate.advance(by: .seconds(1))
        }
        let outcomes = try await batch.value
        #expect(outcomes.count == 10 && outcomes.allSatisfy { $0.failure == nil })
        #expect(gated.mostAtOnce.withLock { $0 } == 3)
    }

    /// A batch cancelled (its daemon stopping) while its launches run or wait for a slot throws,
    /// rather than reporting them failed: the cloud keeps them pending for the next start.
    @Test func aCancelledBatchReportsNoFailures() async throws {
        let (gated, cluster) = try gatedCluster(launchesPerNode: 1)
        let batch = Task { try await cluster.runInstances(launches(3)) }
        await gated.gate.waitForSleepers(1)
        batch.cancel()
        await #expect(throws: CancellationError.self) { try await batch.value }
    }

    /// Many batches at once (a cloud handing over each RunInstances as it comes) share the
    /// node's slots: the node still works on three launches at a time, in the order they came.
    @Test func batchesShareTheNodesLaunchSlots() async throws {
        let inner = try oneNode(cores: 64, memoryMiB: 65536, diskGiB: 1000)
        let gated = GatedLaunches()
        let cluster = ClusterController(
            zone: "z", nodes: [gated.node(inner)], policy: .greedy, timings: ClusterTimings(launchesPerNode: 3), logger: logger)
        let batches = (0..<8).map { _ in Task { try await cluster.runInstances(launches(1)) } }
        var released = 0
        while released < 8 {
            await gated.gate.waitForSleepers(min(3, 8 - released))
            #expect(gated.inFlight.withLock { $0 } <= 3)
            released += gated.gate.sleepers
            gated.gate.advance(by: .seconds(1))
        }
        for batch in batches { #expect(try await batch.value.first?.failure == nil) }
        #expect(gated.mostAtOnce.withLock { $0 } == 3)
        // Every slot is free again: a new launch goes straight through.
        let next = Task { try await cluster.runInstances(launches(1)) }
        await gated.gate.waitForSleepers(1)
        gated.gate.advance(by: .seconds(1))
        #expect(try await next.value.first?.failure == nil)
    }
}

/// A node that passes every call to `inner`, with a hook before each launch or start and one
/// after each describeInstances has taken its answer: the test's gates go in the hooks.
final class InterposedNode: NodeControllerAPI {
    let inner: any NodeControllerAPI
    let beforeLaunch: @Sendable () async throws -> Void
    let afterAnswering: @Sendable () async throws -> Void
    let beforeDescribing: @Sendable () async throws -> Void
    init(
        _ inner: any NodeControllerAPI, beforeLaunch: @escaping @Sendable () async throws -> Void = {},
        afterAnswering: @escaping @Sendable () async throws -> Void = {},
        beforeDescribing: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.inner = inner
        self.beforeLaunch = beforeLaunch
        self.afterAnswering = afterAnswering
        self.beforeDescribing = beforeDescribing
    }
    var node: NodeID { inner.node }
    func runInstance(_ launch: InstanceLaunch) async throws -> InstanceReport {
        try await beforeLaunch()
        return try await inner.runInstance(launch)
    }
    func startInstance(_ launch: InstanceLaunch) async throws -> InstanceReport {
        try await beforeLaunch()
        return try await inner.startInstance(launch)
    }
    func terminateInstance(_ id: InstanceID) async throws { try await inner.terminateInstance(id) }
    func stopInstance(_ id: InstanceID) async throws { try await inner.stopInstance(id) }
    func rebootInstance(_ id: InstanceID) async throws { try await inner.rebootInstance(id) }
    func describeInstances() async throws -> [InstanceReport] {
        try await beforeDescribing()
        let answer = try await inner.describeInstances()
        try await afterAnswering()
        return answer
    }
    func describeResource() async throws -> NodeResources {
        try await beforeDescribing()
        return try await inner.describeResource()
    }
    func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput { try await inner.getConsoleOutput(id) }
    func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        try await inner.modifyInstanceMetadataOptions(id, options)
    }
    func configureNetwork(_ policy: NetworkPolicy) async throws { try await inner.configureNetwork(policy) }
}

/// A node whose launches each wait for the test to advance `gate`, counting how many wait at once.
final class GatedLaunches: Sendable {
    let gate = ManualClock()
    let inFlight = Mutex(0)
    let mostAtOnce = Mutex(0)
    func node(_ inner: any NodeControllerAPI) -> InterposedNode {
        InterposedNode(inner, beforeLaunch: { [self] in
            let now = inFlight.withLock { count -> Int in
                count += 1
                return count
            }
            mostAtOnce.withLock { $0 = max($0, now) }
            defer { inFlight.withLock { $0 -= 1 } }
            try await gate.sleep(for: .seconds(1))
        })
    }
}

/// A node whose describeInstances, once `holding` is set, takes its answer when asked and gives
/// it once the test advances `gate`.
final class HeldAnswers: Sendable {
    let gate = ManualClock()
    let holding = Mutex(false)
    func node(_ inner: any NodeControllerAPI) -> InterposedNode {
        InterposedNode(inner, afterAnswering: { [self] in
            if holding.withLock({ $0 }) { try await gate.sleep(for: .seconds(1)) }
        })
    }
}

/// A node that can be made to stop answering what it has and runs (its daemon is down, or the
/// network to it is).
final class SilencedNode: Sendable {
    let silent = Mutex(false)
    func node(_ inner: any NodeControllerAPI) -> InterposedNode {
        InterposedNode(inner, beforeDescribing: { [self] in
            if silent.withLock({ $0 }) { throw EucaError(.unavailable, .node, "the node does not answer") }
        })
    }
}

/// A node whose runInstance and startInstance never return (they wait on a clock nobody
/// advances, until cancelled).
func neverLaunching(_ inner: any NodeControllerAPI) -> InterposedNode {
    let never = ManualClock()
    return InterposedNode(inner, beforeLaunch: { try await never.sleep(for: .seconds(1)) })
}

/// The network policy the cloud sends: every node gets it once, a node that was away gets it when
/// it answers again, and the same policy twice is sent once.
@Suite struct NetworkPolicyHandOutTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A node that records the policies it is given and can be switched off.
    final class PolicyNode: NodeControllerAPI {
        let inner: any NodeControllerAPI
        let state = Mutex((policies: [NetworkPolicy](), off: false))
        /// What the node says of itself: whether it enforces network policies.
        let enforces: Bool
        init(_ inner: any NodeControllerAPI, enforces: Bool = true) {
            self.inner = inner
            self.enforces = enforces
        }
        var node: NodeID { inner.node }
        var policies: [NetworkPolicy] { state.withLock { $0.policies } }
        func switchOff(_ off: Bool) { state.withLock { $0.off = off } }
        private func on() throws { if state.withLock({ $0.off }) { throw EucaError(.unavailable, .node, "off") } }
        func runInstance(_ launch: InstanceLaunch) async throws -> InstanceReport { try on(); return try await inner.runInstance(launch) }
        func startInstance(_ launch: InstanceLaunch) async throws -> InstanceReport { try on(); return try await inner.startInstance(launch) }
        func terminateInstance(_ id: InstanceID) async throws { try on(); try await inner.terminateInstance(id) }
        func stopInstance(_ id: InstanceID) async throws { try on(); try await inner.stopInstance(id) }
        func rebootInstance(_ id: InstanceID) async throws { try on(); try await inner.rebootInstance(id) }
        func describeInstances() async throws -> [InstanceReport] { try on(); return try await inner.describeInstances() }
        func describeResource() async throws -> NodeResources {
            try on()
            var resources = try await inner.describeResource()
            resources.enforcesNetwork = enforces
            return resources
        }
        func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput { try on(); return try await inner.getConsoleOutput(id) }
        func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
            try on()
            try await inner.modifyInstanceMetadataOptions(id, options)
        }
        func configureNetwork(_ policy: NetworkPolicy) async throws {
            try on()
            state.withLock { $0.policies.append(policy) }
        }
    }

    @Test func everyNodeGetsThePolicyAndANodeThatWasAwayGetsItWhenItAnswersAgain() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-cc-\(UUID())").path
        let nodes = try (0..<2).map { index in
            PolicyNode(try NodeController(
                hypervisor: InMemoryHypervisor(host: HostInfo(cores: 4, memoryMiB: 8192)),
                settings: NodeSettings(node: NodeID("n\(index)"), instancePath: "\(base)/n\(index)", maxDiskGiB: 100), logger: logger))
        }
        let cluster = ClusterController(zone: "z", nodes: nodes, policy: .greedy, logger: logger)
        await cluster.poll()
        let first = InternalAPIContract.policy
        try await cluster.configureNetwork(first)
        try await cluster.configureNetwork(first)
        #expect(nodes.map(\.policies) == [[first], [first]])

        nodes[1].switchOff(true)
        await cluster.poll()
        let second = NetworkPolicy(groups: [])
        try await cluster.configureNetwork(second)
        #expect(nodes[0].policies == [first, second])
        #expect(nodes[1].policies == [first])
        nodes[1].switchOff(false)
        await cluster.poll()
        #expect(nodes[1].policies == [first, second], "the node that answers again is given the policy it missed")
        await cluster.poll()
        #expect(nodes.map(\.policies.count) == [2, 2], "and given it once")

        // A policy that comes after a newer one (late on the way) is not handed out.
        let newer = NetworkPolicy(groups: first.groups, generation: 9)
        try await cluster.configureNetwork(newer)
        try await cluster.configureNetwork(NetworkPolicy(groups: [], generation: 8))
        #expect(nodes.map { $0.policies.last } == [newer, newer])
    }

    @Test func aNodeThatEnforcesNoPolicyIsSentNone() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-cc-\(UUID())").path
        let nodes = try [true, false].enumerated().map { index, enforces in
            PolicyNode(try NodeController(
                hypervisor: InMemoryHypervisor(host: HostInfo(cores: 4, memoryMiB: 8192)),
                settings: NodeSettings(node: NodeID("n\(index)"), instancePath: "\(base)/n\(index)", maxDiskGiB: 100), logger: logger),
                enforces: enforces)
        }
        let cluster = ClusterController(zone: "z", nodes: nodes, policy: .greedy, logger: logger)
        await cluster.poll()
        try await cluster.configureNetwork(InternalAPIContract.policy)
        #expect(nodes.map(\.policies.count) == [1, 0])
        // A node controller with neither a VPC network nor a filtered bridge says it enforces none.
        let plain = try NodeController(
            hypervisor: InMemoryHypervisor(host: HostInfo(cores: 4, memoryMiB: 8192)),
            settings: NodeSettings(node: "n9", instancePath: "\(base)/n9", maxDiskGiB: 100), logger: logger)
        #expect(try await plain.describeResource().enforcesNetwork == false)
    }

    @Test func aNodeKeepsTheNewerOfTwoPoliciesWhateverOrderTheyArriveIn() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-nc-\(UUID())").path
        let store = InMemoryStateStore()
        let settings = NodeSettings(node: "n0", instancePath: base, maxDiskGiB: 100)
        let node = try await NodeController.open(hypervisor: InMemoryHypervisor(host: HostInfo(cores: 2, memoryMiB: 4096)), settings: settings, store: store, logger: logger)
        let newer = NetworkPolicy(groups: InternalAPIContract.policy.groups, generation: 2)
        try await node.configureNetwork(newer)
        try await node.configureNetwork(NetworkPolicy(groups: [], generation: 1))
        #expect(await node.networkPolicy == newer)
        // Kept across a restart.
        let reopened = try await NodeController.open(hypervisor: InMemoryHypervisor(host: HostInfo(cores: 2, memoryMiB: 4096)), settings: settings, store: store, logger: logger)
        #expect(await reopened.networkPolicy == newer)
    }
}
