public import EucaCluster
public import EucaCore

/// A ``NodePower`` for tests: it switches ``PoweredNode``s off and on, so a node that is "down"
/// stops answering exactly as a suspended machine would, and records every call.
public actor FakeNodePower: NodePower {
    public private(set) var off: Set<NodeID> = []
    public private(set) var calls: [(operation: String, node: NodeID)] = []
    private var failWake: Set<NodeID> = []

    public init() {}

    public func powerDown(_ node: NodeID) async throws {
        calls.append(("powerDown", node))
        off.insert(node)
    }

    public func wake(_ node: NodeID) async throws {
        calls.append(("wake", node))
        if failWake.contains(node) { return }
        off.remove(node)
    }

    /// Makes waking `node` do nothing, as a machine whose wake-up packet is lost.
    public func ignoreWakes(of node: NodeID) { failWake.insert(node) }

    public func isOn(_ node: NodeID) -> Bool { !off.contains(node) }

    /// Wraps a node so that it answers only while this power switch has it on.
    public nonisolated func wrap(_ node: any NodeControllerAPI) -> PoweredNode { PoweredNode(node, power: self) }
}

/// A node controller behind a ``FakeNodePower``: every call fails as unreachable while it is off.
public struct PoweredNode: NodeControllerAPI {
    let inner: any NodeControllerAPI
    let power: FakeNodePower

    init(_ inner: any NodeControllerAPI, power: FakeNodePower) {
        self.inner = inner
        self.power = power
    }

    public var node: NodeID { inner.node }

    private func on() async throws {
        guard await power.isOn(inner.node) else { throw EucaError(.unavailable, .node, "\(inner.node) is powered down") }
    }

    public func runInstance(_ launch: InstanceLaunch) async throws -> InstanceReport {
        try await on()
        return try await inner.runInstance(launch)
    }
    public func startInstance(_ launch: InstanceLaunch) async throws -> InstanceReport {
        try await on()
        return try await inner.startInstance(launch)
    }
    public func terminateInstance(_ id: InstanceID) async throws {
        try await on()
        try await inner.terminateInstance(id)
    }
    public func stopInstance(_ id: InstanceID) async throws {
        try await on()
        try await inner.stopInstance(id)
    }
    public func rebootInstance(_ id: InstanceID) async throws {
        try await on()
        try await inner.rebootInstance(id)
    }
    public func describeInstances() async throws -> [InstanceReport] {
        try await on()
        return try await inner.describeInstances()
    }
    public func describeResource() async throws -> NodeResources {
        try await on()
        return try await inner.describeResource()
    }
    public func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput {
        try await on()
        return try await inner.getConsoleOutput(id)
    }
    public func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        try await on()
        try await inner.modifyInstanceMetadataOptions(id, options)
    }
    public func configureNetwork(_ policy: NetworkPolicy) async throws {
        try await on()
        try await inner.configureNetwork(policy)
    }
}
