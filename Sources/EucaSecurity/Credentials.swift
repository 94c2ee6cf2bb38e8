public import EucaCore
public import Foundation

/// An access key: the id a client sends and the secret it signs with.
public struct AccessKey: Sendable, Codable, Hashable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var accountId: AccountID
    public var userName: String
    public var isActive: Bool
    public var createdAt: Date

    public init(accessKeyId: String, secretAccessKey: String, accountId: AccountID, userName: String,
                isActive: Bool = true, createdAt: Date = Date()) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.accountId = accountId
        self.userName = userName
        self.isActive = isActive
        self.createdAt = createdAt
    }

    /// A new key for `userName` in `accountId`: a 20-character id starting `AKIA` and a
    /// 40-character secret, both from the system's secure random source.
    public static func generate(accountId: AccountID, userName: String) -> AccessKey {
        var rng = SystemRandomNumberGenerator()
        let idAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let id = "AKIA" + String(decoding: (0..<16).map { _ in idAlphabet[Int(rng.next() % 32)] }, as: UTF8.self)
        let secret = String(decoding: (0..<40).map { _ in secretAlphabet[Int(rng.next() % 64)] }, as: UTF8.self)
        return AccessKey(accessKeyId: id, secretAccessKey: secret, accountId: accountId, userName: userName)
    }
}

/// An access key as the store keeps it: its secret sealed with the cloud's master key.
public struct StoredAccessKey: Sendable, Codable, Hashable {
    public var accessKeyId: String
    /// The secret, sealed for this key's id (``SecretSealer``).
    public var sealedSecret: String?
    /// The secret in plain text, as releases before sealing kept it; sealed at the next start.
    public var secretAccessKey: String?
    public var accountId: AccountID
    public var userName: String
    public var isActive: Bool
    public var createdAt: Date

    /// `key` with its secret sealed by `sealer`.
    public init(_ key: AccessKey, sealer: SecretSealer) {
        accessKeyId = key.accessKeyId
        sealedSecret = sealer.seal(key.secretAccessKey, context: Self.context(key.accessKeyId, key.accountId, key.userName))
        secretAccessKey = nil
        accountId = key.accountId
        userName = key.userName
        isActive = key.isActive
        createdAt = key.createdAt
    }

    /// The key with its secret, or nil if `sealer` does not open it (another cloud's master key).
    public func opened(by sealer: SecretSealer) -> AccessKey? {
        let context = Self.context(accessKeyId, accountId, userName)
        guard let secret = sealedSecret.flatMap({ sealer.open($0, context: context) }) ?? secretAccessKey else { return nil }
        return AccessKey(
            accessKeyId: accessKeyId, secretAccessKey: secret, accountId: accountId, userName: userName, isActive: isActive,
            createdAt: createdAt)
    }

    /// What a sealed secret is bound to: its key, account and user. The same secret on a record
    /// moved to another account or user does not open.
    public static func context(_ id: String, _ account: AccountID, _ user: String) -> String {
        "\(id)|\(account.rawValue)|\(user)"
    }

    /// Whether its secret is still in plain text.
    public var isUnsealed: Bool { sealedSecret == nil }
}

/// Who made a request, once its signature has been checked.
public struct Principal: Sendable, Hashable {
    public var accountId: AccountID
    public var userName: String
    public var accessKeyId: String
    /// Whether the account is the cloud's administrator account.
    public var isCloudAdmin: Bool
    /// The region the client signed for.
    public var signedRegion: String?

    public init(accountId: AccountID, userName: String, accessKeyId: String, isCloudAdmin: Bool, signedRegion: String? = nil) {
        self.accountId = accountId
        self.userName = userName
        self.accessKeyId = accessKeyId
        self.isCloudAdmin = isCloudAdmin
        self.signedRegion = signedRegion
    }
}

/// Looks up access keys for signature verification.
///
/// Called on every API request, so implementations answer from memory: no I/O, no suspension.
public protocol CredentialStore: Sendable {
    /// The active key with this id, and whether its account administers the cloud.
    func accessKey(id: String) -> (key: AccessKey, isCloudAdmin: Bool)?
}

/// Checks a request's signature and time and says who sent it: the one verifier every signed
/// surface (the EC2 API, the admin API) uses, each with its own service name.
///
/// It follows AWS's rules: a SigV4 signature covers the body actually received, names this
/// endpoint's service and one of this cloud's regions in its scope, and signs `host` (and the
/// header its time came from); no request is valid for more than seven days ahead.
public struct RequestAuthenticator: Sendable {
    public var credentials: any CredentialStore
    /// The service a SigV4 signature's scope must name (`ec2` on the EC2 API).
    public var service: String
    /// The regions a SigV4 signature's scope may name: this cloud's region and its aliases.
    public var regions: Set<String>
    /// Whether SigV2 is taken too. SigV2 names no service and covers no body, so only the EC2
    /// API, whose older clients sign with it, takes it.
    public var acceptsSigV2: Bool
    /// How far a request's time may be from the server's, as EC2 allows.
    public var maxClockSkew: TimeInterval
    public var now: @Sendable () -> Date

    /// The longest a signed request may stay valid: SigV4's own limit for presigned requests,
    /// applied to SigV2's `Expires` too.
    public static let maxValidity: TimeInterval = 7 * 24 * 3600

