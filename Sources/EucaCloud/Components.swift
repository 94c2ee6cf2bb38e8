public import EucaCore
public import EucaSecurity
public import Foundation
import Crypto

/// A cluster or node controller registered with the cloud.
public struct ComponentRecord: Sendable, Codable, Hashable {
    public var role: ComponentRole
    public var name: String
    /// The cluster a node belongs to.
    public var cluster: String?
    public var host: String
    public var port: Int
    public var registeredAt: Date
    /// When the component redeemed its join token and got its certificate.
    public var joinedAt: Date?

    public var key: String { CloudSchema.componentKey(role, cluster: cluster, name: name) }
}

/// A one-time token that lets a component fetch its certificate.
public struct JoinTokenRecord: Sendable, Codable, Hashable {
    /// SHA-256 of the token's secret: the secret itself is never stored.
    public var secretHash: String
    public var role: ComponentRole
    public var name: String
    public var cluster: String?
    public var host: String
    public var expiresAt: Date
    public var usedAt: Date?
}

/// What a join token carries, base64url-encoded JSON: where the cloud controller is, the secret,
/// and the CA certificate's fingerprint, so the joining component can check who answers.
public struct JoinToken: Sendable, Codable, Hashable {
    public var cloud: String
    public var secret: String
    public var caFingerprint: String

    public init(cloud: String, secret: String, caFingerprint: String) {
        self.cloud = cloud
        self.secret = secret
        self.caFingerprint = caFingerprint
    }

    public var encoded: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return "euca1." + data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init?(encoded text: String) {
        guard text.hasPrefix("euca1.") else { return nil }
        var base64 = String(text.dropFirst(6)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let token = try? JSONDecoder().decode(JoinToken.self, from: data) else { return nil }
        self = token
    }
}

extension CloudSchema {
    /// Registered cluster and node controllers, keyed `cc/name` and `nc/cluster/name`.
    public static let components = StoreCollection<ComponentRecord>("components")
    /// Join tokens, keyed by the SHA-256 of their secret.
    public static let joinTokens = StoreCollection<JoinTokenRecord>("join-tokens")

    static func componentKey(_ role: ComponentRole, cluster: String?, name: String) -> String {
        role == .nc ? "nc/\(cluster ?? "")/\(name)" : "\(role.rawValue)/\(name)"
    }
}

/// Registers components and lets them join with one-time tokens.
public struct ComponentRegistry: Sendable {
    public let store: any StateStore
    public let authority: CloudCA
    /// The cloud controller's own URL, written into tokens.
    public let cloudURL: String
    public let tokenLifetime: TimeInterval

    public init(store: any StateStore, authority: CloudCA, cloudURL: String, tokenLifetime: TimeInterval = 3600) {
        self.store = store
        self.authority = authority
        self.cloudURL = cloudURL
        self.tokenLifetime = tokenLifetime
    }

    static func hash(_ secret: String) -> String { Encoding.hex(SHA256.hash(data: Array(secret.utf8))) }

    static func checkName(_ name: String, _ what: String) throws(EucaError) {
        guard !name.isEmpty, name.count <= 64,
            name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) })
        else {
            throw EucaError(.invalidParameter, .parameter, "\(what) names are 1 to 64 letters, digits, '-', '_' or '.'")
        }
    }

    /// Registers a cluster (or a node of `cluster`) at `host:port` and returns its join token.
    public func register(
        _ role: ComponentRole, name: String, cluster: String? = nil, host: String, port: Int
    ) async throws -> (ComponentRecord, token: String) {
        try Self.checkName(name, role == .cc ? "Cluster" : "Node")
        guard !host.isEmpty, (1...65535).contains(port) else {
            throw EucaError(.invalidParameter, .parameter, "A component needs a host and a port between 1 and 65535.")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &rng) }
        let secret = Encoding.hex(bytes)
        let record = ComponentRecord(role: role, name: name, cluster: cluster, host: host, port: port, registeredAt: Date(), joinedAt: nil)
        let token = JoinTokenRecord(
            secretHash: Self.hash(secret), role: role, name: name, cluster: cluster, host: host,
            expiresAt: Date().addingTimeInterval(tokenLifetime), usedAt: nil)
        try await store.write { txn in
            if role == .nc {
                guard let cluster, try txn.get(CloudSchema.componentKey(.cc, cluster: nil, name: cluster), from: CloudSchema.components) != nil else {
                    throw EucaError(.notFound, .zone, "There is no cluster named '\(cluster ?? "")'.")
                }
            }
            if try txn.get(record.key, from: CloudSchema.components) != nil {
                throw EucaError(.duplicate, .node, "\(role == .cc ? "A cluster" : "A node") named '\(name)' is already registered.")
            }
            try txn.put(record, at: record.key, in: CloudSchema.components)
            try txn.put(token, at: token.secretHash, in: CloudSchema.joinTokens)
        }
        return (record, JoinToken(cloud: cloudURL, secret: secret, caFingerprint: authority.fingerprint).encoded)
    }

    /// Redeems a join token: checks it is known, unused and unexpired, marks it used, and issues a
    /// certificate for the key in `csrPEM`, naming the registered host.
    public func join(secret: String, csrPEM: String) async throws -> (certificatePEM: String, caPEM: String, component: ComponentRecord) {
        let hash = Self.hash(secret)
        let now = Date()
        let (token, record) = try await store.write { txn -> (JoinTokenRecord, ComponentRecord) in
            guard var token = try txn.get(hash, from: CloudSchema.joinTokens) else {
                throw EucaError(.authFailure, nil, "The join token is not known to this cloud.")
            }
            guard token.usedAt == nil else { throw EucaError(.authFailure, nil, "The join token has been used already.") }
            guard token.expiresAt > now else { throw EucaError(.authFailure, nil, "The join token has expired.") }
            let key = CloudSchema.componentKey(token.role, cluster: token.cluster, name: token.name)
            guard var record = try txn.get(key, from: CloudSchema.components) else {
                throw EucaError(.authFailure, nil, "The component this token was for has been deregistered.")
            }
            token.usedAt = now
            record.joinedAt = now
            try txn.put(token, at: hash, in: CloudSchema.joinTokens)
            try txn.put(record, at: key, in: CloudSchema.components)
            return (token, record)
        }
        let certificate = try authority.issue(csrPEM: csrPEM, role: token.role, name: token.name, hosts: [token.host])
        return (try certificate.serializeAsPEM().pemString, authority.certificatePEM, record)
    }

    /// Removes a registered component (and, for a cluster, its nodes).
    public func deregister(_ role: ComponentRole, name: String, cluster: String? = nil) async throws -> [ComponentRecord] {
        try await store.write { txn in
            let key = CloudSchema.componentKey(role, cluster: cluster, name: name)
            guard let record = try txn.get(key, from: CloudSchema.components) else {
                throw EucaError(.notFound, role == .cc ? .zone : .node, "No \(role == .cc ? "cluster" : "node") named '\(name)' is registered.")
            }
            var removed = [record]
            try txn.delete(key, from: CloudSchema.components)
            if role == .cc {
                for (nodeKey, node) in try txn.scan(CloudSchema.components, ScanRange(prefix: "nc/\(name)/")) {
                    try txn.delete(nodeKey, from: CloudSchema.components)
                    removed.append(node)
                }
            }
            return removed
        }
    }

    /// Every registered component.
    public func components() async throws -> [ComponentRecord] {
        try await store.read { txn in try txn.all(CloudSchema.components).map(\.value) }
    }
}
