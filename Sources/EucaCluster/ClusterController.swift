public import EucaCore
public import EucaScheduler
public import Foundation
public import Logging
import Metrics
import Synchronization
public import ServiceLifecycle

/// The cluster controller: one availability zone. It places instances on its nodes with a
/// ``PlacementPolicy``, relays operations to the node that holds each instance, and polls its nodes
/// on a timer into a cache, so that describe calls never wait on a node.
///
/// A launch goes through one scheduling cycle: the policy's filters and scorers choose a node
/// (``PlacementPolicy/place(_:in:)``), the cluster's ``ReservationLedger`` reserves the room, the
/// node is asked to run it (bind), and the reservation is released when the node's own figures
/// count the instance or the launch fails. Placement sees each node's figures minus what the
/// ledger holds, so concurrent launches never overcommit a node. Running it (as a `Service`) runs the poller; a
/// cluster that is never run polls once, on the first describe.
public actor ClusterController: ClusterControllerAPI, Service {
    public nonisolated let zone: String
    private var nodes: [any NodeControllerAPI]
    private let policy: PlacementPolicy
    private let settings: ClusterTimings
    private let logger: Logger
    private var location: [InstanceID: NodeID] = [:]
    /// Room held on each node for launches its figures do not count yet.
    private var reservations = ReservationLedger<NodeID, UInt64>()
    /// Orders what the cluster does and learns: polls, launches and what they taught. Counted,
    /// not timed, so that order never depends on a clock's resolution.
    private var sequence: UInt64 = 0
    /// Where the cluster reads the time and waits (polls, idle thresholds, wake timeouts).
    private let clock: any EucaClock
    private var lastChosen: NodeID?
    private var cache: [NodeID: NodeState] = [:]
    private var polled = false
    private let power: (any NodePower)?
    private let powerTimings: PowerTimings
    /// Nodes powered down because they were idle.
    private var asleep: Set<NodeID> = []
    /// Where the cluster keeps what must outlive a restart: the nodes it powered down, with the
    /// room they had.
    private let store: any StateStore

    /// A node powered down, as the store holds it.
    public struct SleepingNode: Codable, Sendable {
        public var node: NodeID
        public var resources: NodeResources?
        public init(node: NodeID, resources: NodeResources?) {
            self.node = node
            self.resources = resources
        }
    }

    /// The nodes this cluster powered down, keyed by node name.
    public static let sleepingNodes = StoreCollection<SleepingNode>("cluster-sleeping-nodes")
    /// Reports the cluster learned from its own operations, per node, with when: a poll that
    /// began before then does not know them and must not drop them.
    private var learned: [NodeID: [InstanceID: UInt64]] = [:]
    /// When (in the cluster's order) the figures cached for each node were asked for: an answer
    /// to an older question never replaces them.
    private var figuresFrom: [NodeID: UInt64] = [:]
    /// Since when each awake node has run nothing.
    private var idleSince: [NodeID: Date] = [:]
    /// The network policy the cloud last handed down, and the nodes that have taken it.
    private var networkPolicy: NetworkPolicy?
    private var policyHeld: Set<NodeID> = []
    /// Launch calls in flight on each node (at most `launchesPerNode`, whichever batch they
    /// belong to), and the launches waiting for one of them to finish, in arrival order.
    private let launchSlots = LaunchGate()

    /// What the cluster last heard from a node.
    public struct NodeState: Sendable {
        public var resources: NodeResources?
        /// What the node runs, by instance: its last answer, with what operations taught since.
        public var reports: [InstanceID: InstanceReport]
        public var reachable: Bool
        public var lastContact: Date?
        public var lastError: String?
        /// Powered down by the cluster because it was idle.
        public var asleep: Bool = false
        /// The node answered the last poll for its room but not with its instances in time:
        /// ``reports`` are those of an earlier answer.
        public var listingLate: Bool = false
    }

    /// A cluster of `nodes`, placing with `policy`. When the policy powers down idle nodes and
    /// `power` is given, nodes idle for `powerTimings.idleThreshold` are powered down through it
    /// (one node always stays up) and woken when placement chooses them. A cluster made with this
    /// initializer starts with no node asleep; ``open(zone:nodes:policy:timings:power:powerTimings:store:clock:logger:)``
    /// reads back the ones a store names.
    public init(
        zone: String, nodes: [any NodeControllerAPI], policy: PlacementPolicy, timings: ClusterTimings = ClusterTimings(),
        power: (any NodePower)? = nil, powerTimings: PowerTimings = PowerTimings(), store: any StateStore = InMemoryStateStore(),
        clock: any EucaClock = SystemClock(), logger: Logger
    ) {
        self.init(
            zone: zone, nodes: nodes, policy: policy, timings: timings, power: power, powerTimings: powerTimings, store: store,
            sleeping: [], clock: clock, logger: logger)
    }

    /// A cluster over `store`: nodes it powered down before a restart are still down, so
    /// placement may choose them (with the room they had) and wakes them.
    public static func open(
        zone: String, nodes: [any NodeControllerAPI], policy: PlacementPolicy, timings: ClusterTimings = ClusterTimings(),
        power: (any NodePower)? = nil, powerTimings: PowerTimings = PowerTimings(), store: any StateStore,
        clock: any EucaClock = SystemClock(), logger: Logger
    ) async throws -> ClusterController {
        let sleeping = try await store.read { txn in try txn.all(sleepingNodes).map(\.value) }
        return ClusterController(
            zone: zone, nodes: nodes, policy: policy, timings: timings, power: power, powerTimings: powerTimings, store: store,
            sleeping: sleeping, clock: clock, logger: logger)
    }

    private init(
        zone: String, nodes: [any NodeControllerAPI], policy: PlacementPolicy, timings: ClusterTimings, power: (any NodePower)?,
        powerTimings: PowerTimings, store: any StateStore, sleeping: [SleepingNode], clock: any EucaClock, logger: Logger
    ) {
        self.zone = zone
        self.clock = clock
        self.store = store
        for entry in sleeping where nodes.contains(where: { $0.node == entry.node }) {
            asleep.insert(entry.node)
            cache[entry.node] = NodeState(resources: entry.resources, reports: [:], reachable: false)
        }
        self.nodes = nodes
        self.policy = policy
        self.settings = timings
        self.power = policy.powersDownIdleNodes ? power : nil
        self.powerTimings = powerTimings
        var logger = logger
        logger[metadataKey: "euca.zone"] = "\(zone)"
        self.logger = logger
    }

    /// Records the sleeping nodes in the store, replacing what it held.
    private func saveSleeping() async {
        let entries = asleep.sorted().map { SleepingNode(node: $0, resources: cache[$0]?.resources) }
        do {
            try await store.write { txn in
                for (key, _) in try txn.all(Self.sleepingNodes) { try txn.delete(key, from: Self.sleepingNodes) }
                for entry in entries { try txn.put(entry, at: entry.node.rawValue, in: Self.sleepingNodes) }
            }
        } catch {
            logger.error("could not record the sleeping nodes", metadata: ["error": "\(error)"])
        }
    }

    /// The placement policy's name.
    public nonisolated var policyName: String { policy.name }

    /// Replaces the set of nodes (as registered with the cloud controller). Nodes that are gone
    /// are forgotten; new ones are polled at once.
    public func setNodes(_ newNodes: [any NodeControllerAPI]) async {
        let kept = Set(newNodes.map(\.node))
        for node in nodes where !kept.contains(node.node) {
            cache[node.node] = nil
            learned[node.node] = nil
            figuresFrom[node.node] = nil
            reservations.forget(node.node)
            if asleep.remove(node.node) != nil { await saveSleeping() }
            idleSince[node.node] = nil
            logger.info("node removed", metadata: ["euca.node": "\(node.node)"])
        }
        let known = Set(nodes.map(\.node))
        nodes = newNodes
        for node in newNodes where !known.contains(node.node) {
            logger.info("node added", metadata: ["euca.node": "\(node.node)"])
        }
        await poll()
    }

    /// The nodes and what the cluster last heard from each.
    public func nodeStates() async -> [(node: NodeID, state: NodeState)] {
        if !polled { await poll() }
        return nodes.map { node in
            var state = cache[node.node] ?? NodeState(resources: nil, reports: [:], reachable: false)
            state.asleep = asleep.contains(node.node)
            return (node.node, state)
        }
    }

    // MARK: - Polling

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.poll()
                try? await self.clock.sleep(for: self.settings.pollInterval)
            }
        }
        logger.info("cluster controller stopped")
    }

    /// Asks every node, concurrently and with a timeout, what it has free and what it runs.
    ///
    /// The two questions are asked in turn, each with its own timeout: a node that answers
    /// for its room is reachable and its figures count, even when listing its instances takes
    /// longer (a hypervisor working through a backlog of launches answers a listing after them);
    /// the instances it last reported stand until a listing arrives.
    public func poll() async {
        let timeout = settings.nodeTimeout
        let started = ContinuousClock.now
        let began = tick()
        let awake = nodes.filter { !asleep.contains($0.node) }
        /// A node's answer: none, or its room and (in time or not) its instances.
        enum Answer: Sendable {
            case silent(any Error)
            case answered(NodeResources, listing: Result<[InstanceReport], any Error>)
        }
        let results = await withTaskGroup(of: (NodeID, Answer).self) { group in
            for node in awake {
                group.addTask {
                    // One after the other, as one connection to the node carries them.
                    switch await Self.asking(timeout, { try await node.describeResource() }) {
                    case .failure(let error):
                        return (node.node, .silent(error))
                    case .success(let resources):
                        return (node.node, .answered(resources, listing: await Self.asking(timeout) { try await node.describeInstances() }))
                    }
                }
            }
            var results: [(NodeID, Answer)] = []
            for await result in group { results.append(result) }
            return results
        }
        // A poll cut short by shutdown says nothing about the nodes.
        if Task.isCancelled { return }
        let now = clock.now()
        for (node, answer) in results {
            var state = cache[node] ?? NodeState(resources: nil, reports: [:], reachable: false)
            switch answer {
            case .answered(let resources, let reports):
                if !state.reachable && state.lastContact != nil {
                    logger.notice("node answers again", metadata: ["euca.node": "\(node)"])
                    policyHeld.remove(node)
                }
                takeFigures(resources, for: node, askedAt: began, into: &state)
                state.reachable = true
                state.lastContact = now
                state.lastError = nil
                switch reports {
                case .success(let reports):
                    if state.listingLate { logger.notice("node lists its instances again", metadata: ["euca.node": "\(node)"]) }
                    state.listingLate = false
                    state.reports = merged(reports, on: node, polledFrom: began, cached: state.reports)
                    for report in reports { location[report.instanceId] = node }
                case .failure(let error):
                    if !state.listingLate {
                        logger.warning("node answers, but not with its instances", metadata: ["euca.node": "\(node)", "error": "\(error)"])
                    }
                    state.listingLate = true
                }
            case .silent(let error):
                if state.reachable || state.lastContact == nil {
                    logger.warning("node does not answer", metadata: ["euca.node": "\(node)", "error": "\(error)"])
                }
                state.reachable = false
                state.lastError = "\(error)"
            }
            cache[node] = state
        }
        polled = true
        await handOutNetworkPolicy()
        if power != nil { await powerDownIdleNodes(now: now) }
        let reachable = nodes.filter { cache[$0.node]?.reachable == true }.count
        Metrics.Timer(label: "euca_cluster_poll_duration", dimensions: [("zone", zone)]).record(duration: started.duration(to: .now))
        Gauge(label: "euca_cluster_nodes", dimensions: [("zone", zone), ("state", "reachable")]).record(reachable)
        Gauge(label: "euca_cluster_nodes", dimensions: [("zone", zone), ("state", "asleep")]).record(asleep.count)
        Gauge(label: "euca_cluster_nodes", dimensions: [("zone", zone), ("state", "unreachable")]).record(nodes.count - reachable - asleep.count)
        Gauge(label: "euca_cluster_instances", dimensions: [("zone", zone)]).record(cache.values.reduce(0) { $0 + $1.reports.count })
    }

    // MARK: - Power

    /// Powers down nodes that have run nothing for the idle threshold, keeping one node up.
    private func powerDownIdleNodes(now: Date) async {
        guard let power else { return }
        for node in nodes where !asleep.contains(node.node) {
            let state = cache[node.node]
            let idle = state?.reachable == true && state?.reports.isEmpty == true && !reservations.holds(node.node)
            idleSince[node.node] = idle ? idleSince[node.node] ?? now : nil
        }
        let threshold = Double(powerTimings.idleThreshold.components.seconds) + Double(powerTimings.idleThreshold.components.attoseconds) / 1e18
        var up = nodes.filter { !asleep.contains($0.node) && cache[$0.node]?.reachable == true }.count
        for node in nodes where up > 1 {
            guard let since = idleSince[node.node], now.timeIntervalSince(since) >= threshold, !asleep.contains(node.node) else { continue }
            asleep.insert(node.node)
            idleSince[node.node] = nil
            up -= 1
            // Recorded before the command runs: a restart in between must not lose a node that went down.
            await saveSleeping()
            do {
                try await power.powerDown(node.node)
                logger.info("idle node powered down", metadata: ["euca.node": "\(node.node)", "idle": "\(Int(now.timeIntervalSince(since)))s"])
            } catch {
                asleep.remove(node.node)
                await saveSleeping()
                up += 1
                logger.error("could not power down an idle node", metadata: ["euca.node": "\(node.node)", "error": "\(error)"])
            }
        }
    }

    /// Wakes `node` and waits until its node controller answers. Throws when it does not answer
    /// within the wake timeout.
    private func wake(_ node: any NodeControllerAPI) async throws {
        guard let power, asleep.contains(node.node) else { return }
        logger.info("waking node for a launch", metadata: ["euca.node": "\(node.node)"])
        try await power.wake(node.node)
        let deadline = clock.now().adding(powerTimings.wakeTimeout)
        let timeout = settings.nodeTimeout
        while true {
            let asked = tick()
            if let resources = try? await withTimeout(timeout, { try await node.describeResource() }) {
                asleep.remove(node.node)
                await saveSleeping()
                var state = cache[node.node] ?? NodeState(resources: nil, reports: [:], reachable: true)
                takeFigures(resources, for: node.node, askedAt: asked, into: &state)
                state.reachable = true
                state.lastContact = clock.now()
                cache[node.node] = state
                logger.info("node woke", metadata: ["euca.node": "\(node.node)"])
                return
            }
            guard clock.now() < deadline else {
                throw EucaError(.unavailable, .node, "\(node.node) did not answer within \(powerTimings.wakeTimeout) of being woken")
            }
            try await clock.sleep(for: .milliseconds(200))
        }
    }

    // MARK: - Placement

    /// Free resources per reachable node, after what the ledger holds for launches in flight.
    private func snapshot() async -> ClusterSnapshot {
        if !polled { await poll() }
        var snapshots: [NodeSnapshot] = []
        for node in nodes {
            let sleeping = asleep.contains(node.node)
            guard let state = cache[node.node], state.reachable || sleeping, let resources = state.resources else { continue }
            snapshots.append(NodeSnapshot(resources, isAwake: !sleeping))
        }
        return ClusterSnapshot(nodes: snapshots, lastChosen: lastChosen).holding(reservations)
    }

    private func node(_ id: NodeID) -> (any NodeControllerAPI)? {
        nodes.first { $0.node == id }
    }

    public func runInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome] {
        try await launch(launches, start: false)
    }

    public func startInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome] {
        try await launch(launches, start: true)
    }

    private func launch(_ launches: [InstanceLaunch], start: Bool) async throws -> [InstanceOutcome] {
        var cluster = await snapshot()
        var placed: [(InstanceLaunch, NodeID)] = []
        var outcomes: [InstanceID: InstanceOutcome] = [:]
        for launch in launches {
            // An instance the cluster already placed stays where it is (a repeated launch).
            if let known = location[launch.instanceId], node(known) != nil {
                placed.append((launch, known))
                continue
            }
            // Filter and score.
            let request = PlacementRequest(vmType: launch.vmType, instanceId: launch.instanceId, preferredNode: launch.preferredNode)
            let choice = policy.choose(request, in: cluster)
            switch choice.decision {
            case .node(let node):
                // Each decision, so a run can be read (and compared with a simulated one) line by line.
                logger.info("instance placed", metadata: [
                    "euca.instance": "\(launch.instanceId)", "euca.node": "\(node)", "policy": "\(policy.name)",
                    "candidates": "\(choice.candidates)", "score": "\(choice.score.map { String(format: "%.4f", $0) } ?? "-")",
                ])
                // Reserve.
                cluster.place(launch.vmType, on: node)
                reservations.reserve(launch.instanceId, launch.vmType, on: node)
                location[launch.instanceId] = node
                placed.append((launch, node))
            case .unplaceable(let reasons):
                logger.warning("no node has room", metadata: ["euca.instance": "\(launch.instanceId)", "reasons": "\(reasons)"])
                outcomes[launch.instanceId] = InstanceOutcome(instanceId: launch.instanceId, failure: .insufficientCapacity)
            }
        }
        lastChosen = cluster.lastChosen

        // Nodes placement chose while they slept are woken first.
        var failedToWake: [NodeID: String] = [:]
        for nodeID in Set(placed.map(\.1)) where asleep.contains(nodeID) {
            guard let node = node(nodeID) else { continue }
            do {
                try await wake(node)
            } catch {
                failedToWake[nodeID] = "\(error)"
                logger.error("could not wake a node", metadata: ["euca.node": "\(nodeID)", "error": "\(error)"])
            }
        }
        // Bind: each node is asked to run what was placed on it, a few at a time.
        let launchTimeout = settings.launchTimeout
        let perNode = settings.launchesPerNode
        var byNode: [NodeID: [InstanceLaunch]] = [:]
        for (launch, nodeID) in placed { byNode[nodeID, default: []].append(launch) }
        let results = await withTaskGroup(of: [InstanceOutcome].self) { group in
            for (nodeID, launches) in byNode {
                guard let node = node(nodeID) else { continue }
                if let why = failedToWake[nodeID] {
                    group.addTask { launches.map { InstanceOutcome(instanceId: $0.instanceId, node: nodeID, failure: .failed(why)) } }
                    continue
                }
                group.addTask { [launchSlots] in
                    await Self.bind(launches, on: node, start: start, timeout: launchTimeout, atOnce: perNode, slots: launchSlots)
                }
            }
            var results: [InstanceOutcome] = []
            for await outcomes in group { results += outcomes }
            return results
        }
        // Cancelled (the daemon is stopping): the launches cut short did not fail, and must not
        // be reported as failed; the caller keeps them pending and hands them over again.
        try Task.checkCancellation()
        for outcome in results {
            if let node = outcome.node, let report = outcome.report { remember(report, on: node) }
            if outcome.failure == nil {
                reservations.bind(outcome.instanceId, at: tick())
            } else {
                reservations.release(outcome.instanceId)
                location[outcome.instanceId] = nil
            }
            outcomes[outcome.instanceId] = outcome
        }
        for (launch, _) in placed where outcomes[launch.instanceId] == nil { reservations.release(launch.instanceId) }
        // The nodes' own accounting now includes what they launched.
        if !results.isEmpty { await refreshResources(of: Set(results.compactMap(\.node))) }
        return launches.compactMap { outcomes[$0.instanceId] }
    }

    /// Keeps a node's figures unless newer ones are cached, and releases the reservations they count.
    private func takeFigures(_ resources: NodeResources, for node: NodeID, askedAt began: UInt64, into state: inout NodeState) {
        guard began >= figuresFrom[node] ?? 0 else { return }
        figuresFrom[node] = began
        state.resources = resources
        reservations.figuresArrived(for: node, fetchedFrom: began)
    }

    /// The next number in the cluster's order of events.
    private func tick() -> UInt64 {
        sequence += 1
        return sequence
    }

    /// Asks `node` to run (or start) each launch, at most `atOnce` at a time: a large batch
    /// neither floods a node with calls nor holds a task per instance while it waits. Each call
    /// also holds one of the node's launch slots (`slot`), shared by every batch: however many
    /// launches a cloud hands over at once, a node works on a few, and its answer to a poll
    /// waits behind those few rather than behind all of them.
    private static func bind(
        _ launches: [InstanceLaunch], on node: any NodeControllerAPI, start: Bool, timeout: Duration, atOnce: Int,
        slots: LaunchGate
    ) async -> [InstanceOutcome] {
        let nodeID = node.node
        @Sendable func one(_ launch: InstanceLaunch) async -> InstanceOutcome {
            await slots.take(on: nodeID, limit: atOnce)
            let outcome = await attempt(launch)
            slots.give(on: nodeID)
            return outcome
        }
        @Sendable func attempt(_ launch: InstanceLaunch) async -> InstanceOutcome {
            // A launch that waited for its slot through a shutdown is not begun.
            if Task.isCancelled { return InstanceOutcome(instanceId: launch.instanceId, node: nodeID, failure: .failed("\(CancellationError())")) }
            do {
                let report = try await withTimeout(timeout) {
                    start ? try await node.startInstance(launch) : try await node.runInstance(launch)
                }
                return InstanceOutcome(instanceId: launch.instanceId, node: nodeID, report: report)
            } catch let error as EucaError where error.code == .insufficientCapacity {
                return InstanceOutcome(instanceId: launch.instanceId, node: nodeID, failure: .insufficientCapacity)
            } catch {
                return InstanceOutcome(instanceId: launch.instanceId, node: nodeID, failure: .failed("\(error)"))
            }
        }
        return await withTaskGroup(of: InstanceOutcome.self) { group in
            var pending = launches.makeIterator()
            for _ in 0..<max(1, atOnce) {
                guard let launch = pending.next() else { break }
                group.addTask { await one(launch) }
            }
            var outcomes: [InstanceOutcome] = []
            outcomes.reserveCapacity(launches.count)
            while let outcome = await group.next() {
                outcomes.append(outcome)
                if let launch = pending.next() { group.addTask { await one(launch) } }
            }
            return outcomes
        }
    }

    /// Keeps a node's reply in the cache, so describe answers follow operations at once.
    private func remember(_ report: InstanceReport, on node: NodeID) {
        guard cache[node] != nil else { return }
        // In place: a copy of the node's state here would copy every report, once per launch.
        cache[node]?.reports[report.instanceId] = report
        learned[node, default: [:]][report.instanceId] = tick()
    }

    /// A poll's reports for `node`, keeping what operations taught the cluster after the poll
    /// began: an instance launched while the poll was under way is not in its answer, and one
    /// terminated meanwhile still is.
    private func merged(
        _ polled: [InstanceReport], on node: NodeID, polledFrom began: UInt64, cached: [InstanceID: InstanceReport]
    ) -> [InstanceID: InstanceReport] {
        var reports = Dictionary(polled.map { ($0.instanceId, $0) }, uniquingKeysWith: { _, last in last })
        guard let recent = learned[node] else { return reports }
        let newer = recent.filter { $0.value > began }
        learned[node] = newer.isEmpty ? nil : newer
        // Newer knowledge wins: what the cache holds for those instances, or their absence.
        for id in newer.keys { reports[id] = cached[id] }
        return reports
    }

    private func forget(_ id: InstanceID, on node: NodeID) {
        guard cache[node] != nil else { return }
        cache[node]?.reports[id] = nil
        learned[node, default: [:]][id] = tick()
    }

    private func refreshResources(of nodeIDs: Set<NodeID>) async {
        for nodeID in nodeIDs {
            let began = tick()
            guard let node = node(nodeID), let resources = try? await withTimeout(settings.nodeTimeout, { try await node.describeResource() })
            else { continue }
            if var state = cache[nodeID] {
                takeFigures(resources, for: nodeID, askedAt: began, into: &state)
                cache[nodeID] = state
            }
        }
    }

    /// Relays an operation to the node of each instance.
    private func relay(
        _ ids: [InstanceID], _ operation: @escaping @Sendable (any NodeControllerAPI, InstanceID) async throws -> Void
    ) async -> [InstanceOutcome] {
        var targets: [(InstanceID, any NodeControllerAPI)] = []
        var outcomes: [InstanceID: InstanceOutcome] = [:]
        for id in ids {
            if let nodeID = location[id], let node = node(nodeID) {
                targets.append((id, node))
            } else {
                outcomes[id] = InstanceOutcome(instanceId: id, failure: .notFound)
            }
        }
        let timeout = settings.nodeTimeout
        let results = await withTaskGroup(of: InstanceOutcome.self) { group in
            for (id, node) in targets {
                group.addTask {
                    do {
                        try await withTimeout(timeout) { try await operation(node, id) }
                        return InstanceOutcome(instanceId: id, node: node.node)
                    } catch let error as EucaError where error.code == .notFound {
                        return InstanceOutcome(instanceId: id, node: node.node, failure: .notFound)
                    } catch {
                        return InstanceOutcome(instanceId: id, node: node.node, failure: .failed("\(error)"))
                    }
                }
            }
            var results: [InstanceOutcome] = []
            for await outcome in group { results.append(outcome) }
            return results
        }
        for outcome in results { outcomes[outcome.instanceId] = outcome }
        return ids.compactMap { outcomes[$0] }
    }

    public func terminateInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        if !polled { await poll() }
        let outcomes = await relay(ids) { node, id in try await node.terminateInstance(id) }
        for outcome in outcomes where outcome.failure == nil || outcome.failure == .notFound {
            if let node = location[outcome.instanceId] { forget(outcome.instanceId, on: node) }
            location[outcome.instanceId] = nil
        }
        await refreshResources(of: Set(outcomes.compactMap(\.node)))
        return outcomes
    }

    public func stopInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        if !polled { await poll() }
        let outcomes = await relay(ids) { node, id in try await node.stopInstance(id) }
        for outcome in outcomes where outcome.failure == nil {
            if let node = outcome.node {
                remember(InstanceReport(instanceId: outcome.instanceId, node: node, state: .shutoff), on: node)
            }
        }
        return outcomes
    }

    public func rebootInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        if !polled { await poll() }
        return await relay(ids) { node, id in try await node.rebootInstance(id) }
    }

    /// What the nodes reported at the last poll; nodes that did not answer are listed as
    /// unreachable, so their instances are unknown rather than gone.
    public func describeInstances() async throws -> ClusterInstances {
        if !polled { await poll() }
        var reports: [InstanceReport] = []
        var unreachable: [NodeID] = []
        for node in nodes where !asleep.contains(node.node) {
            guard let state = cache[node.node], state.reachable else {
                unreachable.append(node.node)
                continue
            }
            reports += state.reports.values
        }
        return ClusterInstances(reports: reports, unreachableNodes: unreachable)
    }

    public func describeResources() async throws -> ClusterResources {
        let cluster = await snapshot()
        return ClusterResources(
            zone: zone,
            nodes: cluster.nodes.map { node in
                NodeResources(
                    node: node.id, totalCores: node.totalCores, freeCores: node.freeCores,
                    totalMemoryMiB: node.totalMemoryMiB, freeMemoryMiB: node.freeMemoryMiB,
                    totalDiskGiB: node.totalDiskGiB, freeDiskGiB: node.freeDiskGiB, instances: node.instances)
            })
    }

    public func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput {
        if !polled { await poll() }
        guard let nodeID = location[id], let node = node(nodeID) else {
            throw EucaError(.notFound, .instance, "no node in \(zone) holds \(id)")
        }
        return try await withTimeout(settings.nodeTimeout) { try await node.getConsoleOutput(id) }
    }

    public func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        if !polled { await poll() }
        guard let nodeID = location[id], let node = node(nodeID) else {
            throw EucaError(.notFound, .instance, "no node in \(zone) holds \(id)")
        }
        try await withTimeout(settings.nodeTimeout) { try await node.modifyInstanceMetadataOptions(id, options) }
    }

    public func configureNetwork(_ policy: NetworkPolicy) async throws {
        if let held = networkPolicy {
            // Older than the one held: it came late, and a newer one has been handed out.
            guard policy.generation >= held.generation else { return }
            if policy.groups == held.groups {
                networkPolicy = policy
                return
            }
        }
        networkPolicy = policy
        policyHeld = []
        await handOutNetworkPolicy()
    }

    /// Gives the current network policy to every reachable node that does not hold it yet and
    /// enforces policies (as its resources last said), at once; a node that fails gets it again
    /// after the next poll.
    private func handOutNetworkPolicy() async {
        guard let policy = networkPolicy else { return }
        let wanting = nodes.filter { node in
            !policyHeld.contains(node.node) && !asleep.contains(node.node) && cache[node.node]?.reachable != false
                && cache[node.node]?.resources?.enforcesNetwork != false
        }
        guard !wanting.isEmpty else { return }
        let timeout = settings.nodeTimeout
        let taken = await withTaskGroup(of: (NodeID, (any Error)?).self) { group in
            for node in wanting {
                group.addTask {
                    do {
                        try await withTimeout(timeout) { try await node.configureNetwork(policy) }
                        return (node.node, nil)
                    } catch {
                        return (node.node, error)
                    }
                }
            }
            var taken: [(NodeID, (any Error)?)] = []
            for await result in group { taken.append(result) }
            return taken
        }
        // A newer policy may have come while this one was handed out.
        guard policy == networkPolicy else { return }
        for (node, error) in taken {
            if let error {
                logger.warning("node did not take the network policy", metadata: ["euca.node": "\(node)", "error": "\(error)"])
            } else {
                policyHeld.insert(node)
            }
        }
    }
}

