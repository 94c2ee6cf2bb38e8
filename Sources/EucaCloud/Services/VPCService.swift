public import EucaCore
import EucaNet
import Synchronization

/// An account's default VPC, as EC2 has given every account since 2013.
public struct VPCView: Sendable, Hashable {
    public var id: String
    public var accountId: AccountID
    public var cidrBlock: String
    public var isDefault: Bool
    public var state: String
}

/// One of a VPC's subnets: the default one of an availability zone.
public struct SubnetView: Sendable, Hashable {
    public var id: String
    public var arn: String
    public var vpcId: String
    public var accountId: AccountID
    public var zone: String
    public var zoneId: String
    public var cidrBlock: String
    /// The subnet's addresses less the five EC2 keeps in each and those its instances hold.
    public var availableAddresses: Int
    public var defaultForAz: Bool
    public var mapPublicIpOnLaunch: Bool
    public var state: String
}

/// Default VPCs and their subnets (Eucalyptus 4's VPC model, EC2's): every account has one
/// default VPC in the region, `172.31.0.0/16`, with one default subnet per availability zone,
/// `/20` blocks in zone order (`172.31.0.0/20`, `172.31.16.0/20`, …), as EC2 carves them.
///
/// In SYSTEM mode there is one network, the site's: the default VPC is a view of it, derived from
/// the account and the zones and stored nowhere. Its ids are stable (derived from the account and
/// the zone), so a tool that remembered one finds it again after a restart. Instances belong to
/// their zone's default subnet; the addresses they hold count against it.
public struct VPCService: CloudService {
    public let context: CloudContext
    /// The VNIs and addresses being given out, until their records are committed.
    let numbering = VPCNumbering()
    /// The same, on the one network of STATIC and MANAGED-NOVLAN modes.
    let segmentNumbering = SegmentNumbering()

    /// The default VPC's block.
    public static let defaultCIDR = NetworkSettings.vpcBlock
    /// Each default subnet's prefix length.
    static let subnetPrefix = 20
    /// Addresses EC2 keeps in every subnet (network, router, DNS, future use, broadcast).
    static let reservedPerSubnet = 5

    // MARK: - VPC mode: numbers and addresses

    /// The VNI of `account`'s default VPC, given (and stored with the account) the first time.
    func vni(for account: AccountID) async throws -> Int {
        if let vni = state.read({ $0.accounts[account]?.vni }) { return vni }
        // The state is read under the numbering's lock: a VNI held until its commit reached the
        // state is then either held or taken, never neither.
        let state = self.state
        let candidate = numbering.reserveVNI { state.read { Set($0.accounts.values.compactMap(\.vni)) } }
        defer { numbering.releaseVNI(candidate) }
        return try await commit { txn in
            guard var record = try txn.get(account.rawValue, from: CloudSchema.accounts) else {
                throw EucaError(.notFound, .account, "no account \(account)")
            }
            if let vni = record.vni { return vni }
            record.vni = candidate
            try txn.put(record, at: account.rawValue, in: CloudSchema.accounts)
            return candidate
        }
    }

