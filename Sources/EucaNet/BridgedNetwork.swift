public import EucaCore
import Foundation

/// One bridged instance's port: its tap on the node's bridge (`VNET_BRIDGE`), its MAC, the
/// address the node learned it took from the site's DHCP (nil until then) and its groups by id.
public struct BridgedPort: Sendable, Hashable {
    public var instanceId: String
    public var device: String
    public var macAddress: String
    public var privateIp: String?
    public var groups: [String]

    public init(instanceId: String, device: String, macAddress: String, privateIp: String?, groups: [String]) {
        self.instanceId = instanceId
        self.device = device
        self.macAddress = macAddress.lowercased()
        self.privateIp = privateIp
        self.groups = groups
    }
}

/// SYSTEM mode's security groups, on a node whose instances are bridged onto the site's network:
/// what the node's two tables are made to be. A pure value; ``BridgedNodeNetwork`` applies it.
///
/// - Table `bridge euca_ports` holds each tap to its instance's MAC: a tap sends from that MAC
///   only and is sent unicast frames for that MAC only, no IPv6 either way, and once the node
///   has learned its instance's address, ARP for that address only; a tap named `ei…`
///   (``portPrefix``) that no port names passes nothing. So a guest that changes its MAC is not another machine: it is cut off.
/// - Table `inet euca_bridged` enforces the groups with connection tracking, as in VPC mode, on
///   what crosses the bridge (the kernel hands bridged IPv4 to the `inet` hooks where
///   `net.bridge.bridge-nf-call-iptables` is 1): by source MAC what an instance sends (its own
///   address, once learned, then its egress rules), by destination MAC what it receives (its
///   ingress rules). DHCP with the site's server always passes; IPv6 from an instance does not.
public struct BridgedPlan: Sendable, Hashable {
    /// The bridge, for the operator's reading: the tables match instances by MAC and tap, on
    /// whichever bridge they are (nil where it is not known: the cloud's view of a node).
    public var bridge: String?
    public var ports: [BridgedPort]
    /// The groups the ports are in and those their rules name, by id.
    public var groups: [String: GroupPolicy]

    public init(bridge: String?, ports: [BridgedPort], groups: [GroupPolicy]) {
        self.bridge = bridge
        self.ports = ports.sorted { $0.device < $1.device }
        self.groups = Dictionary(groups.map { ($0.groupId, $0) }) { first, _ in first }
    }

    /// The plan for the instances on this node (`instances`: id → tap and MAC) under `policy`:
    /// each takes its groups and its learned address from the policy, where the policy names it.
    public static func plan(bridge: String?, instances: [String: (device: String, macAddress: String)], policy: NetworkPolicy) -> BridgedPlan {
        var ports: [BridgedPort] = []
        for (id, instance) in instances {
            let mine = policy.groups.filter { $0.members[id] != nil }
            let address = mine.lazy.compactMap { $0.members[id]?.privateIp }.first
            ports.append(BridgedPort(instanceId: id, device: instance.device, macAddress: instance.macAddress, privateIp: address, groups: mine.map(\.groupId)))
        }
        return BridgedPlan(bridge: bridge, ports: ports, groups: policy.groups(neededBy: ports.flatMap(\.groups)))
    }

    /// Why the plan cannot be applied, naming the part at fault; nil when it can.
    public func problems() -> [String] {
        var found: [String] = []
        var devices = Set<String>(), macs = Set<String>()
        for port in ports {
            if !NetworkText.isPortName(port.device, prefix: Self.portPrefix) { found.append("port \"\(port.device.prefix(64))\" is not a port name (\(Self.portPrefix) and letters or digits)") }
            if !devices.insert(port.device).inserted { found.append("port \(port.device) is listed twice") }
            if !NetworkText.isMAC(port.macAddress) { found.append("port \(port.device): \"\(port.macAddress.prefix(64))\" is not a MAC address") }
            if !macs.insert(port.macAddress).inserted { found.append("the MAC \(port.macAddress.prefix(64)) is on two ports") }
            if let address = port.privateIp, NetworkText.ipv4(address) == nil { found.append("port \(port.device): \"\(address.prefix(64))\" is not an IPv4 address") }
            for group in port.groups where !NetworkText.isGroupId(group) { found.append("port \(port.device): \"\(group.prefix(64))\" is not a group id") }
        }
        for group in groups.keys where !NetworkText.isGroupId(group) { found.append("\"\(group.prefix(64))\" is not a group id") }
        return found
    }

