public import EucaCore
public import EucaSecurity
import Foundation

/// Users of accounts, as IAM has them, with their access keys and passwords.
///
/// Every account has its `admin` user, made with the account; its other users are made and
/// removed through IAM's API or `euca-admin`. A user acts with its account's rights. Secrets are
/// sealed with the cloud's master key before they reach the store, and passwords are kept only
/// as scrypt hashes. Errors name the user or key as IAM does, and change nothing.
public struct UserService: CloudService {
    public let context: CloudContext

    init(context: CloudContext) { self.context = context }

    /// IAM's limit of access keys per user.
    public static let maxAccessKeysPerUser = 2
    /// IAM's default limit of users per account.
    public static let maxUsersPerAccount = 5000
    /// The user every account is made with; it is never deleted.
    public static let adminUserName = "admin"

    // MARK: - Users

    /// The user `name` (regardless of case) of `account`.
    public func user(_ name: String, of account: AccountID) -> UserRecord? {
        state.read { $0.users[CloudSchema.userKey(account, name)] }
    }

    /// The account's users whose paths start with `pathPrefix`, by name.
    public func users(of account: AccountID, pathPrefix: String = "/") -> [UserRecord] {
        let prefix = "\(account)/"
        return state.read { tables in
            tables.users.filter { $0.key.hasPrefix(prefix) && $0.value.path.hasPrefix(pathPrefix) }.map(\.value)
        }.sorted { $0.name.lowercased() < $1.name.lowercased() }
    }

    /// Makes a user of `account`.
    public func create(_ name: String, path: String = "/", in account: AccountID) async throws -> UserRecord {
        try Self.checkName(name)
        try Self.checkPath(path)
        let user = UserRecord(accountId: account, name: name, id: Self.newUserId(), path: path, createdAt: now())
        let prefix = "\(account)/"
        try await commit { txn in
            guard try txn.get(account.rawValue, from: CloudSchema.accounts) != nil else {
                throw EucaError(.notFound, .account, "The account '\(account)' does not exist.")
            }
            let key = CloudSchema.userKey(account, name)
            if let existing = try txn.get(key, from: CloudSchema.users) {
                throw EucaError(.duplicate, .user, "User with name \(existing.name) already exists.")
            }
            if try txn.scan(CloudSchema.users, ScanRange(prefix: prefix)).count >= Self.maxUsersPerAccount {
                throw EucaError(.limitExceeded, .user, "Cannot exceed quota for UsersPerAccount: \(Self.maxUsersPerAccount).")
            }
            try txn.put(user, at: key, in: CloudSchema.users)
        }
        logger.info("user created", metadata: ["euca.account": "\(account)", "euca.user": "\(name)"])
        return user
    }

    /// Removes a user that has no access keys and no password left, as IAM does. The account's
    /// `admin` user is not removed.
    public func delete(_ name: String, of account: AccountID) async throws {
        let key = CloudSchema.userKey(account, name)
        try await commit { txn in
            guard let user = try txn.get(key, from: CloudSchema.users) else { throw Self.noSuchUser(name) }
            if user.name.lowercased() == Self.adminUserName {
                throw EucaError(.operationNotPermitted, .user, "The account's admin user cannot be deleted.")
            }
            if try txn.all(CloudSchema.accessKeys).contains(where: { $0.value.accountId == account && $0.value.userName == user.name }) {
                throw EucaError(.operationNotPermitted, .user, "Cannot delete entity, must delete access keys first.")
            }
            if user.login != nil {
                throw EucaError(.operationNotPermitted, .user, "Cannot delete entity, must delete login profile first.")
            }
            try txn.delete(key, from: CloudSchema.users)
        }
        logger.info("user deleted", metadata: ["euca.account": "\(account)", "euca.user": "\(name)"])
    }

    // MARK: - Access keys

    /// The user's access keys, secrets left sealed, oldest first.
    public func accessKeys(of name: String, in account: AccountID) throws -> [StoredAccessKey] {
        guard user(name, of: account) != nil else { throw Self.noSuchUser(name) }
        let key = CloudSchema.userKey(account, name)
        return state.read { tables in (tables.accessKeysByUser[key] ?? []).compactMap { tables.accessKeys[$0] } }
            .sorted { ($0.createdAt, $0.accessKeyId) < ($1.createdAt, $1.accessKeyId) }
    }

