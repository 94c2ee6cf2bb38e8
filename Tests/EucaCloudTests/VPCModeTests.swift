import EucaCloud
import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNet
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaTesting
import Foundation
import Logging
import Testing

/// VNET_MODE=VPC in the cloud controller: addresses given at launch per zone's subnet, a VNI per
/// account, and every change carried to the nodes as a network policy.
@Suite struct VPCModeTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func launchesGetTheirZonesAddressesAndTheNodesFollowMembersAndAddresses() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-vpc-\(UUID())").path
        var nodes: [String: NetworkPolicyHandOutTests.PolicyNode] = [:]
        var clusters: [any ClusterControllerAPI] = []
        for zone in ["zone-a", "zone-b"] {
            let node = NetworkPolicyHandOutTests.PolicyNode(try NodeController(
                hypervisor: InMemoryHypervisor(host: HostInfo(cores: 8, memoryMiB: 16384)),
                settings: NodeSettings(node: NodeID("\(zone)-node"), instancePath: "\(base)/\(zone)", maxDiskGiB: 1000), logger: logger))
            nodes[zone] = node
            clusters.append(ClusterController(zone: zone, nodes: [node], policy: .greedy, logger: logger))
        }
        let cloud = CloudController(
            store: InMemoryStateStore(), secrets: .ephemeral(), clusters: clusters,
            network: NetworkSettings(mode: VPCNetworkMode(), publicIPs: (10...14).map { "198.51.100.\($0)" }), settings: CloudSettings(), logger: logger)
        let image = ImageRecord(
            id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "empty", location: "builtin:empty",
            isPublic: true, boot: BootSpec())
        let started = try await cloud.bootstrap(defaultImage: image)
        let admin = Principal(accountId: started.adminAccount.id, userName: "admin", accessKeyId: started.adminKey.accessKeyId, isCloudAdmin: true)
        let running = Task { try await cloud.run() }
        defer { running.cancel() }

        func launch(_ zone: String, as principal: Principal = admin, count: Int = 1) async throws -> [InstanceRecord] {
            try await cloud.instances.run(principal, .init(imageId: image.id.rawValue, minCount: count, maxCount: count, zone: zone)).1
        }
        let a = try await launch("zone-a", count: 2)
        let b = try await launch("zone-b")
        #expect(a.map(\.privateIp) == ["172.31.0.4", "172.31.0.5"])
        #expect(a.map(\.publicIp) == ["198.51.100.10", "198.51.100.11"] && a.allSatisfy { $0.autoPublicIp == true }, "each its own public address")
        #expect(b.map(\.privateIp) == ["172.31.16.4"], "zone-b's default subnet is the second /20")
        let vni = try #require(a[0].vni)
        #expect(b[0].vni == vni && a[0].launch.network?.vni == vni && a[0].launch.network?.privateIp == "172.31.0.4")

        // Another account has a VPC of its own: another VNI, the same addresses.
        let (other, key) = try await cloud.accounts.create(name: "other")
        let stranger = Principal(accountId: other.id, userName: "admin", accessKeyId: key.accessKeyId, isCloudAdmin: false)
        let theirs = try await launch("zone-a", as: stranger)
        #expect(theirs[0].privateIp == "172.31.0.4" && theirs[0].vni != nil && theirs[0].vni != vni)

        // The nodes are told of the members as they launch, and of an elastic IP as it is associated.
        func member(_ id: InstanceID, on zone: String) -> InstanceAddresses? {
            nodes[zone]?.policies.last?.groups.lazy.compactMap { $0.members[id.rawValue] }.first
        }
        try await waitUntil("the members reach the nodes") { member(a[1].id, on: "zone-a")?.privateIp == "172.31.0.5" && member(b[0].id, on: "zone-b") != nil }
        let address = try await cloud.addresses.allocate(admin, domain: "vpc")
        _ = try await cloud.addresses.associate(admin, .publicIp(address.publicIp), instance: a[0].id)
        #expect(address.publicIp == "198.51.100.14", "the pool's first address no instance holds")
        try await waitUntil("the address reaches the node") { member(a[0].id, on: "zone-a")?.publicIp == "198.51.100.14" }
        // Where a node says its underlay address is, the policy tells the others.
        await cloud.noteNodeAddresses([NodeID("zone-b-node"): "10.0.0.2"])
        try await waitUntil("the node's address in the policy") { member(b[0].id, on: "zone-a")?.host == "10.0.0.2" }
        #expect(member(a[0].id, on: "zone-a")?.host == nil && member(a[0].id, on: "zone-a")?.vni == vni)
        let plans = try cloud.securityGroups.hostPlans(node: "zone-a-node").filter { $0.plan.vpc.vni == vni }
        #expect(plans.count == 1 && plans.first?.plan.remote == ["172.31.16.4": RemotePlace(host: "10.0.0.2")], "zone-a's node reaches zone-b's instance of the VPC")
        // Terminated, an instance leaves the policy, and its address is free for the next launch.
        _ = try await cloud.instances.terminate(admin, [a[1].id])
        try await waitUntil("the member leaves the policy") { member(a[1].id, on: "zone-a") == nil }
        #expect(try await launch("zone-a").map(\.privateIp) == ["172.31.0.5"])
    }

    func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<500 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out: \(what)")
    }
}
