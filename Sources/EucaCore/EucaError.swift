/// The error every Euca library throws for a domain-level failure.
///
/// `code` says what went wrong, `resource` names the kind of thing it concerns (so the EC2 layer can
/// answer `InvalidInstanceID.NotFound` rather than a generic `NotFound`), and `message` is the text a
/// user reads. Only `EucaEC2API` turns a code into an EC2 error name.
public struct EucaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum, so new codes don't break a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notFound, malformedID, duplicate, invalidParameter, missingParameter, incorrectState
            case limitExceeded, insufficientCapacity, unsupported, idempotencyMismatch, invalidKeyFormat
            case authFailure, unauthorized, requestExpired, internalFailure, unavailable, operationNotPermitted
            case missingAuthentication, incompleteSignature, signatureDoesNotMatch
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The named resource does not exist (or is not visible to the caller).
        public static let notFound = Code(.notFound)
        /// An identifier does not have the form of its resource kind (`i-xyz`).
        public static let malformedID = Code(.malformedID)
        /// A resource with that name or id already exists.
        public static let duplicate = Code(.duplicate)
        /// A parameter has a value that is not allowed.
        public static let invalidParameter = Code(.invalidParameter)
        /// A required parameter is missing.
        public static let missingParameter = Code(.missingParameter)
        /// The resource is in a state from which the operation cannot proceed.
        public static let incorrectState = Code(.incorrectState)
        /// A quota or limit would be exceeded.
        public static let limitExceeded = Code(.limitExceeded)
        /// No node has room for the request.
        public static let insufficientCapacity = Code(.insufficientCapacity)
        /// The operation or option is known but not provided by this cloud.
        public static let unsupported = Code(.unsupported)
        /// An idempotency token was reused with different parameters.
        public static let idempotencyMismatch = Code(.idempotencyMismatch)
        /// A key could not be parsed.
        public static let invalidKeyFormat = Code(.invalidKeyFormat)
        /// The request's credentials or signature could not be validated.
        public static let authFailure = Code(.authFailure)
        /// The request carries no credentials at all.
        public static let missingAuthentication = Code(.missingAuthentication)
        /// The request's signature information is incomplete or malformed.
        public static let incompleteSignature = Code(.incompleteSignature)
        /// The signature does not cover the request as this endpoint takes it: its scope names
        /// another service or region, or its declared payload hash is not the body's.
        public static let signatureDoesNotMatch = Code(.signatureDoesNotMatch)
        /// The caller is not allowed to do this.
        public static let unauthorized = Code(.unauthorized)
        /// The request's time is too far from the server's.
        public static let requestExpired = Code(.requestExpired)
        /// The operation is not permitted on this resource (for example, termination protection).
        public static let operationNotPermitted = Code(.operationNotPermitted)
        /// Something failed inside the cloud; the request may be retried.
        public static let internalFailure = Code(.internalFailure)
        /// A component needed for the request is not reachable.
        public static let unavailable = Code(.unavailable)

        public var description: String { base.rawValue }

        /// The code named `name` (its `description`), as it travels between components.
        public init?(named name: String) {
            guard let base = Base(rawValue: name) else { return nil }
            self.base = base
        }
    }

    public var code: Code
    /// The kind of resource the error is about, when there is one.
    public var resource: ResourceKind?
    public var message: String
    /// The lower-level cause, kept for logs; never shown to API clients.
    public var underlying: String?

    public init(_ code: Code, _ resource: ResourceKind? = nil, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.resource = resource
        self.message = message
        self.underlying = underlying.map { String(describing: $0) }
    }

    public var description: String {
        var text = "\(code)"
        if let resource { text += "(\(resource.rawValue))" }
        text += ": \(message)"
        if let underlying { text += " [\(underlying)]" }
        return text
    }
}

/// The kinds of resources an error can name.
public enum ResourceKind: String, Sendable, Hashable, Codable {
    case instance, reservation, image, kernel, ramdisk, keyPair, securityGroup, zone, region
    case instanceType, node, account, accessKey, clientToken, parameter, action, address, tag, resource, permission, filter
    /// An elastic address named by its public IP (`address` is one named by its allocation id).
    case publicAddress
    /// An address's association with an instance.
    case association
    /// An instance's private address in its subnet.
    case privateAddress
    case subnet
    /// A user of an account, as IAM names it.
    case user
    /// A user's password (IAM's login profile).
    case loginProfile
}
