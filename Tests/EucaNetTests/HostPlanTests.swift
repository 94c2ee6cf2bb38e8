import EucaCore
@testable import EucaNet
import Testing

@Suite struct HostPlanTests {
    static func port(_ n: Int, groups: [String]) -> InstancePort {
        InstancePort(instanceId: "i-\(n)", device: "vn\(n)", macAddress: "d0:0d:00:00:00:0\(n)", privateIp: "172.31.0.\(10 + n)", groups: groups)
    }

    static let web = GroupPolicy(
        groupId: "sg-web", accountId: "1",
        ingress: [
            FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("10.0.0.0/8")),
            FirewallRule(ipProtocol: "tcp", fromPort: 8000, toPort: 8100, peer: .group(accountId: "1", groupId: "sg-app")),
            FirewallRule(ipProtocol: "icmp", fromPort: 8, toPort: -1, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "50", fromPort: nil, toPort: nil, peer: .cidr("192.0.2.0/24")),
            FirewallRule(ipProtocol: "tcp", fromPort: 443, toPort: 443, peer: .cidr6("2001:db8::/32")),
        ],
        egress: [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))],
        members: ["i-1": InstanceAddresses(macAddress: "d0:0d:00:00:00:01", privateIp: "172.31.0.11")])
    static let app = GroupPolicy(
        groupId: "sg-app", accountId: "1", ingress: [], egress: [],
        members: ["i-2": InstanceAddresses(macAddress: "d0:0d:00:00:00:02", privateIp: "172.31.0.12")])

    @Test func eachRuleBecomesOneMatchOnItsInstancesChain() {
        let plan = HostPlan(gateway: "172.31.0.1", ports: [Self.port(1, groups: ["sg-web"]), Self.port(2, groups: ["sg-app"])], groups: [Self.web, Self.app])
        let text = plan.nftablesRuleset()
        #expect(text.hasPrefix("table inet euca {}\ndelete table inet euca\ntable inet euca {\n"))
        #expect(text.contains("map ports_out {\n    type ifname : verdict\n    elements = { \"vn1\" : jump out_vn1, \"vn2\" : jump out_vn2 }"))
        #expect(text.contains("iifname vmap @ports_out\n    oifname vmap @ports_in"))
        #expect(text.contains("set ports {\n    type ifname\n    elements = { \"vn1\", \"vn2\" }"))
        #expect(text.contains("ip saddr 10.0.0.0/8 tcp dport 22 accept"))
        #expect(text.contains("ip saddr @group_sg_app tcp dport 8000-8100 accept"))
        #expect(text.contains("meta nfproto ipv4 meta l4proto icmp icmp type 8 accept"))
        #expect(text.contains("ip saddr 192.0.2.0/24 meta l4proto 50 accept"))
        #expect(text.contains("ip6 saddr 2001:db8::/32 tcp dport 443 accept"))
        #expect(text.contains("set group_sg_app {\n    type ipv4_addr\n    elements = { 172.31.0.12 }\n  }"))
        // The app group has no rules: its instance takes nothing in and sends nothing out.
        #expect(plan.nftablesState().chains["in_vn2"] == "    ct state established,related accept\n    ct state invalid drop\n    drop\n")
        #expect(text.contains("chain out_vn1 {\n    ether saddr != d0:0d:00:00:00:01 drop\n    ip saddr != 172.31.0.11 drop"))
        // A port not in the maps passes nothing; DHCP asks only for the port's own MAC.
        #expect(text.contains("iifname \"vn*\" iifname != @ports drop\n    oifname \"vn*\" oifname != @ports drop\n    iifname vmap @ports_out"))
        #expect(text.contains("udp sport 68 udp dport 67 @th,288,48 != 0xd00d00000001 drop\n    udp sport 68 udp dport 67 accept"))
    }

    @Test func aChangeTouchesOnlyWhatItChanges() throws {
        let two = HostPlan(gateway: "172.31.0.1", ports: [Self.port(1, groups: ["sg-web"]), Self.port(2, groups: ["sg-app"])], groups: [Self.web, Self.app])
        var app = Self.app
        app.members["i-3"] = InstanceAddresses(macAddress: "d0:0d:00:00:00:03", privateIp: "172.31.0.13")
        let three = HostPlan(
            gateway: "172.31.0.1", ports: two.ports + [Self.port(3, groups: ["sg-app"])], groups: [Self.web, app])
        let added = try #require(two.nftablesState().difference(to: three.nftablesState(), table: "euca"))
        // A new chain is made empty, then given its rules one by one.
        func made(_ chain: String) -> String {
            "add chain inet euca \(chain)\n" + three.nftablesState().chains[chain]!.split(separator: "\n")
                .map { "add rule inet euca \(chain) \($0.drop { $0 == " " })\n" }.joined()
        }
        #expect(added == "add element inet euca group_sg_app { 172.31.0.13 }\n" + made("host_vn3") + made("in_vn3") + made("out_vn3") + """
            add element inet euca ports_host { "vn3" : jump host_vn3 }
            add element inet euca ports_in { "vn3" : jump in_vn3 }
            add element inet euca ports_out { "vn3" : jump out_vn3 }
            add element inet euca ports { "vn3" }

            """)
        // A rule revoked in web rewrites web's instance's inbound chain and nothing else.
        var web = Self.web
        web.ingress.removeFirst()
        let revoked = HostPlan(gateway: "172.31.0.1", ports: three.ports, groups: [web, app])
        let change = try #require(three.nftablesState().difference(to: revoked.nftablesState(), table: "euca"))
        #expect(change.hasPrefix("flush chain inet euca in_vn1\nadd rule inet euca in_vn1 "))
        #expect(change.split(separator: "\n").allSatisfy { $0.hasPrefix("flush chain inet euca in_vn1") || $0.hasPrefix("add rule inet euca in_vn1 ") })
        #expect(three.nftablesState().difference(to: three.nftablesState(), table: "euca") == nil)
        // Chains kept from earlier plans are the chains rendered afresh.
        var memo = NftablesMemo()
        for plan in [two, three, revoked, two, revoked] { #expect(plan.nftablesState(memo: &memo) == plan.nftablesState()) }
        // Back to two ports: the third's elements and chains go, nothing else.
        let removed = try #require(three.nftablesState().difference(to: two.nftablesState(), table: "euca"))
        #expect(removed.contains("delete element inet euca group_sg_app { 172.31.0.13 }"))
        #expect(removed.contains("delete element inet euca ports_out { \"vn3\" }"))
        #expect(removed.contains("flush chain inet euca out_vn3\ndelete chain inet euca out_vn3"))
        #expect(!removed.contains("vn1") && !removed.contains("vn2"))
    }

    @Test func macAddressesOfEucasMakingAreTwoHexDigitsPerByte() {
        #expect(VPCHost.overlayMAC(underlay: "10.200.0.2") == "02:00:0a:c8:00:02")
        #expect(VPCHost.overlayMAC(underlay: "10.200.0") == nil)
        #expect(NetworkText.mac("02:01:00", 1, bytes: 3) == "02:01:00:00:00:01")
        #expect(NetworkText.mac("02:01:00", 0xABCDEF, bytes: 3) == "02:01:00:ab:cd:ef")
    }

    @Test func aRuleThatCanMatchNothingIsLeftOutRatherThanWidened() {
        let cases: [FirewallRule] = [
            FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("10.0.0.0/33")),
            FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("10.0.0.0/8; flush ruleset")),
            FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr6("::/0\n} table")),
            FirewallRule(ipProtocol: "icmp", fromPort: 8, toPort: -1, peer: .cidr6("2001:db8::/32")),
            FirewallRule(ipProtocol: "999", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "tcp; flush", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0")),
            // Values that would otherwise widen to every port, type or protocol.
            FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: nil, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "tcp", fromPort: 30, toPort: 20, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "udp", fromPort: 1, toPort: 70000, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "icmp", fromPort: 300, toPort: -1, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "icmp", fromPort: 8, toPort: 256, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "icmp", fromPort: -1, toPort: 0, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "06", fromPort: 22, toPort: 22, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "+6", fromPort: 22, toPort: 22, peer: .cidr("0.0.0.0/0")),
            FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .group(accountId: "1", groupId: "sg_x; flush")),
        ]
        for rule in cases { #expect(HostPlan.match(rule, direction: "saddr") == nil, "\(rule)") }
        // A host address with bits past the prefix is its network, as EC2 stores it.
        #expect(HostPlan.match(FirewallRule(ipProtocol: "udp", fromPort: 53, toPort: 53, peer: .cidr("10.1.2.3/16")), direction: "daddr")
            == "ip daddr 10.1.0.0/16 udp dport 53")
    }

    @Test func valuesTheKernelWouldReadOtherwiseAreRefused() {
        // Leading zeros (octal to ip and nft), signs and non-ASCII digits.
        for address in ["10.0.0.010", "+10.0.0.5", "10.0.0.-1", "１0.0.0.1", "10.0.0", "10.0.0.256"] {
            #expect(NetworkText.ipv4(address) == nil, "\(address)")
        }
        #expect(NetworkText.ipv4("10.0.0.0") == 0x0A00_0000)
        #expect(!NetworkText.isMAC("０２:00:00:00:00:01") && !NetworkText.isMAC("d0:0d:00:00:00:0g") && NetworkText.isMAC("D0:0d:00:00:00:01"))
        #expect(!NetworkText.isCIDR6("::/+64") && !NetworkText.isCIDR6("２001:db8::/32") && NetworkText.isCIDR6("2001:db8::/32"))
        for name in ["vn-1", "vn_1", "vn.1", "up0", "vx7", "eth0", "vn", "vnABC", "vn12345678901234"] {
            #expect(!NetworkText.isPortName(name), "\(name)")
        }
        #expect(NetworkText.isPortName("vn0a1b2c3d"))
        let twins = HostPlan(gateway: "172.31.0.1", ports: [
            InstancePort(instanceId: "i-1", device: "vn1", macAddress: "d0:0d:00:00:00:01", privateIp: "172.31.0.11", groups: ["sg_1"]),
            InstancePort(instanceId: "i-2", device: "vn2", macAddress: "D0:0D:00:00:00:01", privateIp: "172.31.0.11", groups: []),
            InstancePort(instanceId: "i-3", device: "vn3", macAddress: "d0:0d:00:00:00:03", privateIp: "172.31.0.1", groups: []),
        ], groups: [], gatewayServices: [0, 80])
        let problems = twins.problems()
        for expected in ["is on two ports", "the MAC D0:0D:00:00:00:01 is on two ports", "has the gateway's address", "\"sg_1\" is not a group id", "service port 0"] {
            #expect(problems.contains { $0.contains(expected) }, "\(expected): \(problems)")
        }
    }

    @Test func aPlanWithABadValueIsRefusedNamingIt() async {
        var bad = Self.port(1, groups: [])
        bad.device = "vn1\"; flush ruleset"
        let plan = HostPlan(gateway: "172.31.0.999", ports: [bad, Self.port(2, groups: []), Self.port(2, groups: [])], groups: [])
        let problems = plan.problems()
        #expect(problems.contains { $0.contains("gateway") })
        #expect(problems.contains { $0.contains("is not a port name") })
        #expect(problems.contains { $0.contains("vn2 is listed twice") })
        // Refused before any command runs: a runner that cannot run anything is never reached.
        let applier = HostNetworkApplier(commands: HostCommands(prefix: ["/nonexistent"]))
        await #expect(throws: EucaError.self) { try await applier.apply(plan) }
    }
}