    /// How many access keys the account's users hold.
    public func accessKeyCount(of account: AccountID) -> Int {
        let prefix = "\(account)/"
        return state.read { tables in tables.accessKeysByUser.reduce(0) { $0 + ($1.key.hasPrefix(prefix) ? $1.value.count : 0) } }
    }

    /// A new active access key for the user; its secret is shown this once.
    public func createAccessKey(for name: String, in account: AccountID) async throws -> AccessKey {
        let sealer = state.sealer
        let created = now()
        let key: AccessKey = try await commit { txn in
            guard let user = try txn.get(CloudSchema.userKey(account, name), from: CloudSchema.users) else { throw Self.noSuchUser(name) }
            let held = try txn.all(CloudSchema.accessKeys).filter { $0.value.accountId == account && $0.value.userName == user.name }.count
            guard held < Self.maxAccessKeysPerUser else {
                throw EucaError(.limitExceeded, .accessKey, "Cannot exceed quota for AccessKeysPerUser: \(Self.maxAccessKeysPerUser).")
            }
            var key = AccessKey.generate(accountId: account, userName: user.name)
            key.createdAt = created
            try txn.put(StoredAccessKey(key, sealer: sealer), at: key.accessKeyId, in: CloudSchema.accessKeys)
            return key
        }
        logger.info("access key created", metadata: ["euca.account": "\(account)", "euca.user": "\(key.userName)", "euca.access-key": "\(key.accessKeyId)"])
        return key
    }

    /// Turns a key on or off. A key turned off is refused from the next request on.
    public func setAccessKey(_ id: String, of name: String, in account: AccountID, active: Bool) async throws {
        try await changeAccessKey(id, of: name, in: account) { txn, key in
            var key = key
            key.isActive = active
            try txn.put(key, at: key.accessKeyId, in: CloudSchema.accessKeys)
        }
        logger.info(active ? "access key activated" : "access key deactivated", metadata: [
            "euca.account": "\(account)", "euca.user": "\(name)", "euca.access-key": "\(id)",
        ])
    }

    /// Removes a key. It is refused from the next request on.
    public func deleteAccessKey(_ id: String, of name: String, in account: AccountID) async throws {
        try await changeAccessKey(id, of: name, in: account) { txn, key in
            try txn.delete(key.accessKeyId, from: CloudSchema.accessKeys)
        }
        logger.info("access key deleted", metadata: ["euca.account": "\(account)", "euca.user": "\(name)", "euca.access-key": "\(id)"])
    }

    /// Runs `change` on the key `id` of the user, which must hold it: another user's or another
    /// account's key answers as a key that does not exist.
    private func changeAccessKey(
        _ id: String, of name: String, in account: AccountID, _ change: @escaping @Sendable (any StoreWriter, StoredAccessKey) throws -> Void
    ) async throws {
        try await commit { txn in
            guard let user = try txn.get(CloudSchema.userKey(account, name), from: CloudSchema.users) else { throw Self.noSuchUser(name) }
            guard let key = try txn.get(id, from: CloudSchema.accessKeys), key.accountId == account, key.userName == user.name else {
                throw EucaError(.notFound, .accessKey, "The Access Key with id \(id.prefix(128)) cannot be found.")
            }
            try change(txn, key)
        }
    }

    // MARK: - Certificates

    /// IAM's limit of signing certificates per user.
    public static let maxCertificatesPerUser = 2

    /// Records a certificate issued to the user; past IAM's two, the oldest is dropped.
    public func addCertificate(_ pem: String, id: String, for name: String, in account: AccountID) async throws {
        let at = now()
        try await commit { txn in
            let key = CloudSchema.userKey(account, name)
            guard var user = try txn.get(key, from: CloudSchema.users) else { throw Self.noSuchUser(name) }
            let kept = (user.certificates ?? []).suffix(Self.maxCertificatesPerUser - 1)
            user.certificates = Array(kept) + [UserCertificate(id: id, pem: pem, uploadedAt: at, isActive: true)]
            try txn.put(user, at: key, in: CloudSchema.users)
        }
        logger.info("certificate issued", metadata: ["euca.account": "\(account)", "euca.user": "\(name)", "certificate": "\(id.prefix(16))"])
    }

