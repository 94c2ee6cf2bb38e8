public import EucaCore
public import EucaScheduler
public import Logging

/// The cluster controller: one availability zone. It places instances on its nodes with a
/// ``PlacementPolicy`` and relays operations to the node that holds each instance.
///
/// Placement sees each node's free resources minus what launches in flight have claimed, so
/// concurrent launches never overcommit a node.
public actor ClusterController: ClusterControllerAPI {
    public nonisolated let zone: String
    private let nodes: [any NodeControllerAPI]
    private let policy: PlacementPolicy
    private let logger: Logger
    private var location: [InstanceID: NodeID] = [:]
    private var claims: [NodeID: [InstanceID: VMType]] = [:]
    private var lastChosen: NodeID?

    public init(zone: String, nodes: [any NodeControllerAPI], policy: PlacementPolicy, logger: Logger) {
        self.zone = zone
        self.nodes = nodes
        self.policy = policy
        var logger = logger
        logger[metadataKey: "euca.zone"] = "\(zone)"
        self.logger = logger
    }

    /// The placement policy's name.
    public nonisolated var policyName: String { policy.name }

    private func node(_ id: NodeID) -> (any NodeControllerAPI)? {
        nodes.first { $0.node == id }
    }

    /// Free resources per node, after what in-flight launches have claimed.
    private func snapshot() async -> ClusterSnapshot {
        var snapshots: [NodeSnapshot] = []
        for node in nodes {
            guard let resources = try? await node.describeResource() else { continue }
            var snapshot = NodeSnapshot(resources)
            for type in claims[node.node, default: [:]].values { snapshot = snapshot.placing(type) }
            snapshots.append(snapshot)
        }
        return ClusterSnapshot(nodes: snapshots, lastChosen: lastChosen)
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
            let request = PlacementRequest(vmType: launch.vmType, instanceId: launch.instanceId, preferredNode: launch.preferredNode)
            switch policy.place(request, in: cluster) {
            case .node(let node):
                cluster = cluster.placing(launch.vmType, on: node)
                claims[node, default: [:]][launch.instanceId] = launch.vmType
                location[launch.instanceId] = node
                placed.append((launch, node))
            case .unplaceable(let reasons):
                logger.warning(
                    "no node has room", metadata: ["euca.instance": "\(launch.instanceId)", "reasons": "\(reasons)"])
                outcomes[launch.instanceId] = InstanceOutcome(instanceId: launch.instanceId, failure: .insufficientCapacity)
            }
        }
        lastChosen = cluster.lastChosen

        let results = await withTaskGroup(of: InstanceOutcome.self) { group in
            for (launch, nodeID) in placed {
                guard let node = node(nodeID) else { continue }
                group.addTask {
                    do {
                        let report = start ? try await node.startInstance(launch) : try await node.runInstance(launch)
                        return InstanceOutcome(instanceId: launch.instanceId, node: nodeID, report: report)
                    } catch let error as EucaError where error.code == .insufficientCapacity {
                        return InstanceOutcome(instanceId: launch.instanceId, node: nodeID, failure: .insufficientCapacity)
                    } catch {
                        return InstanceOutcome(instanceId: launch.instanceId, node: nodeID, failure: .failed("\(error)"))
                    }
                }
            }
            var results: [InstanceOutcome] = []
            for await outcome in group { results.append(outcome) }
            return results
        }
        for outcome in results {
            if let node = outcome.node { claims[node]?[outcome.instanceId] = nil }
            if outcome.failure != nil { location[outcome.instanceId] = nil }
            outcomes[outcome.instanceId] = outcome
        }
        return launches.compactMap { outcomes[$0.instanceId] }
    }

    /// Relays an operation to the node of each instance.
    private func relay(
        _ ids: [InstanceID], _ operation: @escaping @Sendable (any NodeControllerAPI, InstanceID) async throws -> Void
    ) async -> [InstanceOutcome] {
        var targets: [(InstanceID, any NodeControllerAPI)] = []
        var outcomes: [InstanceID: InstanceOutcome] = [:]
        for id in ids {
            if let nodeID = await locate(id), let node = node(nodeID) {
                targets.append((id, node))
            } else {
                outcomes[id] = InstanceOutcome(instanceId: id, failure: .notFound)
            }
        }
        let results = await withTaskGroup(of: InstanceOutcome.self) { group in
            for (id, node) in targets {
                group.addTask {
                    do {
                        try await operation(node, id)
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

    /// The node holding `id`, asking the nodes when the cluster does not know (after a restart).
    private func locate(_ id: InstanceID) async -> NodeID? {
        if let node = location[id] { return node }
        _ = try? await describeInstances()
        return location[id]
    }

    public func terminateInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        let outcomes = await relay(ids) { node, id in try await node.terminateInstance(id) }
        for outcome in outcomes where outcome.failure == nil || outcome.failure == .notFound {
            location[outcome.instanceId] = nil
        }
        return outcomes
    }

    public func stopInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        await relay(ids) { node, id in try await node.stopInstance(id) }
    }

    public func rebootInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        await relay(ids) { node, id in try await node.rebootInstance(id) }
    }

    public func describeInstances() async throws -> ClusterInstances {
        var reports: [InstanceReport] = []
        var unreachable: [NodeID] = []
        for node in nodes {
            do {
                let nodeReports = try await node.describeInstances()
                for report in nodeReports { location[report.instanceId] = report.node }
                reports += nodeReports
            } catch {
                logger.warning("node did not answer", metadata: ["euca.node": "\(node.node)", "error": "\(error)"])
                unreachable.append(node.node)
            }
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
        guard let nodeID = await locate(id), let node = node(nodeID) else {
            throw EucaError(.notFound, .instance, "no node in \(zone) holds \(id)")
        }
        return try await node.getConsoleOutput(id)
    }
}
