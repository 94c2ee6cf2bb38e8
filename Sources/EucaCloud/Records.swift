public import EucaCore
public import EucaScheduler
public import EucaSecurity
public import Foundation

/// An account: the owner of resources, as EC2's 12-digit account.
public struct AccountRecord: Sendable, Codable, Hashable {
    public var id: AccountID
    public var name: String
    public var isCloudAdmin: Bool
    public var createdAt: Date
    /// Its quotas, lease and priority; nil for none.
    public var terms: AccountTerms? = nil
    /// The VXLAN network identifier of its default VPC, given at its first launch in VPC mode.
    public var vni: Int? = nil
}

/// A user of an account, as IAM has them: every account has its `admin` user, made with it.
public struct UserRecord: Sendable, Codable, Hashable {
    public var accountId: AccountID
    public var name: String
    /// IAM's unique id for the user (`AIDA` and 17 characters).
    public var id: String
    /// IAM's path (`/` unless given).
    public var path: String
    public var createdAt: Date
    /// The password the user signs in to the web console with, if it has one.
    public var login: LoginProfile?
    /// The X.509 certificates the cloud's CA issued the user (in its credentials bundles).
    public var certificates: [UserCertificate]? = nil

    /// The user's ARN, as IAM and STS name it.
    public var arn: String { "arn:aws:iam::\(accountId.rawValue):user\(path)\(name)" }
}

/// A certificate the cloud's CA issued a user: IAM's signing certificate. The cloud never keeps
/// its private key.
public struct UserCertificate: Sendable, Codable, Hashable {
    /// IAM's certificate id: the certificate's SHA-256, in upper-case hex.
    public var id: String
    public var pem: String
    public var uploadedAt: Date
    public var isActive: Bool
}

/// A request to join the cloud, made on the web console's sign-up page: nothing usable until
/// an administrator approves it.
public struct SignupRecord: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable, Hashable { case pending, approved, rejected }

    /// `signup-` and 16 hex digits.
    public var id: String
    /// The account asked for; it must not exist yet.
    public var accountName: String
    /// The user the requester signs in as, made with the account.
    public var userName: String
    public var email: String
    /// The password chosen, hashed; dropped when the request is rejected.
    public var password: PasswordHash?
    public var createdAt: Date
    public var state: State
    public var decidedAt: Date?
}

/// A user's password: hashed, never kept or logged in the clear.
public struct LoginProfile: Sendable, Codable, Hashable {
    public var password: PasswordHash
    public var createdAt: Date
    /// Whether the user must choose a new password when it next signs in.
    public var resetRequired: Bool
}

/// A key pair the cloud knows: only the public half is kept.
public struct KeyPairRecord: Sendable, Codable, Hashable {
    public var id: KeyPairID
    public var accountId: AccountID
    public var name: String
    public var type: KeyType
    public var fingerprint: String
    /// The public key as an OpenSSH line.
    public var publicKey: String
    public var createdAt: Date
}

/// A registered image.
public struct ImageRecord: Sendable, Codable, Hashable {
    public var id: ImageID
    public var ownerId: AccountID
    public var name: String
    public var description: String?
    public var architecture: String
    public var kernelId: ImageID?
    public var ramdiskId: ImageID?
    /// Where the image's files are (a path or an image-store location).
    public var location: String
    public var isPublic: Bool
    public var createdAt: Date
    /// What a node boots for this image.
    public var boot: BootSpec
    /// Accounts other than the owner that may launch the image.
    public var launchUsers: [AccountID]
    /// The kernel and ramdisk given at registration, which ResetImageAttribute restores.
    public var registeredKernelId: ImageID?
    public var registeredRamdiskId: ImageID?
    public var kind: ImageKind { id.kind }

    /// Whether `account` may see and launch the image.
    public func isVisible(to account: AccountID) -> Bool {
        ownerId == account || isPublic || launchUsers.contains(account)
    }

