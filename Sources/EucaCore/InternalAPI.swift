public import Foundation

/// The name of a node controller, unique within its cluster (its host name or address by default).
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One file a node needs to boot an instance: a kernel, a ramdisk or a disk image.
public struct ImageArtifact: Sendable, Codable, Hashable {
    public var imageId: ImageID
    /// Where the node can get it: a path on the node, or a location in the image store.
    public var location: String
    /// Lowercase hex SHA-256 of the file, when known; a node verifies it before use.
    public var sha256: String?

    public init(imageId: ImageID, location: String, sha256: String? = nil) {
        self.imageId = imageId
        self.location = location
        self.sha256 = sha256
    }
}

/// How an instance boots: a kernel and ramdisk (direct kernel boot), a disk, or both.
///
/// A value type whose fields are held once, in an immutable box that every copy shares: the
/// thousand instances of one launch, their records at the cloud and on the node, and the
/// launches between them hold one boot, not a thousand. Changing a field makes a new box.
public struct BootSpec: Sendable, Codable, Hashable {
    private final class Fields: Sendable {
        let kernel: ImageArtifact?
        let ramdisk: ImageArtifact?
        let disk: ImageArtifact?
        let commandLine: String

        init(kernel: ImageArtifact?, ramdisk: ImageArtifact?, disk: ImageArtifact?, commandLine: String) {
            self.kernel = kernel
            self.ramdisk = ramdisk
            self.disk = disk
            self.commandLine = commandLine
        }
    }

    private var fields: Fields

    public init(kernel: ImageArtifact? = nil, ramdisk: ImageArtifact? = nil, disk: ImageArtifact? = nil, commandLine: String = "") {
        fields = Fields(kernel: kernel, ramdisk: ramdisk, disk: disk, commandLine: commandLine)
    }

    public var kernel: ImageArtifact? {
        get { fields.kernel }
        set { self = BootSpec(kernel: newValue, ramdisk: ramdisk, disk: disk, commandLine: commandLine) }
    }
    public var ramdisk: ImageArtifact? {
        get { fields.ramdisk }
        set { self = BootSpec(kernel: kernel, ramdisk: newValue, disk: disk, commandLine: commandLine) }
    }
    public var disk: ImageArtifact? {
        get { fields.disk }
        set { self = BootSpec(kernel: kernel, ramdisk: ramdisk, disk: newValue, commandLine: commandLine) }
    }
    /// The kernel command line, for direct kernel boot.
    public var commandLine: String {
        get { fields.commandLine }
        set { self = BootSpec(kernel: kernel, ramdisk: ramdisk, disk: disk, commandLine: newValue) }
    }

    /// Whether there is anything to boot.
    public var isEmpty: Bool { kernel == nil && disk == nil }
    /// The kernel, ramdisk and disk, those there are.
    public var artifacts: [ImageArtifact] { [kernel, ramdisk, disk].compactMap { $0 } }

    public static func == (lhs: BootSpec, rhs: BootSpec) -> Bool {
        lhs.fields === rhs.fields
            || (lhs.kernel == rhs.kernel && lhs.ramdisk == rhs.ramdisk && lhs.disk == rhs.disk && lhs.commandLine == rhs.commandLine)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kernel)
        hasher.combine(ramdisk)
        hasher.combine(disk)
        hasher.combine(commandLine)
    }

    // The stored form is the plain one: a key per field, absent optionals left out.
    private enum CodingKeys: String, CodingKey { case kernel, ramdisk, disk, commandLine }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kernel: try container.decodeIfPresent(ImageArtifact.self, forKey: .kernel),
            ramdisk: try container.decodeIfPresent(ImageArtifact.self, forKey: .ramdisk),
            disk: try container.decodeIfPresent(ImageArtifact.self, forKey: .disk),
            commandLine: try container.decode(String.self, forKey: .commandLine))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(kernel, forKey: .kernel)
        try container.encodeIfPresent(ramdisk, forKey: .ramdisk)
        try container.encodeIfPresent(disk, forKey: .disk)
        try container.encode(commandLine, forKey: .commandLine)
    }
}

