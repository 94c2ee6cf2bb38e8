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
                             privateIp: "10.1.\(n >> 8 & 255).\(n & 255)", groups: ["sg-\(n % groups)"])
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
