import EucaCore
import EucaNet
import Foundation
import Testing

extension NamespaceTests {
    /// STATIC and MANAGED-NOVLAN on the nodes: the cloud's one network, carried by the nodes' VPC
    /// machinery (a namespace per node, DHCP per MAC, security groups per port, VXLAN between nodes,
    /// elastic IPs at the uplink), in namespaces this suite makes: two "nodes" joined by a veth pair,
    /// veth pairs standing for the instances' taps, busybox's udhcpc for their DHCP clients.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq")
        && FileManager.default.isExecutableFile(atPath: "/bin/busybox") && FileManager.default.isExecutableFile(atPath: "/usr/sbin/bridge"),
        "needs root, ip netns, nft, socat, conntrack, dnsmasq, bridge and busybox (Debian: iproute2, nftables, socat, conntrack, dnsmasq-base, busybox-static)"))
    struct SegmentModeNamespaceTests {
        /// Two node networks, the first in the suite's host namespace, the second in its second host.
        func nodes(_ net: Namespaces, publicDevice: String? = nil, dns: [String] = [], vlanParent: String? = nil) -> [VPCNodeNetwork] {
            [net.host, net.second].enumerated().map { index, namespace in
                VPCNodeNetwork(
                    settings: VPCNodeNetwork.Settings(
                        directory: net.directory.appendingPathComponent("n\(index)").path, publicDevice: index == 0 ? publicDevice : nil, metadata: nil,
                        namespacePrefix: "\(net.name)n\(index)v", underlay: "10.200.0.\(index + 1)", dns: dns, vlanParent: vlanParent),
                    root: HostCommands(prefix: ["ip", "netns", "exec", namespace]))
            }
        }

        /// Whether this kernel makes 802.1Q VLAN devices (these machines' does not).
        static let hasVLANs: Bool = {
            guard getuid() == 0 else { return false }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/bin/sh")
            probe.arguments = ["-c", "ip netns add eucaq$$ && ip netns exec eucaq$$ sh -c 'ip link add b0 type bridge && ip link add link b0 name b0.2 type vlan id 2' 2>/dev/null; r=$?; ip netns del eucaq$$; exit $r"]
            guard (try? probe.run()) != nil else { return false }
            probe.waitUntilExit()
            return probe.terminationStatus == 0
        }()

        /// MANAGED mode as a node is told it: web's block is the second (segment 3), db's the third
        /// (segment 4); instances 1 and 2 on the first node, 3 and 4 on the second.
        struct Managed {
            static let placed: [(node: Int, group: String, address: String, block: String)] = [
                (0, "sg-web", "10.10.0.18", "10.10.0.16/28"), (0, "sg-db", "10.10.0.34", "10.10.0.32/28"),
                (1, "sg-web", "10.10.0.19", "10.10.0.16/28"), (1, "sg-db", "10.10.0.35", "10.10.0.32/28"),
            ]
            static let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
            static let fromWeb = FirewallRule(ipProtocol: "tcp", fromPort: 7, toPort: 7, peer: .group(accountId: "1", groupId: "sg-web"))

            static func policy(_ net: Namespaces, db: [FirewallRule], generation: UInt64) -> NetworkPolicy {
                func members(_ group: String) -> [String: InstanceAddresses] {
                    var found: [String: InstanceAddresses] = [:]
                    for (index, instance) in placed.enumerated() where instance.group == group {
                        found["i-\(index + 1)"] = InstanceAddresses(
                            macAddress: net.mac(index + 1), privateIp: instance.address, vni: SegmentAddressing.siteVNI, host: "10.200.0.\(instance.node + 1)")
                    }
                    return found
                }
                return NetworkPolicy(groups: [
                    GroupPolicy(groupId: "sg-web", accountId: "1", ingress: [fromWeb], egress: [all], members: members("sg-web")),
                    GroupPolicy(groupId: "sg-db", accountId: "1", ingress: db, egress: [all], members: members("sg-db")),
                ], generation: generation)
            }

            static func network(_ index: Int) -> InstanceNetwork {
                InstanceNetwork(
                    vni: SegmentAddressing.siteVNI, vpcBlock: "10.10.0.0/24", privateIp: placed[index].address, groups: [placed[index].group],
                    groupBlock: placed[index].block)
            }

            /// Launches the four on `networks`, each leased its address and listening on port 7.
            static func launch(_ net: Namespaces, on networks: [VPCNodeNetwork], checking dhcp: (Int) async throws -> String) async throws {
                for n in [3, 4] { try await net.shell(net.host, "ip link set vn\(n) netns \(net.second)", check: true) }
                for network in networks { try await network.configure(policy(net, db: [], generation: 1)) }
                for (index, instance) in placed.enumerated() {
                    try await networks[instance.node].attach(instance: InstanceID(rawValue: "i-\(index + 1)"), macAddress: net.mac(index + 1), network: network(index))
                    // Its group's subnet: the block's netmask, and its first host the router.
                    let router = instance.group == "sg-web" ? "10.10.0.17" : "10.10.0.33"
                    #expect(try await dhcp(index + 1) == "\(instance.address)/28 \(router)")
                    try await net.background(index + 1, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo instance-\(index + 1)"])
                }
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

        @Test func managedGroupsHaveTheirOwnSubnetAndSegmentAndReachEachOtherOnlyAsRulesAllow() async throws {
            try await Namespaces.with(instances: 4, hostSideUp: false) { net in
                try await net.makeSecondHost()
                let networks = nodes(net)
                try await Managed.launch(net, on: networks) { try await dhcp(net, $0) }
                #expect(try await ask(net, from: 3, "10.10.0.18") == "instance-1", "web to web, across the nodes on web's segment")
                #expect(try await ask(net, from: 1, "10.10.0.19") == "instance-3")
                #expect(try await ask(net, from: 1, "10.10.0.34") == "", "db lets nothing in")
                #expect(try await ask(net, from: 1, "10.10.0.35") == "")
                for network in networks { try await network.configure(Managed.policy(net, db: [Managed.fromWeb], generation: 2)) }
                #expect(try await ask(net, from: 1, "10.10.0.34") == "instance-2", "web to db on one node")
                #expect(try await ask(net, from: 1, "10.10.0.35") == "instance-4", "web to db across the nodes, on db's segment")
                #expect(try await ask(net, from: 2, "10.10.0.19") == "", "web does not let db in")
                // Each segment is a VXLAN VNI of its own between the nodes.
                let namespace = "\(net.name)n0v\(SegmentAddressing.siteVNI)"
                for segment in [3, 4] {
                    let link = try await ChildProcess.runKeepingOutput(
                        "/usr/bin/env", ["ip", "netns", "exec", namespace, "ip", "-d", "link", "show", "vx\(segment)"], timeout: .seconds(5))
                    #expect(link.output.contains("vxlan id \(segment) "), "\(link.output)")
                }
                let plan = try VPCNodeNetwork.plan(
                    vni: SegmentAddressing.siteVNI, ports: ["i-1": (net.mac(1), Managed.network(0)), "i-2": (net.mac(2), Managed.network(1))],
                    policy: Managed.policy(net, db: [Managed.fromWeb], generation: 2), underlay: "10.200.0.1")
                #expect(plan.text.contains("REMOTE\t10.10.0.19\tvxlan 3 to 10.200.0.2") && plan.text.contains("REMOTE\t10.10.0.35\tvxlan 4 to 10.200.0.2"), "\(plan.text)")
                #expect(plan.text.contains("subnet 10.10.0.16/28 gateway 10.10.0.17"))
                for (index, instance) in Managed.placed.enumerated() { try await networks[instance.node].release(instance: InstanceID(rawValue: "i-\(index + 1)")) }
                #expect(try await VPCHost.leftovers(prefix: "\(net.name)n0v").isEmpty)
                #expect(try await VPCHost.leftovers(prefix: "\(net.name)n1v").isEmpty)
            }
        }

        /// Where a node's kernel has 802.1Q, its plan carries the segments on VLANs of its private
        /// interface.
        @Test func managedSegmentsArePlannedAsVLANsOnTheNodesPrivateInterface() async throws {
            try await Namespaces.with(instances: 4, hostSideUp: false) { net in
                let plan = try VPCNodeNetwork.plan(
                    vni: SegmentAddressing.siteVNI, ports: ["i-1": (net.mac(1), Managed.network(0))], policy: Managed.policy(net, db: [Managed.fromWeb], generation: 2),
                    underlay: "10.200.0.1", vlanParent: "ul0")
                #expect(plan.text.contains("REMOTE\t10.10.0.19\tvlan 3 on ul0 to 10.200.0.2") && plan.text.contains("REMOTE\t10.10.0.35\tvlan 4 on ul0 to 10.200.0.2"), "\(plan.text)")
            }
        }

        @Test(.enabled(if: Self.hasVLANs, "the kernel has no 802.1Q VLANs: MANAGED's VLAN form is checked by its plan only"))
        func managedSegmentsAreVLANsWhereTheKernelHasThem() async throws {
            try await Namespaces.with(instances: 4, hostSideUp: false) { net in
                try await net.makeSecondHost()
                let networks = nodes(net, vlanParent: "ul0")
                try await Managed.launch(net, on: networks) { try await dhcp(net, $0) }
                #expect(try await ask(net, from: 3, "10.10.0.18") == "instance-1", "web to web, across the nodes on web's VLAN")
                #expect(try await ask(net, from: 1, "10.10.0.35") == "instance-4", "web to db across the nodes, on db's VLAN")
                #expect(try await ask(net, from: 2, "10.10.0.19") == "")
                for (index, instance) in Managed.placed.enumerated() { try await networks[instance.node].release(instance: InstanceID(rawValue: "i-\(index + 1)")) }
            }
        }

        /// What a node's network leaves on the host: its links (less the instances' own), routes,
        /// neighbour proxies, nftables tables and namespaces.
        func trace(_ net: Namespaces) async throws -> String {
            let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
                "ip", "netns", "exec", net.host, "sh", "-c",
                "ip -o link | grep -v -e ' vn[0-9]' -e ' ei' | cut -d: -f2 | cut -d@ -f1; ip route; ip neigh show proxy; nft list tables",
            ], timeout: .seconds(5))
            let namespaces = try await VPCHost.leftovers(prefix: "\(net.name)n0v")
            return result.output + namespaces.joined(separator: "\n")
        }

        @Test func switchingModesWithInstancesStoppedLeavesNoTraceOfTheOldMode() async throws {
            try await Namespaces.with(instances: 3, hostSideUp: false) { net in
                try await net.makeOutside()
                try await net.shell(net.host, "ip link add br0 type bridge; ip link set br0 up; ip link set vn3 name \(BridgedPlan.device(for: InstanceID(rawValue: "i-3"))) master br0 up", check: true)
                let before = try await trace(net)
                // VPC, with an elastic IP: the instance stopped, nothing of its VPC stays.
                let node = nodes(net, publicDevice: "pub0")[0]
                let vni = Int.random(in: 9_000_000...9_900_000)
                let member = InstanceAddresses(macAddress: net.mac(1), privateIp: "172.31.0.4", publicIp: "198.51.100.10", vni: vni)
                try await node.configure(NetworkPolicy(groups: [GroupPolicy(groupId: "sg-a", accountId: "1", ingress: [], egress: [], members: ["i-1": member])], generation: 1))
                try await node.attach(
                    instance: InstanceID(rawValue: "i-1"), macAddress: net.mac(1),
                    network: InstanceNetwork(vni: vni, vpcBlock: "172.31.0.0/16", privateIp: "172.31.0.4", groups: ["sg-a"]))
                #expect(try await trace(net) != before, "the VPC is on the host")
                try await node.release(instance: InstanceID(rawValue: "i-1"))
                #expect(try await trace(net) == before)
                // MANAGED, the node restarted in it.
                let managed = nodes(net, publicDevice: "pub0")[0]
                try await managed.configure(Managed.policy(net, db: [], generation: 2))
                try await managed.attach(instance: InstanceID(rawValue: "i-2"), macAddress: net.mac(2), network: Managed.network(1))
                #expect(try await trace(net) != before)
                try await managed.release(instance: InstanceID(rawValue: "i-2"))
                #expect(try await trace(net) == before)
                // SYSTEM, its instances on the bridge.
                let bridged = BridgedNodeNetwork(bridge: "br0", commands: HostCommands(prefix: ["ip", "netns", "exec", net.host]), scratch: net.directory.path)
                try await bridged.attach(instance: InstanceID(rawValue: "i-3"), macAddress: net.mac(3))
                #expect(try await trace(net) != before)
                try await bridged.release(instance: InstanceID(rawValue: "i-3"))
                #expect(try await trace(net) == before)
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

    /// SYSTEM mode's security groups on a node's bridge: in namespaces this suite makes, a bridge in
    /// the "node", the site's network (with its own DHCP server) on one port of it, and veth pairs
    /// named as the node names bridged taps standing for the instances'.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq")
        && FileManager.default.isExecutableFile(atPath: "/bin/busybox") && FileManager.default.fileExists(atPath: "/proc/sys/net/bridge"),
        "needs root, ip netns, nft, socat, dnsmasq, busybox and the kernel's br_netfilter (Debian: iproute2, nftables, socat, dnsmasq-base, busybox-static)"))
    struct BridgedNetworkNamespaceTests {
        @Test func theSitesDHCPServesInstancesAndGroupsFilterWhatCrossesTheBridge() async throws {
            try await Namespaces.with(instances: 3, hostSideUp: false) { net in
                let site = net.outside
                try await net.shell(net.host, "ip link add br0 type bridge; ip link set br0 up", check: true)
                let ports = (1...3).map { BridgedPlan.device(for: InstanceID(rawValue: "i-\($0)")) }
                for n in 1...3 { try await net.shell(net.host, "ip link set vn\(n) name \(ports[n - 1]); ip link set \(ports[n - 1]) master br0 up", check: true) }
                let made = try await ChildProcess.run("/usr/bin/env", ["ip", "netns", "add", site], timeout: .seconds(5))
                #expect(made.status == 0)
                try await net.shell(net.host, "ip link add site0 type veth peer name eth0 netns \(site); ip link set site0 master br0 up", check: true)
                try await net.shell(site, "ip link set lo up; ip addr add 10.50.0.1/24 dev eth0; ip link set eth0 up", check: true)
                let files = net.directory.path
                try await net.shell(site, "dnsmasq --conf-file=/dev/null --port=0 --interface=eth0 --dhcp-range=10.50.0.100,10.50.0.150,255.255.255.0,1h "
                    + "--dhcp-leasefile=\(files)/site.leases --pid-file=\(files)/site.pid", check: true)

                let network = BridgedNodeNetwork(bridge: "br0", commands: HostCommands(prefix: ["ip", "netns", "exec", net.host]), scratch: files)
                let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let fromClients = FirewallRule(ipProtocol: "tcp", fromPort: 7, toPort: 7, peer: .group(accountId: "1", groupId: "sg-client"))
                var learned: [Int: String] = [:]
                func policy(web: [FirewallRule], generation: UInt64) -> NetworkPolicy {
                    func members(_ ns: [Int]) -> [String: InstanceAddresses] {
                        Dictionary(uniqueKeysWithValues: ns.map { ("i-\($0)", InstanceAddresses(macAddress: net.mac($0), privateIp: learned[$0])) })
                    }
                    return NetworkPolicy(groups: [
                        GroupPolicy(groupId: "sg-web", accountId: "1", ingress: web, egress: [all], members: members([1])),
                        GroupPolicy(groupId: "sg-client", accountId: "1", ingress: [], egress: [all], members: members([2])),
                        GroupPolicy(groupId: "sg-other", accountId: "1", ingress: [], egress: [all], members: members([3])),
                    ], generation: generation)
                }
                try await network.configure(policy(web: [fromClients], generation: 1))
                for n in 1...3 { try await network.attach(instance: InstanceID(rawValue: "i-\(n)"), macAddress: net.mac(n)) }
                // The site's DHCP server answers through the filter, before any address is learned.
                for n in 1...3 {
                    #expect(try await net.lease(n))
                    learned[n] = try await net.addresses(n).first.map { String($0.split(separator: "/")[0]) }
                    try await net.background(n, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo instance-\(n)"])
                }
                #expect(learned.values.allSatisfy { $0.hasPrefix("10.50.0.") } && Set(learned.values).count == 3, "\(learned)")
                try await network.configure(policy(web: [fromClients], generation: 2))
                func ask(_ from: String, _ n: Int) async throws -> String {
                    let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
                        "ip", "netns", "exec", from, "socat", "-T1", "-", "TCP:\(learned[n] ?? ""):7,connect-timeout=1",
                    ], timeout: .seconds(5))
                    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                #expect(try await ask(net.instance(2), 1) == "instance-1", "a client reaches web")
                #expect(try await ask(net.instance(3), 1) == "", "another group does not")
                #expect(try await ask(site, 1) == "", "nor does the site")
                #expect(try await ask(site, 3) == "", "a group with no rule lets nothing in")
                try await network.configure(policy(web: [fromClients, FirewallRule(ipProtocol: "tcp", fromPort: 7, toPort: 7, peer: .cidr("10.50.0.1/32"))], generation: 3))
                #expect(try await ask(site, 1) == "instance-1", "a rule for the site's address lets it in")
                // A policy older than the one held changes nothing.
                try await network.configure(policy(web: [fromClients], generation: 2))
                #expect(try await ask(site, 1) == "instance-1")

                // An instance that sends from another address, or from another MAC, reaches nobody.
                try await net.instanceShell(2, "ip addr add 10.50.0.99/24 dev eth0")
                #expect(try await !net.shell(net.instance(2), "socat -T1 - TCP:\(learned[1] ?? ""):7,connect-timeout=1,bind=10.50.0.99 </dev/null | grep -q instance"))
                // Nor does it answer ARP for that address: the site never learns it there.
                _ = try await net.shell(site, "ping -c1 -W1 10.50.0.99 >/dev/null")
                #expect(try await !net.shell(site, "ip neigh show 10.50.0.99 | grep -q lladdr"), "the site learned a spoofed address")
                // No IPv6 crosses the bridge from or to an instance.
                let siteLink = try await ChildProcess.runKeepingOutput(
                    "/usr/bin/env", ["ip", "netns", "exec", site, "sh", "-c", "ip -6 -o addr show dev eth0 scope link | awk '{print $4}' | cut -d/ -f1"],
                    timeout: .seconds(5)).output.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(!siteLink.isEmpty)
                #expect(try await !net.shell(net.instance(1), "ping -6 -c1 -W1 \(siteLink)%eth0 >/dev/null"))
                try await net.instanceShell(3, "ip link set eth0 down; ip link set eth0 address d0:0d:00:00:00:99; ip link set eth0 up")
                #expect(try await !net.shell(net.instance(3), "ping -c1 -W1 10.50.0.1 >/dev/null"))
                #expect(try await net.shell(net.instance(2), "ping -c1 -W1 10.50.0.1 >/dev/null"), "its own address and MAC still pass")

                // With its last instance gone, the node has no table of the filter's.
                for n in 1...3 { try await network.release(instance: InstanceID(rawValue: "i-\(n)")) }
                let tables = try await ChildProcess.runKeepingOutput("/usr/bin/env", ["ip", "netns", "exec", net.host, "nft", "list", "tables"], timeout: .seconds(5))
                #expect(!tables.output.contains("euca"), "\(tables.output)")
                if let pid = try? String(contentsOfFile: "\(files)/site.pid", encoding: .utf8), let value = Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    kill(value, SIGKILL)
                }
            }
        }
    }
}