    /// How a bridged instance's tap is named: this and the last 13 letters or digits of its id.
    /// Not `vn`: libvirt names the taps it makes itself `vnet…`, and those of machines that are
    /// not the cloud's must pass as they did.
    public static let portPrefix = "ei"

    /// The tap of a bridged instance.
    public static func device(for instance: InstanceID) -> String { NetworkText.portName(portPrefix, for: instance) }

    /// Both tables, each replaced whole, in one script `nft -f` applies as one transaction.
    public var ruleset: String { portTable + filterTable }

    var portTable: String {
        var text = NftText.replacing("bridge", "euca_ports")
        text += NftText.collection("set", "ports", type: "ifname", ports.map { "\"\($0.device)\"" })
        text += NftText.collection("set", "pairs", type: "ifname . ether_addr", ports.map { "\"\($0.device)\" . \($0.macAddress)" })
        let ours = "\"\(Self.portPrefix)*\""
        // A port whose address is learned speaks ARP for that address only.
        let learned = ports.compactMap { port in port.privateIp.map { "\"\(port.device)\" . \($0)" } }
        text += NftText.collection("set", "arp_held", type: "ifname", ports.filter { $0.privateIp != nil }.map { "\"\($0.device)\"" })
        text += NftText.collection("set", "arp_pairs", type: "ifname . ipv4_addr", learned)
        let held = [
            "iifname \(ours) iifname != @ports drop", "iifname \(ours) iifname . ether saddr != @pairs drop",
            "iifname \(ours) ether type ip6 drop", "iifname @arp_held iifname . arp saddr ip != @arp_pairs drop",
        ]
        text += NftText.hook("forward", "filter", "forward", "filter", held + [
            "oifname \(ours) oifname != @ports drop", "oifname \(ours) meta pkttype != { broadcast, multicast } oifname . ether daddr != @pairs drop",
            "oifname \(ours) ether type ip6 drop",
        ])
        text += NftText.hook("input", "filter", "input", "filter", held)
        return text + "}\n"
    }

    var filterTable: String {
        var text = NftText.replacing("inet", "euca_bridged")
        let used = Set(ports.flatMap(\.groups)).union(ports.flatMap(\.groups).compactMap { groups[$0] }.flatMap { ($0.ingress + $0.egress).compactMap(\.peerGroupId) })
        for id in used.sorted() where NetworkText.isGroupId(id) {
            let members = (groups[id]?.members.values.compactMap(\.privateIp) ?? []).filter { NetworkText.ipv4($0) != nil }
            text += NftText.collection("set", HostPlan.setName(id), type: "ipv4_addr", Array(Set(members)).sorted())
        }
        text += NftText.collection("map", "macs_out", type: "ether_addr : verdict", ports.map { "\($0.macAddress) : jump out_\(NetworkText.identifier($0.device))" })
        text += NftText.collection("map", "macs_in", type: "ether_addr : verdict", ports.map { "\($0.macAddress) : jump in_\(NetworkText.identifier($0.device))" })
        for port in ports {
            let rules = port.groups.compactMap { groups[$0] }
            let egress = rules.flatMap(\.egress).compactMap { HostPlan.match($0, direction: "daddr").map { "    \($0) return\n" } }.joined()
            let ingress = rules.flatMap(\.ingress).compactMap { HostPlan.match($0, direction: "saddr").map { "    \($0) accept\n" } }.joined()
            let suffix = NetworkText.identifier(port.device)
            // The instance's address is held to once the node has learned it.
            let own = port.privateIp.map { "    ip saddr != \($0) drop\n" } ?? ""
            text += "  chain out_\(suffix) {\n    udp sport 68 udp dport 67 accept\n    meta nfproto ipv6 drop\n" + own
                + "    ct state established,related return\n    ct state invalid drop\n" + egress + "    drop\n  }\n"
            text += "  chain in_\(suffix) {\n    ct state established,related accept\n    ct state invalid drop\n    udp sport 67 udp dport 68 accept\n"
                + ingress + "    drop\n  }\n"
        }
        text += NftText.hook("forward", "filter", "forward", "filter", ["ether saddr vmap @macs_out", "ether daddr vmap @macs_in"])
        return text + "}\n"
    }

