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

/// What one account may do with another's resources, and what the network mode is handed.
@Suite struct AccountsAndImagesTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func makeCloud(applier: RecordingNetworkApplier? = nil) async throws -> (CloudController, Principal, Principal, ImageStore) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-acct-\(UUID())").path
        let node = try NodeController(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: "n", instancePath: base + "/n", maxDiskGiB: 100), logger: logger)
        let cluster = ClusterController(zone: "z", nodes: [node], policy: .greedy, logger: logger)
        let store = ImageStore(root: base + "/images")
        let cloud = CloudController(
            store: InMemoryStateStore(), secrets: .ephemeral(), clusters: [cluster], networkApplier: applier, imageStore: store, settings: CloudSettings(), logger: logger)
        let started = try await cloud.bootstrap()
        let admin = Principal(accountId: started.adminAccount.id, userName: "admin", accessKeyId: started.adminKey.accessKeyId, isCloudAdmin: true)
        let user = Principal(accountId: AccountID(rawValue: "222233334444"), userName: "user", accessKeyId: "AKIAUSER", isCloudAdmin: false)
        return (cloud, admin, user, store)
    }

    func upload(_ store: ImageStore, _ kind: ImageKind, _ name: String, for owner: Principal? = nil) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("euca-upload-\(UUID())").path
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: file))
        return try store.put(file: file, bucket: "b", name: name, kind: kind, owner: owner?.accountId).location
    }

    @Test func onlyAdministratorsRegisterKernelsAndRamdisks() async throws {
        let (cloud, admin, user, store) = try await makeCloud()
        let usersKernel = try upload(store, .kernel, "vmlinuz-user", for: user)
        await #expect {
            try await cloud.images.register(user, ImageRegistration(name: "kernel", location: usersKernel))
        } throws: { ($0 as? EucaError)?.code == .unauthorized }
        #expect(cloud.images.registrationNeedsAdmin(usersKernel, for: user))
        let kernel = try upload(store, .kernel, "vmlinuz")
        let registered = try await cloud.images.register(admin, ImageRegistration(name: "kernel", location: kernel))
        #expect(registered.kind == .kernel && registered.isPublic)
        // Anyone may use the administrator's kernel in a machine image of their own.
        let disk = try upload(store, .machine, "disk", for: user)
        let machine = try await cloud.images.register(user, ImageRegistration(name: "machine", location: disk, kernelId: registered.id.rawValue))
        #expect(machine.kernelId == registered.id && !machine.isPublic)
    }

    @Test func launchPermissionsShareAnImageWithOneAccountOrAll() async throws {
        let (cloud, admin, user, store) = try await makeCloud()
        let other = Principal(accountId: AccountID(rawValue: "555566667777"), userName: "o", accessKeyId: "AKIAO", isCloudAdmin: false)
        let disk = try upload(store, .machine, "disk", for: user)
        let image = try await cloud.images.register(user, ImageRegistration(name: "mine", location: disk))
        #expect(!cloud.images.list(for: other).contains { $0.id == image.id })
        await #expect {
            try await cloud.instances.run(other, .init(imageId: image.id.rawValue))
        } throws: { ($0 as? EucaError)?.code == .notFound }

        try await cloud.images.modify(user, image.id.rawValue, .addLaunchPermission(users: [other.accountId.rawValue], all: false))
        #expect(cloud.images.list(for: other).contains { $0.id == image.id })
        #expect(!cloud.images.list(for: admin).contains { $0.id == image.id })
        _ = try await cloud.instances.run(other, .init(imageId: image.id.rawValue))
        await #expect {
            try await cloud.images.modify(other, image.id.rawValue, .description("not mine"))
        } throws: { ($0 as? EucaError)?.code == .unauthorized }

        try await cloud.images.modify(user, image.id.rawValue, .addLaunchPermission(users: [], all: true))
        #expect(cloud.images.list(for: admin).contains { $0.id == image.id })
        try await cloud.images.modify(user, image.id.rawValue, .resetLaunchPermission)
        #expect(!cloud.images.list(for: other).contains { $0.id == image.id })
    }

    /// An object uploaded for one account is, to every other, exactly a location never uploaded:
    /// the same error, and no hint of its kind before DryRun.
    @Test func anotherAccountsObjectAnswersAsAMissingOne() async throws {
        let (cloud, admin, user, store) = try await makeCloud()
        let other = Principal(accountId: AccountID(rawValue: "555566667777"), userName: "o", accessKeyId: "AKIAO", isCloudAdmin: false)
        let usersDisk = try upload(store, .machine, "users-disk", for: user)
        let adminsKernel = try upload(store, .kernel, "admins-kernel")
        func refusal(_ principal: Principal, _ location: String) async -> String? {
            do {
                _ = try await cloud.images.register(principal, ImageRegistration(name: "probe", location: location))
                return nil
            } catch let error as EucaError {
                return "\(error.code) \(error.message.replacingOccurrences(of: location, with: "LOCATION"))"
            } catch {
                return "\(error)"
            }
        }
        let missing = await refusal(other, "b/never-uploaded")
        #expect(missing?.hasPrefix("invalidParameter") == true)
        #expect(await refusal(other, usersDisk) == missing)
        #expect(await refusal(admin, usersDisk) == missing)
        #expect(await refusal(other, adminsKernel) == missing)
        #expect(!cloud.images.registrationNeedsAdmin(adminsKernel, for: other))
        #expect(cloud.images.registrationNeedsAdmin(adminsKernel, for: admin))
        #expect(try await cloud.images.register(user, ImageRegistration(name: "mine", location: usersDisk)).ownerId == user.accountId)
    }

    /// One tenant cannot fill the store: groups and key pairs stop at EC2's limits per account,
    /// and the next account is not held back by them.
    @Test func groupsAndKeyPairsStopAtTheirLimits() async throws {
        let (cloud, admin, user, _) = try await makeCloud()
        for index in 1..<cloud.settings.maxSecurityGroupsPerAccount {  // the default group is the first
            _ = try await cloud.securityGroups.create(user, name: "g\(index)", description: "d")
        }
        await #expect {
            try await cloud.securityGroups.create(user, name: "one-more", description: "d")
        } throws: { ($0 as? EucaError)?.code == .limitExceeded }
        _ = try await cloud.securityGroups.create(admin, name: "admins", description: "d")

        let material = Array("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGs9YrDpXt4jiDSmH6ILeKsHHg4bTF5WDkBPkq6ClNc5 limit".utf8)
        for index in 0..<cloud.settings.maxKeyPairsPerAccount {
            _ = try await cloud.keyPairs.importKey(user, name: "k\(index)", material: material)
        }
        await #expect {
            try await cloud.keyPairs.importKey(user, name: "one-more", material: material)
        } throws: { ($0 as? EucaError)?.code == .limitExceeded }
        _ = try await cloud.keyPairs.importKey(admin, name: "admins", material: material)
    }

    @Test func accountsSeeOnlyTheirOwnResources() async throws {
        let (cloud, admin, user, _) = try await makeCloud()
        _ = try await cloud.keyPairs.create(user, name: "k", type: .ed25519)
        _ = try await cloud.securityGroups.create(user, name: "g", description: "d")
        #expect(cloud.keyPairs.list(for: admin).isEmpty)
        #expect(try await cloud.securityGroups.list(for: admin).map(\.name) == ["default"])
        #expect(try await cloud.securityGroups.list(for: user).map(\.name).sorted() == ["default", "g"])
        let userGroup = try await cloud.securityGroups.group(.name("g"), for: user)
        await #expect {
            try await cloud.securityGroups.delete(admin, .id(userGroup.id.rawValue))
        } throws: { ($0 as? EucaError)?.code == .notFound }
        await #expect {
            try await cloud.tags.create(admin, resourceIds: [userGroup.id.rawValue], tags: [Tag(key: "a", value: "b")])
        } throws: { ($0 as? EucaError)?.code == .notFound }
    }

    @Test func securityGroupChangesAreHandedToTheNetworkMode() async throws {
        let applier = RecordingNetworkApplier()
        let (cloud, _, user, _) = try await makeCloud(applier: applier)
        let group = try await cloud.securityGroups.create(user, name: "web", description: "web")
        try await cloud.securityGroups.authorize(user, .name("web"), .ingress, [PermissionRequest(ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrs: [("0.0.0.0/0", nil)])])
        let plan = try #require(await applier.latest)
        #expect(plan.enforcesRules)  // SYSTEM mode's nodes enforce them on their bridges
        let policy = try #require(plan.groups.first { $0.groupId == group.id.rawValue })
        #expect(policy.ingress == [FirewallRule(ipProtocol: "tcp", fromPort: 80, toPort: 80, peer: .cidr("0.0.0.0/0"))])
        #expect(policy.egress == [FirewallRule(ipProtocol: "-1", fromPort: nil, toPort: nil, peer: .cidr("0.0.0.0/0"))])
    }
}