    public init(
        id: ImageID, ownerId: AccountID, name: String, description: String? = nil, architecture: String = "x86_64",
        kernelId: ImageID? = nil, ramdiskId: ImageID? = nil, location: String, isPublic: Bool = false,
        createdAt: Date = Date(), boot: BootSpec, launchUsers: [AccountID] = []
    ) {
        self.launchUsers = launchUsers
        self.registeredKernelId = kernelId
        self.registeredRamdiskId = ramdiskId
        self.id = id
        self.ownerId = ownerId
        self.name = name
        self.description = description
        self.architecture = architecture
        self.kernelId = kernelId
        self.ramdiskId = ramdiskId
        self.location = location
        self.isPublic = isPublic
        self.createdAt = createdAt
        self.boot = boot
    }
}

/// Why an instance is in its state, as EC2's `stateReason`.
public struct StateReason: Sendable, Codable, Hashable {
    public var code: String
    public var message: String

    public static let userInitiated = StateReason(code: "Client.UserInitiatedShutdown", message: "Client.UserInitiatedShutdown: User initiated shutdown")
    public static let instanceInitiated = StateReason(code: "Client.InstanceInitiatedShutdown", message: "Client.InstanceInitiatedShutdown: Instance initiated shutdown")
    public static let pending = StateReason(code: "pending", message: "pending")
    public static let insufficientCapacity = StateReason(
        code: "Server.InsufficientInstanceCapacity", message: "Server.InsufficientInstanceCapacity: Insufficient capacity to satisfy the request")
    public static func internalError(_ detail: String) -> StateReason {
        StateReason(code: "Server.InternalError", message: "Server.InternalError: \(detail)")
    }
}

/// One instance: what the user asked for (the desired state) and what is known of it.
public struct InstanceRecord: Sendable, Codable, Hashable {
    public var id: InstanceID
    public var reservationId: ReservationID
    public var accountId: AccountID
    public var imageId: ImageID
    public var kernelId: ImageID?
    public var ramdiskId: ImageID?
    public var vmType: VMType
    public var keyName: String?
    public var publicKey: String?
    public var userData: Data?
    public var zone: String
    public var node: NodeID?
    public var state: InstanceState
    public var stateReason: StateReason?
    /// EC2's `reason`: a line saying what last changed the state and when.
    public var transitionReason: String
    public var stateChangedAt: Date
    public var launchIndex: Int
    public var launchTime: Date
    public var clientToken: String?
    public var macAddress: String
    public var privateIp: String?
    public var publicIp: String?
    public var shutdownBehavior: ShutdownBehavior
    public var boot: BootSpec
    public var groups: [GroupIdentifier]
    /// Termination protection (`disableApiTermination`).
    public var terminationProtected: Bool
    /// When the account's lease on the instance ends; the SLA timer terminates it then.
    public var leaseEnds: Date? = nil
    /// How the instance's metadata service answers (ModifyInstanceMetadataOptions).
    public var metadataOptions: MetadataOptions? = nil
    /// Stop protection (`disableApiStop`); nil is off, and keeps the stored record as it was.
    public var stopProtected: Bool? = nil
    /// Detailed monitoring as asked for (`Monitoring.Enabled`), shown as the monitoring state.
    public var monitored: Bool? = nil
    /// The VNI of the VPC the instance is on, where the network mode puts it on one (VPC); its
    /// `privateIp` was then given by the cloud at launch, and is kept while it exists.
    public var vni: Int? = nil
    /// Whether `publicIp` is the instance's own, given at launch from the pool (EC2's public IPv4
    /// address, which its default subnet maps), rather than an elastic IP; nil for no.
    public var autoPublicIp: Bool? = nil
    /// The block of the network the instance is on, where that is the cloud's one network
    /// (STATIC, MANAGED-NOVLAN: `VNET_SUBNET`); nil on a default VPC, whose block is EC2's.
    public var block: String? = nil
    /// In MANAGED mode, the block of its first group the instance's address is in: its subnet
    /// and its segment.
    public var groupBlock: String? = nil

