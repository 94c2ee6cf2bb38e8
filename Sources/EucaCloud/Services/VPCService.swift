public import EucaCore
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

    /// The default VPC's block.
    public static let defaultCIDR = "172.31.0.0/16"
    /// Each default subnet's prefix length.
    static let subnetPrefix = 20
    /// Addresses EC2 keeps in every subnet (network, router, DNS, future use, broadcast).
    static let reservedPerSubnet = 5

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
