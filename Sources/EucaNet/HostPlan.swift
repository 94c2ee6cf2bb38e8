public import EucaCore

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
    /// The instance's own subnet, `a.b.c.d/n`, where it is not the plan's network (MANAGED
    /// mode: its group's block): DHCP gives its netmask, and its first host is the port's
    /// gateway.
    public var subnet: String?

    public init(instanceId: String, device: String, macAddress: String, privateIp: String, groups: [String], subnet: String? = nil) {
        self.instanceId = instanceId
        self.device = device
        self.macAddress = macAddress
        self.privateIp = privateIp
        self.groups = groups
        self.subnet = subnet
    }

    /// The first host of `subnet`, the port's gateway there.
    var subnetGateway: String? {
        subnet.flatMap(NetworkText.cidr4).map { AddressPool.format($0.network + 1) }
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

    /// The address `port` answers as: its subnet's first host, or the plan's gateway.
    public func gateway(of port: InstancePort) -> String { port.subnetGateway ?? gateway }

    /// Why the plan cannot be applied, naming the part at fault; nil when it can. Every value that
    /// reaches a command or a ruleset is checked here, whatever checked it before.
    public func problems() -> [String] {
        var found: [String] = []
        if NetworkText.ipv4(gateway) == nil { found.append("gateway \"\(gateway.prefix(64))\" is not an IPv4 address") }
        var devices = Set<String>(), addresses = Set<String>(), macs = Set<String>()
        for port in ports {
            if !NetworkText.isPortName(port.device) { found.append("port \"\(port.device.prefix(64))\" is not a port name (vn and letters or digits)") }
            if !devices.insert(port.device).inserted { found.append("port \(port.device) is listed twice") }
            if NetworkText.ipv4(port.privateIp) == nil { found.append("port \(port.device): \"\(port.privateIp.prefix(64))\" is not an IPv4 address") }
            if port.privateIp == gateway(of: port) { found.append("port \(port.device) has the gateway's address") }
            if let subnet = port.subnet {
                if let block = NetworkText.cidr4(subnet), (8...30).contains(block.prefix) {
                    if !NetworkText.contains(block, port.privateIp) { found.append("port \(port.device): \(port.privateIp.prefix(64)) is not in its subnet \(subnet)") }
                } else {
                    found.append("port \(port.device): \"\(subnet.prefix(64))\" is not an IPv4 block from /8 to /30")
                }
            }
            if !addresses.insert(port.privateIp).inserted { found.append("the address \(port.privateIp.prefix(64)) is on two ports") }
            if !NetworkText.isMAC(port.macAddress) { found.append("port \(port.device): \"\(port.macAddress.prefix(64))\" is not a MAC address") }
            if !macs.insert(port.macAddress.lowercased()).inserted { found.append("the MAC \(port.macAddress.prefix(64)) is on two ports") }
            for group in port.groups where !NetworkText.isGroupId(group) { found.append("port \(port.device): \"\(group.prefix(64))\" is not a group id") }
        }
        for group in groups.keys where !NetworkText.isGroupId(group) { found.append("\"\(group.prefix(64))\" is not a group id") }
        for service in gatewayServices where !(1...65535).contains(service) { found.append("gateway service port \(service) is not from 1 to 65535") }
        return found
    }
}

/// Checks for the text that goes into commands and rulesets.
public enum NetworkText {
    /// `a.b.c.d` as a number.
    public static func ipv4(_ text: String) -> UInt32? { AddressPool.ipv4(Substring(text)) }

    /// A MAC address of Euca's making: `prefix` (its first bytes, `02:00`), then the last `bytes`
    /// bytes of `value`, each as two hex digits.
    static func mac(_ prefix: String, _ value: UInt32, bytes: Int) -> String {
        ([prefix] + (0..<bytes).reversed().map { index in
            let byte = String(value >> UInt32(8 * index) & 0xFF, radix: 16)
            return byte.count == 1 ? "0" + byte : byte
        }).joined(separator: ":")
    }

