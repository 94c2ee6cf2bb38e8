import EucaCore
import EucaNet
import Foundation
import Testing

/// Every suite that stands up network namespaces, one after another: each starts many commands
/// and background servers, and run side by side they overload a 2-core machine (and its
/// Foundation process spawner).
@Suite(.serialized) enum NamespaceTests {}

extension NamespaceTests {
    /// Security groups enforced by the kernel, in network namespaces this suite makes and deletes: a
    /// "host" namespace where ``HostNetworkApplier`` works, and one namespace per instance joined to it
    /// by a veth pair standing in for the instance's tap.
    @Suite(.serialized, .enabled(if: Namespaces.available, "needs root, ip netns, nft, socat, ping, bash and conntrack (Debian: iproute2, nftables, socat, iputils-ping, conntrack)"))
    struct SecurityGroupNamespaceTests {
        @Test func onlyWhatAGroupAuthorizesReachesItsInstances() async throws {
            try await Namespaces.with(instances: 3) { net in
                // web (instance 1): ssh from the subnet, 8080 from the app group, UDP 5353, ping.
                // app (instance 2) and other (instance 3): nothing in.
                let web = net.group("sg-web", members: [1], ingress: [
                    FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("172.31.0.0/20")),
                    FirewallRule(ipProtocol: "tcp", fromPort: 8080, toPort: 8080, peer: .group(accountId: "1", groupId: "sg-app")),
                    FirewallRule(ipProtocol: "udp", fromPort: 5353, toPort: 5353, peer: .cidr("172.31.0.12/32")),
                    FirewallRule(ipProtocol: "icmp", fromPort: 8, toPort: -1, peer: .cidr("172.31.0.13/32")),
                ])
                let app = net.group("sg-app", members: [2])
                let other = net.group("sg-other", members: [3])
                try await net.apply([web, app, other])
                for port in [22, 8080, 9000] { try await net.listenTCP(1, port) }
                try await net.listenUDP(1, 5353)

                #expect(try await net.tcp(from: 2, to: 1, 22))
                #expect(try await net.tcp(from: 3, to: 1, 22))
                #expect(try await net.tcp(from: 2, to: 1, 8080), "the app group is authorized on 8080")
                #expect(try await !net.tcp(from: 3, to: 1, 8080), "another group is not")
                #expect(try await !net.tcp(from: 2, to: 1, 9000), "a port no rule names")
                #expect(try await net.udp(from: 2, to: 1, 5353))
                #expect(try await !net.udp(from: 3, to: 1, 5353), "UDP from an address the rule does not name")
                #expect(try await net.ping(from: 3, to: 1))
                #expect(try await !net.ping(from: 2, to: 1), "ICMP from an address the rule does not name")
                // Inbound is denied by default: nothing reaches the app instance, though web may send.
                try await net.listenTCP(2, 22)
                #expect(try await !net.tcp(from: 1, to: 2, 22))
            }
        }

        @Test func egressRulesLimitWhatAnInstanceSendsAndSpoofingIsDropped() async throws {
            try await Namespaces.with(instances: 2) { net in
                let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let open = net.group("sg-open", members: [2], ingress: [all])
                let narrow = net.group("sg-narrow", members: [1], ingress: [all], egress: [FirewallRule(ipProtocol: "tcp", fromPort: 443, toPort: 443, peer: .cidr("0.0.0.0/0"))])
                try await net.apply([open, narrow])
                for port in [443, 80] { try await net.listenTCP(2, port) }
                #expect(try await net.tcp(from: 1, to: 2, 443))
                #expect(try await !net.tcp(from: 1, to: 2, 80), "egress allows 443 only")
                // Instance 2 takes another address on its interface: what it sends from it is dropped.
                try await net.instanceShell(2, "ip addr add 172.31.0.99/20 dev eth0")
                try await net.listenTCP(1, 22)
                #expect(try await net.tcp(from: 2, to: 1, 22))
                let spoofed = try await net.shell(net.instance(2), "socat -T1 /dev/null TCP:172.31.0.11:22,connect-timeout=1,bind=172.31.0.99")
                #expect(!spoofed)
                // The host itself answers its instances' DHCP, DNS and ping on the gateway, and nothing
                // else: a service of the host's is out of reach, whatever the groups allow.
                _ = try ChildProcess.start("/usr/bin/env", ["ip", "netns", "exec", net.host, "socat", "TCP-LISTEN:2222,reuseaddr,fork", "SYSTEM:echo hello"])
                try await Task.sleep(for: .milliseconds(200))
                #expect(try await net.shell(net.instance(2), "ping -c1 -W1 172.31.0.1 >/dev/null"))
                #expect(try await !net.shell(net.instance(2), "socat -T1 - TCP:172.31.0.1:2222,connect-timeout=1 </dev/null | grep -q hello"))
                #expect(try await net.shell(net.host, "socat -T1 - TCP:127.0.0.1:2222,connect-timeout=1 </dev/null | grep -q hello"), "the service is up")
            }
        }

        @Test func aPortNoPlanNamesPassesNothing() async throws {
            try await Namespaces.with(instances: 2) { net in
                let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let open = net.group("sg-open", members: [1], ingress: [all])
                let ports = [InstancePort(instanceId: "i-1", device: "vn1", macAddress: net.mac(1), privateIp: net.address(1), groups: ["sg-open"])]
                try await net.applier.apply(HostPlan(gateway: "172.31.0.1", ports: ports, groups: [open.0]))
                // Instance 2's tap is up and routed, as between a tap's start and its first plan.
                try await net.shell(net.host, "ip addr add 172.31.0.1/32 dev vn2; ip route add \(net.address(2))/32 dev vn2; sysctl -qw net.ipv4.conf.vn2.proxy_arp=1", check: true)
                try await net.listenTCP(1, 22)
                #expect(try await !net.tcp(from: 2, to: 1, 22))
                try await net.apply([open, net.group("sg-b", members: [2])])
                #expect(try await net.tcp(from: 2, to: 1, 22), "named, it passes what its groups allow")
            }
        }

