public import EucaCore

/// How a mode with one network for the whole cloud (STATIC, MANAGED-NOVLAN) gives instances
/// their addresses on it. The network is carried by the same machinery as a VPC: a namespace on
/// each node that runs one of its instances, routed ports, DHCP with a fixed address per MAC,
/// security groups on each port, VXLAN between nodes, elastic IPs at the namespace's uplink.
public struct SegmentAddressing: Sendable, Hashable {
    public enum Assignment: Sendable, Hashable {
        /// Each security group has a block of `size` addresses (a power of two) while it has
        /// instances; an instance takes the lowest free address of its first group's block.
        /// Each block's first two addresses (its network and its router) and its last (its
        /// broadcast) are no instance's.
        case groupBlocks(size: Int)
        /// A fixed list of MACs and their addresses (`VNET_MACMAP`); an instance takes the first
        /// pair no other instance holds, MAC and address both.
        case macMap([MACMapEntry])
    }

    /// The network's VNI: its namespace on each node is named by it, and its VXLAN traffic
    /// between nodes carries it.
    public var vni: Int
    /// `VNET_SUBNET` and `VNET_NETMASK` as one block, `a.b.c.d/n`.
    public var block: String
    public var assignment: Assignment
    /// Whether each instance also gets a public address of its own from `VNET_PUBLICIPS` at
    /// launch, as Eucalyptus' MANAGED modes give one.
    public var givesPublicAddresses: Bool
    /// Whether each group block is a segment of its own (MANAGED): its instances' subnet, and
    /// its own VLAN or VXLAN between nodes.
    public var perGroupSegments = false

    /// The VNI of the cloud's one network.
    public static let siteVNI = 1

    public init(block: String, assignment: Assignment, givesPublicAddresses: Bool, vni: Int = Self.siteVNI) {
        self.vni = vni
        self.block = block
        self.assignment = assignment
        self.givesPublicAddresses = givesPublicAddresses
    }

    var bounds: (first: UInt32, last: UInt32) {
        let block = NetworkText.cidr4(block) ?? (0, 32)
        let size = UInt32(truncatingIfNeeded: UInt64(1) << (32 - block.prefix))
        return (block.network, block.network &+ size &- 1)
    }

    /// The instances' router, DHCP server and the namespace's address: the block's first host.
    public var gateway: String { AddressPool.format(bounds.first + 1) }

    /// How many group blocks the network holds (none for a MAC map); with a segment each, no
    /// more than VLAN tags (``segment(ofGroupBlock:)``).
    public var groupBlockCount: Int {
        guard case .groupBlocks(let size) = assignment else { return 0 }
        let count = Int((UInt64(bounds.last - bounds.first) + 1) / UInt64(size))
        return perGroupSegments ? min(count, Self.maxSegment - Self.firstSegment + 1) : count
    }

    /// The segments' numbers, as VLAN tags and VXLAN VNIs: from 2 (VLAN 1 is most switches'
    /// default) to 4094.
    public static let firstSegment = 2
    public static let maxSegment = 4094

    /// Group block `index` as `a.b.c.d/n`.
    public func groupBlockCIDR(_ index: Int) -> String? {
        guard case .groupBlocks(let size) = assignment, (0..<groupBlockCount).contains(index) else { return nil }
        return "\(AddressPool.format(bounds.first + UInt32(index * size)))/\(32 - size.trailingZeroBitCount)"
    }

    /// The addresses instances may take in group block `index`: from its third to the one before
    /// its last.
    public func instanceRange(ofGroupBlock index: Int) -> ClosedRange<UInt32>? {
        guard case .groupBlocks(let size) = assignment, (0..<groupBlockCount).contains(index) else { return nil }
        let first = bounds.first + UInt32(index * size)
        return (first + 2)...(first + UInt32(size) - 2)
    }

    /// The subnet an instance at `address` is on, where each group block is one (MANAGED): its
    /// group block, `a.b.c.d/n`; nil where the network is one segment.
    public func instanceSubnet(of address: String) -> String? {
        guard perGroupSegments, let index = groupBlock(of: address) else { return nil }
        return groupBlockCIDR(index)
    }

    /// Which group block `address` is in.
    public func groupBlock(of address: String) -> Int? {
        guard case .groupBlocks(let size) = assignment, let value = NetworkText.ipv4(address),
              value >= bounds.first, value <= bounds.last
        else { return nil }
        return Int((value - bounds.first) / UInt32(size))
    }
}

/// One pair of `VNET_MACMAP`.
public struct MACMapEntry: Sendable, Hashable {
    public var macAddress: String
    public var address: String

    public init(macAddress: String, address: String) {
        self.macAddress = macAddress
        self.address = address
    }

