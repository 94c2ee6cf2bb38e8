public import EucaCore

/// The addresses an instance gets from its network mode.
public struct InstanceAddresses: Sendable, Hashable, Codable {
    public var macAddress: String
    /// The private address, when the mode assigns one (SYSTEM mode leaves it to the site's DHCP).
    public var privateIp: String?
    /// The public address, when the mode assigns one.
    public var publicIp: String?

    public init(macAddress: String, privateIp: String? = nil, publicIp: String? = nil) {
        self.macAddress = macAddress
        self.privateIp = privateIp
        self.publicIp = publicIp
    }
}

/// A network mode: how instances are addressed and connected (SYSTEM, STATIC, MANAGED,
/// MANAGED-NOVLAN). A mode computes what it wants; an applier makes the kernel match (a later part).
public protocol NetworkMode: Sendable {
    /// The mode's name as `VNET_MODE` spells it.
    var name: String { get }
    /// The addresses for a new instance. Pure: no I/O.
    func addresses(for instance: InstanceID) -> InstanceAddresses
    /// What the hosts should do for these security groups. Pure: no I/O.
    func plan(_ groups: [GroupPolicy]) -> NetworkPlan
}

/// SYSTEM mode: instances join the node's bridge and take their address from the site's own DHCP
/// server, as in Eucalyptus. The cloud only chooses the MAC address.
public struct SystemNetworkMode: NetworkMode {
    public let name = "SYSTEM"
    public init() {}

    public func addresses(for instance: InstanceID) -> InstanceAddresses {
        InstanceAddresses(macAddress: MACAddress.forInstance(instance))
    }
}

public enum MACAddress {
    /// Eucalyptus' scheme: `d0:0d:` and the first eight hex digits of the instance id.
    public static func forInstance(_ id: InstanceID) -> String {
        let digits = Array(id.rawValue.dropFirst(2).prefix(8))
        var parts = ["d0", "0d"]
        for index in stride(from: 0, to: digits.count, by: 2) { parts.append(String(digits[index..<index + 2])) }
        return parts.joined(separator: ":")
    }
}

/// The network modes by `VNET_MODE` name, and whether each is available yet.
public enum NetworkModes {
    /// Every mode Eucalyptus operators know.
    public static let known = ["SYSTEM", "STATIC", "MANAGED", "MANAGED-NOVLAN"]

    /// The mode named `name`, or a reason it cannot be used.
    public static func mode(named name: String) -> Result<any NetworkMode, ConfigProblem> {
        switch name.uppercased() {
        case "SYSTEM": return .success(SystemNetworkMode())
        case "STATIC", "MANAGED", "MANAGED-NOVLAN":
            return .failure(ConfigProblem("\(name.uppercased()) is not available in this release; use SYSTEM"))
        default:
            return .failure(ConfigProblem("\"\(name)\" is not one of \(known.joined(separator: ", "))"))
        }
    }
}

/// The network settings (`VNET_MODE`; the other `VNET_*` keys come with the modes that use them).
public struct NetworkSettings: Sendable {
    public var mode: any NetworkMode

    public static let keys: [ConfigKey] = [
        ConfigKey("VNET_MODE", type: "SYSTEM|STATIC|MANAGED|MANAGED-NOVLAN", default: "SYSTEM", "The network mode; only SYSTEM in this release."),
    ]

    public init(_ config: EucaConfig) throws(ConfigError) {
        mode = try config.value("VNET_MODE", default: SystemNetworkMode() as any NetworkMode) { NetworkModes.mode(named: $0) }
    }
}

/// Where a security-group rule lets traffic come from (ingress) or go to (egress).
public enum RulePeer: Sendable, Hashable, Codable {
    case cidr(String)
    case cidr6(String)
    /// The instances in a security group.
    case group(accountId: String, groupId: String)
}

/// One rule: a protocol (`tcp`, `udp`, `icmp`, `-1` for all, or a number), a port range (for ICMP,
/// type and code; nil where the protocol has none) and a peer.
public struct FirewallRule: Sendable, Hashable, Codable {
    public var ipProtocol: String
    public var fromPort: Int?
    public var toPort: Int?
    public var peer: RulePeer

    public init(ipProtocol: String, fromPort: Int?, toPort: Int?, peer: RulePeer) {
        self.ipProtocol = ipProtocol
        self.fromPort = fromPort
        self.toPort = toPort
        self.peer = peer
    }
}

/// A security group as the network sees it: its rules and the instances in it.
public struct GroupPolicy: Sendable, Hashable {
    public var groupId: String
    public var accountId: String
    public var ingress: [FirewallRule]
    public var egress: [FirewallRule]
    /// The instances in the group that occupy a node, with their addresses.
    public var members: [String: InstanceAddresses]

    public init(groupId: String, accountId: String, ingress: [FirewallRule], egress: [FirewallRule], members: [String: InstanceAddresses]) {
        self.groupId = groupId
        self.accountId = accountId
        self.ingress = ingress
        self.egress = egress
        self.members = members
    }
}

/// What a network mode wants the hosts to do about security groups.
public struct NetworkPlan: Sendable, Hashable {
    public var groups: [GroupPolicy]
    /// Whether the mode enforces the rules at all (SYSTEM mode does not, as in Eucalyptus).
    public var enforcesRules: Bool

    public init(groups: [GroupPolicy], enforcesRules: Bool) {
        self.groups = groups
        self.enforcesRules = enforcesRules
    }
}

/// Makes hosts match a ``NetworkPlan`` (bridges, nftables, NAT). Called after every change to
/// groups or their members; must be idempotent, since the same plan may come twice.
public protocol NetworkApplier: Sendable {
    func apply(_ plan: NetworkPlan) async throws
}

extension NetworkMode {
    /// The plan for `groups`; a mode that enforces rules overrides this.
    public func plan(_ groups: [GroupPolicy]) -> NetworkPlan {
        NetworkPlan(groups: groups, enforcesRules: false)
    }
}
