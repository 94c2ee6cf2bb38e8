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
