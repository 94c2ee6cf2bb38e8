public import EucaCore
import Crypto
public import Foundation

/// One request to the instance metadata service, as the HTTP server received it.
public struct MetadataRequest: Sendable {
    public var method: String
    public var path: String
    /// The IPv4 address the request came from.
    public var source: String
    /// `X-aws-ec2-metadata-token`.
    public var token: String?
    /// `X-aws-ec2-metadata-token-ttl-seconds`.
    public var tokenTTL: String?
    /// Whether the request carried `X-Forwarded-For` (EC2 refuses token requests that do).
    public var forwarded: Bool

    public init(method: String, path: String, source: String, token: String? = nil, tokenTTL: String? = nil, forwarded: Bool = false) {
        self.method = method
        self.path = path
        self.source = source
        self.token = token
        self.tokenTTL = tokenTTL
        self.forwarded = forwarded
    }
}

/// The service's answer.
public struct MetadataResponse: Sendable, Equatable {
    public var status: Int
    public var body: Data
    public var contentType: String
    public var headers: [String: String]

    init(_ status: Int, _ body: Data, contentType: String = "text/plain", headers: [String: String] = [:]) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.headers = headers
    }

    init(_ status: Int, _ text: String, contentType: String = "text/plain", headers: [String: String] = [:]) {
        self.init(status, Data(text.utf8), contentType: contentType, headers: headers)
    }
}

/// The EC2 instance metadata service of one node: `/latest/meta-data/…`, `/latest/user-data`,
/// and IMDSv2 session tokens (`PUT /latest/api/token`).
///
/// An instance reads only its own data: the caller is identified by its source address, which
/// `lookup` maps to an instance through the node's neighbour table (address → MAC → instance).
/// Tokens are bound to the instance they were issued to and signed with a key that lives only in
/// this process, so they end when the node controller restarts, as a token ends on EC2 when the
/// instance stops.
public struct MetadataService: Sendable {
    /// Finds the running instance at an address on the node's network.
    public typealias Lookup = @Sendable (String) async -> InstanceLaunch?

    private let lookup: Lookup
    private let key: SymmetricKey
    private let domain: String
    private let now: @Sendable () -> Date

    public static let maxTokenTTL = 21600

    public init(domain: String = "eucalyptus.internal", now: @escaping @Sendable () -> Date = Date.init, lookup: @escaping Lookup) {
        self.lookup = lookup
        self.key = SymmetricKey(size: .bits256)
        self.domain = domain
        self.now = now
    }

    public func respond(to request: MetadataRequest) async -> MetadataResponse {
        guard let instance = await lookup(request.source) else {
            return MetadataResponse(404, "No instance at \(request.source) on this node.\n")
        }
        let options = instance.metadataOptions ?? MetadataOptions()
        guard options.endpointEnabled else {
            return MetadataResponse(403, "The instance metadata service is disabled for this instance.\n")
        }
        if request.path == "/latest/api/token" {
            return issueToken(request, for: instance)
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return MetadataResponse(405, "Method not allowed\n", headers: ["Allow": "GET, HEAD"])
        }
        if let token = request.token {
            guard verify(token, for: instance.instanceId) else { return MetadataResponse(401, "Unauthorized\n") }
        } else if options.tokensRequired {
            return MetadataResponse(401, "Unauthorized\n")
        }
        guard let body = content(request.path, instance, address: request.source) else {
            return MetadataResponse(404, "Not Found\n")
        }
        return MetadataResponse(200, body)
    }

    // MARK: - Tokens

    private func issueToken(_ request: MetadataRequest, for instance: InstanceLaunch) -> MetadataResponse {
        guard request.method == "PUT" else {
            return MetadataResponse(405, "Method not allowed\n", headers: ["Allow": "PUT"])
        }
        if request.forwarded { return MetadataResponse(403, "Forbidden\n") }
        guard let text = request.tokenTTL, let ttl = Int(text), (1...Self.maxTokenTTL).contains(ttl) else {
            return MetadataResponse(400, "Bad Request: X-aws-ec2-metadata-token-ttl-seconds must be 1 to \(Self.maxTokenTTL)\n")
        }
        let expiry = Int(now().timeIntervalSince1970) + ttl
        let claim = "\(instance.instanceId.rawValue).\(expiry)"
        let token = claim + "." + signature(claim)
        return MetadataResponse(200, token, headers: ["X-aws-ec2-metadata-token-ttl-seconds": "\(ttl)"])
    }

