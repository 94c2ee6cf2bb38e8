public import EucaCore

/// A network mode: how instances are addressed and connected (SYSTEM, STATIC, MANAGED,
/// MANAGED-NOVLAN). A mode computes what it wants; an applier makes the kernel match (a later part).
public protocol NetworkMode: Sendable {
    /// The mode's name as `VNET_MODE` spells it.
    var name: String { get }
    /// The addresses for a new instance. Pure: no I/O.
    func addresses(for instance: InstanceID) -> InstanceAddresses
    /// What the hosts should do for these security groups. Pure: no I/O.
    func plan(_ groups: [GroupPolicy]) -> NetworkPlan
    /// Whether instances are on a VPC network, each VPC its own, with private addresses the
    /// cloud gives (VPC mode); false where the site's network addresses them.
    var placesInstancesOnVPC: Bool { get }
}

/// VPC mode (Eucalyptus 4's, EC2's since 2013): every account's default VPC is a network of its
/// own (a VNI, a namespace on each host that runs one of its instances, VXLAN between hosts);
/// the cloud gives each instance its address in its zone's default subnet; security groups are
/// enforced on each instance's tap, elastic IPs are 1:1 NAT at the VPC's uplink.
public struct VPCNetworkMode: NetworkMode {
    public let name = "VPC"
    public let placesInstancesOnVPC = true
    public init() {}

    public func addresses(for instance: InstanceID) -> InstanceAddresses {
        InstanceAddresses(macAddress: MACAddress.forInstance(instance))
    }

    public func plan(_ groups: [GroupPolicy]) -> NetworkPlan {
        NetworkPlan(groups: groups, enforcesRules: true)
    }
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
    public static let known = ["SYSTEM", "VPC", "STATIC", "MANAGED", "MANAGED-NOVLAN"]

    /// The mode named `name`, or a reason it cannot be used.
    public static func mode(named name: String) -> Result<any NetworkMode, ConfigProblem> {
        switch name.uppercased() {
        case "SYSTEM": return .success(SystemNetworkMode())
        case "VPC": return .success(VPCNetworkMode())
        case "STATIC", "MANAGED", "MANAGED-NOVLAN":
            return .failure(ConfigProblem("\(name.uppercased()) is not available in this release; use SYSTEM or VPC"))
        default:
            return .failure(ConfigProblem("\"\(name)\" is not one of \(known.joined(separator: ", "))"))
        }
    }
}

/// The network settings (`VNET_MODE`, `VNET_PUBLICIPS`; the other `VNET_*` keys come with the
/// modes that use them).
public struct NetworkSettings: Sendable {
    public var mode: any NetworkMode
    /// The public addresses elastic IPs are allocated from.
    public var publicIPs: [String]

    /// The block of every account's default VPC, as EC2 gives it.
    public static let vpcBlock = "172.31.0.0/16"

    public static let keys: [ConfigKey] = [
        ConfigKey("VNET_MODE", type: "SYSTEM|VPC|STATIC|MANAGED|MANAGED-NOVLAN", default: "SYSTEM",
                  "The network mode: SYSTEM (the site's network and DHCP) or VPC (a network per account, security groups enforced); the others are not in this release."),
        ConfigKey("VNET_PUBLICIPS", type: "addresses and ranges (a.b.c.d-a.b.c.e)", default: "(none)",
                  "The pool elastic IPs come from, separated by spaces or commas."),
    ]

    public init(mode: any NetworkMode = SystemNetworkMode(), publicIPs: [String] = []) {
        self.mode = mode
        self.publicIPs = publicIPs
    }

    public init(_ config: EucaConfig) throws(ConfigError) {
        let mode = try config.value("VNET_MODE", default: SystemNetworkMode() as any NetworkMode) { NetworkModes.mode(named: $0) }
        self.mode = mode
        publicIPs = try config.value("VNET_PUBLICIPS", default: []) { text in
            AddressPool.parse(text).flatMap { addresses in
                // A public address inside the VPCs' block would be one an instance may hold privately.
                guard mode.placesInstancesOnVPC, let block = NetworkText.cidr4(Self.vpcBlock),
                      let inside = addresses.first(where: { NetworkText.contains(block, $0) })
                else { return .success(addresses) }
                return .failure(ConfigProblem("\(inside) is inside \(Self.vpcBlock), the block of every account's VPC; public addresses must be outside it"))
            }
        }
    }
}

/// Lists of IPv4 addresses as Eucalyptus operators write them: single addresses and ranges
/// (`10.0.0.5-10.0.0.20`), separated by spaces or commas.
public enum AddressPool {
    /// The largest pool accepted.
    public static let maxSize = 65536

    public static func parse(_ text: String) -> Result<[String], ConfigProblem> {
        var addresses: [String] = []
        var seen = Set<UInt32>()
        for item in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }) {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2, let first = ipv4(ends[0]), let last = ends.count == 2 ? ipv4(ends[1]) : first else {
                return .failure(ConfigProblem("\"\(item)\" is not an IPv4 address or a range a.b.c.d-a.b.c.e"))
            }
            guard first <= last else { return .failure(ConfigProblem("the range \"\(item)\" runs backwards")) }
            guard UInt64(last - first) + UInt64(addresses.count) < UInt64(maxSize) else {
                return .failure(ConfigProblem("more than \(maxSize) addresses"))
            }
            for value in first...last where seen.insert(value).inserted { addresses.append(format(value)) }
        }
        return .success(addresses)
    }

    static func ipv4(_ text: Substring) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            // ASCII digits only, and no leading zero: `ip` and nft read 010 as octal 8.
            guard (1...3).contains(octet.utf8.count), octet.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  octet.utf8.count == 1 || octet.utf8.first != 0x30, let byte = UInt8(octet)
            else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    public static func format(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}

/// What a network mode wants the hosts to do about security groups.
public struct NetworkPlan: Sendable, Hashable {
    public var groups: [GroupPolicy]
    /// Which state of the cloud the plan is of (``NetworkPolicy/generation``).
    public var generation: UInt64 = 0
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
    public var placesInstancesOnVPC: Bool { false }

    /// The plan for `groups`; a mode that enforces rules overrides this.
    public func plan(_ groups: [GroupPolicy]) -> NetworkPlan {
        NetworkPlan(groups: groups, enforcesRules: false)
    }
}
