import EucaCloud
import EucaCore
import EucaSecurity
import Foundation
import Logging
import Testing

/// Users, access keys and passwords: what IAM's API and `euca-admin` stand on.
@Suite struct UserServiceTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func makeCloud(store: any StateStore = InMemoryStateStore(), secrets: SecretSealer = .ephemeral()) async throws
        -> (CloudController, CloudController.Bootstrap)
    {
        let cloud = CloudController(store: store, secrets: secrets, clusters: [], settings: CloudSettings(), logger: logger)
        return (cloud, try await cloud.bootstrap())
    }

    @Test func everyAccountHasItsAdminUserAndItCannotBeDeleted() async throws {
        let (cloud, started) = try await makeCloud()
        let (account, key) = try await cloud.accounts.create(name: "research")
        #expect(cloud.users.users(of: account.id).map(\.name) == ["admin"])
        #expect(cloud.users.users(of: started.adminAccount.id).map(\.name) == ["admin"])
        #expect(key.userName == "admin")
        await #expect(throws: EucaError.self) { try await cloud.users.delete("admin", of: account.id) }
        #expect(cloud.users.user("ADMIN", of: account.id) != nil)
    }

    @Test func secretsAreSealedInTheStoreAndOpenOnlyWithTheirMasterKey() async throws {
        let store = InMemoryStateStore()
        let secrets = SecretSealer.ephemeral()
        let (cloud, started) = try await makeCloud(store: store, secrets: secrets)
        let key = started.adminKey
        let stored = try await store.read { try $0.get(key.accessKeyId, from: CloudSchema.accessKeys) }
        let json = String(decoding: try JSONEncoder().encode(stored), as: UTF8.self)
        #expect(stored?.sealedSecret != nil && stored?.secretAccessKey == nil)
        #expect(!json.contains(key.secretAccessKey))
        #expect(cloud.state.accessKey(id: key.accessKeyId)?.key.secretAccessKey == key.secretAccessKey)

        // The same store with the same key starts; with another, it says why it cannot.
        let (_, again) = try await makeCloud(store: store, secrets: secrets)
        #expect(again.adminKey == key)
        await #expect(throws: EucaError.self) { _ = try await makeCloud(store: store, secrets: .ephemeral()) }

        // A sealed secret moved onto another key's record does not open.
        #expect(secrets.open(stored!.sealedSecret!, context: "AKIAOTHERKEY0000000") == nil)
        // Nor does it with the key moved to another account or user.
        var moved = stored!
        moved.accountId = AccountID(rawValue: "000011112222")
        #expect(moved.opened(by: secrets) == nil)
        moved = stored!
        moved.userName = "someone"
        #expect(moved.opened(by: secrets) == nil)
    }

    @Test func aStoreFromBeforeUsersIsUpgradedAtStart() async throws {
        let store = InMemoryStateStore()
        let (_, started) = try await makeCloud(store: store)
        // As an older release left it: no users, and the secret in plain text.
        let plain = AccessKey.generate(accountId: started.adminAccount.id, userName: "admin")
        var legacy = StoredAccessKey(plain, sealer: .ephemeral())
        legacy.sealedSecret = nil
        legacy.secretAccessKey = plain.secretAccessKey
        let old = legacy
        try await store.write { txn in
            for (key, _) in try txn.all(CloudSchema.users) { try txn.delete(key, from: CloudSchema.users) }
            for (key, _) in try txn.all(CloudSchema.accessKeys) { try txn.delete(key, from: CloudSchema.accessKeys) }
            try txn.put(old, at: plain.accessKeyId, in: CloudSchema.accessKeys)
        }
        let secrets = SecretSealer.ephemeral()
        let (cloud, restarted) = try await makeCloud(store: store, secrets: secrets)
        #expect(restarted.adminKey.secretAccessKey == plain.secretAccessKey)
        let stored = try await store.read { try $0.get(plain.accessKeyId, from: CloudSchema.accessKeys) }
        #expect(stored?.secretAccessKey == nil)
        #expect(stored?.opened(by: secrets)?.secretAccessKey == plain.secretAccessKey)
        #expect(cloud.users.user("admin", of: started.adminAccount.id) != nil)
    }

    @Test func usersAreNamedAsIAMNamesThem() async throws {
        let (cloud, _) = try await makeCloud()
        let (account, _) = try await cloud.accounts.create(name: "lab")
        let alice = try await cloud.users.create("alice", path: "/team/", in: account.id)
        #expect(alice.arn == "arn:aws:iam::\(account.id.rawValue):user/team/alice")
        #expect(alice.id.hasPrefix("AIDA") && alice.id.count == 21)
        await #expect(throws: EucaError.self) { _ = try await cloud.users.create("ALICE", in: account.id) }
        for bad in ["", String(repeating: "a", count: 65), "bob smith", "bob/", "<script>", "bób"] {
            await #expect(throws: EucaError.self, "\(bad)") { _ = try await cloud.users.create(bad, in: account.id) }
        }
        for badPath in ["team", "/team", "//\u{7F}/"] {
            await #expect(throws: EucaError.self, "\(badPath)") { _ = try await cloud.users.create("carol", path: badPath, in: account.id) }
        }
        #expect(cloud.users.users(of: account.id, pathPrefix: "/team/").map(\.name) == ["alice"])
        #expect(cloud.users.users(of: account.id).map(\.name) == ["admin", "alice"])
    }

    @Test func accessKeysAreTwoAtMostAndStopWorkingWhenTurnedOffOrDeleted() async throws {
        let (cloud, _) = try await makeCloud()
        let (account, _) = try await cloud.accounts.create(name: "lab")
        let (other, _) = try await cloud.accounts.create(name: "elsewhere")
        _ = try await cloud.users.create("alice", in: account.id)
        let first = try await cloud.users.createAccessKey(for: "alice", in: account.id)
        let second = try await cloud.users.createAccessKey(for: "Alice", in: account.id)
        await #expect(throws: EucaError.self) { _ = try await cloud.users.createAccessKey(for: "alice", in: account.id) }
        #expect(try cloud.users.accessKeys(of: "alice", in: account.id).map(\.accessKeyId).sorted() == [first.accessKeyId, second.accessKeyId].sorted())
        #expect(cloud.state.accessKey(id: first.accessKeyId)?.key.userName == "alice")

        try await cloud.users.setAccessKey(first.accessKeyId, of: "alice", in: account.id, active: false)
        #expect(cloud.state.accessKey(id: first.accessKeyId)?.key.isActive == false)
        try await cloud.users.setAccessKey(first.accessKeyId, of: "alice", in: account.id, active: true)
        #expect(cloud.state.accessKey(id: first.accessKeyId)?.key.isActive == true)

        // Another account, or another user of the same account, finds no such key.
        _ = try await cloud.users.create("alice", in: other.id)
        await #expect(throws: EucaError.self) { try await cloud.users.deleteAccessKey(first.accessKeyId, of: "alice", in: other.id) }
        await #expect(throws: EucaError.self) { try await cloud.users.deleteAccessKey(first.accessKeyId, of: "admin", in: account.id) }
        #expect(cloud.state.accessKey(id: first.accessKeyId) != nil)

        // A user with keys is not deleted until they are.
        await #expect(throws: EucaError.self) { try await cloud.users.delete("alice", of: account.id) }
        try await cloud.users.deleteAccessKey(first.accessKeyId, of: "alice", in: account.id)
        try await cloud.users.deleteAccessKey(second.accessKeyId, of: "alice", in: account.id)
        #expect(cloud.state.accessKey(id: first.accessKeyId) == nil)
        try await cloud.users.delete("alice", of: account.id)
        #expect(cloud.users.user("alice", of: account.id) == nil)
        #expect(cloud.users.user("alice", of: other.id) != nil)
    }

    @Test func passwordsAreHashedCheckedAndKeepTheUserUntilRemoved() async throws {
        let (cloud, _) = try await makeCloud()
        let (account, _) = try await cloud.accounts.create(name: "lab")
        _ = try await cloud.users.create("alice", in: account.id)
        await #expect(throws: EucaError.self) {
            try await cloud.users.setPassword("short", for: "alice", in: account.id, creating: true)
        }
        await #expect(throws: EucaError.self) {
            try await cloud.users.setPassword("long enough", for: "alice", in: account.id, creating: false)
        }
        try await cloud.users.setPassword("correct horse", for: "alice", in: account.id, creating: true)
        let stored = try #require(cloud.users.user("alice", of: account.id)?.login)
        #expect(!String(decoding: try JSONEncoder().encode(stored), as: UTF8.self).contains("correct horse"))
        #expect(try await cloud.users.checkPassword("correct horse", user: "alice", account: "lab")?.name == "alice")
        #expect(try await cloud.users.checkPassword("correct horse", user: "alice", account: account.id.rawValue)?.name == "alice")
        #expect(try await cloud.users.checkPassword("correct horsE", user: "alice", account: "lab") == nil)
        #expect(try await cloud.users.checkPassword("correct horse", user: "alice", account: "elsewhere") == nil)
        #expect(try await cloud.users.checkPassword("correct horse", user: "admin", account: "lab") == nil)
        await #expect(throws: EucaError.self) {
            try await cloud.users.setPassword("another one", for: "alice", in: account.id, creating: true)
        }
        try await cloud.users.setPassword("another one", for: "alice", in: account.id, resetRequired: true, creating: false)
        #expect(try await cloud.users.checkPassword("correct horse", user: "alice", account: "lab") == nil)
        #expect(try await cloud.users.checkPassword("another one", user: "alice", account: "lab")?.login?.resetRequired == true)
        await #expect(throws: EucaError.self) { try await cloud.users.delete("alice", of: account.id) }
        try await cloud.users.deletePassword(of: "alice", in: account.id)
        #expect(try await cloud.users.checkPassword("another one", user: "alice", account: "lab") == nil)
        try await cloud.users.delete("alice", of: account.id)
    }

    @Test func aSignUpIsNothingUntilApprovedAndNothingWhenRejected() async throws {
        let (cloud, _) = try await makeCloud()
        let request = try await cloud.signups.request(account: "newlab", user: "judy", email: "judy@example.org", password: "judy's passphrase")
        #expect(cloud.signups.pending().map(\.id) == [request.id])
        #expect(cloud.accounts.named("newlab") == nil)
        #expect(try await cloud.users.checkPassword("judy's passphrase", user: "judy", account: "newlab") == nil)
        await #expect(throws: EucaError.self) {
            _ = try await cloud.signups.request(account: "newlab", user: "mallory", email: "m@example.org", password: "another passphrase")
        }
        for (account, user, email, password) in [
            ("Bad Name", "u", "u@example.org", "long enough"), ("123456789012", "u", "u@example.org", "long enough"), ("ok", "bad name", "u@example.org", "long enough"),
            ("ok", "u", "not-an-address", "long enough"), ("ok", "u", "<u>@example.org", "long enough"), ("ok", "u", "u@example.org", "short"),
        ] {
            await #expect(throws: EucaError.self, "\(account) \(user) \(email)") {
                _ = try await cloud.signups.request(account: account, user: user, email: email, password: password)
            }
        }

        let (account, user) = try await cloud.signups.approve(request.id)
        #expect(account.name == "newlab" && user.name == "judy")
        #expect(cloud.users.users(of: account.id).map(\.name) == ["admin", "judy"])
        #expect(try await cloud.users.checkPassword("judy's passphrase", user: "judy", account: "newlab")?.accountId == account.id)
        #expect(cloud.signups.pending().isEmpty)
        await #expect(throws: EucaError.self) { _ = try await cloud.signups.approve(request.id) }

        let refused = try await cloud.signups.request(account: "other", user: "admin", email: "a@example.org", password: "admin passphrase")
        try await cloud.signups.reject(refused.id)
        #expect(cloud.signups.all().first { $0.id == refused.id }?.password == nil)
        await #expect(throws: EucaError.self) { _ = try await cloud.signups.approve(refused.id) }
        #expect(cloud.accounts.named("other") == nil)
        #expect(try await cloud.users.checkPassword("admin passphrase", user: "admin", account: "other") == nil)
    }

    @Test func theMasterKeyFileIsMadeOncePrivateAndRefusedWhenDamaged() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("euca-master-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SecretSealer.loadOrCreate(directory: directory)
        let path = directory + "/" + SecretSealer.fileName
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let sealed = first.seal("the secret", context: "AKIA1")
        #expect(try SecretSealer.loadOrCreate(directory: directory).open(sealed, context: "AKIA1") == "the secret")
        try "not a key\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: EucaError.self) { _ = try SecretSealer.loadOrCreate(directory: directory) }
    }
}