    /// The user's first active access key, with its secret, made if it has none (as Eucalyptus'
    /// credentials download did).
    public func activeKey(of name: String, in account: AccountID) async throws -> AccessKey {
        if let stored = try accessKeys(of: name, in: account).first(where: \.isActive), let key = stored.opened(by: state.sealer) {
            return key
        }
        return try await createAccessKey(for: name, in: account)
    }

    // MARK: - Passwords

    /// The shortest password taken: IAM's default password policy's minimum.
    public static let minPasswordLength = 8

    /// Gives the user a password (`creating`: one it must not have yet) or changes the one it
    /// has (`creating` false: it must have one). A nil `password` keeps the one it has.
    public func setPassword(
        _ password: String?, for name: String, in account: AccountID, resetRequired: Bool? = nil, creating: Bool
    ) async throws {
        if creating, password == nil { throw EucaError(.missingParameter, .loginProfile, "A password is required.") }
        var made: PasswordHash?
        if let password {
            try Self.checkPassword(password)
            made = try await PasswordHash.make(password)
        }
        let hash = made
        let at = now()
        try await commit { txn in
            let key = CloudSchema.userKey(account, name)
            guard var user = try txn.get(key, from: CloudSchema.users) else { throw Self.noSuchUser(name) }
            switch (user.login, creating) {
            case (.some, true):
                throw EucaError(.duplicate, .loginProfile, "Login Profile for user \(user.name) already exists.")
            case (.none, false):
                throw EucaError(.notFound, .loginProfile, "Login Profile for User \(user.name) cannot be found.")
            case (.some(var login), false):
                if let hash { login.password = hash }
                if let resetRequired { login.resetRequired = resetRequired }
                user.login = login
            case (.none, true):
                guard let hash else { throw EucaError(.missingParameter, .loginProfile, "A password is required.") }
                user.login = LoginProfile(password: hash, createdAt: at, resetRequired: resetRequired ?? false)
            }
            try txn.put(user, at: key, in: CloudSchema.users)
        }
        logger.info(creating ? "password set" : "password changed", metadata: ["euca.account": "\(account)", "euca.user": "\(name)"])
    }

    /// Takes the user's password away: it can no longer sign in.
    public func deletePassword(of name: String, in account: AccountID) async throws {
        try await commit { txn in
            let key = CloudSchema.userKey(account, name)
            guard var user = try txn.get(key, from: CloudSchema.users) else { throw Self.noSuchUser(name) }
            guard user.login != nil else {
                throw EucaError(.notFound, .loginProfile, "Login Profile for User \(user.name) cannot be found.")
            }
            user.login = nil
            try txn.put(user, at: key, in: CloudSchema.users)
        }
        logger.info("password removed", metadata: ["euca.account": "\(account)", "euca.user": "\(name)"])
    }

    /// The user whose name and password these are, or nil: the same nil for an unknown account,
    /// an unknown user, a user with no password and a wrong password. Slow by design (scrypt, on
    /// ``PasswordWork``'s thread); throws `unavailable` when too many checks are waiting.
    public func checkPassword(_ password: String, user name: String, account accountName: String) async throws -> UserRecord? {
        // Names no account or user can have are refused without a hash: their length is no secret.
        guard accountName.utf8.count <= 63, name.utf8.count <= 64, password.utf8.count <= 512 else { return nil }
        let found = state.read { tables -> UserRecord? in
            guard let account = AccountService.find(accountName, in: tables) else { return nil }
            return tables.users[CloudSchema.userKey(account.id, name)]
        }
        // An unknown user costs what a known one does, so timing tells nothing of who exists.
        guard let found, let login = found.login else {
            _ = try await Self.decoy.matches(password)
            return nil
        }
        return try await login.password.matches(password) ? found : nil
    }

    private static let decoy = try! PasswordHash.makeNow("not a password of anyone's")

    // MARK: - Checks

