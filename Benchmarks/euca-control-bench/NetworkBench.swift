import ArgumentParser
import EucaCore
import EucaNet
import Foundation

extension ControlBench {
    /// A host's network plan applied by the kernel: in a network namespace of its own, with one
    /// veth pair per instance standing for its tap (made beforehand, not timed), the plan for
    /// `--instances` instances in `--groups` groups applied from nothing, then one instance added,
    /// then rule changes (each group's rule revoked or authorized in turn) until each is enforced.
    struct Network: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Plan and apply security groups and routed ports on one host (root).")

        @Option var instances = 1000
        @Option var groups = 100
        @Option var changes = 100

        func run() async throws {
            let namespace = "eucabench\(UInt32.random(in: 0...0xFFFFFF))"
            let shell = HostCommands(prefix: ["ip", "netns", "exec", namespace], timeout: .seconds(120))
            try await HostCommands().run(["ip", "netns", "add", namespace])
            defer { _ = try? ChildProcess.start("/usr/bin/env", ["ip", "netns", "del", namespace]) }
            let setup = FileManager.default.temporaryDirectory.appendingPathComponent("\(namespace).ip")
            let lines = (0...instances).map { "link add vn\($0) type veth peer name pe\($0)\nlink set vn\($0) up\n" }.joined()
            _ = FileManager.default.createFile(atPath: setup.path, contents: Data(lines.utf8))
            defer { try? FileManager.default.removeItem(at: setup) }
            try await shell.run(["ip", "-batch", setup.path])

            func port(_ n: Int) -> InstancePort {
                InstancePort(instanceId: "i-\(n)", device: "vn\(n)", macAddress: String(format: "d0:0d:00:00:%02x:%02x", n >> 8 & 255, n & 255),
                             privateIp: "10.2.\(n >> 8 & 255).\(n & 255)", groups: ["sg-\(n % groups)"])
            }
            // Each group lets in ssh from the world, 8080 from the next group, and ICMP.
            func policies(_ count: Int, ruleOff: Int? = nil) -> [GroupPolicy] {
                (0..<groups).map { g in
                    var ingress = [
                        FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .cidr("0.0.0.0/0")),
                        FirewallRule(ipProtocol: "tcp", fromPort: 8080, toPort: 8080, peer: .group(accountId: "1", groupId: "sg-\((g + 1) % groups)")),
                        FirewallRule(ipProtocol: "icmp", fromPort: -1, toPort: -1, peer: .cidr("10.0.0.0/8")),
                    ]
                    if ruleOff == g { ingress.removeFirst() }
                    let members = stride(from: g, to: count, by: groups).map { n in
                        ("i-\(n)", InstanceAddresses(macAddress: port(n).macAddress, privateIp: port(n).privateIp))
                    }
                    return GroupPolicy(groupId: "sg-\(g)", accountId: "1", ingress: ingress,
                                       egress: [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))],
                                       members: Dictionary(uniqueKeysWithValues: members))
                }
            }
            let applier = HostNetworkApplier(commands: shell)
            let clock = ContinuousClock()
            var plan = HostPlan(gateway: "10.1.0.1", ports: (0..<instances).map(port), groups: policies(instances))
            let render = clock.measure { _ = plan.nftablesRuleset() }
            let fromNothing = try await clock.measure { try await applier.apply(plan) }
            plan = HostPlan(gateway: "10.1.0.1", ports: (0...instances).map(port), groups: policies(instances + 1))
            let addOne = try await clock.measure { try await applier.apply(plan) }
            var changeTimes: [UInt64] = []
            for change in 0..<changes {
                let changed = HostPlan(gateway: "10.1.0.1", ports: plan.ports, groups: policies(instances + 1, ruleOff: change % 2 == 0 ? change % groups : nil))
                let took = try await clock.measure { try await applier.apply(changed) }
                changeTimes.append(UInt64(took.components.seconds) * 1_000_000_000 + UInt64(took.components.attoseconds / 1_000_000_000))
            }
            changeTimes.sort()
            // The floors under a change: rendering and comparing the table, and one nft transaction
            // that changes nothing, through `ip netns exec`, on the table as it now is.
            var memo = NftablesMemo()
            let before = plan.nftablesState(memo: &memo)
            let changed = HostPlan(gateway: "10.1.0.1", ports: plan.ports, groups: policies(instances + 1, ruleOff: 1))
            var script: String?
            let compute = clock.measure { script = before.difference(to: changed.nftablesState(memo: &memo), table: "euca") }
            let empty = FileManager.default.temporaryDirectory.appendingPathComponent("\(namespace)-noop.nft")
            _ = FileManager.default.createFile(atPath: empty.path, contents: Data("add table inet euca\n".utf8))
            defer { try? FileManager.default.removeItem(at: empty) }
            let nftFloor = try await clock.measure { try await shell.run(["nft", "-f", empty.path]) }
            let ruleset = plan.nftablesRuleset()
            try await applier.stop()
            func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
            emit([
                "bench": "network-apply", "instances": instances, "groups": groups, "ruleset_bytes": ruleset.utf8.count,
                "render_ms": ms(render), "apply_from_nothing_ms": ms(fromNothing), "add_one_instance_ms": ms(addOne),
                "rule_change_p50_ms": percentile(changeTimes, 0.5), "rule_change_p99_ms": percentile(changeTimes, 0.99),
                "change_compute_ms": ms(compute), "change_script_bytes": script?.utf8.count ?? 0, "nft_noop_ms": ms(nftFloor),
            ])
        }
    }
}