    /// The plan as an operator reads it: the bridge, its ports, then the tables.
    public var text: String {
        var lines = ["BRIDGE\t\(bridge ?? "(the node's VNET_BRIDGE)")"]
        for port in ports {
            lines.append("PORT\t\(port.device)\t\(port.instanceId)\t\(port.macAddress)\t\(port.privateIp ?? "(not learned)")\t\(port.groups.joined(separator: ","))")
        }
        for problem in problems() { lines.append("PROBLEM\t\(problem)") }
        return lines.joined(separator: "\n") + "\n" + ruleset
    }
}

/// SYSTEM mode's security groups on one node: the bridged instances it runs, the policy the
/// cloud sent, and the two tables of ``BridgedPlan`` made to match them after every change.
/// Serial: one change at a time, each applying the whole plan (a node's instances make a small
/// table). ``stop()`` removes both tables.
public actor BridgedNodeNetwork {
    public nonisolated let bridge: String
    private let commands: HostCommands
    private let scratch: URL
    private var instances: [String: (device: String, macAddress: String)] = [:]
    private var policy = NetworkPolicy(groups: [])
    private var applied: String?
    private var bridgeFiltering = false

    /// `scratch` is where rulesets are written for `nft -f`.
    public init(bridge: String, commands: HostCommands = HostCommands(), scratch: String? = nil) {
        self.bridge = bridge
        self.commands = commands
        self.scratch = scratch.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
    }

    /// Holds an instance's tap (named ``BridgedPlan/device(for:)``) to its MAC and its groups.
    public func attach(instance: InstanceID, macAddress: String) async throws {
        instances[instance.rawValue] = (BridgedPlan.device(for: instance), macAddress.lowercased())
        try await apply()
    }

    public func release(instance: InstanceID) async throws {
        guard instances.removeValue(forKey: instance.rawValue) != nil else { return }
        try await apply()
    }

    /// Enforces `policy`; one older than the policy held is ignored.
    public func configure(_ policy: NetworkPolicy) async throws {
        guard policy.generation >= self.policy.generation else { return }
        self.policy = policy
        try await apply()
    }

    /// The plan as it stands.
    public var plan: BridgedPlan { BridgedPlan.plan(bridge: bridge, instances: instances, policy: policy) }

    /// Removes both tables.
    public func stop() async {
        try? await commands.run(["nft", "-f"], reading: "table bridge euca_ports {}\ndelete table bridge euca_ports\ntable inet euca_bridged {}\ndelete table inet euca_bridged\n", in: scratch)
        applied = nil
    }

    /// The apply before the latest: each waits for the one before it, and applies the state as
    /// it is when its turn comes, so an older plan never lands after a newer one.
    private var tail: Task<Void, any Error>?

    private func apply() async throws {
        let previous = tail
        let turn = Task {
            _ = await previous?.result
            try await self.applyNow()
        }
        tail = turn
        try await turn.value
    }

    private func applyNow() async throws {
        let plan = self.plan
        // The host is left alone until an instance is here, and as it was once none is.
        if plan.ports.isEmpty {
            if applied != nil { await stop() }
            return
        }
        let problems = plan.problems()
        guard problems.isEmpty else {
            throw EucaError(.invalidParameter, nil, "the network plan is refused: \(problems.joined(separator: "; "))")
        }
        if !bridgeFiltering {
            // Bridged IPv4 through the inet hooks (the br_netfilter module provides the switch).
            if !FileManager.default.fileExists(atPath: "/proc/sys/net/bridge") { try? await commands.run(["modprobe", "br_netfilter"]) }
            do {
                try await commands.run(["sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"])
            } catch {
                throw EucaError(.unavailable, nil, "security groups on a bridge need the kernel's br_netfilter (net.bridge.bridge-nf-call-iptables): \(error)")
            }
            bridgeFiltering = true
        }
        let ruleset = plan.ruleset
        guard ruleset != applied else { return }
        applied = nil
        try await commands.run(["nft", "-f"], reading: ruleset, in: scratch)
        applied = ruleset
    }
}