    /// What a node needs to run this instance.
    public var launch: InstanceLaunch {
        InstanceLaunch(
            instanceId: id, reservationId: reservationId, accountId: accountId, vmType: vmType, imageId: imageId,
            boot: boot, keyName: keyName, publicKey: publicKey, userData: userData, macAddress: macAddress,
            launchIndex: launchIndex, zone: zone, preferredNode: node, securityGroups: groups.map(\.name), publicIp: publicIp,
            metadataOptions: metadataOptions,
            network: vni.flatMap { vni in
                privateIp.map {
                    InstanceNetwork(vni: vni, vpcBlock: block ?? VPCService.defaultCIDR, privateIp: $0, groups: groups.map(\.id.rawValue), groupBlock: groupBlock)
                }
            })
    }
}

extension InstanceRecord {
    /// This record with each field that equals `previous`'s taken from `previous`.
    ///
    /// A record read back from the store for an update is decoded afresh: every string in it is a
    /// new copy. The mirror keeps the version it already holds for what did not change, so an
    /// instance updated a hundred times still holds one copy of its ids, its image and its groups.
    func sharingUnchanged(with previous: InstanceRecord) -> InstanceRecord {
        var shared = self
        func keep<T: Equatable>(_ field: WritableKeyPath<InstanceRecord, T>) {
            if shared[keyPath: field] == previous[keyPath: field] { shared[keyPath: field] = previous[keyPath: field] }
        }
        keep(\.id)
        keep(\.reservationId)
        keep(\.accountId)
        keep(\.imageId)
        keep(\.kernelId)
        keep(\.ramdiskId)
        keep(\.vmType)
        keep(\.keyName)
        keep(\.publicKey)
        keep(\.userData)
        keep(\.zone)
        keep(\.node)
        keep(\.stateReason)
        keep(\.transitionReason)
        keep(\.clientToken)
        keep(\.macAddress)
        keep(\.privateIp)
        keep(\.publicIp)
        keep(\.boot)
        keep(\.groups)
        keep(\.metadataOptions)
        keep(\.block)
        keep(\.groupBlock)
        return shared
    }
}

/// A security group as instances and reservations name it.
public struct GroupIdentifier: Sendable, Codable, Hashable {
    public var id: SecurityGroupID
    public var name: String
    public init(id: SecurityGroupID, name: String) {
        self.id = id
        self.name = name
    }
}

/// A reservation: the instances one RunInstances call launched.
public struct ReservationRecord: Sendable, Codable, Hashable {
    public var id: ReservationID
    public var accountId: AccountID
    public var instanceIds: [InstanceID]
    public var groups: [GroupIdentifier]
    public var clientToken: String?
    public var createdAt: Date
}

/// A RunInstances idempotency token and the request it stands for.
public struct ClientTokenRecord: Sendable, Codable, Hashable {
    public var token: String
    public var accountId: AccountID
    public var reservationId: ReservationID
    /// A digest of the request's parameters, to detect reuse with different ones.
    public var parameterDigest: String
}

/// Facts about the cloud itself, written on first start.
public struct CloudRecord: Sendable, Codable, Hashable {
    public var adminAccountId: AccountID
    public var createdAt: Date
    public var defaultImageId: ImageID?
}

/// The kinds of resource that carry tags, by EC2's `resource-type` names.
public enum TaggableType: String, Sendable, Codable, Hashable, CaseIterable {
    case instance
    case image
    case securityGroup = "security-group"
    case keyPair = "key-pair"
    case elasticIp = "elastic-ip"