    /// `count` free addresses of `account`'s default subnet in `zone`, held for the caller until
    /// it calls ``releaseAddresses(_:of:)`` (after the records that hold them are committed, or
    /// not). EC2 keeps each subnet's first four addresses and its last; the lowest free ones come
    /// first. `wanted`, when given, is the one address asked for (`PrivateIpAddress`).
    func reserveAddresses(_ count: Int, of account: AccountID, zone: String, wanted: String? = nil) throws -> [String] {
        let index = context.zoneOrder.firstIndex(of: zone) ?? 0
        guard let block = NetworkBlock(Self.subnetBlock(index)) else { throw EucaError(.internalFailure, .subnet, "bad subnet block") }
        let state = self.state
        let held = { () -> Set<UInt32> in
            state.read { tables in
                Set(tables.instances(of: account).compactMap { $0.state == .terminated || $0.vni == nil ? nil : $0.privateIp.flatMap(NetworkText.ipv4) })
            }
        }
        let subnet = Self.subnetId(of: account, zone: zone)
        if let wanted {
            guard let address = NetworkText.ipv4(wanted) else {
                throw EucaError(.invalidParameter, .parameter, "Invalid value '\(wanted.prefix(64))' for PrivateIpAddress: not an IPv4 address.")
            }
            guard block.contains(address) else {
                throw EucaError(.invalidParameter, .parameter, "Address \(wanted) is not in subnet \(subnet) (\(block.text)).")
            }
            guard address >= block.first + 4, address < block.last else {
                throw EucaError(.invalidParameter, .parameter, "Address \(wanted) is reserved in subnet \(subnet): the first four and the last addresses are.")
            }
            guard numbering.reserve([address], of: account, unlessIn: held) else {
                throw EucaError(.duplicate, .privateAddress, "Address \(wanted) is in use.")
            }
            return [wanted]
        }
        let chosen = numbering.reserveLowest(count, of: account, from: block.first + 4, below: block.last, held: held)
        guard chosen.count == count else {
            numbering.release(chosen, of: account)
            throw EucaError(.insufficientCapacity, .subnet, "There are not enough free addresses in subnet '\(subnet)' to satisfy the requested number of instances.")
        }
        return chosen.map(AddressPool.format)
    }

    func releaseAddresses(_ addresses: [String], of account: AccountID) {
        numbering.release(addresses.compactMap(NetworkText.ipv4), of: account)
    }

    /// The pool addresses in use: elastic IPs allocated, and instances' own public addresses.
    static func publicAddressesInUse(_ tables: borrowing CloudState.Tables) -> Set<String> {
        var used = Set(tables.addresses.keys)
        for instance in tables.instances.values where instance.autoPublicIp == true && instance.state != .terminated {
            if let address = instance.publicIp { used.insert(address) }
        }
        return used
    }

    /// Up to `count` free pool addresses for instances' own public addresses, held until
    /// ``releasePublic(_:)``.
    func reservePublicAddresses(_ count: Int, pool: [String]) -> [String] {
        let state = self.state
        return numbering.reservePublic(count, from: pool) { state.read { Self.publicAddressesInUse($0) } }
    }

    func releasePublic(_ addresses: [String]) { numbering.releasePublic(addresses) }

    /// The caller's default VPC.
    public func defaultVPC(of account: AccountID) -> VPCView {
        VPCView(id: Self.vpcId(of: account), accountId: account, cidrBlock: Self.defaultCIDR, isDefault: true, state: "available")
    }

    /// The caller's default subnets, one per zone, in zone order.
    public func defaultSubnets(of account: AccountID) -> [SubnetView] {
        let zones = context.zoneOrder
        let held: [String: Int] = state.read { tables in
            var held: [String: Int] = [:]
            for instance in tables.instances(of: account) where CloudState.Tables.holds(instance) { held[instance.zone, default: 0] += 1 }
            return held
        }
        let size = 1 << (32 - Self.subnetPrefix)
        return zones.enumerated().map { index, zone in
            let id = Self.subnetId(of: account, zone: zone)
            return SubnetView(
                id: id, arn: "arn:aws:ec2:\(settings.regionName):\(account.rawValue):subnet/\(id)",
                vpcId: Self.vpcId(of: account), accountId: account, zone: zone,
                zoneId: Self.zoneId(of: zone, at: index, region: settings.regionName),
                cidrBlock: Self.subnetBlock(index), availableAddresses: max(0, size - Self.reservedPerSubnet - held[zone, default: 0]),
                defaultForAz: true, mapPublicIpOnLaunch: true, state: "available")
        }
    }

    /// A zone's id (EC2's `use1-az1` form): the region's name and the zone's place.
    public static func zoneId(of zone: String, at index: Int, region: String) -> String {
        "\(region)-az\(index + 1)"
    }

    /// The `index`-th /20 of 172.31.0.0/16. There are sixteen; a seventeenth zone would share the
    /// first zone's block (EC2 regions have at most six zones, a Euca cloud one per cluster).
    static func subnetBlock(_ index: Int) -> String {
        let offset = (index % (1 << (Self.subnetPrefix - 16))) << (32 - Self.subnetPrefix)
        return "172.31.\(offset >> 8).0/\(Self.subnetPrefix)"
    }