extension ControlBench {
    /// The data path between two instances: TCP throughput (iperf3) and round-trip time (ping)
    /// across a host's VPC path (routed ports, per-instance security groups with `--rules` rules
    /// in the receiver's group, the allowing one last) beside the same pair on a plain bridge with
    /// no filtering, in network namespaces made and deleted here, A B A B.
    struct Datapath: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "iperf3 and ping across the VPC path and a plain bridge (root).")

        @Option var rules = 100
        @Option var seconds = 5
        @Option var rounds = 2

        func run() async throws {
            let name = "eucadp\(UInt32.random(in: 0...0xFFFF))"
            let spaces = ["h", "a", "b", "bh", "ba", "bb"].map { "\(name)\($0)" }
            defer { for space in spaces { _ = try? ChildProcess.start("/usr/bin/env", ["ip", "netns", "del", space]) } }
            for space in spaces { try await HostCommands().run(["ip", "netns", "add", space]) }
            func sh(_ space: String, _ script: String) async throws -> String {
                let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", ["ip", "netns", "exec", space, "sh", "-c", script], timeout: .seconds(120))
                guard result.status == 0 else { throw EucaError(.internalFailure, nil, "\(script): \(result.errors)") }
                return result.output
            }
            // The VPC path: routed ports in host h, security groups by HostNetworkApplier.
            let host = spaces[0]
            for (n, space) in [(1, spaces[1]), (2, spaces[2])] {
                try await HostCommands().run(["ip", "link", "add", "vn\(n)", "netns", host, "type", "veth", "peer", "name", "eth0", "netns", space])
                _ = try await sh(host, "ip link set lo up; ip link set vn\(n) up")
                _ = try await sh(space, "ip link set lo up; ip link set eth0 address d0:0d:00:00:00:0\(n); ip addr add 172.31.0.1\(n)/16 dev eth0; ip link set eth0 up; ip route add default via 172.31.0.1")
            }
            let filler = (0..<max(0, rules - 1)).map { FirewallRule(ipProtocol: "tcp", fromPort: 10000 + $0, toPort: 10000 + $0, peer: .cidr("10.\($0 % 250).0.0/16")) }
            let receiver = GroupPolicy(
                groupId: "sg-b", accountId: "1",
                ingress: filler + [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .group(accountId: "1", groupId: "sg-a"))],
                egress: [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))],
                members: ["i-2": InstanceAddresses(macAddress: "d0:0d:00:00:00:02", privateIp: "172.31.0.12")])
            let sender = GroupPolicy(
                groupId: "sg-a", accountId: "1", ingress: [], egress: [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))],
                members: ["i-1": InstanceAddresses(macAddress: "d0:0d:00:00:00:01", privateIp: "172.31.0.11")])
            let applier = HostNetworkApplier(commands: HostCommands(prefix: ["ip", "netns", "exec", host]))
            try await applier.apply(HostPlan(gateway: "172.31.0.1", ports: [
                InstancePort(instanceId: "i-1", device: "vn1", macAddress: "d0:0d:00:00:00:01", privateIp: "172.31.0.11", groups: ["sg-a"]),
                InstancePort(instanceId: "i-2", device: "vn2", macAddress: "d0:0d:00:00:00:02", privateIp: "172.31.0.12", groups: ["sg-b"]),
            ], groups: [sender, receiver]))
            // The plain bridge: the same pair, bridged, nothing filtered.
            _ = try await sh(spaces[3], "ip link set lo up; ip link add br0 type bridge; ip link set br0 up")
            for (n, space) in [(1, spaces[4]), (2, spaces[5])] {
                try await HostCommands().run(["ip", "link", "add", "vn\(n)", "netns", spaces[3], "type", "veth", "peer", "name", "eth0", "netns", space])
                _ = try await sh(spaces[3], "ip link set vn\(n) master br0 up")
                _ = try await sh(space, "ip link set lo up; ip addr add 172.31.0.1\(n)/16 dev eth0; ip link set eth0 up")
            }
            // The servers run in the foreground, as children of this process, and end with it.
            let servers = try [spaces[2], spaces[5]].map { try ChildProcess.start("/usr/bin/env", ["ip", "netns", "exec", $0, "iperf3", "-s"]) }
            defer { for server in servers { server.kill() } }
            try await Task.sleep(for: .milliseconds(500))
            func measure(_ client: String) async throws -> (gbps: Double, rttMicros: Double) {
                let json = try await sh(client, "iperf3 -c 172.31.0.12 -t \(seconds) -J")
                let document = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
                let sum = ((document?["end"] as? [String: Any])?["sum_received"] as? [String: Any])?["bits_per_second"] as? Double ?? 0
                let ping = try await sh(client, "ping -q -c 200 -i 0.005 172.31.0.12")
                // rtt min/avg/max/mdev = a/b/c/d ms
                let average = ping.split(separator: "=").last?.split(separator: "/").dropFirst().first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? 0
                return (sum / 1e9, average * 1000)
            }
            var bridge: [(gbps: Double, rttMicros: Double)] = [], vpc: [(gbps: Double, rttMicros: Double)] = []
            for _ in 0..<rounds {
                bridge.append(try await measure(spaces[4]))
                vpc.append(try await measure(spaces[1]))
            }
            func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(1, values.count)) }
            let bridgeGbps = mean(bridge.map(\.gbps)), vpcGbps = mean(vpc.map(\.gbps))
            let bridgeRtt = mean(bridge.map(\.rttMicros)), vpcRtt = mean(vpc.map(\.rttMicros))
            emit([
                "bench": "datapath", "rules": rules, "seconds": seconds, "rounds": rounds,
                "bridge_gbps": bridge.map(\.gbps), "vpc_gbps": vpc.map(\.gbps), "throughput_ratio": vpcGbps / max(bridgeGbps, 1e-9),
                "bridge_rtt_us": bridge.map(\.rttMicros), "vpc_rtt_us": vpc.map(\.rttMicros), "added_rtt_us": vpcRtt - bridgeRtt,
            ])
            try await applier.stop()
        }
    }
}
