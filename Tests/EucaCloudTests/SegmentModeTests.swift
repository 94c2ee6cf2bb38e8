import EucaCloud
import EucaCluster
import EucaCore
import EucaNet
import EucaNode
import EucaHypervisor
import EucaScheduler
import EucaSecurity
import EucaTesting
import Foundation
import Logging
import Testing

/// STATIC and MANAGED-NOVLAN in the cloud controller: every instance on the cloud's one network,
/// its address from the MAC map or from its first security group's block.
@Suite struct SegmentModeTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    struct Cloud {
        let controller: CloudController
        let admin: Principal
        let image: ImageRecord
        let running: Task<Void, any Error>

        func launch(_ count: Int = 1, groups: [String] = [], privateIp: String? = nil) async throws -> [InstanceRecord] {
            var request = InstanceService.RunRequest(imageId: image.id.rawValue, minCount: count, maxCount: count, securityGroups: groups)
            request.privateIp = privateIp
            return try await controller.instances.run(admin, request).1
        }

        func waitUntilTerminated(_ id: InstanceID) async throws { try await waitUntil(id, is: .terminated) }

        func record(_ id: InstanceID) -> InstanceRecord? { controller.instances.reservations(for: admin, allAccounts: true).flatMap(\.1).first { $0.id == id } }

