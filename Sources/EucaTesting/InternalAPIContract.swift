public import EucaCore
import Foundation

/// The behaviour of the internal APIs that every implementation must show alike: the
/// controllers in process and their remote clients over mutual TLS. Run the same cases against
/// both and the wire cannot drift from the library.
///
/// Each case makes instances of its own, so cases may share one node or cluster, which must have
/// room for a few `VMType.small` instances and run them at once (an in-memory hypervisor does).
public enum InternalAPIContract {
    public struct Case<API: Sendable>: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (API) async throws -> Void
        public var description: String { name }
        public func run(on api: API) async throws { try await body(api) }
    }

    static func expect(_ condition: Bool, _ check: String, _ detail: @autoclosure () -> String) throws {
        if !condition { throw ContractViolation(check: check, detail: detail()) }
    }

    /// Runs `body` and checks that it fails with `code`.
    static func expectFailure(_ check: String, code: EucaError.Code, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as EucaError {
            try expect(error.code == code, check, "failed with \(error.code), not \(code): \(error.message)")
            return
        }
        throw ContractViolation(check: check, detail: "succeeded; expected \(code)")
    }

    /// A launch of one small instance with a boot spec that needs no image.
    public static func launch(zone: String = "zone-a") -> InstanceLaunch {
        InstanceLaunch(
            instanceId: .generate(), reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"), vmType: .small,
            imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:02", zone: zone)
    }

    /// A policy with a group, a rule naming another group, and a member with a public address.
    public static let policy = NetworkPolicy(groups: [
        GroupPolicy(
            groupId: "sg-0123456789abcdef0", accountId: "123456789012",
            ingress: [FirewallRule(ipProtocol: "tcp", fromPort: 22, toPort: 22, peer: .group(accountId: "123456789012", groupId: "sg-0123456789abcdef1"))],
            egress: [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))],
            members: ["i-0123456789abcdef0": InstanceAddresses(macAddress: "d0:0d:01:23:45:67", privateIp: "172.31.0.4", publicIp: "198.51.100.10")]),
    ])

    public static let nodeCases: [Case<any NodeControllerAPI>] = [
        Case(name: "configureNetwork takes a policy, and the same one again") { node in
            try await node.configureNetwork(policy)
            try await node.configureNetwork(policy)
            try await node.configureNetwork(NetworkPolicy(groups: []))
        },
        Case(name: "runInstance runs it, describe lists and counts it, terminate removes it and is idempotent") { node in
            let launch = launch()
            let before = try await node.describeResource().instances
            let report = try await node.runInstance(launch)
            try expect(report.instanceId == launch.instanceId && report.state == .running, "run", "\(report)")
            let listed = try await node.describeInstances().map(\.instanceId)
            try expect(listed.contains(launch.instanceId), "describeInstances", "\(listed)")
            try expect(try await node.describeResource().instances == before + 1, "describeResource", "not counted")
            try await node.terminateInstance(launch.instanceId)
            try expect(!(try await node.describeInstances().map(\.instanceId)).contains(launch.instanceId), "terminate", "still listed")
            try await node.terminateInstance(launch.instanceId)
        },
        Case(name: "stop keeps the instance and start runs it again; reboot keeps it running") { node in
            let launch = launch()
            _ = try await node.runInstance(launch)
            try await node.rebootInstance(launch.instanceId)
            try await node.stopInstance(launch.instanceId)
            let restarted = try await node.startInstance(launch)
            try expect(restarted.state == .running, "start", "\(restarted.state)")
            try await node.terminateInstance(launch.instanceId)
        },
        Case(name: "console output and metadata options of its instances; notFound for others") { node in
            let launch = launch()
            _ = try await node.runInstance(launch)
            let output = try await node.getConsoleOutput(launch.instanceId)
            try expect(output.instanceId == launch.instanceId, "getConsoleOutput", "\(output.instanceId)")
            try await node.modifyInstanceMetadataOptions(launch.instanceId, MetadataOptions(httpTokens: "required"))
            let unknown = InstanceID.generate()
            try await expectFailure("getConsoleOutput of an unknown instance", code: .notFound) { _ = try await node.getConsoleOutput(unknown) }
            try await expectFailure("metadata options of an unknown instance", code: .notFound) {
                try await node.modifyInstanceMetadataOptions(unknown, MetadataOptions())
            }
            try await expectFailure("reboot of an unknown instance", code: .notFound) { try await node.rebootInstance(unknown) }
            try await node.terminateInstance(launch.instanceId)
        },
    ]

    public static let clusterCases: [Case<any ClusterControllerAPI>] = [
        Case(name: "configureNetwork takes a policy, and the same one again") { cluster in
            try await cluster.configureNetwork(policy)
            try await cluster.configureNetwork(policy)
            try await cluster.configureNetwork(NetworkPolicy(groups: []))
        },
        Case(name: "runInstances places and runs them; describe lists them; terminate ends them") { cluster in
            let launches = [launch(zone: cluster.zone), launch(zone: cluster.zone)]
            let outcomes = try await cluster.runInstances(launches)
            try expect(outcomes.count == 2 && outcomes.allSatisfy { $0.failure == nil && $0.node != nil }, "run", "\(outcomes)")
            let listed = try await cluster.describeInstances().reports.map(\.instanceId)
            try expect(Set(launches.map(\.instanceId)).isSubset(of: Set(listed)), "describeInstances", "\(listed)")
            try expect(try await cluster.describeResources().nodes.contains { $0.instances > 0 }, "describeResources", "nothing counted")
            let ended = try await cluster.terminateInstances(launches.map(\.instanceId))
            try expect(ended.allSatisfy { $0.failure == nil }, "terminate", "\(ended)")
        },
        Case(name: "stop, start and reboot answer an outcome per instance") { cluster in
            let launch = launch(zone: cluster.zone)
            _ = try await cluster.runInstances([launch])
            for (step, outcomes) in [
                ("reboot", try await cluster.rebootInstances([launch.instanceId])),
                ("stop", try await cluster.stopInstances([launch.instanceId])),
                ("start", try await cluster.startInstances([launch])),
            ] {
                try expect(outcomes.map(\.instanceId) == [launch.instanceId] && outcomes[0].failure == nil, step, "\(outcomes)")
            }
            _ = try await cluster.terminateInstances([launch.instanceId])
        },
        Case(name: "console output and metadata options reach the instance's node; notFound for others") { cluster in
            let launch = launch(zone: cluster.zone)
            _ = try await cluster.runInstances([launch])
            let output = try await cluster.getConsoleOutput(launch.instanceId)
            try expect(output.instanceId == launch.instanceId, "getConsoleOutput", "\(output.instanceId)")
            try await cluster.modifyInstanceMetadataOptions(launch.instanceId, MetadataOptions(httpTokens: "required"))
            let unknown = InstanceID.generate()
            try await expectFailure("getConsoleOutput of an unknown instance", code: .notFound) { _ = try await cluster.getConsoleOutput(unknown) }
            try await expectFailure("metadata options of an unknown instance", code: .notFound) {
                try await cluster.modifyInstanceMetadataOptions(unknown, MetadataOptions())
            }
            _ = try await cluster.terminateInstances([launch.instanceId])
        },
    ]
}
