public import AsyncHTTPClient
public import EucaCore
import Foundation
import NIOCore
import NIOHTTP1

/// Calls one internal API over HTTPS with mutual TLS.
public struct InternalClient: Sendable {
    public let http: HTTPClient
    public let baseURL: String
    public let timeout: Duration

    /// - Parameter baseURL: `https://host:port/nc/v1` or `https://host:port/cc/v1`.
    public init(http: HTTPClient, baseURL: String, timeout: Duration = .seconds(30)) {
        self.http = http
        self.baseURL = baseURL
        self.timeout = timeout
    }

    public func call<Request: Encodable & Sendable, Reply: Decodable>(
        _ operation: String, _ body: Request, as _: Reply.Type = Reply.self
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "\(baseURL)/\(operation)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let id = RequestID.current { request.headers.add(name: Wire.requestIDHeader, value: id) }
        request.body = .bytes(ByteBuffer(bytes: try Wire.encode(body)))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
        } catch {
            throw EucaError(.unavailable, .node, "\(baseURL) did not answer \(operation)", underlying: error)
        }
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            if let wire = try? Wire.decode(WireError.self, data) { throw wire.eucaError }
            throw EucaError(.internalFailure, .node, "\(baseURL)/\(operation) answered \(response.status.code)")
        }
        return try Wire.decode(Reply.self, data)
    }
}

/// A node controller on another machine.
public struct RemoteNode: NodeControllerAPI {
    public let node: NodeID
    let client: InternalClient

    public init(node: NodeID, client: InternalClient) {
        self.node = node
        self.client = client
    }

    public func runInstance(_ launch: InstanceLaunch) async throws -> InstanceReport { try await NodeOperations.runInstance.call(client, launch) }
    public func startInstance(_ launch: InstanceLaunch) async throws -> InstanceReport { try await NodeOperations.startInstance.call(client, launch) }
    public func terminateInstance(_ id: InstanceID) async throws { _ = try await NodeOperations.terminateInstance.call(client, InstanceIDBody(id)) }
    public func stopInstance(_ id: InstanceID) async throws { _ = try await NodeOperations.stopInstance.call(client, InstanceIDBody(id)) }
    public func rebootInstance(_ id: InstanceID) async throws { _ = try await NodeOperations.rebootInstance.call(client, InstanceIDBody(id)) }
    public func describeInstances() async throws -> [InstanceReport] { try await NodeOperations.describeInstances.call(client, Empty()) }
    public func describeResource() async throws -> NodeResources { try await NodeOperations.describeResource.call(client, Empty()) }
    public func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput { try await NodeOperations.getConsoleOutput.call(client, InstanceIDBody(id)) }
    public func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        _ = try await NodeOperations.modifyInstanceMetadataOptions.call(client, InstanceMetadataOptionsBody(id: id, options: options))
    }
    public func configureNetwork(_ policy: NetworkPolicy) async throws { _ = try await NodeOperations.configureNetwork.call(client, policy) }
}

/// A cluster controller on another machine.
public struct RemoteCluster: ClusterControllerAPI {
    public let zone: String
    let client: InternalClient

    public init(zone: String, client: InternalClient) {
        self.zone = zone
        self.client = client
    }

    public func runInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome] {
        try await ClusterOperations.runInstances.call(client, launches)
    }
    public func startInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome] {
        try await ClusterOperations.startInstances.call(client, launches)
    }
    public func terminateInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        try await ClusterOperations.terminateInstances.call(client, InstanceIDs(ids))
    }
    public func stopInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] { try await ClusterOperations.stopInstances.call(client, InstanceIDs(ids)) }
    public func rebootInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] {
        try await ClusterOperations.rebootInstances.call(client, InstanceIDs(ids))
    }
    public func describeInstances() async throws -> ClusterInstances { try await ClusterOperations.describeInstances.call(client, Empty()) }
    public func describeResources() async throws -> ClusterResources { try await ClusterOperations.describeResources.call(client, Empty()) }
    public func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput {
        try await ClusterOperations.getConsoleOutput.call(client, InstanceIDBody(id))
    }
    public func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        _ = try await ClusterOperations.modifyInstanceMetadataOptions.call(client, InstanceMetadataOptionsBody(id: id, options: options))
    }
    public func configureNetwork(_ policy: NetworkPolicy) async throws { _ = try await ClusterOperations.configureNetwork.call(client, policy) }

    /// Tells the cluster which nodes it has.
    public func configureNodes(_ nodes: [NodeEndpoint]) async throws { _ = try await client.call("configureNodes", nodes, as: Empty.self) }
    /// What the cluster knows of each node.
    public func describeNodes() async throws -> [NodeStatus] { try await client.call("describeNodes", Empty()) }
}