/// How often a cluster polls its nodes, and how long it waits for one.
public struct ClusterTimings: Sendable, Hashable {
    public var pollInterval: Duration
    public var nodeTimeout: Duration
    /// How long a node may take to run or start an instance (an image download and a boot)
    /// before the launch fails: a node that hangs does not hold a launch for ever.
    public var launchTimeout: Duration
    /// How many launches one node is asked to run at once, across every batch; the rest wait
    /// their turn at the cluster.
    public var launchesPerNode: Int

    public init(
        pollInterval: Duration = .seconds(1), nodeTimeout: Duration = .seconds(5), launchTimeout: Duration = .seconds(900),
        launchesPerNode: Int = 4
    ) {
        self.pollInterval = pollInterval
        self.nodeTimeout = nodeTimeout
        self.launchTimeout = launchTimeout
        self.launchesPerNode = launchesPerNode
    }
}

/// How long a node may stay idle before a power-saving cluster powers it down, and how long a
/// woken node may take to answer.
public struct PowerTimings: Sendable, Hashable {
    public var idleThreshold: Duration
    public var wakeTimeout: Duration

    public init(idleThreshold: Duration = .seconds(300), wakeTimeout: Duration = .seconds(300)) {
        self.idleThreshold = idleThreshold
        self.wakeTimeout = wakeTimeout
    }
}