/// Everything a node needs to start one instance. Sent down from the cloud controller through
/// the cluster controller; a node treats a second launch of the same instance id as a no-op.
public struct InstanceLaunch: Sendable, Codable, Hashable {
    public var instanceId: InstanceID
    public var reservationId: ReservationID
    public var accountId: AccountID
    public var vmType: VMType
    public var imageId: ImageID
    public var boot: BootSpec
    public var keyName: String?
    /// The key pair's public key as an OpenSSH line.
    public var publicKey: String?
    /// The user data, decoded.
    public var userData: Data?
    public var macAddress: String
    public var launchIndex: Int
    public var zone: String
    /// The node to use if it still has room (a restarted instance goes back to its node).
    public var preferredNode: NodeID?
    /// The names of the instance's security groups, for the metadata service.
    public var securityGroups: [String]?
    /// The instance's public address, when it has one.
    public var publicIp: String?
    /// How the instance's metadata service answers; EC2's defaults when nil.
    public var metadataOptions: MetadataOptions?
    /// Where the instance sits on a VPC network; nil where the site's network addresses it.
    public var network: InstanceNetwork?

    public init(
        instanceId: InstanceID, reservationId: ReservationID, accountId: AccountID, vmType: VMType,
        imageId: ImageID, boot: BootSpec, keyName: String? = nil, publicKey: String? = nil,
        userData: Data? = nil, macAddress: String, launchIndex: Int = 0, zone: String,
        preferredNode: NodeID? = nil, securityGroups: [String]? = nil, publicIp: String? = nil, metadataOptions: MetadataOptions? = nil,
        network: InstanceNetwork? = nil
    ) {
        self.network = network
        self.securityGroups = securityGroups
        self.publicIp = publicIp
        self.metadataOptions = metadataOptions
        self.instanceId = instanceId
        self.reservationId = reservationId
        self.accountId = accountId
        self.vmType = vmType
        self.imageId = imageId
        self.boot = boot
        self.keyName = keyName
        self.publicKey = publicKey
        self.userData = userData
        self.macAddress = macAddress
        self.launchIndex = launchIndex
        self.zone = zone
        self.preferredNode = preferredNode
    }
}

/// What a node reports about one instance it knows.
public struct InstanceReport: Sendable, Codable, Hashable {
    public var instanceId: InstanceID
    public var node: NodeID
    public var state: ObservedState
    /// Why a launch failed or a domain crashed, when the node knows.
    public var detail: String?
    /// The IPv4 address the node has seen the instance use on its network, when it has.
    public var privateIp: String?
    /// The metadata options the node applies to the instance, from nodes that serve metadata.
    public var metadataOptions: MetadataOptions?

    public init(
        instanceId: InstanceID, node: NodeID, state: ObservedState, detail: String? = nil, privateIp: String? = nil,
        metadataOptions: MetadataOptions? = nil
    ) {
        self.instanceId = instanceId
        self.node = node
        self.state = state
        self.detail = detail
        self.privateIp = privateIp
        self.metadataOptions = metadataOptions
    }
}

/// How an instance's metadata service answers, as EC2's `InstanceMetadataOptions`.
public struct MetadataOptions: Sendable, Codable, Hashable {
    /// `optional` (IMDSv1 and v2) or `required` (a session token on every request, IMDSv2 only).
    public var httpTokens: String
    /// `enabled` or `disabled`: whether the service answers the instance at all.
    public var httpEndpoint: String
    /// EC2's hop limit for token responses (1–64). Kept and reported; a node serves instances on
    /// its own network, where no reply crosses a router.
    public var httpPutResponseHopLimit: Int

    public init(httpTokens: String = "optional", httpEndpoint: String = "enabled", httpPutResponseHopLimit: Int = 1) {
        self.httpTokens = httpTokens
        self.httpEndpoint = httpEndpoint
        self.httpPutResponseHopLimit = httpPutResponseHopLimit
    }

    public var tokensRequired: Bool { httpTokens == "required" }
    public var endpointEnabled: Bool { httpEndpoint == "enabled" }
}

