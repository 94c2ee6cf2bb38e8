public import EucaCore

/// Security groups as an nftables table of Euca's own (family `inet`), as EC2 enforces them: per
/// instance, stateful, inbound denied unless a rule of one of its groups allows it, outbound as
/// its groups' egress rules allow, replies to allowed traffic always let through.
///
/// For each port the table has three chains: `out_<port>` (what the instance sends: its own
/// address only, then its egress rules), `in_<port>` (what it receives: its ingress rules) and
/// `host_<port>` (what it asks of the host: DHCP, DNS, ICMP echo and the listed services on the
/// gateway address, nothing else). A packet between two instances passes the sender's `out_`
/// (which returns when allowed) and then the receiver's `in_` (which accepts).
///
/// The table is built so that a change touches only what it changes: the ports are elements of
/// three verdict maps (`ports_out`, `ports_in`, `ports_host`) the hook chains look up, and of the
/// set `ports`, outside which a tap named `vn…` passes nothing; each group's members are a set. ``NftablesState/difference(to:table:)`` adds a port's chains and map
/// elements, rewrites only the chains whose rules changed, and adds or deletes set elements, all
/// in one `nft -f` transaction.
public struct NftablesState: Sendable, Hashable {
    /// Each chain of a port, by name: its rules, one per line.
    public var chains: [String: String] = [:]
    /// Each group's set, by name: its members' addresses.
    public var sets: [String: Set<String>] = [:]
    /// Each port's device and the suffix of its chains.
    public var ports: [String: String] = [:]

    static let maps = ["out": "ports_out", "in": "ports_in", "host": "ports_host"]

    /// The whole table, as `nft -f` reads it: created if missing, then replaced in one transaction.
    public func full(table: String) -> String {
        let name = NetworkText.identifier(table)
        var text = NftText.replacing("inet", name)
        for (set, members) in sets.sorted(by: { $0.key < $1.key }) { text += NftText.collection("set", set, type: "ipv4_addr", members.sorted()) }
        text += NftText.collection("set", "ports", type: "ifname", ports.keys.sorted().map { "\"\($0)\"" })
        for (kind, map) in Self.maps.sorted(by: { $0.key < $1.key }) {
            text += NftText.collection("map", map, type: "ifname : verdict", ports.sorted { $0.key < $1.key }.map { "\"\($0.key)\" : jump \(kind)_\($0.value)" })
        }
        for (chain, rules) in chains.sorted(by: { $0.key < $1.key }) { text += "  chain \(chain) {\n\(rules)  }\n" }
        // A port the maps do not name yet (a tap just moved in, or one a failed load left out)
        // passes nothing: only the named ports' chains let anything through.
        text += NftText.hook("forward", "filter", "forward", "filter", [
            "iifname \"vn*\" iifname != @ports drop", "oifname \"vn*\" oifname != @ports drop", "iifname vmap @ports_out", "oifname vmap @ports_in",
        ])
        text += NftText.hook("input", "filter", "input", "filter", ["iifname \"vn*\" iifname != @ports drop", "iifname vmap @ports_host"])
        text += "}\n"
        return text
    }

    /// What makes a table in state `self` match `new`, as one transaction; nil when they match.
    public func difference(to new: NftablesState, table: String) -> String? {
        guard self != new else { return nil }
        let name = NetworkText.identifier(table)
        var text = ""
        // Sets first (new chains may name them), then chains and map elements, then what is gone.
        // Only what differs is sorted (for a script that reads the same every time).
        for (set, members) in new.sets.filter({ sets[$0.key] != $0.value }).sorted(by: { $0.key < $1.key }) {
            let old = sets[set]
            if old == nil { text += "add set inet \(name) \(set) { type ipv4_addr; }\n" }
            let added = members.subtracting(old ?? []), removed = (old ?? []).subtracting(members)
            if !added.isEmpty { text += "add element inet \(name) \(set) { \(added.sorted().joined(separator: ", ")) }\n" }
            if !removed.isEmpty { text += "delete element inet \(name) \(set) { \(removed.sorted().joined(separator: ", ")) }\n" }
        }
        for (chain, rules) in new.chains.filter({ chains[$0.key] != $0.value }).sorted(by: { $0.key < $1.key }) {
            if chains[chain] == nil { text += "add chain inet \(name) \(chain)\n" } else { text += "flush chain inet \(name) \(chain)\n" }
            // Rule by rule: nft reads `add rule` with less of the table in its cache than a
            // `table { chain { … } }` block (about 15 ms against 25 for a port's three chains on a
            // table of 1,000 ports).
            for line in rules.split(separator: "\n") {
                let rule = line.drop { $0 == " " }
                if !rule.isEmpty { text += "add rule inet \(name) \(chain) \(rule)\n" }
            }
        }
        for (device, suffix) in new.ports.filter({ ports[$0.key] != $0.value }).sorted(by: { $0.key < $1.key }) {
            for (kind, map) in Self.maps.sorted(by: { $0.key < $1.key }) {
                if ports[device] != nil { text += "delete element inet \(name) \(map) { \"\(device)\" }\n" }
                text += "add element inet \(name) \(map) { \"\(device)\" : jump \(kind)_\(suffix) }\n"
            }
            if ports[device] == nil { text += "add element inet \(name) ports { \"\(device)\" }\n" }
        }
        for device in ports.keys.filter({ new.ports[$0] == nil }).sorted() {
            text += "delete element inet \(name) ports { \"\(device)\" }\n"
            for map in Self.maps.values.sorted() { text += "delete element inet \(name) \(map) { \"\(device)\" }\n" }
        }
        for chain in chains.keys.filter({ new.chains[$0] == nil }).sorted() {
            text += "flush chain inet \(name) \(chain)\ndelete chain inet \(name) \(chain)\n"
        }
        for set in sets.keys.sorted() where new.sets[set] == nil { text += "delete set inet \(name) \(set)\n" }
        return text
    }
}

