import EucaCore

/// One instance's port on a host: the tap (or, in tests, the veth) its traffic enters and leaves
/// by. The port is routed, not bridged: the host answers ARP on it as the subnet's gateway and
/// routes the instance's one address to it, so every packet between two instances crosses the
/// host's forwarding path, where its security groups are enforced with connection tracking.
public struct InstancePort: Sendable, Hashable, Codable {
    public var instanceId: String
    /// The host-side device (at most 15 characters, as the kernel allows).
    public var device: String
    public var macAddress: String
    /// The instance's private IPv4 address.
    public var privateIp: String
    /// Its security groups, by id.
    public var groups: [String]

    public init(instanceId: String, device: String, macAddress: String, privateIp: String, groups: [String]) {
        self.instanceId = instanceId
        self.device = device
        self.macAddress = macAddress
        self.privateIp = privateIp
        self.groups = groups
    }
}

/// What one host enforces for the instances it runs: their ports, the address they reach the
/// host by, and the security groups they are in (with every member's address, for rules whose
/// peer is a group). A pure value: ``HostPlan/nftablesRuleset(table:)`` renders it, a
/// ``HostNetworkApplier`` makes a host match it.
public struct HostPlan: Sendable, Hashable {
    /// The address every port answers as: the instances' default gateway, DHCP and DNS server.
    public var gateway: String
    public var ports: [InstancePort]
    /// The groups the ports are in, by id; rules naming a group match its members' addresses.
    public var groups: [String: GroupPolicy]
    /// TCP ports on the gateway instances may reach whatever their groups say (the metadata
    /// service, DNS); DHCP, DNS over UDP and ICMP echo to the gateway are always allowed.
    public var gatewayServices: [Int]

    public init(gateway: String, ports: [InstancePort], groups: [GroupPolicy], gatewayServices: [Int] = [53]) {
        self.gateway = gateway
        self.ports = ports.sorted { $0.device < $1.device }
        self.groups = Dictionary(groups.map { ($0.groupId, $0) }) { first, _ in first }
        self.gatewayServices = gatewayServices.sorted()
    }

    /// Why the plan cannot be applied, naming the part at fault; nil when it can. Every value that
    /// reaches a command or a ruleset is checked here, whatever checked it before.
    public func problems() -> [String] {
        var found: [String] = []
        if NetworkText.ipv4(gateway) == nil { found.append("gateway \"\(gateway.prefix(64))\" is not an IPv4 address") }
        var devices = Set<String>()
        for port in ports {
            if !NetworkText.isDeviceName(port.device) { found.append("port \"\(port.device.prefix(64))\" is not a device name") }
            if !devices.insert(port.device).inserted { found.append("port \(port.device) is listed twice") }
            if NetworkText.ipv4(port.privateIp) == nil { found.append("port \(port.device): \"\(port.privateIp.prefix(64))\" is not an IPv4 address") }
            if !NetworkText.isMAC(port.macAddress) { found.append("port \(port.device): \"\(port.macAddress.prefix(64))\" is not a MAC address") }
        }
        return found
    }
}

/// Checks for the text that goes into commands and rulesets.
public enum NetworkText {
    /// `a.b.c.d` as a number.
    public static func ipv4(_ text: String) -> UInt32? { AddressPool.ipv4(Substring(text)) }

    /// `a.b.c.d/n`, its network address and prefix length, or nil.
    public static func cidr4(_ text: String) -> (network: UInt32, prefix: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = AddressPool.ipv4(parts[0]), parts[1].count <= 2, let prefix = Int(parts[1]), (0...32).contains(prefix) else {
            return nil
        }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
        return (address & mask, prefix)
    }

    /// An IPv6 CIDR in the characters IPv6 uses (the kernel's parser has the last word).
    public static func isCIDR6(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (0...128).contains(prefix), parts[1].count <= 3 else { return false }
        let address = parts[0]
        return (2...39).contains(address.count) && address.contains(":")
            && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    /// A network device name: 1 to 15 letters, digits, `-`, `_` or `.`.
    public static func isDeviceName(_ text: String) -> Bool {
        (1...15).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }

    public static func isMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }

    /// `text` as an nftables identifier: letters, digits and `_`.
    static func identifier(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }
}
