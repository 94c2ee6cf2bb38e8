public import EucaCore

/// A network mode: how instances are addressed and connected (SYSTEM, STATIC, MANAGED,
/// MANAGED-NOVLAN, VPC). A mode computes what it wants; the nodes make the kernel match
/// (`VPCNodeNetwork`, `BridgedNodeNetwork`).
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
    /// The one network the cloud puts every instance on, and how it gives their addresses
    /// (STATIC, MANAGED, MANAGED-NOVLAN); nil where each account has its own (VPC) or the site addresses
    /// instances (SYSTEM).
    var segment: SegmentAddressing? { get }
}

/// VPC mode (Eucalyptus 4's, EC2's since 2013): every account's default VPC is a network of its
/// own (a VNI, a namespace on each host that runs one of its instances, VXLAN between hosts);
/// the cloud gives each instance its address in its zone's default subnet; security groups are
/// enforced on each instance's tap, elastic IPs are 1:1 NAT at the VPC's uplink.
public struct VPCNetworkMode: NetworkMode {
    public let name = "VPC"
    public let placesInstancesOnVPC = true
    public init() {}
}

/// SYSTEM mode: instances join the node's bridge and take their address from the site's own DHCP
/// server, as in Eucalyptus. The cloud only chooses the MAC address. Unlike Eucalyptus', the
/// nodes enforce security groups on what crosses the bridge (``BridgedNodeNetwork``).
public struct SystemNetworkMode: NetworkMode {
    public let name = "SYSTEM"
    public init() {}
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

/// The network modes by `VNET_MODE` name.
public enum NetworkModes {
    /// Every mode Eucalyptus operators know.
    public static let known = ["SYSTEM", "VPC", "STATIC", "MANAGED", "MANAGED-NOVLAN"]

    /// The mode named `name`, or a reason it cannot be used.
    public static func mode(named name: String) -> Result<any NetworkMode, ConfigProblem> {
        switch name.uppercased() {
        case "SYSTEM": return .success(SystemNetworkMode())
        case "VPC": return .success(VPCNetworkMode())
        case "STATIC", "MANAGED", "MANAGED-NOVLAN":
            return .failure(ConfigProblem("\(name.uppercased()) needs VNET_SUBNET and VNET_NETMASK"))
        default:
            return .failure(ConfigProblem("\"\(name)\" is not one of \(known.joined(separator: ", "))"))
        }
    }
}

/// The network settings: `VNET_MODE`, `VNET_PUBLICIPS`, and the keys of the modes that put
/// every instance on one network of the cloud's (`VNET_SUBNET`, `VNET_NETMASK`,
/// `VNET_ADDRSPERNET`, `VNET_MACMAP`), each checked against the others at start.
public struct NetworkSettings: Sendable {
    public var mode: any NetworkMode
    /// The public addresses elastic IPs are allocated from.
    public var publicIPs: [String]

    /// The block of every account's default VPC, as EC2 gives it.
    public static let vpcBlock = "172.31.0.0/16"

    public static let keys: [ConfigKey] = [
        ConfigKey("VNET_MODE", type: "SYSTEM|VPC|STATIC|MANAGED|MANAGED-NOVLAN", default: "SYSTEM",
                  "The network mode: SYSTEM (the site's network and DHCP), VPC (a network per account), STATIC (addresses from VNET_MACMAP), MANAGED (a block of VNET_SUBNET and a segment per security group) or MANAGED-NOVLAN (a block per group, one segment)."),
        ConfigKey("VNET_PUBLICIPS", type: "addresses and ranges (a.b.c.d-a.b.c.e)", default: "(none)",
                  "The pool elastic IPs come from (and, in VPC and MANAGED-NOVLAN, each instance's own public address), separated by spaces or commas."),
        ConfigKey("VNET_SUBNET", type: "IPv4 network address", default: "(none)",
                  "STATIC, MANAGED and MANAGED-NOVLAN: the network instances are on, with VNET_NETMASK; its first host address is their router (in MANAGED, each group block's first host)."),
        ConfigKey("VNET_NETMASK", type: "netmask (255.255.0.0) or prefix length", default: "(none)",
                  "STATIC, MANAGED and MANAGED-NOVLAN: VNET_SUBNET's netmask, from /8 to /28."),
        ConfigKey("VNET_ADDRSPERNET", type: "power of two", default: "32",
                  "MANAGED and MANAGED-NOVLAN: the size of the block of VNET_SUBNET each security group's instances take their addresses from (MANAGED uses at most 4093 blocks, one per VLAN tag)."),
        ConfigKey("VNET_MACMAP", type: "MAC=address pairs", default: "(none)",
                  "STATIC: the MACs and addresses instances are given, one pair each, separated by spaces or commas."),
    ]