    /// Whether `address` is in `block` (as ``cidr4(_:)`` reads it).
    public static func contains(_ block: (network: UInt32, prefix: Int), _ address: String) -> Bool {
        guard let value = ipv4(address) else { return false }
        let mask: UInt32 = block.prefix == 0 ? 0 : ~UInt32(0) << (32 - block.prefix)
        return value & mask == block.network & mask
    }

    /// `a.b.c.d/n`, its network address and prefix length, or nil.
    public static func cidr4(_ text: String) -> (network: UInt32, prefix: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = AddressPool.ipv4(parts[0]), parts[1].count <= 2, let prefix = Int(parts[1]), (0...32).contains(prefix) else {
            return nil
        }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
        return (address & mask, prefix)
    }

    /// An IPv6 CIDR in the ASCII characters IPv6 uses, its prefix plain digits (the kernel's
    /// parser has the last word on the rest).
    public static func isCIDR6(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, isDigits(parts[1]), parts[1].utf8.count <= 3, let prefix = Int(parts[1]), (0...128).contains(prefix) else { return false }
        let address = parts[0]
        return (2...39).contains(address.utf8.count) && address.contains(":")
            && address.utf8.allSatisfy { isHex($0) || $0 == 0x3A || $0 == 0x2E }
    }

    /// A network device name: 1 to 15 ASCII letters, digits, `-`, `_` or `.`.
    public static func isDeviceName(_ text: String) -> Bool {
        (1...15).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }

    /// An instance's port: `prefix` (two letters: `vn` for a routed port, ``BridgedPlan/portPrefix``
    /// for a bridged one) and 1 to 13 lowercase letters or digits, so no two ports share chains and
    /// no port is named like the uplink, the overlay or a device of the host's.
    public static func isPortName(_ text: String, prefix: String = "vn") -> Bool {
        let bytes = Array(text.utf8)
        return (3...15).contains(bytes.count) && text.hasPrefix(prefix) && prefix.utf8.count == 2
            && bytes.dropFirst(2).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) }
    }

    /// The port of `instance` named with `prefix`: the prefix and the id's digits (the last 13 of
    /// a long id), within the kernel's 15 characters.
    public static func portName(_ prefix: String, for instance: InstanceID) -> String {
        prefix + String(instance.rawValue.dropFirst(2).suffix(13))
    }

    /// A group id as the cloud makes them: lowercase letters, digits and `-`.
    public static func isGroupId(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
    }

    /// `aa:bb:cc:dd:ee:ff`, ASCII hex digits.
    public static func isMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.utf8.count == 2 && $0.utf8.allSatisfy(isHex) }
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    static func isDigits(_ text: Substring) -> Bool { !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }

    /// `text` as an nftables identifier: letters, digits and `_`.
    static func identifier(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }
}

/// Pieces of nftables' text that several tables share.
enum NftText {
    /// `  set|map <name> { type <type>; elements = { … } }`, the elements left out when there are none
    /// (nft refuses an empty list).
    static func collection(_ keyword: String, _ name: String, type: String, _ elements: [String]) -> String {
        var text = "  \(keyword) \(name) {\n    type \(type)\n"
        if !elements.isEmpty { text += "    elements = { \(elements.joined(separator: ", ")) }\n" }
        return text + "  }\n"
    }

    /// A chain on a hook, accepting what its rules do not decide.
    static func hook(_ name: String, _ type: String, _ hook: String, _ priority: String, _ rules: [String]) -> String {
        "  chain \(name) {\n    type \(type) hook \(hook) priority \(priority); policy accept;\n" + rules.map { "    \($0)\n" }.joined() + "  }\n"
    }

    /// The start of a script that replaces table `family name` whole, in one transaction.
    static func replacing(_ family: String, _ name: String) -> String {
        "table \(family) \(name) {}\ndelete table \(family) \(name)\ntable \(family) \(name) {\n"
    }
}