    private func signature(_ claim: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(claim.utf8), using: key)
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private func verify(_ token: String, for id: InstanceID) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == id.rawValue, let expiry = Int(parts[1]) else { return false }
        let expected = signature("\(parts[0]).\(parts[1])")
        guard expected.utf8.count == parts[2].utf8.count,
            zip(expected.utf8, parts[2].utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0
        else { return false }
        return Double(expiry) > now().timeIntervalSince1970
    }

    // MARK: - Content

    /// The versions EC2 lists at `/`; each serves the same tree as `latest`.
    static let versions = [
        "1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01", "2008-09-01",
        "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12", "2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19",
        "2016-06-30", "2016-09-02", "latest",
    ]

    func content(_ rawPath: String, _ instance: InstanceLaunch, address: String) -> Data? {
        let path = rawPath.split(separator: "?", maxSplits: 1).first.map(String.init) ?? rawPath
        if path == "/" || path.isEmpty { return Data(Self.versions.joined(separator: "\n").utf8) }
        var parts = path.split(separator: "/").map(String.init)
        guard let version = parts.first, Self.versions.contains(version) else { return nil }
        parts.removeFirst()
        guard let section = parts.first else {
            return Data((instance.userData == nil ? "dynamic\nmeta-data" : "dynamic\nmeta-data\nuser-data").utf8)
        }
        parts.removeFirst()
        switch section {
        case "user-data":
            guard parts.isEmpty else { return nil }
            return instance.userData
        case "meta-data":
            return metaData(parts, instance, address: address, directory: path.hasSuffix("/")).map { Data($0.utf8) }
        case "dynamic":
            return parts.isEmpty ? Data("instance-identity/".utf8) : nil
        default:
            return nil
        }
    }

    private func metaData(_ parts: [String], _ instance: InstanceLaunch, address: String, directory: Bool) -> String? {
        // On a VPC the request came from the instance's alias on the node; its address is its own.
        let address = instance.network?.privateIp ?? address
        let hostname = "euca-" + address.replacingOccurrences(of: ".", with: "-") + "." + domain
        var leaves: [(String, String)] = [
            ("ami-id", instance.imageId.rawValue),
            ("ami-launch-index", "\(instance.launchIndex)"),
            ("hostname", hostname),
            ("instance-id", instance.instanceId.rawValue),
            ("instance-type", instance.vmType.name),
        ]
        if let kernel = instance.boot.kernel { leaves.append(("kernel-id", kernel.imageId.rawValue)) }
        leaves += [("local-hostname", hostname), ("local-ipv4", address), ("mac", instance.macAddress.lowercased())]
        if let publicIp = instance.publicIp {
            leaves += [("public-hostname", "euca-" + publicIp.replacingOccurrences(of: ".", with: "-") + "." + domain), ("public-ipv4", publicIp)]
        }
        if let ramdisk = instance.boot.ramdisk { leaves.append(("ramdisk-id", ramdisk.imageId.rawValue)) }
        leaves += [("reservation-id", instance.reservationId.rawValue), ("security-groups", (instance.securityGroups ?? []).joined(separator: "\n"))]
        let hasKey = instance.publicKey != nil
        guard let first = parts.first else {
            var names = leaves.map(\.0) + ["placement/"]
            if hasKey { names.append("public-keys/") }
            return names.sorted().joined(separator: "\n")
        }
        switch (first, parts.count) {
        case ("placement", 1): return "availability-zone"
        case ("placement", 2) where parts[1] == "availability-zone": return instance.zone
        case ("public-keys", 1) where hasKey: return "0=\(instance.keyName ?? "key")"
        case ("public-keys", 2) where hasKey && (parts[1] == "0" || parts[1] == "0=\(instance.keyName ?? "key")"): return "openssh-key"
        case ("public-keys", 3) where hasKey && parts[1] == "0" && parts[2] == "openssh-key": return instance.publicKey.map { $0 + "\n" }
        case (_, 1) where !directory: return leaves.first { $0.0 == first }?.1
        default: return nil
        }
    }
}