    /// IAM's rule for user names: 1 to 64 of letters, digits and `+=,.@_-`.
    static func checkName(_ name: String) throws(EucaError) {
        guard (1...64).contains(name.utf8.count),
            name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+=,.@_-".unicodeScalars.contains($0)) })
        else {
            throw EucaError(
                .invalidParameter, .user,
                "The user name must be 1 to 64 letters, digits or the characters +=,.@_- (got \(name.utf8.count) characters).")
        }
    }

    /// IAM's rule for paths: `/`, or `/` ... `/` of printable ASCII, at most 512 characters.
    static func checkPath(_ path: String) throws(EucaError) {
        guard path == "/"
            || ((2...512).contains(path.utf8.count) && path.hasPrefix("/") && path.hasSuffix("/")
                && path.utf8.allSatisfy { (0x21...0x7E).contains($0) })
        else {
            throw EucaError(.invalidParameter, .parameter, "The path must be '/' or start and end with '/', of printable ASCII, at most 512 characters.")
        }
    }

    /// IAM's default password policy: 8 to 128 characters, none of them control characters
    /// other than tab and line breaks.
    static func checkPassword(_ password: String) throws(EucaError) {
        guard password.count >= minPasswordLength else {
            throw EucaError(.invalidParameter, .loginProfile, "Password should have a minimum length of \(minPasswordLength).")
        }
        guard password.count <= 128, password.unicodeScalars.allSatisfy({ $0.value >= 0x20 || [0x09, 0x0A, 0x0D].contains($0.value) }) else {
            throw EucaError(.invalidParameter, .parameter, "The password must be at most 128 characters, without control characters.")
        }
    }

    public static func noSuchUser(_ name: String) -> EucaError {
        EucaError(.notFound, .user, "The user with name \(name.prefix(64)) cannot be found.")
    }

    /// A new IAM-style user id: `AIDA` and 17 random base-32 characters.
    static func newUserId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var rng = SystemRandomNumberGenerator()
        return "AIDA" + String((0..<17).map { _ in alphabet[Int(rng.next() % 32)] })
    }

    /// A user id derived from its account and name: the `admin` user's (the one STS has always
    /// answered for it), and STS' answer for a key whose user the store does not hold.
    public static func derivedUserId(_ account: AccountID, _ name: String) -> String {
        "AIDA" + StableDigest.base32("\(account.rawValue)/\(name)", count: 17)
    }

    static func adminUserId(of account: AccountID) -> String { derivedUserId(account, adminUserName) }

    // MARK: - Made with an account, and older stores

    /// `account`'s `admin` user, as it is made with the account.
    static func adminUser(of account: AccountRecord) -> UserRecord {
        UserRecord(accountId: account.id, name: adminUserName, id: adminUserId(of: account.id), path: "/", createdAt: account.createdAt)
    }

    /// Writes `account`'s `admin` user and its first access key.
    static func addAdmin(of account: AccountRecord, key: AccessKey, sealer: SecretSealer, in txn: any StoreWriter) throws {
        try txn.put(adminUser(of: account), at: CloudSchema.userKey(account.id, adminUserName), in: CloudSchema.users)
        try txn.put(StoredAccessKey(key, sealer: sealer), at: key.accessKeyId, in: CloudSchema.accessKeys)
    }

    /// Brings a store from before users and sealed secrets up to date, once: gives every account
    /// its `admin` user and seals every secret kept in plain text.
    func upgradeStore() async throws {
        let (accounts, plain) = state.read { tables in
            (
                tables.accounts.values.filter { tables.users[CloudSchema.userKey($0.id, Self.adminUserName)] == nil },
                tables.accessKeys.values.filter(\.isUnsealed)
            )
        }
        guard !accounts.isEmpty || !plain.isEmpty else { return }
        let sealer = state.sealer
        try await commit { txn in
            for account in accounts {
                try txn.put(Self.adminUser(of: account), at: CloudSchema.userKey(account.id, Self.adminUserName), in: CloudSchema.users)
            }
            for stored in plain {
                guard let key = stored.opened(by: sealer) else { continue }
                try txn.put(StoredAccessKey(key, sealer: sealer), at: key.accessKeyId, in: CloudSchema.accessKeys)
            }
        }
        logger.notice("store upgraded: users and sealed secrets", metadata: [
            "admin-users-made": "\(accounts.count)", "secrets-sealed": "\(plain.count)",
        ])
    }
}
