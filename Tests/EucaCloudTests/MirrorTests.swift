import EucaCloud
import EucaCore
import EucaSecurity
import EucaTesting
import Foundation
import Logging
import Testing

/// The mirror follows the store by itself: after any mix of writes, failed ones among them, the
/// tables and their indexes are what a controller loading the same store from scratch builds.
@Suite struct MirrorTests {
    struct Snapshot: Equatable {
        var keyPairs: Set<String>
        var groups: Set<String>
        var groupNames: [String: String]
        var resources: Set<String>
        var tags: [String: [String: String]]
        var instancesByAccount: [String: Set<String>]
        var instancesByZone: [String: Set<String>]
        var groupsByAccount: [String: Set<String>]
        var keyPairsByAccount: [String: Set<String>]
        var resourcesByTag: [String: [String: Set<String>]]
        var addresses: [String: String?]
        var usageByAccount: [String: [Int]]
        var instances: [String: InstanceRecord]

        init(_ state: CloudState) {
            (keyPairs, groups, groupNames, resources, tags, instancesByAccount, instancesByZone, groupsByAccount, keyPairsByAccount,
             resourcesByTag, addresses, usageByAccount, instances) = state.read { tables in
                func strings<K, V: RawRepresentable>(_ index: [K: Set<V>]) -> [String: Set<String>] where V.RawValue == String {
                    Dictionary(uniqueKeysWithValues: index.map { ("\($0.key)", Set($0.value.map(\.rawValue))) })
                }
                return (
                    Set(tables.keyPairs.keys), Set(tables.groups.keys.map(\.rawValue)), tables.groupNames.mapValues(\.rawValue),
                    Set(tables.resources.keys), tables.tags.mapValues(\.tags), strings(tables.instancesByAccount),
                    strings(tables.instancesByZone), strings(tables.groupsByAccount),
                    Dictionary(uniqueKeysWithValues: tables.keyPairsByAccount.map { ($0.key.rawValue, $0.value) }), tables.resourcesByTag,
                    tables.addresses.mapValues { $0.instanceId?.rawValue },
                    Dictionary(uniqueKeysWithValues: tables.usageByAccount.map { ($0.key.rawValue, [$0.value.instances, $0.value.cores, $0.value.memoryMiB]) }),
                    Dictionary(uniqueKeysWithValues: tables.instances.values.map { ($0.id.rawValue, $0) }))
            }
        }
    }

    @Test func theMirrorIsWhatALoadFromTheStoreBuilds() async throws {
        let test = try await TestCloud.make()
        defer { test.service.cancel() }
        let cloud = test.cloud
        let user = Principal(accountId: AccountID(rawValue: "222233334444"), userName: "u", accessKeyId: "AKIAU", isCloudAdmin: false)
        for principal in [test.admin, user] {
            _ = try await cloud.keyPairs.create(principal, name: "k1", type: .ed25519, tags: [Tag(key: "team", value: "a")])
            _ = try await cloud.keyPairs.create(principal, name: "k2", type: .ed25519)
            let group = try await cloud.securityGroups.create(principal, name: "web", description: "w", tags: [Tag(key: "team", value: "b")])
            try await cloud.tags.create(principal, resourceIds: [group.id.rawValue], tags: [Tag(key: "team", value: "c"), Tag(key: "x", value: "y")])
            _ = try await cloud.keyPairs.delete(principal, name: "k2", id: nil)
        }
        // Refused writes leave nothing behind.
        await #expect(throws: EucaError.self) {
            try await cloud.keyPairs.create(user, name: "k1", type: .ed25519)
        }
        await #expect(throws: EucaError.self) {
            try await cloud.tags.create(user, resourceIds: ["sg-0123456789abcdef0"], tags: [Tag(key: "a", value: "b")])
        }
        let (_, launched) = try await cloud.instances.run(test.admin, .init(imageId: test.image.rawValue, minCount: 2, maxCount: 2))
        try await test.waitFor(launched.map(\.id), .running)
        _ = try await cloud.instances.terminate(test.admin, [launched[0].id])
        try await test.waitFor([launched[0].id], .terminated)
        try await cloud.tags.delete(test.admin, resourceIds: [launched[1].id.rawValue], keys: [])

        let mirrored = Snapshot(cloud.state)
        #expect(mirrored.instancesByZone["zone-a"]?.count == 2)
        #expect(mirrored.resourcesByTag["team"]?["c"]?.count == 2)
        #expect(mirrored.resourcesByTag["team"]?["b"] == nil)
        #expect(mirrored.keyPairsByAccount[user.accountId.rawValue] == ["\(user.accountId)/k1"])
        // One m1.small runs; the terminated one holds nothing.
        #expect(mirrored.usageByAccount[test.admin.accountId.rawValue] == [1, 1, 128])

        let reloaded = CloudController(store: test.store, secrets: test.cloud.state.sealer, clusters: [], settings: CloudSettings(), logger: Logger(label: "test"))
        _ = try await reloaded.bootstrap()
        #expect(Snapshot(reloaded.state) == mirrored)
    }
}