    public init(
        credentials: any CredentialStore, service: String, regions: Set<String>, acceptsSigV2: Bool = true,
        maxClockSkew: TimeInterval = 15 * 60, now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.credentials = credentials
        self.service = service
        self.regions = regions
        self.acceptsSigV2 = acceptsSigV2
        self.maxClockSkew = maxClockSkew
        self.now = now
    }

    /// The same verifier for another signed surface.
    public func forService(_ service: String, acceptsSigV2: Bool) -> RequestAuthenticator {
        var copy = self
        copy.service = service
        copy.acceptsSigV2 = acceptsSigV2
        return copy
    }

    /// Verifies the request's signature: SigV4 (header or presigned query form) or SigV2 (in the
    /// query string or the form body; `parameterPairs` holds both).
    ///
    /// Throws `missingAuthentication` for an unsigned request, `incompleteSignature` for malformed
    /// or missing signature fields (an unsigned `host`), `signatureDoesNotMatch` for a scope of
    /// another service or region or a payload hash that is not the body's, `authFailure` for an
    /// unknown key or a wrong signature, and `requestExpired` for a time more than
    /// `maxClockSkew` away, past a presigned expiry, or valid for longer than `maxValidity`.
    public func authenticate(
        _ request: SignableRequest, queryPairs: [(name: String, value: String)], parameterPairs: [(name: String, value: String)]? = nil
    ) throws(EucaError) -> Principal {
        let parameters = parameterPairs ?? queryPairs
        if !SigV4.isSigned(request, queryPairs: queryPairs) && SigV2.isSigned(parameters) {
            guard acceptsSigV2 else {
                throw EucaError(.incompleteSignature, nil, "This API accepts only Signature Version 4 (AWS4-HMAC-SHA256).")
            }
            return try authenticateV2(request, pairs: parameters)
        }
        guard SigV4.isSigned(request, queryPairs: queryPairs) else {
            throw EucaError(
                .missingAuthentication, nil,
                "The request must contain a valid (registered) access key ID and a signature.")
        }
        let claim = try SigV4.claim(of: request, queryPairs: queryPairs)
        try checkCoverage(claim)
        guard claim.amzDate.hasPrefix(claim.scope.date) else {
            throw EucaError(
                .incompleteSignature, nil,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(claim.scope.date)' != '\(claim.amzDate.prefix(8))'.")
        }
        try checkScope(claim.scope)
        guard let (key, isAdmin) = credentials.accessKey(id: claim.scope.accessKeyId), key.isActive else {
            throw EucaError(.authFailure, .accessKey, "The access key ID '\(claim.scope.accessKeyId.prefix(128))' is not known to this cloud.")
        }
        try checkTime(claim)
        let payloadHash = try SigV4.payloadHash(of: request)
        guard SigV4.verify(request, queryPairs: queryPairs, claim: claim, payloadHash: payloadHash, secret: key.secretAccessKey) else {
            throw EucaError(
                .authFailure, nil,
                "The request signature does not match the one computed with the secret key of '\(key.accessKeyId)'.")
        }
        return Principal(
            accountId: key.accountId, userName: key.userName, accessKeyId: key.accessKeyId,
            isCloudAdmin: isAdmin, signedRegion: claim.scope.region)
    }

    /// `host` must be signed, and so must the header the time came from.
    private func checkCoverage(_ claim: SigV4.Claim) throws(EucaError) {
        guard claim.signedHeaders.contains("host") else {
            throw EucaError(.incompleteSignature, nil, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
        }
        if let dateHeader = claim.dateHeader, !claim.signedHeaders.contains(dateHeader) {
            throw EucaError(.incompleteSignature, nil, "'\(dateHeader == "date" ? "Date" : "X-Amz-Date")' must be a 'SignedHeader' in the AWS Authorization.")
        }
    }

    /// The scope must name this endpoint's service and one of this cloud's regions.
    private func checkScope(_ scope: SigV4Scope) throws(EucaError) {
        guard scope.service == service else {
            throw EucaError(.signatureDoesNotMatch, nil, "Credential should be scoped to correct service: '\(service)'.")
        }
        guard regions.contains(scope.region) else {
            throw EucaError(
                .signatureDoesNotMatch, nil,
                "Credential should be scoped to a valid region, not '\(scope.region.prefix(64))'. This cloud answers to \(regions.sorted().joined(separator: ", ")).")
        }
    }

    private func checkTime(_ claim: SigV4.Claim) throws(EucaError) {
        let current = now()
        if let expires = claim.expires {
            if current.timeIntervalSince(claim.time) > TimeInterval(expires) {
                throw EucaError(.requestExpired, nil, "Request has expired (signed at \(claim.amzDate), valid for \(expires) s).")
            }
            if claim.time.timeIntervalSince(current) > maxClockSkew {
                throw EucaError(.requestExpired, nil, "Request is signed for a time in the future (\(claim.amzDate)).")
            }
        } else if abs(current.timeIntervalSince(claim.time)) > maxClockSkew {
            throw EucaError(
                .requestExpired, nil,
                "Request has expired: its time \(claim.amzDate) is more than \(Int(maxClockSkew / 60)) minutes from the server's \(Encoding.amzDate(current)).")
        }
    }
}
