import EucaCore
import EucaNet
import Foundation
import Testing

/// STATIC and MANAGED-NOVLAN on the nodes: the cloud's one network, carried by the nodes' VPC
/// machinery (a namespace per node, DHCP per MAC, security groups per port, VXLAN between nodes,
/// elastic IPs at the uplink), in namespaces this suite makes: two "nodes" joined by a veth pair,
/// veth pairs standing for the instances' taps, busybox's udhcpc for their DHCP clients.
@Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq")
    && FileManager.default.isExecutableFile(atPath: "/bin/busybox") && FileManager.default.isExecutableFile(atPath: "/usr/sbin/bridge"),
    "needs root, ip netns, nft, socat, conntrack, dnsmasq, bridge and busybox (Debian: iproute2, nftables, socat, conntrack, dnsmasq-base, busybox-static)"))
struct SegmentModeNamespaceTests {
    /// Two node networks, the first in the suite's host namespace, the second in its second host.
    func nodes(_ net: Namespaces, publicDevice: String? = nil, dns: [String] = []) -> [VPCNodeNetwork] {
        [net.host, net.second].enumerated().map { index, namespace in
            VPCNodeNetwork(
                settings: VPCNodeNetwork.Settings(
                    directory: net.directory.appendingPathComponent("n\(index)").path, publicDevice: index == 0 ? publicDevice : nil, metadata: nil,
                    namespacePrefix: "\(net.name)n\(index)v", underlay: "10.200.0.\(index + 1)", dns: dns),
                root: HostCommands(prefix: ["ip", "netns", "exec", namespace]))
        }
    }

