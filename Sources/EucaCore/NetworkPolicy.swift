/// The network's view of instances and security groups, as the cloud controller hands it down
/// to clusters and nodes (`configureNetwork`).

/// The addresses an instance gets from its network mode.
public struct InstanceAddresses: Sendable, Hashable, Codable {
    public var macAddress: String
    /// The private address, when the mode assigns one (SYSTEM mode leaves it to the site's DHCP).
    public var privateIp: String?
    /// The public address, when the mode assigns one.
    public var publicIp: String?
    /// The VNI of the VPC the instance is on (VPC mode).
    public var vni: Int?
    /// The underlay address of the node it runs on, where that node has told it: other nodes
    /// carrying its VPC reach it there over VXLAN.
    public var host: String?

    public init(macAddress: String, privateIp: String? = nil, publicIp: String? = nil, vni: Int? = nil, host: String? = nil) {
        self.macAddress = macAddress
        self.privateIp = privateIp
        self.publicIp = publicIp
        self.vni = vni
        self.host = host
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
public struct GroupPolicy: Sendable, Hashable, Codable {
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

/// What a host needs to enforce security groups and elastic IPs: every group with its rules and
/// the instances in it, as the cloud controller sees them. Sent to every cluster and node after
/// each change; a host takes from it what its own instances need.
public struct NetworkPolicy: Sendable, Hashable, Codable {
    public var groups: [GroupPolicy]
    /// Which state of the cloud this is: a later policy has a greater generation. A cluster or
    /// node ignores a policy older than the one it holds, so one that arrives late never
    /// overtakes a newer.
    public var generation: UInt64

    public init(groups: [GroupPolicy], generation: UInt64 = 0) {
        self.groups = groups
        self.generation = generation
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        groups = try container.decode([GroupPolicy].self, forKey: .groups)
        generation = try container.decodeIfPresent(UInt64.self, forKey: .generation) ?? 0
    }
}

/// Where a launched instance sits on a VPC network: the VPC (its VNI and block), the address the
/// mode gave it and its security groups by id. Absent where the site's network addresses
/// instances (SYSTEM mode).
public struct InstanceNetwork: Sendable, Hashable, Codable {
    public var vni: Int
    /// The VPC's block, `a.b.c.d/n`.
    public var vpcBlock: String
    public var privateIp: String
    public var groups: [String]
    /// In MANAGED mode, the block of its first security group, `a.b.c.d/n` inside `vpcBlock`:
    /// the instance's own subnet (its router the block's first host), and the segment its
    /// group's traffic between nodes travels on. Nil where the network is one segment.
    public var groupBlock: String?

    public init(vni: Int, vpcBlock: String, privateIp: String, groups: [String], groupBlock: String? = nil) {
        self.vni = vni
        self.vpcBlock = vpcBlock
        self.privateIp = privateIp
        self.groups = groups
        self.groupBlock = groupBlock
    }
}