/// The chains last rendered for each port, and what they were rendered from: a port whose
/// inputs are unchanged keeps its chains without rendering them again.
public struct NftablesMemo: Sendable {
    struct Key: Hashable, Sendable {
        var port: InstancePort
        var ingress: String
        var egress: String
        var host: String
    }

    struct Chains: Sendable {
        var out: String
        var into: String
        var host: String
    }

    var entries: [String: (key: Key, chains: Chains)] = [:]

    public init() {}
}

extension HostPlan {
    /// The whole table, as `nft -f` reads it: created if missing, then replaced in one transaction.
    public func nftablesRuleset(table: String = "euca") -> String { nftablesState().full(table: table) }

    /// The table's content for this plan.
    public func nftablesState() -> NftablesState {
        var memo = NftablesMemo()
        return nftablesState(memo: &memo)
    }

    /// The table's content for this plan, reusing the chains `memo` holds for a port whose
    /// inputs have not changed, and leaving in it this plan's.
    public func nftablesState(memo: inout NftablesMemo) -> NftablesState {
        // ``problems()`` refuses a plan with a bad port; a port that gets here anyway is left out.
        let ports = self.ports.filter { NetworkText.isPortName($0.device) && NetworkText.ipv4($0.privateIp) != nil && NetworkText.isMAC($0.macAddress) }
        var state = NftablesState()
        let usedGroups = Set(ports.flatMap(\.groups)).union(
            ports.flatMap(\.groups).compactMap { groups[$0] }.flatMap { ($0.ingress + $0.egress).compactMap(\.peerGroupId) })
        for groupId in usedGroups where NetworkText.isGroupId(groupId) {
            state.sets[Self.setName(groupId)] = Set((groups[groupId]?.members.values.compactMap(\.privateIp) ?? []).filter { NetworkText.ipv4($0) != nil })
        }
        // Each group's rules are rendered once, however many ports are in it.
        var rendered: [String: (ingress: String, egress: String)] = [:]
        for groupId in Set(ports.flatMap(\.groups)) {
            guard let group = groups[groupId] else { continue }
            rendered[groupId] = (
                group.ingress.compactMap { Self.match($0, direction: "saddr").map { "    \($0) accept\n" } }.joined(),
                group.egress.compactMap { Self.match($0, direction: "daddr").map { "    \($0) return\n" } }.joined())
        }
        // What a port may ask of its gateway, once per gateway address.
        var hostRulesByGateway: [String: String] = [:]
        func hostRules(_ gateway: String) -> String {
            if let rules = hostRulesByGateway[gateway] { return rules }
            let services = gatewayServices.isEmpty ? "" : "    ip daddr \(gateway) tcp dport { \(gatewayServices.map(String.init).joined(separator: ", ")) } accept\n"
            let rules = "    ct state established,related accept\n    ip daddr \(gateway) udp dport 53 accept\n"
                + "    ip daddr \(gateway) icmp type echo-request accept\n" + services + "    drop\n"
            hostRulesByGateway[gateway] = rules
            return rules
        }
        var next = NftablesMemo()
        // Ports in the same groups share their rules' text, joined once.
        var joined: [[String]: (ingress: String, egress: String)] = [:]
        for port in ports {
            let suffix = NetworkText.identifier(port.device)
            state.ports[port.device] = suffix
            let (ingress, egress) = joined[port.groups] ?? {
                let rules = port.groups.compactMap { rendered[$0] }
                let texts = (rules.map(\.ingress).joined(), rules.map(\.egress).joined())
                joined[port.groups] = texts
                return texts
            }()
            let host = hostRules(gateway(of: port))
            let key = NftablesMemo.Key(port: port, ingress: ingress, egress: egress, host: host)
            let chains: NftablesMemo.Chains
            if let kept = memo.entries[port.device], kept.key == key {
                chains = kept.chains
            } else {
                let own = "    ether saddr != \(port.macAddress.lowercased()) drop\n"
                let address = "    ip saddr != \(port.privateIp) drop\n    meta nfproto ipv6 drop\n"
                chains = NftablesMemo.Chains(
                    // What the instance sends: its own address only, then egress.
                    // The metadata service is always reachable, whatever the egress rules, as on EC2.
                    out: own + address + "    ct state established,related return\n    ct state invalid drop\n" + Self.metadataAllowed + egress + "    drop\n",
                    // What it receives.
                    into: "    ct state established,related accept\n    ct state invalid drop\n" + ingress + "    drop\n",
                    // What it asks of the host. DHCP asks from 0.0.0.0, and only for its own MAC
                    // (the request's client hardware address, 28 bytes into the message).
                    host: own + "    udp sport 68 udp dport 67 @th,288,48 != 0x\(port.macAddress.lowercased().filter { $0 != ":" }) drop\n"
                        + "    udp sport 68 udp dport 67 accept\n" + address + host)
            }
            next.entries[port.device] = (key, chains)
            state.chains["out_\(suffix)"] = chains.out
            state.chains["in_\(suffix)"] = chains.into
            state.chains["host_\(suffix)"] = chains.host
        }
        memo = next
        return state
    }