/// A node's capacity and what is left of it.
public struct NodeResources: Sendable, Codable, Hashable {
    public var node: NodeID
    public var totalCores: Int
    public var freeCores: Int
    public var totalMemoryMiB: Int
    public var freeMemoryMiB: Int
    public var totalDiskGiB: Int
    public var freeDiskGiB: Int
    public var instances: Int
    /// The node's address on the network between nodes, where its VPCs' VXLAN traffic goes
    /// (VPC mode, `VNET_PRIVINTERFACE`); nil where it has none.
    public var underlay: String?
    /// Whether the node enforces network policies (it has a VPC network, or filters its bridge);
    /// a node that does not is not sent them. Nil, from a node that does not say, counts as yes.
    public var enforcesNetwork: Bool?

    public init(
        node: NodeID, totalCores: Int, freeCores: Int, totalMemoryMiB: Int, freeMemoryMiB: Int,
        totalDiskGiB: Int, freeDiskGiB: Int, instances: Int, underlay: String? = nil, enforcesNetwork: Bool? = nil
    ) {
        self.underlay = underlay
        self.enforcesNetwork = enforcesNetwork
        self.node = node
        self.totalCores = totalCores
        self.freeCores = freeCores
        self.totalMemoryMiB = totalMemoryMiB
        self.freeMemoryMiB = freeMemoryMiB
        self.totalDiskGiB = totalDiskGiB
        self.freeDiskGiB = freeDiskGiB
        self.instances = instances
    }

    /// How many more instances of `type` fit now.
    public func available(_ type: VMType) -> Int {
        Self.fits(type, cores: freeCores, memoryMiB: freeMemoryMiB, diskGiB: freeDiskGiB)
    }

    /// How many instances of `type` fit on the empty node.
    public func maximum(_ type: VMType) -> Int {
        Self.fits(type, cores: totalCores, memoryMiB: totalMemoryMiB, diskGiB: totalDiskGiB)
    }

    /// How many instances of `type` fit in the given room.
    public static func fits(_ type: VMType, cores: Int, memoryMiB: Int, diskGiB: Int) -> Int {
        var count = Int.max
        if type.cores > 0 { count = min(count, cores / type.cores) }
        if type.memoryMiB > 0 { count = min(count, memoryMiB / type.memoryMiB) }
        if type.diskGiB > 0 { count = min(count, diskGiB / type.diskGiB) }
        return max(0, count == Int.max ? 0 : count)
    }
}

/// An instance's console log, as the node has it.
public struct ConsoleOutput: Sendable, Codable, Hashable {
    public var instanceId: InstanceID
    /// At most the last 64 KiB of the console.
    public var output: Data
    public var timestamp: Date

    public init(instanceId: InstanceID, output: Data, timestamp: Date) {
        self.instanceId = instanceId
        self.output = output
        self.timestamp = timestamp
    }

    /// The most a console read returns, as EC2 does.
    public static let maxBytes = 64 * 1024
}

/// The node controller's operations, named as in Eucalyptus. Called by a cluster controller; in
/// `euca-cloud` in process, between machines over the internal API.
///
/// Every operation is idempotent: launching an instance the node already runs returns its report;
/// terminating, stopping or rebooting one it does not know is not an error.
public protocol NodeControllerAPI: Sendable {
    var node: NodeID { get }
    /// Defines and starts the instance. Returns once the domain has been started (or failed).
    func runInstance(_ launch: InstanceLaunch) async throws -> InstanceReport
    /// Starts a stopped instance, defining its domain again if the hypervisor lost it.
    func startInstance(_ launch: InstanceLaunch) async throws -> InstanceReport
    /// Destroys the instance's domain and removes everything it left on the node.
    func terminateInstance(_ id: InstanceID) async throws
    /// Shuts the domain down, keeping its definition and disks.
    func stopInstance(_ id: InstanceID) async throws
    func rebootInstance(_ id: InstanceID) async throws
    /// Every instance the node knows, with the state of its domain.
    func describeInstances() async throws -> [InstanceReport]
    func describeResource() async throws -> NodeResources
    func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput
    /// Changes how the instance's metadata service answers (ModifyInstanceMetadataOptions);
    /// idempotent. An unknown instance is `notFound`.
    func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws
    /// Makes the node enforce `policy` (Eucalyptus' `ConfigureNetwork`) for the instances it runs:
    /// their security groups, and the elastic IPs of those on a VPC network. The whole policy
    /// each time; the same policy twice changes nothing.
    func configureNetwork(_ policy: NetworkPolicy) async throws
}


