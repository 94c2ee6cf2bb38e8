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

    public func runInstance(_ launch: InstanceLaunch) async throws -> InstanceReport { try await client.call("runInstance", launch) }
    public func startInstance(_ launch: InstanceLaunch) async throws -> InstanceReport { try await client.call("startInstance", launch) }
    public func terminateInstance(_ id: InstanceID) async throws { _ = try await client.call("terminateInstance", InstanceIDBody(id), as: Empty.self) }
    public func stopInstance(_ id: InstanceID) async throws { _ = try await client.call("stopInstance", InstanceIDBody(id), as: Empty.self) }
    public func rebootInstance(_ id: InstanceID) async throws { _ = try await client.call("rebootInstance", InstanceIDBody(id), as: Empty.self) }
    public func describeInstances() async throws -> [InstanceReport] { try await client.call("describeInstances", Empty()) }
    public func describeResource() async throws -> NodeResources { try await client.call("describeResource", Empty()) }
    public func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput { try await client.call("getConsoleOutput", InstanceIDBody(id)) }
    public func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        _ = try await client.call("modifyInstanceMetadataOptions", InstanceMetadataOptionsBody(id: id, options: options), as: Empty.self)
    }
}

/// A cluster controller on another machine.
public struct RemoteCluster: ClusterControllerAPI {
    public let zone: String
    let client: InternalClient

    public init(zone: String, client: InternalClient) {
        self.zone = zone
        self.client = client
    }

    public func runInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome] { try await client.call("runInstances", launches) }
    public func startInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome] { try await client.call("startInstances", launches) }
    public func terminateInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] { try await client.call("terminateInstances", InstanceIDs(ids)) }
    public func stopInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] { try await client.call("stopInstances", InstanceIDs(ids)) }
    public func rebootInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome] { try await client.call("rebootInstances", InstanceIDs(ids)) }
    public func describeInstances() async throws -> ClusterInstances { try await client.call("describeInstances", Empty()) }
    public func describeResources() async throws -> ClusterResources { try await client.call("describeResources", Empty()) }
    public func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput { try await client.call("getConsoleOutput", InstanceIDBody(id)) }
    public func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws {
        _ = try await client.call("modifyInstanceMetadataOptions", InstanceMetadataOptionsBody(id: id, options: options), as: Empty.self)
    }

    /// Tells the cluster which nodes it has.
    public func configureNodes(_ nodes: [NodeEndpoint]) async throws { _ = try await client.call("configureNodes", nodes, as: Empty.self) }
    /// What the cluster knows of each node.
    public func describeNodes() async throws -> [NodeStatus] { try await client.call("describeNodes", Empty()) }
}