    /// `MAC=address` pairs separated by spaces or commas, as Eucalyptus operators write them;
    /// MACs unicast and each once, addresses each once and in `segment`'s block, neither its
    /// network, its router nor its broadcast address.
    public static func parse(_ text: String, block: String) -> Result<[MACMapEntry], ConfigProblem> {
        guard let (network, prefix) = NetworkText.cidr4(block) else { return .failure(ConfigProblem("no block to check the addresses against")) }
        let last = network | (prefix == 0 ? ~0 : ~(~UInt32(0) << (32 - prefix)))
        var entries: [MACMapEntry] = [], macs = Set<String>(), addresses = Set<String>()
        for item in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\n" }) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, NetworkText.isMAC(parts[0]), let value = NetworkText.ipv4(parts[1]) else {
                return .failure(ConfigProblem("\"\(item.prefix(64))\" is not MAC=address (d0:0d:00:00:00:01=10.0.0.2)"))
            }
            let mac = parts[0].lowercased()
            guard let first = UInt8(mac.prefix(2), radix: 16), first & 1 == 0 else {
                return .failure(ConfigProblem("\(mac) is a multicast MAC; an instance's must be unicast"))
            }
            guard NetworkText.contains((network, prefix), parts[1]), value != network, value != network + 1, value != last else {
                return .failure(ConfigProblem("\(parts[1]) is not an instance's address in \(block) (its first two and its last are the network's)"))
            }
            guard macs.insert(mac).inserted else { return .failure(ConfigProblem("the MAC \(mac) is listed twice")) }
            guard addresses.insert(parts[1]).inserted else { return .failure(ConfigProblem("the address \(parts[1]) is listed twice")) }
            entries.append(MACMapEntry(macAddress: mac, address: parts[1]))
        }
        guard !entries.isEmpty else { return .failure(ConfigProblem("the map is empty: STATIC mode gives instances only the addresses it lists")) }
        return .success(entries)
    }
}

/// STATIC mode (Eucalyptus'): every instance takes a MAC and an address from a fixed map
/// (`VNET_MACMAP`), on one network for the whole cloud (`VNET_SUBNET`/`VNET_NETMASK`). Unlike
/// Eucalyptus' STATIC, security groups are enforced and the metadata service answers.
public struct StaticNetworkMode: NetworkMode {
    public let name = "STATIC"
    public let segment: SegmentAddressing?

    public init(block: String, map: [MACMapEntry]) {
        segment = SegmentAddressing(block: block, assignment: .macMap(map), givesPublicAddresses: false)
    }
}

/// MANAGED-NOVLAN mode (Eucalyptus'): each security group has its own block of the cloud's
/// network (`VNET_SUBNET`/`VNET_NETMASK`, in blocks of `VNET_ADDRSPERNET`), its instances take
/// their addresses from it, and groups are kept apart at layer 3 only: by each instance's
/// security groups, enforced on its port. Each instance gets a public address of its own from
/// `VNET_PUBLICIPS`, as in Eucalyptus.
public struct ManagedNoVLANNetworkMode: NetworkMode {
    public let name = "MANAGED-NOVLAN"
    public let segment: SegmentAddressing?

    public init(block: String, addressesPerNetwork: Int) {
        segment = SegmentAddressing(block: block, assignment: .groupBlocks(size: addressesPerNetwork), givesPublicAddresses: true)
    }
}

/// MANAGED mode (Eucalyptus'): as MANAGED-NOVLAN, and each security group's block is a segment
/// of its own: the instances' subnet (netmask and router the block's), and between nodes a VLAN
/// of its own on `VNET_PRIVINTERFACE` where the kernel has 802.1Q, a VXLAN VNI of its own where
/// it has not. The segment's number is the block's index plus ``SegmentAddressing/firstSegment``.
public struct ManagedNetworkMode: NetworkMode {
    public let name = "MANAGED"
    public let segment: SegmentAddressing?

    public init(block: String, addressesPerNetwork: Int) {
        var segment = SegmentAddressing(block: block, assignment: .groupBlocks(size: addressesPerNetwork), givesPublicAddresses: true)
        segment.perGroupSegments = true
        self.segment = segment
    }
}

/// `VNET_SUBNET`, `VNET_NETMASK` and what the modes on one network read with them.
enum SegmentKeys {
    /// Blocks no instance network may overlap: the host's own (loopback), the link-local block
    /// (the metadata service and its aliases), multicast and the reserved blocks above.
    static let forbidden = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"]

    /// The netmask's prefix length, for a netmask written `255.255.0.0` (or `/16`, or `16`).
    static func prefix(ofNetmask text: String) -> Result<Int, ConfigProblem> {
        let digits = text.hasPrefix("/") ? String(text.dropFirst()) : text
        if let prefix = Int(digits), digits.utf8.count <= 2 {
            return (8...28).contains(prefix) ? .success(prefix) : .failure(ConfigProblem("/\(prefix) is not from /8 to /28"))
        }
        guard let value = NetworkText.ipv4(text) else { return .failure(ConfigProblem("\"\(text.prefix(64))\" is not a netmask (255.255.0.0)")) }
        let prefix = value.leadingZeroBitCount == 0 ? (~value).leadingZeroBitCount : 0
        guard prefix == 32 || value == ~UInt32(0) << (32 - prefix) else {
            return .failure(ConfigProblem("\(text) is not a netmask: its ones are not all on the left"))
        }
        return (8...28).contains(prefix) ? .success(prefix) : .failure(ConfigProblem("\(text) (/\(prefix)) is not from /8 to /28"))
    }

    /// The block of `subnet` with `prefix`; refused where the subnet has host bits or overlaps a
    /// forbidden block.
    static func block(subnet: String, prefix: Int) -> Result<String, ConfigProblem> {
        guard let value = NetworkText.ipv4(subnet) else { return .failure(ConfigProblem("\"\(subnet.prefix(64))\" is not an IPv4 address")) }
        let mask = ~UInt32(0) << (32 - prefix)
        guard value & mask == value else {
            return .failure(ConfigProblem("\(subnet) is not a network address with VNET_NETMASK /\(prefix) (it would be \(AddressPool.format(value & mask)))"))
        }
        for text in forbidden {
            guard let other = NetworkText.cidr4(text) else { continue }
            let common = ~UInt32(0) << (32 - min(prefix, other.prefix))
            if value & common == other.network & common {
                return .failure(ConfigProblem("\(subnet)/\(prefix) overlaps \(text), which no instance network may use"))
            }
        }
        return .success("\(subnet)/\(prefix)")
    }
}
