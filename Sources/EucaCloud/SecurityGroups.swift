public import EucaCore
import EucaNet
public import Foundation

/// A security group: named rules for traffic into (and out of) its instances.
public struct SecurityGroupRecord: Sendable, Codable, Hashable {
    public var id: SecurityGroupID
    public var accountId: AccountID
    public var name: String
    public var description: String
    public var ingress: [SecurityRule]
    public var egress: [SecurityRule]
    public var createdAt: Date
}

/// One rule, with a single peer: EC2's `IpPermission`s are these grouped by protocol and ports.
public struct SecurityRule: Sendable, Codable, Hashable {
    public var ipProtocol: String
    public var fromPort: Int?
    public var toPort: Int?
    public var peer: Peer
    public var description: String?

    public enum Peer: Sendable, Codable, Hashable {
        case cidr(String)
        case cidr6(String)
        case group(accountId: AccountID, groupId: SecurityGroupID, groupName: String)
    }

    public init(ipProtocol: String, fromPort: Int?, toPort: Int?, peer: Peer, description: String? = nil) {
        self.ipProtocol = ipProtocol
        self.fromPort = fromPort
        self.toPort = toPort
        self.peer = peer
        self.description = description
    }

    /// The rule without its description: two rules are the same permission if these match.
    var identity: SecurityRule { SecurityRule(ipProtocol: ipProtocol, fromPort: fromPort, toPort: toPort, peer: peer.withoutName) }

    var firewallRule: FirewallRule {
        let peer: RulePeer = switch self.peer {
        case .cidr(let cidr): .cidr(cidr)
        case .cidr6(let cidr): .cidr6(cidr)
        case .group(let account, let group, _): .group(accountId: account.rawValue, groupId: group.rawValue)
        }
        return FirewallRule(ipProtocol: ipProtocol, fromPort: fromPort, toPort: toPort, peer: peer)
    }
}

extension SecurityRule.Peer {
    var withoutName: SecurityRule.Peer {
        if case .group(let account, let group, _) = self { return .group(accountId: account, groupId: group, groupName: "") }
        return self
    }
}

/// A permission as a request states it, before group names are resolved.
public struct PermissionRequest: Sendable, Hashable {
    public var ipProtocol: String
    public var fromPort: Int?
    public var toPort: Int?
    public var cidrs: [(cidr: String, description: String?)]
    public var cidrs6: [(cidr: String, description: String?)]
    public var groups: [(userId: String?, groupId: String?, groupName: String?, description: String?)]

    public init(
        ipProtocol: String, fromPort: Int?, toPort: Int?, cidrs: [(cidr: String, description: String?)] = [],
        cidrs6: [(cidr: String, description: String?)] = [],
        groups: [(userId: String?, groupId: String?, groupName: String?, description: String?)] = []
    ) {
        self.ipProtocol = ipProtocol
        self.fromPort = fromPort
        self.toPort = toPort
        self.cidrs = cidrs
        self.cidrs6 = cidrs6
        self.groups = groups
    }

    public static func == (lhs: PermissionRequest, rhs: PermissionRequest) -> Bool {
        lhs.ipProtocol == rhs.ipProtocol && lhs.fromPort == rhs.fromPort && lhs.toPort == rhs.toPort
            && lhs.cidrs.map(\.cidr) == rhs.cidrs.map(\.cidr) && lhs.cidrs6.map(\.cidr) == rhs.cidrs6.map(\.cidr)
            && lhs.groups.map { "\($0.userId ?? "")/\($0.groupId ?? "")/\($0.groupName ?? "")" }
                == rhs.groups.map { "\($0.userId ?? "")/\($0.groupId ?? "")/\($0.groupName ?? "")" }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ipProtocol)
        hasher.combine(fromPort)
        hasher.combine(toPort)
    }
}

/// Checks of protocols, ports and CIDRs, with EC2's errors.
enum RuleSyntax {
    /// EC2's protocol name for `text` (`tcp`, `udp`, `icmp`, `icmpv6`, `-1`, or a number 0–255).
    static func normalizeProtocol(_ text: String) throws(EucaError) -> String {
        switch text.lowercased() {
        case "tcp", "6": return "tcp"
        case "udp", "17": return "udp"
        case "icmp", "1": return "icmp"
        case "icmpv6", "58": return "icmpv6"
        case "-1", "all": return "-1"
        default:
            guard let number = Int(text), (0...255).contains(number) else {
                throw EucaError(.invalidParameter, .parameter, "Invalid value '\(text)' for IP protocol. Unknown protocol.")
            }
            return String(number)
        }
    }

    /// The port range a rule keeps for the protocol: required for TCP and UDP, type and code for
    /// ICMP, none for the rest.
    static func ports(_ ipProtocol: String, _ from: Int?, _ to: Int?) throws(EucaError) -> (Int?, Int?) {
        switch ipProtocol {
        case "tcp", "udp":
            guard let from, let to else {
                throw EucaError(.invalidParameter, .parameter, "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
            }
            guard (0...65535).contains(from), (0...65535).contains(to), from <= to else {
                throw EucaError(.invalidParameter, .parameter, "Invalid value for portRange. From port \(from) and to port \(to) are not a valid TCP/UDP range.")
            }
            return (from, to)
        case "icmp", "icmpv6":
            let type = from ?? -1, code = to ?? -1
            guard (-1...255).contains(type), (-1...255).contains(code) else {
                throw EucaError(.invalidParameter, .parameter, "Invalid value for ICMP type (\(type)) or code (\(code)).")
            }
            return (type, code)
        default:
            return (nil, nil)
        }
    }

    static func checkCIDR(_ text: String) throws(EucaError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let octets = parts.first?.split(separator: ".", omittingEmptySubsequences: false) ?? []
        guard parts.count == 2, let prefix = Int(parts[1]), (0...32).contains(prefix), octets.count == 4,
            octets.allSatisfy({ $0.count <= 3 && UInt8($0) != nil })
        else {
            throw EucaError(.invalidParameter, .parameter, "CIDR block \(text) is malformed")
        }
    }

    static func checkCIDR6(_ text: String) throws(EucaError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (0...128).contains(prefix), isIPv6(String(parts[0])) else {
            throw EucaError(.invalidParameter, .parameter, "CIDR block \(text) is malformed")
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }
}