/// Each node's launch slots, shared by every batch, taken and given without a hop onto the
/// cluster's actor (which is busy with polls and placements when launches are many).
final class LaunchGate: Sendable {
    private let slots = Mutex<[NodeID: LaunchSlots]>([:])

    /// Waits, in arrival order, until fewer than `limit` launch calls are in flight on `node`.
    func take(on node: NodeID, limit: Int) async {
        if slots.withLock({ $0[node, default: LaunchSlots()].take(limit: limit) }) { return }
        await withCheckedContinuation { waiter in
            // Asked again under the lock: a slot given back since is taken here, not missed.
            let granted = slots.withLock { slots -> Bool in
                if slots[node, default: LaunchSlots()].take(limit: limit) { return true }
                slots[node]!.wait(waiter)
                return false
            }
            if granted { waiter.resume() }
        }
    }

    /// Hands a finished call's slot to the launch that has waited longest, or frees it.
    func give(on node: NodeID) {
        let next = slots.withLock { slots -> CheckedContinuation<Void, Never>? in
            let next = slots[node]?.give()
            if slots[node]?.isIdle == true { slots[node] = nil }
            return next
        }
        next?.resume()
    }
}

/// One node's launch slots: how many calls are in flight, and who waits for one, first come first served.
struct LaunchSlots {
    private var inFlight = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var head = 0

    var isIdle: Bool { inFlight == 0 && head == waiting.count }

    /// Takes a slot if one is free.
    mutating func take(limit: Int) -> Bool {
        guard inFlight < max(1, limit) else { return false }
        inFlight += 1
        return true
    }

    mutating func wait(_ waiter: CheckedContinuation<Void, Never>) { waiting.append(waiter) }

    /// Gives a slot back: the longest waiter, to resume, takes it over; with none, it is free.
    mutating func give() -> CheckedContinuation<Void, Never>? {
        guard head < waiting.count else {
            inFlight -= 1
            return nil
        }
        let next = waiting[head]
        head += 1
        if head == waiting.count {
            waiting = []
            head = 0
        }
        return next
    }
}

extension ClusterController {
    /// `body`'s answer or failure within `timeout`.
    fileprivate static func asking<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await withTimeout(timeout, body)) } catch { return .failure(error) }
    }
}

/// Runs `body`, throwing `unavailable` if it takes longer than `timeout`.
public func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw EucaError(.unavailable, .node, "no answer within \(timeout)")
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw EucaError(.unavailable, .node, "no answer") }
        return first
    }
}
