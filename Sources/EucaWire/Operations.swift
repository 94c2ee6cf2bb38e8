public import EucaCore
import Hummingbird

/// One operation of an internal API, described once: its name on the wire, its request and
/// reply types, and the protocol method that serves it. The remote clients call operations and
/// the servers' routes are made from each API's list of them, so the wire cannot drift from the
/// protocol: an operation missing from the list fails the contract suite run over the wire, and
/// a protocol method without a client fails to compile.
public struct WireOperation<API: Sendable, Request: Codable & Sendable, Reply: Codable & Sendable>: Sendable {
    public let name: String
    let serve: @Sendable (API, Request) async throws -> Reply

    init(_ name: String, serve: @escaping @Sendable (API, Request) async throws -> Reply) {
        self.name = name
        self.serve = serve
    }

    /// Calls this operation through `client`.
    public func call(_ client: InternalClient, _ request: Request) async throws -> Reply {
        try await client.call(name, request, as: Reply.self)
    }
}

/// An operation whose route can be added to a server, whatever its request and reply types.
protocol RoutableOperation<API>: Sendable {
    associatedtype API: Sendable
    var name: String { get }
    func addRoute<Context: RequestContext>(to routes: InternalRoutes<Context>, serving api: API)
}

extension WireOperation: RoutableOperation {
    func addRoute<Context: RequestContext>(to routes: InternalRoutes<Context>, serving api: API) {
        let serve = serve
        routes.add(name) { (request: Request) in try await serve(api, request) }
    }
}

/// The node controller's operations, as Eucalyptus named them.
public enum NodeOperations {
    public typealias Operation<Request: Codable & Sendable, Reply: Codable & Sendable> = WireOperation<any NodeControllerAPI, Request, Reply>

    public static let runInstance = Operation<InstanceLaunch, InstanceReport>("runInstance") { try await $0.runInstance($1) }
    public static let startInstance = Operation<InstanceLaunch, InstanceReport>("startInstance") { try await $0.startInstance($1) }
    public static let terminateInstance = Operation<InstanceIDBody, Empty>("terminateInstance") {
        try await $0.terminateInstance($1.id)
        return Empty()
    }
    public static let stopInstance = Operation<InstanceIDBody, Empty>("stopInstance") {
        try await $0.stopInstance($1.id)
        return Empty()
    }
    public static let rebootInstance = Operation<InstanceIDBody, Empty>("rebootInstance") {
        try await $0.rebootInstance($1.id)
        return Empty()
    }
    public static let describeInstances = Operation<Empty, [InstanceReport]>("describeInstances") { node, _ in try await node.describeInstances() }
    public static let describeResource = Operation<Empty, NodeResources>("describeResource") { node, _ in try await node.describeResource() }
    public static let getConsoleOutput = Operation<InstanceIDBody, ConsoleOutput>("getConsoleOutput") { try await $0.getConsoleOutput($1.id) }
    public static let modifyInstanceMetadataOptions = Operation<InstanceMetadataOptionsBody, Empty>("modifyInstanceMetadataOptions") {
        try await $0.modifyInstanceMetadataOptions($1.id, $1.options)
        return Empty()
    }

    public static let configureNetwork = Operation<NetworkPolicy, Empty>("configureNetwork") {
        try await $0.configureNetwork($1)
        return Empty()
    }

    /// Every operation of `NodeControllerAPI`, in the protocol's order.
    static let all: [any RoutableOperation<any NodeControllerAPI>] = [
        runInstance, startInstance, terminateInstance, stopInstance, rebootInstance, describeInstances, describeResource,
        getConsoleOutput, modifyInstanceMetadataOptions, configureNetwork,
    ]
}

/// The cluster controller's operations, as Eucalyptus named them.
public enum ClusterOperations {
    public typealias Operation<Request: Codable & Sendable, Reply: Codable & Sendable> = WireOperation<any ClusterControllerAPI, Request, Reply>

    public static let runInstances = Operation<[InstanceLaunch], [InstanceOutcome]>("runInstances") { try await $0.runInstances($1) }
    public static let startInstances = Operation<[InstanceLaunch], [InstanceOutcome]>("startInstances") { try await $0.startInstances($1) }
    public static let terminateInstances = Operation<InstanceIDs, [InstanceOutcome]>("terminateInstances") { try await $0.terminateInstances($1.ids) }
    public static let stopInstances = Operation<InstanceIDs, [InstanceOutcome]>("stopInstances") { try await $0.stopInstances($1.ids) }
    public static let rebootInstances = Operation<InstanceIDs, [InstanceOutcome]>("rebootInstances") { try await $0.rebootInstances($1.ids) }
    public static let describeInstances = Operation<Empty, ClusterInstances>("describeInstances") { cluster, _ in
        try await cluster.describeInstances()
    }
    public static let describeResources = Operation<Empty, ClusterResources>("describeResources") { cluster, _ in
        try await cluster.describeResources()
    }
    public static let getConsoleOutput = Operation<InstanceIDBody, ConsoleOutput>("getConsoleOutput") { try await $0.getConsoleOutput($1.id) }
    public static let modifyInstanceMetadataOptions = Operation<InstanceMetadataOptionsBody, Empty>("modifyInstanceMetadataOptions") {
        try await $0.modifyInstanceMetadataOptions($1.id, $1.options)
        return Empty()
    }

    public static let configureNetwork = Operation<NetworkPolicy, Empty>("configureNetwork") {
        try await $0.configureNetwork($1)
        return Empty()
    }

    /// Every operation of `ClusterControllerAPI`, in the protocol's order.
    static let all: [any RoutableOperation<any ClusterControllerAPI>] = [
        runInstances, startInstances, terminateInstances, stopInstances, rebootInstances, describeInstances, describeResources,
        getConsoleOutput, modifyInstanceMetadataOptions, configureNetwork,
    ]
}