        @Test func revokingBlocksNewConnectionsAndKeepsEstablishedOnes() async throws {
            try await Namespaces.with(instances: 2) { net in
                let ssh = FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("0.0.0.0/0"))
                try await net.apply([net.group("sg-a", members: [1], ingress: [ssh]), net.group("sg-b", members: [2])])
                try await net.background(1, ["socat", "TCP-LISTEN:22,reuseaddr,fork", "EXEC:cat"])
                // A session that sends a line now and another after the revoke.
                let log = net.directory.appendingPathComponent("session")
                let session = try ChildProcess.start("/usr/bin/env", [
                    "ip", "netns", "exec", net.instance(2), "bash", "-c",
                    "exec 3<>/dev/tcp/172.31.0.11/22; echo one >&3; read -t 2 a <&3; sleep 1.5; echo two >&3; read -t 2 b <&3; echo \"$a $b\" > \(log.path)",
                ])
                try await Task.sleep(for: .milliseconds(500))
                try await net.apply([net.group("sg-a", members: [1]), net.group("sg-b", members: [2])])
                #expect(try await !net.tcp(from: 2, to: 1, 22), "a new connection after the revoke")
                _ = await session.wait()
                #expect((try? String(contentsOf: log, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "one two")
            }
        }

        @Test func anAddressGivenToAnotherInstanceInheritsNoTrackedFlow() async throws {
            try await Namespaces.with(instances: 3) { net in
                let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                // Instance 1 answers UDP, so instance 2's flow to it is tracked as established.
                try await net.apply([net.group("sg-open", members: [1], ingress: [all]), net.group("sg-b", members: [2]), net.group("sg-shut", members: [3])])
                try await net.listenUDP(1, 9)
                // The precondition, not what is tested: retried while a loaded host starts the listener.
                var answered = false
                for _ in 0..<10 where !answered {
                    answered = try await net.shell(net.instance(2), "echo x | socat -T1 - UDP:\(net.address(1)):9,sourceport=40000 | grep -q hello")
                }
                #expect(answered)
                // Instance 1 ends; its address goes to instance 3, whose group lets nothing in.
                let received = net.directory.appendingPathComponent("received")
                try await net.instanceShell(3, "ip addr flush dev eth0; ip addr add \(net.address(1))/20 dev eth0; ip route add default via 172.31.0.1")
                try await net.background(3, ["socat", "-u", "UDP-RECV:9", "OPEN:\(received.path),creat,append"])
                let shut = GroupPolicy(groupId: "sg-shut", accountId: "1", ingress: [], egress: [all], members: [:])
                let b = net.group("sg-b", members: [2]).0
                try await net.applier.apply(HostPlan(gateway: "172.31.0.1", ports: [
                    InstancePort(instanceId: "i-2", device: "vn2", macAddress: net.mac(2), privateIp: net.address(2), groups: ["sg-b"]),
                ], groups: [b, shut]))
                try await net.applier.apply(HostPlan(gateway: "172.31.0.1", ports: [
                    InstancePort(instanceId: "i-2", device: "vn2", macAddress: net.mac(2), privateIp: net.address(2), groups: ["sg-b"]),
                    InstancePort(instanceId: "i-3", device: "vn3", macAddress: net.mac(3), privateIp: net.address(1), groups: ["sg-shut"]),
                ], groups: [b, shut]))
                // The same flow from instance 2 (same ports both ends) finds nothing tracked.
                _ = try await net.shell(net.instance(2), "echo again | socat -u - UDP:\(net.address(1)):9,sourceport=40000")
                _ = try await net.shell(net.instance(2), "echo again | socat -u - UDP:\(net.address(1)):9,sourceport=40000")
                try await Task.sleep(for: .milliseconds(300))
                let got: String = (try? String(contentsOf: received, encoding: .utf8)) ?? ""
                #expect(got.isEmpty, "\(got)")
            }
        }

        @Test func changesAppliedByDifferenceLeaveTheTableAWholeLoadWould() async throws {
            try await Namespaces.with(instances: 3) { net in
                let ssh = FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("0.0.0.0/0"))
                let fromB = FirewallRule(ipProtocol: "tcp", fromPort: 80, toPort: 80, peer: .group(accountId: "1", groupId: "sg-b"))
                let steps: [[(GroupPolicy, [Int])]] = [
                    [net.group("sg-a", members: [1], ingress: [ssh, fromB]), net.group("sg-b", members: [2])],
                    [net.group("sg-a", members: [1, 3], ingress: [fromB]), net.group("sg-b", members: [2])],
                    [net.group("sg-a", members: [3], ingress: [ssh]), net.group("sg-b", members: [1, 2], ingress: [ssh])],
                ]
                for step in steps { try await net.apply(step) }
                let stepwise = try await net.table()
                #expect(stepwise.filter { $0.hasPrefix("{\"chain\"") }.count == 11, "three chains per port and the two hooks")
                try await net.applier.stop()
                try await net.apply(steps[2])
                #expect(try await net.table() == stepwise)
            }
        }

        @Test func theSamePlanTwiceChangesNothingAndStopLeavesTheHostAsItWas() async throws {
            try await Namespaces.with(instances: 2) { net in
                let before = try await net.hostState()
                let groups = [net.group("sg-a", members: [1], ingress: [FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("0.0.0.0/0"))]),
                              net.group("sg-b", members: [2])]
                try await net.apply(groups)
                let applied = try await net.hostState()
                #expect(applied != before)
                try await net.apply(groups)
                #expect(try await net.hostState() == applied)
                try await net.applier.stop()
                #expect(try await net.hostState() == before)
            }
        }
    }

    /// Namespaces for one test: `<name>-h` the host, `<name>-1`… the instances, with 172.31.0.(10+n)/20
    /// behind veth `vn<n>` and the gateway 172.31.0.1.
    final class Namespaces: Sendable {
        static let available: Bool = {
            getuid() == 0 && ["/usr/sbin/nft", "/usr/bin/socat", "/usr/sbin/ip", "/usr/bin/ping", "/usr/bin/bash", "/usr/sbin/conntrack"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
        }()

        let name: String
        let count: Int
        let directory: URL
        let applier: HostNetworkApplier

        let hostSideUp: Bool

        private init(count: Int, hostSideUp: Bool) {
            self.hostSideUp = hostSideUp
            name = "eucat\(UInt32.random(in: 0...0xFFFFFF))"
            self.count = count
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            applier = HostNetworkApplier(commands: HostCommands(prefix: ["ip", "netns", "exec", "\(name)-h"]))
        }

        /// `hostSideUp: false` leaves the host side of each veth as the hypervisor would hand a tap
        /// over: down, and with no address.
        static func with(instances: Int, hostSideUp: Bool = true, _ body: (Namespaces) async throws -> Void) async throws {
            let net = Namespaces(count: instances, hostSideUp: hostSideUp)
            try FileManager.default.createDirectory(at: net.directory, withIntermediateDirectories: true)
            do {
                try await net.setUp()
                try await body(net)
            } catch {
                await net.tearDown()
                throw error
            }
            await net.tearDown()
        }

        var host: String { "\(name)-h" }
        /// The site's network: a namespace joined to the host by `pub0` (198.51.100.1/24 on the host,
        /// 198.51.100.200/24 outside), made by ``makeOutside()``.
        var outside: String { "\(name)-p" }

        /// A second host, joined to the first by `ul0` (10.200.0.1/24 on the first, .2 on the
        /// second), standing for the site's network between nodes; made by ``makeSecondHost()``.
        var second: String { "\(name)-b" }

        func makeSecondHost() async throws {
            try await run(["ip", "netns", "add", second])
            try await run(["ip", "link", "add", "ul0", "netns", host, "type", "veth", "peer", "name", "ul0", "netns", second])
            try await shell(host, "ip addr add 10.200.0.1/24 dev ul0; ip link set ul0 up", check: true)
            try await shell(second, "ip link set lo up; ip addr add 10.200.0.2/24 dev ul0; ip link set ul0 up", check: true)
        }

        func makeOutside() async throws {
            try await run(["ip", "netns", "add", outside])
            try await run(["ip", "link", "add", "pub0", "netns", host, "type", "veth", "peer", "name", "eth0", "netns", outside])
            try await shell(host, "ip addr add 198.51.100.1/24 dev pub0; ip link set pub0 up", check: true)
            try await shell(outside, "ip link set lo up; ip addr add 198.51.100.200/24 dev eth0; ip link set eth0 up", check: true)
        }
        func instance(_ n: Int) -> String { "\(name)-\(n)" }
        func address(_ n: Int) -> String { "172.31.0.\(10 + n)" }
        func mac(_ n: Int) -> String { "d0:0d:00:00:00:0\(n)" }

        private func setUp() async throws {
            try await run(["ip", "netns", "add", host])
            try await shell(host, "ip link set lo up", check: true)
            _ = try await shell(host, "{ ip -j link; ip -j route; nft -j list ruleset; } > \(directory.appendingPathComponent("baseline").path)", check: true)
            for n in 1...count {
                try await run(["ip", "netns", "add", instance(n)])
                try await run(["ip", "link", "add", "vn\(n)", "netns", host, "type", "veth", "peer", "name", "eth0", "netns", instance(n)])
                if hostSideUp {
                    // The hypervisor brings an instance's tap up; the applier does the rest.
                    try await shell(host, "ip link set vn\(n) up", check: true)
                    try await instanceShell(n, "ip link set lo up; ip link set eth0 address \(mac(n)); ip addr add \(address(n))/20 dev eth0; ip link set eth0 up; ip route add default via 172.31.0.1")
                } else {
                    try await instanceShell(n, "ip link set lo up; ip link set eth0 address \(mac(n)); ip link set eth0 up")
                }
            }
        }

        private func tearDown() async {
            // VPC namespaces a failed test left behind, with their DHCP servers.
            for name in (try? await VPCHost.leftovers(prefix: "")) ?? [] where FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
                try? await VPCHost.remove(namespace: name, directory: directory.path, root: HostCommands(prefix: ["ip", "netns", "exec", host]))
            }
            for n in -2...count {
                // Processes a test left in a namespace end with it.
                let ns = n == 0 ? host : n == -1 ? outside : n == -2 ? second : instance(n)
                _ = try? await shell(ns, "for p in $(ip netns pids \(ns)); do kill -9 $p; done; true")
                _ = try? await run(["ip", "netns", "del", ns])
            }
            try? FileManager.default.removeItem(at: directory)
        }

        func group(_ id: String, members: [Int], ingress: [FirewallRule] = [], egress: [FirewallRule]? = nil) -> (GroupPolicy, [Int]) {
            let policy = GroupPolicy(
                groupId: id, accountId: "1", ingress: ingress,
                egress: egress ?? [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))],
                members: Dictionary(uniqueKeysWithValues: members.map { ("i-\($0)", InstanceAddresses(macAddress: mac($0), privateIp: address($0))) }))
            return (policy, members)
        }

        func apply(_ groups: [(GroupPolicy, [Int])]) async throws {
            let ports = (1...count).map { n in
                InstancePort(instanceId: "i-\(n)", device: "vn\(n)", macAddress: mac(n), privateIp: address(n),
                             groups: groups.filter { $0.1.contains(n) }.map(\.0.groupId))
            }
            try await applier.apply(HostPlan(gateway: "172.31.0.1", ports: ports, groups: groups.map(\.0)))
        }

        /// Starts `command` in instance `n`'s namespace and leaves it running (the namespace's end
        /// ends it).
        func background(_ n: Int, _ command: [String]) async throws {
            _ = try ChildProcess.start("/usr/bin/env", ["ip", "netns", "exec", instance(n)] + command)
            try await Task.sleep(for: .milliseconds(200))
        }

        func listenTCP(_ n: Int, _ port: Int) async throws {
            try await background(n, ["socat", "TCP-LISTEN:\(port),reuseaddr,fork", "SYSTEM:echo hello"])
        }

        func listenUDP(_ n: Int, _ port: Int) async throws {
            try await background(n, ["socat", "UDP-RECVFROM:\(port),fork", "SYSTEM:echo hello"])
        }

        /// Whether a TCP connection from instance `from` to `to`'s port gets the listener's greeting.
        func tcp(from: Int, to: Int, _ port: Int) async throws -> Bool {
            try await shell(instance(from), "socat -T1 - TCP:\(address(to)):\(port),connect-timeout=1 </dev/null | grep -q hello")
        }

        func udp(from: Int, to: Int, _ port: Int) async throws -> Bool {
            try await shell(instance(from), "echo x | socat -T1 - UDP:\(address(to)):\(port) | grep -q hello")
        }

        func ping(from: Int, to: Int) async throws -> Bool {
            try await shell(instance(from), "ping -c1 -W1 \(address(to)) >/dev/null")
        }

        /// Whether instance `n` gets a DHCP lease, and takes its address and route from it.
        func lease(_ n: Int) async throws -> Bool {
            let script = directory.appendingPathComponent("udhcpc.sh")
            if !FileManager.default.fileExists(atPath: script.path) {
                let text = "#!/bin/sh\n[ \"$1\" = bound ] || exit 0\nip addr add $ip/$mask dev $interface\nip route add default via $router\n"
                _ = FileManager.default.createFile(atPath: script.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o755])
            }
            return try await shell(instance(n), "busybox udhcpc -i eth0 -n -q -t 4 -T 1 -s \(script.path) >/dev/null 2>&1")
        }

        /// Instance `n`'s IPv4 addresses, `a.b.c.d/n`.
        func addresses(_ n: Int) async throws -> [String] {
            let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", ["ip", "netns", "exec", instance(n), "ip", "-4", "-o", "addr", "show", "dev", "eth0"], timeout: .seconds(5))
            return result.output.split(separator: "\n").compactMap { line in
                let words = line.split(separator: " ")
                return words.firstIndex(of: "inet").map { String(words[$0 + 1]) }
            }
        }

        /// The `euca` table as the kernel holds it, in a form that does not depend on the order its
        /// parts were added in: each object of `nft -j` without its handle, sorted.
        func table() async throws -> [String] {
            let result = try await ChildProcess.runKeepingOutput(
                "/usr/bin/env", ["ip", "netns", "exec", host, "nft", "-j", "list", "table", "inet", "euca"], timeout: .seconds(10))
            let document = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
            func canonical(_ value: Any) -> Any {
                if var object = value as? [String: Any] {
                    object["handle"] = nil
                    return object.mapValues(canonical)
                }
                if let array = value as? [Any] {
                    let items = array.map(canonical)
                    return items.map { String(decoding: (try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed])) ?? Data(), as: UTF8.self) }.sorted()
                }
                return value
            }
            let objects = (document?["nftables"] as? [Any] ?? []).map(canonical)
            return objects.map { String(decoding: (try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])) ?? Data(), as: UTF8.self) }
                .filter { !$0.contains("metainfo") }.sorted()
        }

        /// ``hostState()`` before the instances' veths were made.
        func baseline() throws -> String { try String(contentsOf: directory.appendingPathComponent("baseline"), encoding: .utf8) }

        /// `ip -j` links and routes and the nft ruleset of the host namespace.
        func hostState() async throws -> String {
            let file = directory.appendingPathComponent("state")
            _ = try await shell(host, "{ ip -j link; ip -j route; nft -j list ruleset; } > \(file.path)", check: true)
            return try String(contentsOf: file, encoding: .utf8)
        }

        func instanceShell(_ n: Int, _ script: String) async throws {
            try await shell(instance(n), script, check: true)
        }

        @discardableResult
        func shell(_ namespace: String, _ script: String, check: Bool = false) async throws -> Bool {
            let result = try await ChildProcess.run("/usr/bin/env", ["ip", "netns", "exec", namespace, "sh", "-c", script], timeout: .seconds(10))
            if check && result.status != 0 { throw EucaError(.internalFailure, nil, "\(script): \(result.errors)") }
            return result.status == 0
        }

        private func run(_ arguments: [String]) async throws {
            let result = try await ChildProcess.run("/usr/bin/env", arguments, timeout: .seconds(10))
            if result.status != 0 { throw EucaError(.internalFailure, nil, "\(arguments.joined(separator: " ")): \(result.errors)") }
        }
    }

    /// A VPC's namespace on a node, with DHCP: in a "node" namespace this suite makes, veth pairs
    /// stand for the instances' taps, and busybox's udhcpc for the guests' DHCP clients.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq")
        && FileManager.default.isExecutableFile(atPath: "/bin/busybox"), "needs root, ip netns, nft, socat, dnsmasq and busybox (Debian: dnsmasq-base, busybox-static)"))
    struct VPCHostNamespaceTests {
        @Test func vpcsWithTheSameBlockNeverMeetAndEachLeasesItsOwnAddresses() async throws {
            try await Namespaces.with(instances: 3, hostSideUp: false) { net in
                let node = HostCommands(prefix: ["ip", "netns", "exec", net.host])
                let base = Int.random(in: 9_000_000...9_900_000)
                let one = VPCHost(vpc: try VPCSpec(vni: base, cidr: "172.31.0.0/16"), directory: net.directory.path, root: node)
                let two = VPCHost(vpc: try VPCSpec(vni: base + 1, cidr: "172.31.0.0/16"), directory: net.directory.path, root: node)
                try await one.start()
                try await two.start()
                let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let open = GroupPolicy(groupId: "sg-open", accountId: "1", ingress: [all], egress: [all], members: [:])
                try await one.attach(device: "vn1")
                try await one.attach(device: "vn2")
                try await two.attach(device: "vn3")
                // Instance 3, in the other VPC, is given the address instance 2 has in the first.
                func port(_ n: Int, _ address: String) -> InstancePort {
                    InstancePort(instanceId: "i-\(n)", device: "vn\(n)", macAddress: net.mac(n), privateIp: address, groups: ["sg-open"])
                }
                try await one.apply(ports: [port(1, "172.31.0.11"), port(2, "172.31.0.12")], groups: [open])
                try await two.apply(ports: [port(3, "172.31.0.12")], groups: [open])
                for n in 1...3 { #expect(try await net.lease(n)) }
                #expect(try await net.addresses(1) == ["172.31.0.11/16"])
                #expect(try await net.addresses(2) == ["172.31.0.12/16"])
                #expect(try await net.addresses(3) == ["172.31.0.12/16"])
                try await net.background(2, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo two"])
                try await net.background(3, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo three"])
                #expect(try await net.shell(net.instance(1), "socat -T1 - TCP:172.31.0.12:7,connect-timeout=1 </dev/null | grep -qx two"))
                #expect(try await !net.shell(net.instance(3), "ping -c1 -W1 172.31.0.11 >/dev/null"), "the other VPC has no .11")
                #expect(try await net.shell(net.instance(1), "ping -c1 -W1 172.31.0.1 >/dev/null"), "the gateway answers")

                // Stopped, each VPC takes its namespace, its DHCP server and its taps with it: the node
                // is as it was before the taps were made.
                try await one.stop()
                try await two.stop()
                #expect(try await VPCHost.leftovers().filter { ["euca-v\(base)", "euca-v\(base + 1)"].contains($0) }.isEmpty)
                #expect(try await net.hostState() == net.baseline())
            }
        }

        @Test func whatAKilledHostLeftIsFoundAndRemoved() async throws {
            try await Namespaces.with(instances: 1, hostSideUp: false) { net in
                let node = HostCommands(prefix: ["ip", "netns", "exec", net.host])
                let vni = Int.random(in: 9_000_000...9_900_000)
                let vpc = VPCHost(vpc: try VPCSpec(vni: vni, cidr: "10.5.0.0/24"), directory: net.directory.path, root: node)
                try await vpc.start()
                let pidFile = net.directory.appendingPathComponent("euca-v\(vni)/dnsmasq.pid")
                let pid = try #require(Int32((try? String(contentsOf: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
                // As after a kill -9: nothing is stopped, a new run finds the namespace by its name.
                #expect(try await VPCHost.leftovers().contains("euca-v\(vni)"))
                try await VPCHost.remove(namespace: "euca-v\(vni)", directory: net.directory.path, root: node)
                #expect(try await !VPCHost.leftovers().contains("euca-v\(vni)"))
                try await Task.sleep(for: .milliseconds(100))
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                #expect(!stat.contains("(dnsmasq)") || stat.contains(") Z "), "dnsmasq \(pid) is gone (a zombie at most)")
            }
        }
    }

    /// Elastic IPs: 1:1 NAT between a VPC's namespace and the site's network, in namespaces this suite
    /// makes: a node, its VPC's namespace, the instances, and "outside", the site's network.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq"),
        "needs root, ip netns, nft, socat and dnsmasq (Debian: iproute2, nftables, socat, dnsmasq-base)"))
    struct ElasticIPNamespaceTests {
        @Test func anElasticIPReachesItsInstanceAndMovesWithItsAssociation() async throws {
            try await Namespaces.with(instances: 3, hostSideUp: false) { net in
                try await net.makeOutside()
                let node = HostCommands(prefix: ["ip", "netns", "exec", net.host])
                let vpc = VPCHost(vpc: try VPCSpec(vni: Int.random(in: 9_000_000...9_900_000), cidr: "172.31.0.0/16"), directory: net.directory.path, root: node)
                try await vpc.start()
                let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let ssh = FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("0.0.0.0/0"))
                let group = GroupPolicy(groupId: "sg-web", accountId: "1", ingress: [ssh], egress: [all], members: [:])
                var ports: [InstancePort] = []
                for n in 1...3 {
                    try await vpc.attach(device: "vn\(n)")
                    ports.append(InstancePort(instanceId: "i-\(n)", device: "vn\(n)", macAddress: net.mac(n), privateIp: net.address(n), groups: ["sg-web"]))
                }
                try await vpc.apply(ports: ports, groups: [group])
                for n in 1...3 {
                    try await net.instanceShell(n, "ip addr add \(net.address(n))/16 dev eth0; ip route add default via 172.31.0.1")
                    try await net.background(n, ["socat", "TCP-LISTEN:22,reuseaddr,fork", "SYSTEM:echo instance-\(n)"])
                }
                // Outside, a server that says who called.
                _ = try ChildProcess.start("/usr/bin/env", ["ip", "netns", "exec", net.outside, "socat", "TCP-LISTEN:80,reuseaddr,fork", "SYSTEM:echo $SOCAT_PEERADDR"])
                try await vpc.connect(publicDevice: "pub0")
                try await vpc.publish(["198.51.100.10": net.address(1)])
                func reach(_ address: String) async throws -> String {
                    let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
                        // The site's first ARP for an address may wait for the kernel's proxy delay (up to 0.8 s).
                        "ip", "netns", "exec", net.outside, "socat", "-T1", "-", "TCP:\(address):22,connect-timeout=2",
                    ], timeout: .seconds(5))
                    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                #expect(try await reach("198.51.100.10") == "instance-1")
                // Its instance goes out as the elastic IP; one without an address does not go out.
                let seen = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
                    "ip", "netns", "exec", net.instance(1), "socat", "-T1", "-", "TCP:198.51.100.200:80,connect-timeout=1",
                ], timeout: .seconds(5))
                #expect(seen.output.trimmingCharacters(in: .whitespacesAndNewlines) == "198.51.100.10")
                // The way out is one fixed neighbour: what instances reach outside adds no entry (the
                // host's own address may be there, learnt from its ARP requests for the public one).
                let neighbours = try await ChildProcess.runKeepingOutput(
                    "/usr/bin/env", ["ip", "netns", "exec", vpc.namespace, "ip", "neigh", "show", "dev", "up0"], timeout: .seconds(5))
                let entries: [String] = neighbours.output.split(separator: "\n").map { line in String(line.split(separator: " ").first ?? "") }
                #expect(entries.contains("169.254.0.1") && !entries.contains("198.51.100.200"), "\(entries)")
                #expect(try await !net.shell(net.instance(2), "socat -T1 - TCP:198.51.100.200:80,connect-timeout=1 </dev/null | grep -q ."))
                // Nothing of the node itself is reachable from its instances through the uplink.
                _ = try ChildProcess.start("/usr/bin/env", ["ip", "netns", "exec", net.host, "socat", "TCP-LISTEN:2222,reuseaddr,fork", "SYSTEM:echo node"])
                try await Task.sleep(for: .milliseconds(200))
                #expect(try await !net.shell(net.instance(1), "socat -T1 - TCP:198.51.100.1:2222,connect-timeout=1 </dev/null | grep -q node"))
                #expect(try await net.shell(net.outside, "socat -T1 - TCP:198.51.100.1:2222,connect-timeout=1 </dev/null | grep -q node"), "the node's service is up")

                // Moved to instance 2, the address reaches it; released, it reaches nobody.
                try await vpc.publish(["198.51.100.10": net.address(2)])
                #expect(try await reach("198.51.100.10") == "instance-2")
                try await vpc.publish([:])
                #expect(try await reach("198.51.100.10") == "")
                try await vpc.publish(["198.51.100.11": net.address(3)])
                #expect(try await reach("198.51.100.11") == "instance-3")

                // Ended as a run after a kill -9 ends it, from the files alone, the VPC leaves nothing
                // on the node: no route, proxy ARP entry or table of its own.
                try await VPCHost.remove(namespace: vpc.namespace, directory: net.directory.path, root: node)
                let left = try await net.hostState()
                #expect(!left.contains("198.51.100.11") && !left.contains("euca_up"))
                let proxies = try await ChildProcess.runKeepingOutput("/usr/bin/env", ["ip", "netns", "exec", net.host, "ip", "neigh", "show", "proxy"], timeout: .seconds(5))
                #expect(proxies.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            }
        }
    }

    /// One VPC on two hosts, over VXLAN: in namespaces this suite makes, two nodes joined by a veth
    /// pair standing for the site's network, each with the namespaces of two VPCs.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq")
        && FileManager.default.isExecutableFile(atPath: "/usr/sbin/bridge"), "needs root, ip netns, nft, socat, dnsmasq and bridge (Debian: iproute2, nftables, socat, dnsmasq-base)"))
    struct OverlayNamespaceTests {
        @Test func aVPCsInstancesOnTwoHostsReachEachOtherAndTwoVPCsNeverDo() async throws {
            try await Namespaces.with(instances: 4, hostSideUp: false) { net in
                try await net.makeSecondHost()
                // Instances 1 and 2 on the first host, 3 and 4 moved to the second.
                for n in [3, 4] { try await net.shell(net.host, "ip link set vn\(n) netns \(net.second)", check: true) }
                let hosts = [HostCommands(prefix: ["ip", "netns", "exec", net.host]), HostCommands(prefix: ["ip", "netns", "exec", net.second])]
                let underlay = ["10.200.0.1", "10.200.0.2"]
                let vni = Int.random(in: 9_000_000...9_900_000)
                let all = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let open = GroupPolicy(groupId: "sg-open", accountId: "1", ingress: [all], egress: [all], members: [:])
                // VPC one: instance 1 (.11) on the first host, 3 (.21) on the second. VPC two: instance
                // 2 (.11 too) on the first, 4 (.22) on the second.
                let layout: [(vpc: Int, host: Int, instance: Int, address: String)] = [
                    (0, 0, 1, "172.31.0.11"), (0, 1, 3, "172.31.0.21"), (1, 0, 2, "172.31.0.11"), (1, 1, 4, "172.31.0.22"),
                ]
                var vpcs: [[VPCHost]] = []
                for v in 0..<2 {
                    var row: [VPCHost] = []
                    for h in 0..<2 {
                        let host = VPCHost(vpc: try VPCSpec(vni: vni + v, cidr: "172.31.0.0/16"), directory: net.directory.path, root: hosts[h], prefix: "eucat\(h)-v")
                        try await host.start()
                        try await host.join(underlay: underlay[h])
                        row.append(host)
                    }
                    vpcs.append(row)
                }
                for (v, h, n, address) in layout {
                    try await vpcs[v][h].attach(device: "vn\(n)")
                    let port = InstancePort(instanceId: "i-\(n)", device: "vn\(n)", macAddress: net.mac(n), privateIp: address, groups: ["sg-open"])
                    try await vpcs[v][h].apply(ports: [port], groups: [open])
                    // Each host learns where the VPC's instances on the other host are.
                    let remote = layout.filter { $0.vpc == v && $0.host != h }
                    try await vpcs[v][h].reach(Dictionary(uniqueKeysWithValues: remote.map { ($0.address, underlay[$0.host]) }))
                    try await net.instanceShell(n, "ip addr add \(address)/16 dev eth0; ip route add default via 172.31.0.1")
                    try await net.background(n, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo instance-\(n)"])
                }
                func ask(_ from: Int, _ address: String) async throws -> String {
                    let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
                        "ip", "netns", "exec", net.instance(from), "socat", "-T1", "-", "TCP:\(address):7,connect-timeout=2",
                    ], timeout: .seconds(5))
                    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                #expect(try await ask(1, "172.31.0.21") == "instance-3")
                #expect(try await ask(3, "172.31.0.11") == "instance-1", "the first VPC's .11")
                #expect(try await ask(4, "172.31.0.11") == "instance-2", "the second VPC's .11")
                #expect(try await ask(1, "172.31.0.22") == "", "the other VPC's instance is not reachable")
                #expect(try await ask(2, "172.31.0.21") == "")
                // A VXLAN packet for the VPC from an address that is not a peer host is dropped: a rogue
                // on the site's network, with the VNI and the second host's MAC, posing as the first
                // host's instance (172.31.0.11), gets nothing to the second host's instance, which
                // allows everything in and writes down what it receives.
                let received = net.directory.appendingPathComponent("received")
                try await net.background(3, ["socat", "-u", "UDP-RECV:9", "OPEN:\(received.path),creat,append"])
                let rogue = "\(net.name)-r"
                try await HostCommands().run(["ip", "netns", "add", rogue])
                defer { _ = try? ChildProcess.start("/usr/bin/env", ["ip", "netns", "del", rogue]) }
                try await HostCommands().run(["ip", "link", "add", "ur0", "netns", net.second, "type", "veth", "peer", "name", "ur0", "netns", rogue])
                try await net.shell(net.second, "ip addr add 10.201.0.2/24 dev ur0; ip link set ur0 up", check: true)
                let mac = try #require(VPCHost.overlayMAC(underlay: "10.200.0.2"))
                try await net.shell(rogue, """
                    ip link set lo up; ip addr add 10.201.0.3/24 dev ur0; ip link set ur0 up
                    ip link add vxr type vxlan id \(vni) local 10.201.0.3 dstport 4789 nolearning; ip link set vxr up
                    ip addr add 172.31.0.11/16 dev vxr; ip neigh add 172.31.0.21 lladdr \(mac) dev vxr nud permanent
                    bridge fdb append \(mac) dev vxr dst 10.201.0.2
                    """, check: true)
                for _ in 0..<5 { try await net.shell(rogue, "echo forged | socat -u - UDP:172.31.0.21:9,sourceport=5000") }
                // The same from the first host, which is a peer, arrives (the listener works).
                try await net.shell(net.instance(1), "echo genuine | socat -u - UDP:172.31.0.21:9", check: true)
                try await Task.sleep(for: .milliseconds(300))
                let got = (try? String(contentsOf: received, encoding: .utf8)) ?? ""
                #expect(got.contains("genuine") && !got.contains("forged"), "\(got)")
                // A host told an instance is gone no longer routes to it.
                try await vpcs[0][0].reach([:])
                #expect(try await ask(1, "172.31.0.21") == "")
                for row in vpcs { for host in row { try await host.stop() } }
            }
        }
    }

    /// A node's VPC network as the node controller drives it: taps handed over as instances start
    /// (three at once into a VPC not made yet), the cloud's policy, a restart that takes over what
    /// runs, and instances that go.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq"),
        "needs root, ip netns, nft, socat, conntrack and dnsmasq (Debian: iproute2, nftables, socat, conntrack, dnsmasq-base)"))
    struct VPCNodeNetworkNamespaceTests {
        @Test func launchesAtOnceShareOneNamespaceARestartTakesItOverAndTheLastInstanceTakesItAway() async throws {
            try await Namespaces.with(instances: 3, hostSideUp: false) { net in
                let node = HostCommands(prefix: ["ip", "netns", "exec", net.host])
                let prefix = "\(net.name)v"
                let settings = VPCNodeNetwork.Settings(directory: net.directory.path, publicDevice: nil, metadata: nil, namespacePrefix: prefix)
                // Instance i-<n>'s tap is vn<n>, as the harness named the veths.
                let ids = (1...3).map { InstanceID(rawValue: "i-\($0)") }
                #expect(ids.map(VPCNodeNetwork.device(for:)) == ["vn1", "vn2", "vn3"])
                func place(_ n: Int, _ group: String) -> InstanceNetwork {
                    InstanceNetwork(vni: 7, vpcBlock: "172.31.0.0/16", privateIp: net.address(n), groups: [group])
                }
                let places = [place(1, "sg-a"), place(2, "sg-a"), place(3, "sg-b")]
                let everywhere = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let fromA = FirewallRule(ipProtocol: "icmp", fromPort: -1, toPort: -1, peer: .group(accountId: "1", groupId: "sg-a"))
                func member(_ n: Int) -> InstanceAddresses { InstanceAddresses(macAddress: net.mac(n), privateIp: net.address(n)) }
                let policy = NetworkPolicy(groups: [
                    GroupPolicy(groupId: "sg-a", accountId: "1", ingress: [fromA], egress: [everywhere], members: ["i-1": member(1), "i-2": member(2)]),
                    GroupPolicy(groupId: "sg-b", accountId: "1", ingress: [], egress: [everywhere], members: ["i-3": member(3)]),
                ])

                let network = VPCNodeNetwork(settings: settings, root: node)
                try await network.configure(policy)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (n, id) in ids.enumerated() {
                        group.addTask { try await network.attach(instance: id, macAddress: net.mac(n + 1), network: places[n]) }
                    }
                    try await group.waitForAll()
                }
                #expect(try await VPCHost.leftovers(prefix: prefix) == ["\(prefix)7"])
                for n in 1...3 { #expect(try await net.lease(n), "instance \(n) leases its address") }
                #expect(try await net.ping(from: 1, to: 2), "sg-a lets its own members in")
                #expect(try await !net.ping(from: 3, to: 1), "sg-b's member is not let in by sg-a")
                #expect(try await !net.ping(from: 1, to: 3), "sg-b lets nothing in")
                var aliases: [String] = []
                for id in ids { aliases.append(try #require(await network.alias(of: id))) }
                #expect(Set(aliases).count == 3)

                // A node that starts again over instances that kept running takes their VPC over as it
                // is: their taps, their leases, their filters, and each instance its metadata alias. A
                // VPC it cannot take over (here one whose instance's tap is gone) does not stop it.
                let again = VPCNodeNetwork(settings: settings, root: node)
                try await again.configure(policy)
                var running = Dictionary(uniqueKeysWithValues: ids.enumerated().map { n, id in (id, (macAddress: net.mac(n + 1), network: places[n])) })
                let lost = InstanceID(rawValue: "i-9")
                running[lost] = ("d0:0d:00:00:00:09", InstanceNetwork(vni: 9, vpcBlock: "172.31.0.0/16", privateIp: "172.31.0.99", groups: ["sg-a"]))
                await #expect(throws: EucaError.self) { try await again.recover(running: running) }
                for (id, alias) in zip(ids, aliases) {
                    #expect(await again.alias(of: id) == alias, "\(id) keeps its alias")
                    #expect(await again.instance(atAlias: alias) == id)
                }
                #expect(try await net.ping(from: 1, to: 2))
                #expect(try await !net.ping(from: 3, to: 1))
                // The VPC that could not be taken over goes with its instance.
                try await again.release(instance: lost)
                #expect(try await VPCHost.leftovers(prefix: prefix) == ["\(prefix)7"])
                // The policy changes: sg-b now lets sg-a's ICMP in.
                var opened = policy
                opened.groups[1].ingress = [fromA]
                try await again.configure(opened)
                #expect(try await net.ping(from: 1, to: 3))

                // The namespace stays while an instance is in it, and goes with the last.
                try await again.release(instance: ids[0])
                try await again.release(instance: ids[1])
                #expect(try await VPCHost.leftovers(prefix: prefix) == ["\(prefix)7"])
                try await again.release(instance: ids[2])
                #expect(try await VPCHost.leftovers(prefix: prefix).isEmpty)
                #expect(try await net.hostState() == net.baseline())
            }
        }

        /// Every account's default VPC has the same block, so two instances of one node may have the
        /// same private address: the metadata service must still tell them apart, and neither may
        /// pass for the other.
        @Test func oneAddressInTwoVPCsIsTwoInstancesToTheMetadataServiceAndNeitherPassesForTheOther() async throws {
            try await Namespaces.with(instances: 2, hostSideUp: false) { net in
                let node = HostCommands(prefix: ["ip", "netns", "exec", net.host])
                let endpoint = MetadataEndpoint()
                #expect(try await VPCNodeNetwork.provideMetadataAddress(endpoint, isLocal: false, root: node))
                let network = VPCNodeNetwork(
                    settings: VPCNodeNetwork.Settings(directory: net.directory.path, metadata: endpoint, namespacePrefix: "\(net.name)v"), root: node)
                let everywhere = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let same = "172.31.0.4"
                try await network.configure(NetworkPolicy(groups: [GroupPolicy(
                    groupId: "sg-a", accountId: "1", ingress: [], egress: [everywhere],
                    members: ["i-1": InstanceAddresses(macAddress: net.mac(1), privateIp: same), "i-2": InstanceAddresses(macAddress: net.mac(2), privateIp: same)])]))
                for n in 1...2 {
                    try await network.attach(
                        instance: InstanceID(rawValue: "i-\(n)"), macAddress: net.mac(n),
                        network: InstanceNetwork(vni: 6 + n, vpcBlock: "172.31.0.0/16", privateIp: same, groups: ["sg-a"]))
                    #expect(try await net.lease(n))
                }
                // The host's service, standing in for the node's: it answers with the caller's address.
                _ = try ChildProcess.start("/usr/bin/env", ["ip", "netns", "exec", net.host, "socat",
                                                            "TCP-LISTEN:80,bind=169.254.169.254,reuseaddr,fork", "SYSTEM:echo $SOCAT_PEERADDR"])
                try await Task.sleep(for: .milliseconds(200))
                func ask(_ n: Int, _ options: String = "") async throws -> String {
                    let result = try await ChildProcess.runKeepingOutput(
                        "/usr/bin/env", ["ip", "netns", "exec", net.instance(n), "socat", "-T2", "-", "TCP:169.254.169.254:80,connect-timeout=2\(options)"],
                        timeout: .seconds(10))
                    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                let one = try await ask(1), two = try await ask(2)
                #expect(!one.isEmpty && !two.isEmpty && one != two, "each instance asks from an alias of its own: \(one), \(two)")
                #expect(await network.instance(atAlias: one) == InstanceID(rawValue: "i-1"))
                #expect(await network.instance(atAlias: two) == InstanceID(rawValue: "i-2"))
                // Instance 1 sends from instance 2's alias: dropped at its port, never answered.
                try await net.instanceShell(1, "ip addr add \(two)/32 dev eth0")
                #expect(try await ask(1, ",bind=\(two)").isEmpty)
                for n in 1...2 { try await network.release(instance: InstanceID(rawValue: "i-\(n)")) }
                await VPCNodeNetwork.removeMetadataAddress(root: node)
                #expect(try await net.hostState() == net.baseline())
            }
        }
    }

    /// Elastic IPs as a node's VPC network carries them from the cloud's policy.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq"),
        "needs root, ip netns, nft, socat, conntrack and dnsmasq (Debian: iproute2, nftables, socat, conntrack, dnsmasq-base)"))
    struct VPCNodeNetworkElasticIPTests {
        /// An address released by one account and given to another moves between two VPCs of one
        /// node in one policy: whichever VPC is applied first, the address is answered for and
        /// reaches its new instance.
        @Test func anAddressMovingBetweenTwoVPCsOfOneNodeStaysAnsweredFor() async throws {
            try await Namespaces.with(instances: 2, hostSideUp: false) { net in
                try await net.makeOutside()
                let node = HostCommands(prefix: ["ip", "netns", "exec", net.host])
                let network = VPCNodeNetwork(
                    settings: VPCNodeNetwork.Settings(directory: net.directory.path, publicDevice: "pub0", metadata: nil, namespacePrefix: "\(net.name)v"),
                    root: node)
                let everywhere = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                func policy(_ holder: Int, generation: UInt64) -> NetworkPolicy {
                    NetworkPolicy(groups: [GroupPolicy(
                        groupId: "sg-open", accountId: "1", ingress: [everywhere], egress: [everywhere],
                        members: Dictionary(uniqueKeysWithValues: (1...2).map { n in
                            ("i-\(n)", InstanceAddresses(macAddress: net.mac(n), privateIp: "172.31.0.4", publicIp: n == holder ? "198.51.100.10" : nil))
                        }))], generation: generation)
                }
                // Instance 1 in VNI 8, instance 2 in VNI 3: VNI 3 is applied first.
                try await network.configure(policy(1, generation: 1))
                for (n, vni) in [(1, 8), (2, 3)] {
                    try await network.attach(
                        instance: InstanceID(rawValue: "i-\(n)"), macAddress: net.mac(n),
                        network: InstanceNetwork(vni: vni, vpcBlock: "172.31.0.0/16", privateIp: "172.31.0.4", groups: ["sg-open"]))
                    #expect(try await net.lease(n))
                }
                try await net.background(1, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo one"])
                try await net.background(2, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo two"])
                func reach() async throws -> String {
                    let result = try await ChildProcess.runKeepingOutput(
                        "/usr/bin/env", ["ip", "netns", "exec", net.outside, "socat", "-T2", "-", "TCP:198.51.100.10:7,connect-timeout=2"], timeout: .seconds(10))
                    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                #expect(try await reach() == "one")
                try await network.configure(policy(2, generation: 2))
                #expect(try await net.shell(net.host, "ip neigh show proxy dev pub0 | grep -q '^198.51.100.10 '"), "still answered for")
                #expect(try await reach() == "two")
                // A policy older than the one in force is ignored: the address stays with instance 2.
                try await network.configure(policy(1, generation: 1))
                #expect(try await reach() == "two")
                for n in 1...2 { try await network.release(instance: InstanceID(rawValue: "i-\(n)")) }
            }
        }
    }

    /// One VPC across two nodes, as their VPC networks make it from the cloud's policy: each node
    /// learns from the policy where the VPC's instances on the other are.
    @Suite(.serialized, .enabled(if: Namespaces.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq"),
        "needs root, ip netns, nft, socat, conntrack and dnsmasq (Debian: iproute2, nftables, socat, conntrack, dnsmasq-base)"))
    struct VPCNodeNetworkOverlayTests {
        @Test func aVPCsInstancesOnTwoNodesReachEachOtherAsThePolicySaysWhereTheyAre() async throws {
            try await Namespaces.with(instances: 2, hostSideUp: false) { net in
                try await net.makeSecondHost()
                try await net.shell(net.host, "ip link set vn2 netns \(net.second)", check: true)
                let underlays = ["10.200.0.1", "10.200.0.2"]
                let networks = [net.host, net.second].enumerated().map { index, namespace in
                    VPCNodeNetwork(
                        settings: VPCNodeNetwork.Settings(
                            directory: net.directory.appendingPathComponent("n\(index)").path, metadata: nil,
                            namespacePrefix: "\(net.name)n\(index)v", underlay: underlays[index]),
                        root: HostCommands(prefix: ["ip", "netns", "exec", namespace]))
                }
                let everywhere = FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))
                let vni = Int.random(in: 9_000_000...9_900_000)
                let addresses = ["172.31.0.11", "172.31.0.21"]
                func policy(_ placed: [Int], generation: UInt64) -> NetworkPolicy {
                    NetworkPolicy(groups: [GroupPolicy(
                        groupId: "sg-open", accountId: "1", ingress: [everywhere], egress: [everywhere],
                        members: Dictionary(uniqueKeysWithValues: placed.map { n in
                            ("i-\(n + 1)", InstanceAddresses(macAddress: net.mac(n + 1), privateIp: addresses[n], vni: vni, host: underlays[n]))
                        }))], generation: generation)
                }
                for (n, network) in networks.enumerated() {
                    try await network.configure(policy([0, 1], generation: 1))
                    try await network.attach(
                        instance: InstanceID(rawValue: "i-\(n + 1)"), macAddress: net.mac(n + 1),
                        network: InstanceNetwork(vni: vni, vpcBlock: "172.31.0.0/16", privateIp: addresses[n], groups: ["sg-open"]))
                    #expect(try await net.lease(n + 1))
                    try await net.background(n + 1, ["socat", "TCP-LISTEN:7,reuseaddr,fork", "SYSTEM:echo instance-\(n + 1)"])
                }
                func ask(_ from: Int, _ address: String) async throws -> String {
                    let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", [
                        "ip", "netns", "exec", net.instance(from), "socat", "-T1", "-", "TCP:\(address):7,connect-timeout=2",
                    ], timeout: .seconds(5))
                    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                #expect(try await ask(1, addresses[1]) == "instance-2")
                #expect(try await ask(2, addresses[0]) == "instance-1")
                // The second instance leaves the policy (terminated): the first node forgets the way to it.
                try await networks[0].configure(policy([0], generation: 2))
                #expect(try await ask(1, addresses[1]) == "")
                for (n, network) in networks.enumerated() { try await network.release(instance: InstanceID(rawValue: "i-\(n + 1)")) }
                #expect(try await VPCHost.leftovers(prefix: "\(net.name)n0v").isEmpty)
                #expect(try await VPCHost.leftovers(prefix: "\(net.name)n1v").isEmpty)
            }
        }
    }
}
