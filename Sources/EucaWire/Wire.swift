public import EucaCore
public import Foundation

/// The internal APIs' wire form: `POST /nc/v1/<operation>` and `POST /cc/v1/<operation>`, JSON
/// bodies both ways, over HTTPS with mutual TLS. A failure answers a non-2xx status with a
/// ``WireError`` body.
public enum Wire {
    /// The header that carries the id of the client request an internal call serves.
    public static let requestIDHeader = "x-euca-request-id"

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data { try encoder().encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T { try decoder().decode(type, from: data) }
}

/// An error as it crosses the wire: the same code, resource and message on both sides.
public struct WireError: Codable, Sendable, Error {
    public var code: String
    public var resource: ResourceKind?
    public var message: String

    public init(_ error: any Error) {
        if let error = error as? EucaError {
            code = error.code.description
            resource = error.resource
            message = error.message
        } else {
            code = EucaError.Code.internalFailure.description
            resource = nil
            message = "\(error)"
        }
    }

    /// The error this stands for on the receiving side.
    public var eucaError: EucaError {
        EucaError(EucaError.Code(named: code) ?? .internalFailure, resource, message)
    }
}

/// Request bodies that name instances.
public struct InstanceIDs: Codable, Sendable {
    public var ids: [InstanceID]
    public init(_ ids: [InstanceID]) { self.ids = ids }
}

public struct InstanceIDBody: Codable, Sendable {
    public var id: InstanceID
    public init(_ id: InstanceID) { self.id = id }
}

/// An instance and its new metadata options.
public struct InstanceMetadataOptionsBody: Codable, Sendable {
    public var id: InstanceID
    public var options: MetadataOptions
    public init(id: InstanceID, options: MetadataOptions) {
        self.id = id
        self.options = options
    }
}

/// Where a node controller listens, as the cloud controller tells its cluster.
public struct NodeEndpoint: Codable, Sendable, Hashable {
    public var name: NodeID
    public var host: String
    public var port: Int

    public init(name: NodeID, host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }
}

/// A node as its cluster sees it, for `describeNodes`.
public struct NodeStatus: Codable, Sendable, Hashable {
    public var endpoint: NodeEndpoint?
    public var node: NodeID
    public var reachable: Bool
    public var lastContact: Date?
    public var lastError: String?
    public var resources: NodeResources?
    public var instances: Int
    /// Powered down by a power-saving cluster (absent from clusters that never do).
    public var asleep: Bool?
}

/// An empty body.
public struct Empty: Codable, Sendable {
    public init() {}
}
