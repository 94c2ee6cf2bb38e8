/// Security groups as an nftables table of Euca's own (family `inet`), as EC2 enforces them: per
/// instance, stateful, inbound denied unless a rule of one of its groups allows it, outbound as
/// its groups' egress rules allow, replies to allowed traffic always let through.
///
/// For each port the table has two chains: `out_<port>` (what the instance sends: its own address
/// only, then its egress rules) and `in_<port>` (what it receives: its ingress rules). A packet
/// between two instances passes the sender's `out_` (which returns when allowed) and then the
/// receiver's `in_` (which accepts). Traffic to the host itself is limited to DHCP, DNS, ICMP echo
/// and the listed services on the gateway address.
extension HostPlan {
    /// The whole table, as `nft -f` reads it: created if missing, then replaced in one transaction.
    public func nftablesRuleset(table: String = "euca") -> String {
        let name = NetworkText.identifier(table)
        // ``problems()`` refuses a plan with a bad port; a port that gets here anyway is left out.
        let ports = self.ports.filter { NetworkText.isDeviceName($0.device) && NetworkText.ipv4($0.privateIp) != nil && NetworkText.isMAC($0.macAddress) }
        var text = "table inet \(name) {}\ndelete table inet \(name)\ntable inet \(name) {\n"
        let usedGroups = Set(ports.flatMap(\.groups)).union(
            ports.flatMap(\.groups).compactMap { groups[$0] }.flatMap { ($0.ingress + $0.egress).compactMap(\.peerGroupId) })
        for groupId in usedGroups.sorted() {
            let members = (groups[groupId]?.members.values.compactMap(\.privateIp) ?? []).filter { NetworkText.ipv4($0) != nil }
            text += "  set \(Self.setName(groupId)) {\n    type ipv4_addr\n"
            if !members.isEmpty { text += "    elements = { \(Set(members).sorted().joined(separator: ", ")) }\n" }
            text += "  }\n"
        }
        text += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
        if !ports.isEmpty {
            text += "    iifname vmap { \(ports.map { "\"\($0.device)\" : jump \(Self.chain("out", $0))" }.joined(separator: ", ")) }\n"
            text += "    oifname vmap { \(ports.map { "\"\($0.device)\" : jump \(Self.chain("in", $0))" }.joined(separator: ", ")) }\n"
        }
        text += "  }\n"
        text += "  chain input {\n    type filter hook input priority filter; policy accept;\n"
        if !ports.isEmpty {
            text += "    iifname vmap { \(ports.map { "\"\($0.device)\" : jump \(Self.chain("host", $0))" }.joined(separator: ", ")) }\n"
        }
        text += "  }\n"
        for port in ports {
            let groups = port.groups.compactMap { self.groups[$0] }
            // What the instance sends: its own address only (DHCP asks from 0.0.0.0), then egress.
            text += "  chain \(Self.chain("out", port)) {\n"
            text += "    ether saddr != \(port.macAddress.lowercased()) drop\n"
            text += "    ip saddr != \(port.privateIp) drop\n"
            text += "    meta nfproto ipv6 drop\n"
            text += "    ct state established,related return\n    ct state invalid drop\n"
            for rule in groups.flatMap(\.egress) {
                if let match = Self.match(rule, direction: "daddr") { text += "    \(match) return\n" }
            }
            text += "    drop\n  }\n"
            // What it receives.
            text += "  chain \(Self.chain("in", port)) {\n"
            text += "    ct state established,related accept\n    ct state invalid drop\n"
            for rule in groups.flatMap(\.ingress) {
                if let match = Self.match(rule, direction: "saddr") { text += "    \(match) accept\n" }
            }
            text += "    drop\n  }\n"
            // What it asks of the host.
            text += "  chain \(Self.chain("host", port)) {\n"
            text += "    ether saddr != \(port.macAddress.lowercased()) drop\n"
            text += "    udp sport 68 udp dport 67 accept\n"
            text += "    ip saddr != \(port.privateIp) drop\n"
            text += "    meta nfproto ipv6 drop\n"
            text += "    ct state established,related accept\n"
            text += "    ip daddr \(gateway) udp dport 53 accept\n"
            text += "    ip daddr \(gateway) icmp type echo-request accept\n"
            if !gatewayServices.isEmpty {
                text += "    ip daddr \(gateway) tcp dport { \(gatewayServices.map(String.init).joined(separator: ", ")) } accept\n"
            }
            text += "    drop\n  }\n"
        }
        text += "}\n"
        return text
    }

    static func chain(_ kind: String, _ port: InstancePort) -> String { "\(kind)_\(NetworkText.identifier(port.device))" }

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
            parts.append("ip \(direction) @\(setName(groupId))")
        }
        let v6: Bool = if case .cidr6 = rule.peer { true } else { false }
        switch rule.ipProtocol.lowercased() {
        case "-1", "all":
            break
        case "tcp", "6", "udp", "17":
            let proto = ["tcp", "6"].contains(rule.ipProtocol.lowercased()) ? "tcp" : "udp"
            if let range = portRange(rule) {
                parts.append("\(proto) dport \(range)")
            } else {
                parts.append("meta l4proto \(proto)")
            }
        case "icmp", "1":
            guard !v6 else { return nil }
            parts.append("meta l4proto icmp")
            if let type = rule.fromPort, (0...255).contains(type) {
                parts.append("icmp type \(type)")
                if let code = rule.toPort, (0...255).contains(code) { parts.append("icmp code \(code)") }
            }
        case "icmpv6", "58":
            guard v6 else { return nil }
            parts.append("meta l4proto ipv6-icmp")
            if let type = rule.fromPort, (0...255).contains(type) {
                parts.append("icmpv6 type \(type)")
                if let code = rule.toPort, (0...255).contains(code) { parts.append("icmpv6 code \(code)") }
            }
        default:
            guard let number = Int(rule.ipProtocol), (0...255).contains(number) else { return nil }
            parts.append("meta l4proto \(number)")
        }
        return parts.joined(separator: " ")
    }

    /// `22` or `1000-2000`; nil for every port (no range, or -1).
    private static func portRange(_ rule: FirewallRule) -> String? {
        guard let from = rule.fromPort, let to = rule.toPort, from >= 0, to >= from, to <= 65535 else { return nil }
        return from == to ? "\(from)" : "\(from)-\(to)"
    }
}

extension FirewallRule {
    /// The group a rule names as its peer, if it names one.
    var peerGroupId: String? {
        if case .group(_, let groupId) = peer { return groupId }
        return nil
    }
}