    /// The type of a well-formed id of a taggable resource, or nil for anything else.
    public static func of(_ id: String) -> TaggableType? {
        guard let dash = id.firstIndex(of: "-") else { return nil }
        let prefix = String(id[..<dash])
        guard EC2IDShape.matches(id, prefix: prefix) else { return nil }
        switch prefix {
        case "i": return .instance
        case "ami", "aki", "ari": return .image
        case "sg": return .securityGroup
        case "key": return .keyPair
        case "eipalloc": return .elasticIp
        default: return nil
        }
    }

    /// The resource kind errors about a missing resource of this type name.
    public var resourceKind: ResourceKind {
        switch self {
        case .instance: .instance
        case .image: .image
        case .securityGroup: .securityGroup
        case .keyPair: .keyPair
        case .elasticIp: .address
        }
    }
}

/// Which account owns a taggable resource: one entry per resource, written and removed with it,
/// so tag changes can check in their own transaction that the resource still exists.
public struct ResourceEntry: Sendable, Codable, Hashable {
    public var id: String
    public var type: TaggableType
    public var accountId: AccountID
}

/// The tags of one resource.
public struct ResourceTags: Sendable, Codable, Hashable {
    public var resourceId: String
    public var type: TaggableType
    public var accountId: AccountID
    public var tags: [String: String]
}

/// An elastic IP: a public address from the pool, allocated to an account and perhaps associated
/// with one of its instances.
public struct AddressRecord: Sendable, Codable, Hashable {
    public var publicIp: String
    public var allocationId: String
    public var accountId: AccountID
    public var instanceId: InstanceID?
    public var associationId: String?
    public var allocatedAt: Date
    /// `vpc` for an address allocated for the default VPC (`Domain=vpc`); nil (EC2-Classic's
    /// `standard`) for one allocated without a domain, as records made before VPCs were.
    public var domain: String?
}

/// The cloud controller's collections in its ``StateStore``.
public enum CloudSchema {
    public static let cloud = StoreCollection<CloudRecord>("cloud")
    public static let accounts = StoreCollection<AccountRecord>("accounts")
    /// Access keys, keyed by id, their secrets sealed with the cloud's master key.
    public static let accessKeys = StoreCollection<StoredAccessKey>("access-keys")
    /// Users, keyed `accountId/name` with the name in lower case: IAM's names are unique
    /// regardless of case.
    public static let users = StoreCollection<UserRecord>("users")
    /// Sign-up requests, keyed by id.
    public static let signups = StoreCollection<SignupRecord>("signups")
    /// Keyed `accountId/name`.
    public static let keyPairs = StoreCollection<KeyPairRecord>("key-pairs")
    public static let images = StoreCollection<ImageRecord>("images")
    public static let instances = StoreCollection<InstanceRecord>("instances")
    public static let reservations = StoreCollection<ReservationRecord>("reservations")
    /// Keyed `accountId/token`.
    public static let clientTokens = StoreCollection<ClientTokenRecord>("client-tokens")
    /// Every taggable resource, keyed by its id.
    public static let resources = StoreCollection<ResourceEntry>("resources")
    /// Tags, keyed by resource id.
    public static let tags = StoreCollection<ResourceTags>("tags")
    /// Security groups, keyed by id.
    public static let securityGroups = StoreCollection<SecurityGroupRecord>("security-groups")
    /// Elastic IPs, keyed by public address.
    public static let addresses = StoreCollection<AddressRecord>("addresses")
    /// Security group ids, keyed `accountId/name`.
    public static let securityGroupNames = StoreCollection<SecurityGroupID>("security-group-names")

    public static func userKey(_ account: AccountID, _ name: String) -> String { "\(account)/\(name.lowercased())" }

    static func groupNameKey(_ account: AccountID, _ name: String) -> String { "\(account)/\(name)" }

    static func keyPairKey(_ account: AccountID, _ name: String) -> String { "\(account)/\(name)" }
    static func tokenKey(_ account: AccountID, _ token: String) -> String { "\(account)/\(token)" }
}