        func waitUntil(_ id: InstanceID, is state: InstanceState) async throws {
            for _ in 0..<500 {
                if record(id)?.state == state { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("\(id) did not become \(state)")
        }
    }

    func makeCluster() throws -> ClusterController {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-segment-\(UUID())").path
        let node = try NodeController(
            hypervisor: InMemoryHypervisor(host: HostInfo(cores: 64, memoryMiB: 65536)),
            settings: NodeSettings(node: NodeID("n1"), instancePath: base, maxDiskGiB: 10000), logger: logger)
        return ClusterController(zone: "zone-a", nodes: [node], policy: .greedy, logger: logger)
    }

    /// One master key for every cloud of a test, so that one made again over a store opens it.
    let secrets = SecretSealer.ephemeral()

    func cloud(_ network: NetworkSettings, store: any StateStore = InMemoryStateStore(), cluster: ClusterController? = nil) async throws -> Cloud {
        let cluster = try cluster ?? makeCluster()
        let controller = CloudController(store: store, secrets: secrets, clusters: [cluster], network: network, settings: CloudSettings(), logger: logger)
        let image = ImageRecord(
            id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "empty", location: "builtin:empty",
            isPublic: true, boot: BootSpec())
        let started = try await controller.bootstrap(defaultImage: image)
        let admin = Principal(accountId: started.adminAccount.id, userName: "admin", accessKeyId: started.adminKey.accessKeyId, isCloudAdmin: true)
        return Cloud(controller: controller, admin: admin, image: image, running: Task { try await controller.run() })
    }

    @Test func eachGroupTakesABlockAndItsInstancesTheLowestFreeAddressesOfIt() async throws {
        let cloud = try await cloud(NetworkSettings(
            mode: ManagedNoVLANNetworkMode(block: "10.10.0.0/24", addressesPerNetwork: 16), publicIPs: ["198.51.100.10", "198.51.100.11", "198.51.100.12"]))
        defer { cloud.running.cancel() }
        for name in ["web", "db"] { _ = try await cloud.controller.securityGroups.create(cloud.admin, name: name, description: name) }
        let plain = try await cloud.launch(2)
        let web = try await cloud.launch(groups: ["web"])
        let db = try await cloud.launch(groups: ["db"])
        // The default group took the first block; its first two addresses are the block's network
        // and the cloud network's router.
        #expect(plain.map(\.privateIp) == ["10.10.0.2", "10.10.0.3"])
        #expect(web.map(\.privateIp) == ["10.10.0.18"] && db.map(\.privateIp) == ["10.10.0.34"])
        #expect((plain + web).map(\.publicIp) == ["198.51.100.10", "198.51.100.11", "198.51.100.12"], "each its own public address, as Eucalyptus gives")
        #expect(db[0].publicIp == nil, "the pool is used up")
        let network = try #require(web[0].launch.network)
        #expect(network.vni == SegmentAddressing.siteVNI && network.vpcBlock == "10.10.0.0/24" && network.privateIp == "10.10.0.18")

        // A block holds 13 instances (16 less network, router and broadcast).
        let more = try await cloud.launch(12, groups: ["web"])
        #expect(more.last?.privateIp == "10.10.0.30")
        do {
            _ = try await cloud.launch(groups: ["web"])
            Issue.record("a fourteenth instance was given an address in a block of 16")
        } catch let error as EucaError {
            #expect(error.code == .insufficientCapacity && error.resource == .subnet && error.message.contains("block"))
        }
        // With its last instance gone, a group's block is free for another group.
        _ = try await cloud.controller.instances.terminate(cloud.admin, db.map(\.id))
        try await cloud.waitUntilTerminated(db[0].id)
        _ = try await cloud.controller.securityGroups.create(cloud.admin, name: "cache", description: "cache")
        #expect(try await cloud.launch(groups: ["cache"]).map(\.privateIp) == ["10.10.0.34"])
        await #expect(throws: EucaError.self, "addresses come from the group's block") { _ = try await cloud.launch(privateIp: "10.10.0.40") }
    }

    @Test func anotherAccountsDefaultGroupHasABlockOfItsOwnAndItsRulesAreItsOwn() async throws {
        let cloud = try await cloud(NetworkSettings(mode: ManagedNetworkMode(block: "10.10.0.0/24", addressesPerNetwork: 16)))
        defer { cloud.running.cancel() }
        let (other, key) = try await cloud.controller.accounts.create(name: "other")
        let stranger = Principal(accountId: other.id, userName: "admin", accessKeyId: key.accessKeyId, isCloudAdmin: false)
        let mine = try await cloud.launch()
        let theirs = try await cloud.controller.instances.run(stranger, .init(imageId: cloud.image.id.rawValue)).1
        #expect(mine[0].privateIp == "10.10.0.2" && theirs[0].privateIp == "10.10.0.18", "each account's default group in a block of its own")
        #expect(mine[0].launch.network?.groupBlock == "10.10.0.0/28" && theirs[0].launch.network?.groupBlock == "10.10.0.16/28")
        // Each default group lets in its own members only: the policy names no member of the
        // other account's group as a peer.
        try await cloud.waitUntil(theirs[0].id, is: .running)
        let plans = try cloud.controller.securityGroups.hostPlans(node: "n1")
        let groups = plans.flatMap { $0.plan.host.groups.values }
        let theirGroup = try #require(groups.first { $0.members[theirs[0].id.rawValue] != nil })
        #expect(theirGroup.members.keys.sorted() == [theirs[0].id.rawValue])
        #expect(theirGroup.ingress.allSatisfy { if case .group(_, let id) = $0.peer { id == theirGroup.groupId } else { false } })
    }

    @Test func concurrentLaunchesIntoNewGroupsNeverShareABlock() async throws {
        let cloud = try await cloud(NetworkSettings(mode: ManagedNoVLANNetworkMode(block: "10.10.0.0/24", addressesPerNetwork: 16)))
        defer { cloud.running.cancel() }
        let names = (0..<8).map { "g\($0)" }
        for name in names { _ = try await cloud.controller.securityGroups.create(cloud.admin, name: name, description: name) }
        let launched = try await withThrowingTaskGroup(of: [InstanceRecord].self) { group in
            for name in names { group.addTask { try await cloud.launch(2, groups: [name]) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let mode = ManagedNoVLANNetworkMode(block: "10.10.0.0/24", addressesPerNetwork: 16)
        let blocks = Dictionary(grouping: launched) { $0.groups[0].name }.mapValues { Set($0.compactMap { mode.segment?.groupBlock(of: $0.privateIp ?? "") }) }
        #expect(blocks.values.allSatisfy { $0.count == 1 }, "each group's instances in one block")
        #expect(Set(blocks.values.flatMap { $0 }).count == names.count, "no two groups in one block")
        #expect(Set(launched.compactMap(\.privateIp)).count == launched.count)
    }

    @Test func staticModeGivesTheMapsPairsInOrderAndSaysWhenTheyAreAllTaken() async throws {
        let map = [
            MACMapEntry(macAddress: "d0:0d:aa:00:00:01", address: "10.20.0.7"), MACMapEntry(macAddress: "d0:0d:aa:00:00:02", address: "10.20.0.9"),
            MACMapEntry(macAddress: "d0:0d:aa:00:00:03", address: "10.20.0.8"),
        ]
        let cloud = try await cloud(NetworkSettings(mode: StaticNetworkMode(block: "10.20.0.0/24", map: map), publicIPs: ["198.51.100.10"]))
        defer { cloud.running.cancel() }
        let two = try await cloud.launch(2)
        #expect(two.map(\.macAddress) == ["d0:0d:aa:00:00:01", "d0:0d:aa:00:00:02"] && two.map(\.privateIp) == ["10.20.0.7", "10.20.0.9"])
        #expect(two.allSatisfy { $0.publicIp == nil }, "STATIC gives no public address of its own")
        await #expect(throws: EucaError.self, "two pairs asked, one left: nothing launched") { _ = try await cloud.launch(2) }
        let third = try await cloud.launch()
        #expect(third[0].macAddress == "d0:0d:aa:00:00:03" && third[0].privateIp == "10.20.0.8")
        _ = try await cloud.controller.instances.terminate(cloud.admin, [two[0].id])
        try await cloud.waitUntilTerminated(two[0].id)
        #expect(try await cloud.launch().map(\.macAddress) == ["d0:0d:aa:00:00:01"], "a terminated instance's pair is free again")
    }

    @Test func aStoppedInstanceStartedAfterTheModeChangedTakesTheNewModesAddresses() async throws {
        let store = InMemoryStateStore()
        let cluster = try makeCluster()
        let vpc = try await cloud(NetworkSettings(mode: VPCNetworkMode(), publicIPs: ["198.51.100.10"]), store: store, cluster: cluster)
        let launched = try await vpc.launch()[0]
        #expect(launched.vni != nil && launched.privateIp == "172.31.0.4" && launched.publicIp == "198.51.100.10")
        try await vpc.waitUntil(launched.id, is: .running)
        _ = try await vpc.controller.instances.stop(vpc.admin, [launched.id])
        try await vpc.waitUntil(launched.id, is: .stopped)
        vpc.running.cancel()

        // The same store and node, the cloud now in STATIC mode: started, the instance takes a
        // pair of the map, and its own public address goes back (STATIC gives none).
        let map = [MACMapEntry(macAddress: "d0:0d:aa:00:00:01", address: "10.20.0.7")]
        let fixed = try await cloud(NetworkSettings(mode: StaticNetworkMode(block: "10.20.0.0/24", map: map)), store: store, cluster: cluster)
        defer { fixed.running.cancel() }
        _ = try await fixed.controller.instances.start(vpc.admin, [launched.id])
        try await fixed.waitUntil(launched.id, is: .running)
        let started = try #require(fixed.record(launched.id))
        #expect(started.privateIp == "10.20.0.7" && started.macAddress == "d0:0d:aa:00:00:01" && started.vni == SegmentAddressing.siteVNI)
        #expect(started.publicIp == nil && started.launch.network?.vpcBlock == "10.20.0.0/24")
    }
}