    public init(mode: any NetworkMode = SystemNetworkMode(), publicIPs: [String] = []) {
        self.mode = mode
        self.publicIPs = publicIPs
    }

    public init(_ config: EucaConfig) throws(ConfigError) {
        let name = try config.value("VNET_MODE", default: "SYSTEM") { text in
            NetworkModes.known.contains(text.uppercased()) || text.isEmpty
                ? .success(text.isEmpty ? "SYSTEM" : text.uppercased())
                : .failure(ConfigProblem("\"\(text.prefix(64))\" is not one of \(NetworkModes.known.joined(separator: ", "))"))
        }
        let mode: any NetworkMode
        switch name {
        case "STATIC", "MANAGED", "MANAGED-NOVLAN":
            mode = try Self.segmentMode(name, config)
        default:
            mode = try config.value("VNET_MODE", default: SystemNetworkMode() as any NetworkMode) { NetworkModes.mode(named: $0) }
        }
        self.mode = mode
        // A public address inside the instances' own block would be one an instance may hold privately.
        let privateBlock = mode.placesInstancesOnVPC ? Self.vpcBlock : mode.segment?.block
        publicIPs = try config.value("VNET_PUBLICIPS", default: []) { text in
            AddressPool.parse(text).flatMap { addresses in
                guard let privateBlock, let block = NetworkText.cidr4(privateBlock),
                      let inside = addresses.first(where: { NetworkText.contains(block, $0) })
                else { return .success(addresses) }
                let whose = mode.placesInstancesOnVPC ? "the block of every account's VPC" : "the instances' network (VNET_SUBNET)"
                return .failure(ConfigProblem("\(inside) is inside \(privateBlock), \(whose); public addresses must be outside it"))
            }
        }
    }

    /// STATIC or MANAGED-NOVLAN, from the keys they need.
    private static func segmentMode(_ name: String, _ config: EucaConfig) throws(ConfigError) -> any NetworkMode {
        func required(_ key: String) throws(ConfigError) -> String {
            guard let entry = config.entry(key), !entry.value.isEmpty else {
                let source = config.entry("VNET_MODE")?.source ?? .environment
                throw ConfigError(key: key, source: source, message: "is needed with VNET_MODE=\(name)")
            }
            return entry.value
        }
        _ = try required("VNET_NETMASK")
        let prefix = try config.value("VNET_NETMASK", default: 0) { SegmentKeys.prefix(ofNetmask: $0) }
        _ = try required("VNET_SUBNET")
        let block = try config.value("VNET_SUBNET", default: "") { SegmentKeys.block(subnet: $0, prefix: prefix) }
        if name == "STATIC" {
            _ = try required("VNET_MACMAP")
            let map = try config.value("VNET_MACMAP", default: []) { MACMapEntry.parse($0, block: block) }
            return StaticNetworkMode(block: block, map: map)
        }
        let size = 1 << (32 - prefix)
        let perNetwork = try config.value("VNET_ADDRSPERNET", default: 32) { text in
            guard let value = Int(text), value > 0, value & (value - 1) == 0 else {
                return .failure(ConfigProblem("\"\(text.prefix(64))\" is not a power of two"))
            }
            guard value >= 8 else { return .failure(ConfigProblem("\(value) is too small: each block keeps three addresses and needs five for instances")) }
            guard value <= size else { return .failure(ConfigProblem("\(value) is more than VNET_SUBNET's \(size) addresses")) }
            return .success(value)
        }
        return name == "MANAGED"
            ? ManagedNetworkMode(block: block, addressesPerNetwork: perNetwork) : ManagedNoVLANNetworkMode(block: block, addressesPerNetwork: perNetwork)
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
    /// Whether the mode enforces the rules at all (every built-in mode does; Eucalyptus' SYSTEM
    /// mode did not).
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

    /// Whether each instance gets a public address of its own from the pool at launch: on a VPC
    /// (as its default subnet maps one), and in the MANAGED modes (as Eucalyptus gives one).
    public var givesInstancesPublicAddresses: Bool { placesInstancesOnVPC || segment?.givesPublicAddresses == true }
    public var segment: SegmentAddressing? { nil }

    /// The plan for `groups`: every built-in mode enforces them; a mode that does not overrides
    /// this (its rules are then stored and logged, not applied).
    public func plan(_ groups: [GroupPolicy]) -> NetworkPlan {
        NetworkPlan(groups: groups, enforcesRules: true)
    }

    /// Eucalyptus' MAC scheme, which every built-in mode uses (STATIC replaces it at launch with
    /// a MAC of its map).
    public func addresses(for instance: InstanceID) -> InstanceAddresses {
        InstanceAddresses(macAddress: MACAddress.forInstance(instance))
    }
}