    public static func vpcId(of account: AccountID) -> String {
        derived(IDKey(account: account, zone: nil)) { "vpc-" + StableDigest.hex("vpc/\(account.rawValue)", count: 17) }
    }

    public static func subnetId(of account: AccountID, zone: String) -> String {
        derived(IDKey(account: account, zone: zone)) { "subnet-" + StableDigest.hex("subnet/\(account.rawValue)/\(zone)", count: 17) }
    }

    /// The ids once derived, so that a describe of thousands of instances (each naming its VPC
    /// and subnet) looks them up rather than derives them again. One entry per account and zone.
    private struct IDKey: Hashable {
        var account: AccountID
        var zone: String?
    }

    private static let derivedIDs = Mutex<[IDKey: String]>([:])

    private static func derived(_ key: IDKey, _ make: () -> String) -> String {
        if let known = derivedIDs.withLock({ $0[key] }) { return known }
        let id = make()
        derivedIDs.withLock { $0[key] = id }
        return id
    }
}

/// VNIs and private addresses given out but not yet in committed records, so that two launches
/// at once never take the same.
final class VPCNumbering: Sendable {
    private struct Held {
        var vnis: Set<Int> = []
        var addresses: [AccountID: Set<UInt32>] = [:]
        /// Pool addresses being given out: as elastic IPs or as instances' own public addresses.
        var publicAddresses: Set<String> = []
    }

    /// Holds the first `count` addresses of `pool` that are neither held nor among `taken` (read
    /// under the lock); fewer when the pool has fewer free.
    func reservePublic(_ count: Int, from pool: [String], taken: () -> Set<String>) -> [String] {
        held.withLock { held in
            let taken = taken()
            var chosen: [String] = []
            for address in pool where chosen.count < count && !taken.contains(address) && !held.publicAddresses.contains(address) {
                chosen.append(address)
            }
            held.publicAddresses.formUnion(chosen)
            return chosen
        }
    }

    func releasePublic(_ addresses: [String]) { held.withLock { $0.publicAddresses.subtract(addresses) } }

    private let held = Mutex(Held())

    func reserveVNI(taken: () -> Set<Int>) -> Int {
        held.withLock { held in
            let taken = taken()
            var vni = 1
            while taken.contains(vni) || held.vnis.contains(vni) { vni += 1 }
            held.vnis.insert(vni)
            return vni
        }
    }

    func releaseVNI(_ vni: Int) { _ = held.withLock { $0.vnis.remove(vni) } }

    /// Holds `addresses` unless one of them is held already or among `taken`; whether it did.
    func reserve(_ addresses: [UInt32], of account: AccountID, unlessIn taken: () -> Set<UInt32>) -> Bool {
        held.withLock { held in
            let taken = taken()
            if addresses.contains(where: { held.addresses[account]?.contains($0) == true || taken.contains($0) }) { return false }
            held.addresses[account, default: []].formUnion(addresses)
            return true
        }
    }

    func reserveLowest(_ count: Int, of account: AccountID, from first: UInt32, below end: UInt32, held taken: () -> Set<UInt32>) -> [UInt32] {
        held.withLock { held in
            let taken = taken()
            var chosen: [UInt32] = []
            var address = first
            let mine = held.addresses[account] ?? []
            while chosen.count < count && address < end {
                if !taken.contains(address) && !mine.contains(address) { chosen.append(address) }
                address += 1
            }
            held.addresses[account, default: []].formUnion(chosen)
            return chosen
        }
    }

    func release(_ addresses: [UInt32], of account: AccountID) {
        held.withLock { held in
            held.addresses[account]?.subtract(addresses)
            if held.addresses[account]?.isEmpty == true { held.addresses[account] = nil }
        }
    }
}

/// An IPv4 block, `a.b.c.d/n`, as numbers.
struct NetworkBlock {
    let first: UInt32
    let last: UInt32
    let text: String

    init?(_ text: String) {
        guard let block = NetworkText.cidr4(text) else { return nil }
        first = block.network
        last = UInt32(UInt64(block.network) + (UInt64(1) << UInt64(32 - block.prefix)) - 1)
        self.text = text
    }

    func contains(_ address: UInt32) -> Bool { address >= first && address <= last }
}