/// The result of a cluster operation for one instance.
public struct InstanceOutcome: Sendable, Codable, Hashable {
    public var instanceId: InstanceID
    /// Where the instance runs, when known.
    public var node: NodeID?
    /// The node's report after the operation, when there is one.
    public var report: InstanceReport?
    /// Why the operation failed for this instance; nil on success.
    public var failure: Failure?

    public enum Failure: Sendable, Codable, Hashable {
        /// No node had room.
        case insufficientCapacity
        /// The cluster does not know the instance.
        case notFound
        /// The node failed the operation.
        case failed(String)
    }

    public init(instanceId: InstanceID, node: NodeID? = nil, report: InstanceReport? = nil, failure: Failure? = nil) {
        self.instanceId = instanceId
        self.node = node
        self.report = report
        self.failure = failure
    }
}

/// What a cluster reports about its instances.
public struct ClusterInstances: Sendable, Codable, Hashable {
    public var reports: [InstanceReport]
    /// Nodes that did not answer: their instances' states are unknown, not absent.
    public var unreachableNodes: [NodeID]

    public init(reports: [InstanceReport], unreachableNodes: [NodeID] = []) {
        self.reports = reports
        self.unreachableNodes = unreachableNodes
    }
}

/// A cluster's capacity, node by node.
public struct ClusterResources: Sendable, Codable, Hashable {
    public var zone: String
    public var nodes: [NodeResources]

    public init(zone: String, nodes: [NodeResources]) {
        self.zone = zone
        self.nodes = nodes
    }

    /// How many more instances of `type` fit, node by node.
    public func available(_ type: VMType) -> Int { nodes.reduce(0) { $0 + $1.available(type) } }
    /// How many instances of `type` fit on the empty cluster.
    public func maximum(_ type: VMType) -> Int { nodes.reduce(0) { $0 + $1.maximum(type) } }
}

/// The cluster controller's operations, named as in Eucalyptus. One cluster is one availability
/// zone. Called by the cloud controller.
///
/// Batch operations answer per instance; they throw only when the cluster itself cannot act.
public protocol ClusterControllerAPI: Sendable {
    /// The availability zone this cluster serves.
    var zone: String { get }
    /// Places each instance on a node and launches it there.
    func runInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome]
    /// Starts stopped instances, on their previous node when it has room.
    func startInstances(_ launches: [InstanceLaunch]) async throws -> [InstanceOutcome]
    func terminateInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome]
    func stopInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome]
    func rebootInstances(_ ids: [InstanceID]) async throws -> [InstanceOutcome]
    func describeInstances() async throws -> ClusterInstances
    func describeResources() async throws -> ClusterResources
    func getConsoleOutput(_ id: InstanceID) async throws -> ConsoleOutput
    /// Passes new metadata options to the node that runs the instance.
    func modifyInstanceMetadataOptions(_ id: InstanceID, _ options: MetadataOptions) async throws
    /// Hands `policy` to every node of the cluster, and to nodes that join or answer again later.
    func configureNetwork(_ policy: NetworkPolicy) async throws
}


/// The id of the client request being served, carried down the tiers (the internal APIs send it
/// in the `x-euca-request-id` header) so each tier's logs name it.
public enum RequestID {
    @TaskLocal public static var current: String?

    /// `metadata` with `euca.request` added when a request is being served.
    public static func tagged(_ metadata: [String: String] = [:]) -> [String: String] {
        guard let current else { return metadata }
        var tagged = metadata
        tagged["euca.request"] = current
        return tagged
    }
}