    /// What an instance sends the metadata service, 169.254.169.254:80 (before its namespace
    /// led it on to the host's service).
    static let metadataAllowed = "    ct original ip daddr \(MetadataEndpoint.linkLocal) meta l4proto tcp ct original proto-dst 80 return\n"

    static func setName(_ groupId: String) -> String { "group_\(NetworkText.identifier(groupId))" }

    /// The match for one rule, `direction` naming the peer's side (`saddr` inbound, `daddr`
    /// outbound); nil for a rule that can match nothing here (a malformed peer, an IPv6 peer with
    /// an IPv4-only protocol).
    static func match(_ rule: FirewallRule, direction: String) -> String? {
        var parts: [String] = []
        switch rule.peer {
        case .cidr(let cidr):
            guard let parsed = NetworkText.cidr4(cidr) else { return nil }
            parts.append(parsed.prefix == 0 ? "meta nfproto ipv4" : "ip \(direction) \(AddressPool.format(parsed.network))/\(parsed.prefix)")
        case .cidr6(let cidr):
            guard NetworkText.isCIDR6(cidr) else { return nil }
            parts.append("ip6 \(direction) \(cidr)")
        case .group(_, let groupId):
            guard NetworkText.isGroupId(groupId) else { return nil }
            parts.append("ip \(direction) @\(setName(groupId))")
        }
        let v6: Bool = if case .cidr6 = rule.peer { true } else { false }
        switch rule.ipProtocol.lowercased() {
        case "-1", "all":
            break
        case "tcp", "6", "udp", "17":
            let proto = ["tcp", "6"].contains(rule.ipProtocol.lowercased()) ? "tcp" : "udp"
            switch (rule.fromPort, rule.toPort) {
            case (nil, nil), (-1, -1), (-1, nil), (nil, -1):
                parts.append("meta l4proto \(proto)")
            case (let from?, let to?) where from >= 0 && from <= to && to <= 65535:
                parts.append("\(proto) dport \(from == to ? "\(from)" : "\(from)-\(to)")")
            default:
                return nil
            }
        case "icmp", "1", "icmpv6", "58":
            let six = ["icmpv6", "58"].contains(rule.ipProtocol.lowercased())
            guard six == v6 else { return nil }
            let name = six ? "icmpv6" : "icmp"
            parts.append("meta l4proto \(six ? "ipv6-icmp" : "icmp")")
            // Type and code, -1 for any; any other value out of 0–255 makes the rule match nothing.
            switch rule.fromPort {
            case nil, -1:
                guard rule.toPort == nil || rule.toPort == -1 else { return nil }
            case let type? where (0...255).contains(type):
                parts.append("\(name) type \(type)")
                switch rule.toPort {
                case nil, -1: break
                case let code? where (0...255).contains(code): parts.append("\(name) code \(code)")
                default: return nil
                }
            default:
                return nil
            }
        default:
            // A protocol number as EC2 writes one: plain digits, no sign or leading zero.
            guard let number = Int(rule.ipProtocol), (0...255).contains(number), String(number) == rule.ipProtocol else { return nil }
            parts.append("meta l4proto \(number)")
        }
        return parts.joined(separator: " ")
    }

}

extension NetworkPolicy {
    /// The groups ports in `groupIds` need: theirs, and those their rules name as peers (whose
    /// members' addresses the rules match), sorted by id.
    public func groups(neededBy groupIds: some Sequence<String>) -> [GroupPolicy] {
        let byId = Dictionary(groups.map { ($0.groupId, $0) }) { first, _ in first }
        var needed = Set(groupIds)
        for id in needed { for rule in (byId[id].map { $0.ingress + $0.egress } ?? []) { if let peer = rule.peerGroupId { needed.insert(peer) } } }
        return needed.sorted().compactMap { byId[$0] }
    }
}

extension FirewallRule {
    /// The group a rule names as its peer, if it names one.
    var peerGroupId: String? {
        if case .group(_, let groupId) = peer { return groupId }
        return nil
    }
}