    /// What DHCP gave instance `n`: `address/mask router dns`, as udhcpc hands them to its script.
    func dhcp(_ net: Namespaces, _ n: Int) async throws -> String {
        let script = net.directory.appendingPathComponent("lease-\(n).sh"), lease = net.directory.appendingPathComponent("lease-\(n)")
        let text = "#!/bin/sh\n[ \"$1\" = bound ] || exit 0\nip addr add $ip/$mask dev $interface\nip route add default via $router\necho \"$ip/$mask $router $dns\" > \(lease.path)\n"
        _ = FileManager.default.createFile(atPath: script.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o755])
        guard try await net.shell(net.instance(n), "busybox udhcpc -i eth0 -n -q -t 4 -T 1 -s \(script.path) >/dev/null 2>&1") else { return "" }
        return (try? String(contentsOf: lease, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    func ask(_ net: Namespaces, from n: Int, _ address: String, port: Int = 7) async throws -> String {
        let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
            "ip", "netns", "exec", net.instance(n), "socat", "-T1", "-", "TCP:\(address):\(port),connect-timeout=2",
        ], timeout: .seconds(5))
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func groupsOnTwoNodesReachEachOtherOnlyAsTheirRulesAllowAndAnElasticIPReachesItsInstance() async throws {
        try await Namespaces.with(instances: 3, hostSideUp: false) { net in
            try await net.makeSecondHost()
            try await net.makeOutside()
            try await net.shell(net.host, "ip link set vn3 netns \(net.second)", check: true)
            let networks = nodes(net, publicDevice: "pub0", dns: ["192.0.2.53"])
            let mode = ManagedNoVLANNetworkMode(block: "10.10.0.0/24", addressesPerNetwork: 16)
            let segment = try #require(mode.segment)
            // As the cloud gives them: web's block is the second, db's the third.
            let placed: [(node: Int, group: String, address: String)] = [(0, "sg-web", "10.10.0.18"), (0, "sg-db", "10.10.0.34"), (1, "sg-web", "10.10.0.19")]
            let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
            let fromWeb = FirewallRule(ipProtocol: "tcp", fromPort: 7, toPort: 7, peer: .group(accountId: "1", groupId: "sg-web"))
            let fromOutside = FirewallRule(ipProtocol: "tcp", fromPort: 7, toPort: 7, peer: .cidr("198.51.100.0/24"))
            func policy(db: [FirewallRule], generation: UInt64) -> NetworkPolicy {
                func members(_ group: String) -> [String: InstanceAddresses] {
                    var found: [String: InstanceAddresses] = [:]
                    for (index, instance) in placed.enumerated() where instance.group == group {
                        found["i-\(index + 1)"] = InstanceAddresses(
                            macAddress: net.mac(index + 1), privateIp: instance.address, publicIp: index == 0 ? "198.51.100.10" : nil,
                            vni: segment.vni, host: "10.200.0.\(instance.node + 1)")
                    }
                    return found
                }
                return NetworkPolicy(groups: [
                    GroupPolicy(groupId: "sg-web", accountId: "1", ingress: [fromWeb, fromOutside], egress: [all], members: members("sg-web")),
                    GroupPolicy(groupId: "sg-db", accountId: "1", ingress: db, egress: [all], members: members("sg-db")),
                ], generation: generation)
            }
            for network in networks { try await network.configure(policy(db: [], generation: 1)) }
            for (index, instance) in placed.enumerated() {
                try await networks[instance.node].attach(
                    instance: InstanceID(rawValue: "i-\(index + 1)"), macAddress: net.mac(index + 1),
                    network: InstanceNetwork(vni: segment.vni, vpcBlock: segment.block, privateIp: instance.address, groups: [instance.group]))
                // Each MAC is given its address, the network's router and the DNS server.
                #expect(try await dhcp(net, index + 1) == "\(instance.address)/24 10.10.0.1 192.0.2.53")
                try await net.background(index + 1, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo instance-\(index + 1)"])
            }
            #expect(try await ask(net, from: 3, "10.10.0.18") == "instance-1", "web to web, across the nodes")
            #expect(try await ask(net, from: 1, "10.10.0.19") == "instance-3")
            #expect(try await ask(net, from: 1, "10.10.0.34") == "", "db lets nothing in")
            #expect(try await ask(net, from: 3, "10.10.0.34") == "")
            // db lets web in: from the same node and from the other.
            for network in networks { try await network.configure(policy(db: [fromWeb], generation: 2)) }
            #expect(try await ask(net, from: 1, "10.10.0.34") == "instance-2")
            #expect(try await ask(net, from: 3, "10.10.0.34") == "instance-2")
            #expect(try await ask(net, from: 2, "10.10.0.18") == "", "web does not let db in")
            // The elastic IP reaches its instance from the site's network.
            let outside = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
                "ip", "netns", "exec", net.outside, "socat", "-T1", "-", "TCP:198.51.100.10:7,connect-timeout=2",
            ], timeout: .seconds(5))
            #expect(outside.output.trimmingCharacters(in: .whitespacesAndNewlines) == "instance-1")

            for (index, instance) in placed.enumerated() { try await networks[instance.node].release(instance: InstanceID(rawValue: "i-\(index + 1)")) }
            #expect(try await VPCHost.leftovers(prefix: "\(net.name)n0v").isEmpty)
            #expect(try await VPCHost.leftovers(prefix: "\(net.name)n1v").isEmpty)
        }
    }

    @Test func staticModeLeasesEachMappedMACItsAddressAndNoOtherMACAny() async throws {
        try await Namespaces.with(instances: 2, hostSideUp: false) { net in
            try await net.makeSecondHost()
            let network = nodes(net)[0]
            let map = [MACMapEntry(macAddress: net.mac(1), address: "10.20.0.77")]
            let mode = StaticNetworkMode(block: "10.20.0.0/24", map: map)
            let segment = try #require(mode.segment)
            try await network.attach(
                instance: InstanceID(rawValue: "i-1"), macAddress: map[0].macAddress,
                network: InstanceNetwork(vni: segment.vni, vpcBlock: segment.block, privateIp: map[0].address, groups: []))
            #expect(try await dhcp(net, 1) == "10.20.0.77/24 10.20.0.1")
            // A tap of the network whose guest asks with another MAC is given nothing.
            try await net.shell(net.instance(2), "ip link set eth0 address d0:0d:ff:00:00:09", check: true)
            try await network.attach(
                instance: InstanceID(rawValue: "i-2"), macAddress: net.mac(2),
                network: InstanceNetwork(vni: segment.vni, vpcBlock: segment.block, privateIp: "10.20.0.78", groups: []))
            #expect(try await dhcp(net, 2) == "")
            for n in 1...2 { try await network.release(instance: InstanceID(rawValue: "i-\(n)")) }
            #expect(try await VPCHost.leftovers(prefix: "\(net.name)n0v").isEmpty)
        }
    }
}
