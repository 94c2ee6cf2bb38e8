public import EucaCore
public import EucaScheduler
public import EucaSecurity
import Foundation

/// Accounts, their access keys and their terms (quotas, lease, priority) for the SLA policies.
public struct AccountService: CloudService {
    public let context: CloudContext
    let users: UserService

    init(context: CloudContext, users: UserService) {
        self.context = context
        self.users = users
    }

    /// The account id that owns the cloud (whose images are `amazon`-like system images).
    public var adminAccountId: AccountID? { state.read { $0.cloud?.adminAccountId } }

    /// Every account.
    public func all() -> [AccountRecord] {
        state.read { Array($0.accounts.values) }.sorted { $0.name < $1.name }
    }

    /// Creates an account with its `admin` user and one access key for it.
    public func create(name: String) async throws -> (AccountRecord, AccessKey) {
        try Self.checkName(name)
        let account = AccountRecord(id: .generate(), name: name, isCloudAdmin: false, createdAt: now())
        let key = AccessKey.generate(accountId: account.id, userName: "admin")
        let sealer = state.sealer
        try await commit { txn in try Self.add(account, key: key, sealer: sealer, in: txn) }
        logger.info("account created", metadata: ["euca.account": "\(account.id)", "name": "\(name)"])
        return (account, key)
    }

    /// Account names: 1 to 63 lowercase letters, digits or `-`, not all digits (so that no name
    /// can be read as another account's id).
    static func checkName(_ name: String) throws(EucaError) {
        guard !name.isEmpty, name.count <= 63,
            name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isLowercase || ("0"..."9").contains($0) || $0 == "-") })
        else {
            throw EucaError(.invalidParameter, .account, "Account names are 1 to 63 lowercase letters, digits or '-'.")
        }
        guard !name.allSatisfy(\.isNumber) else {
            throw EucaError(.invalidParameter, .account, "An account name must not be all digits: ids are.")
        }
    }

    /// The account `text` names: by its id first, then by its name.
    static func find(_ text: String, in tables: borrowing CloudState.Tables) -> AccountRecord? {
        tables.accounts[AccountID(rawValue: text)] ?? tables.accounts.values.first { $0.name == text }
    }

    /// Writes a new account, its `admin` user and that user's key, unless the name is taken.
    static func add(_ account: AccountRecord, key: AccessKey, sealer: SecretSealer, in txn: any StoreWriter) throws {
        for (_, existing) in try txn.all(CloudSchema.accounts) where existing.name == account.name {
            throw EucaError(.duplicate, .account, "An account named '\(account.name)' exists already.")
        }
        try txn.put(account, at: account.id.rawValue, in: CloudSchema.accounts)
        try UserService.addAdmin(of: account, key: key, sealer: sealer, in: txn)
    }

    /// The account with this id, or else this name.
    public func named(_ text: String) -> AccountRecord? {
        state.read { tables in Self.find(text, in: tables) }
    }

    // MARK: - Terms

    /// Sets an account's quotas, lease and priority. The lease applies to instances launched
    /// from then on.
    @discardableResult
    public func setTerms(_ terms: AccountTerms, forAccount text: String) async throws -> AccountRecord {
        guard let found = named(text) else {
            throw EucaError(.notFound, .account, "The account '\(text)' does not exist.")
        }
        for (name, value) in [("max-instances", terms.maxInstances), ("max-cores", terms.maxCores), ("max-memory", terms.maxMemoryMiB)] {
            if let value, value < 0 { throw EucaError(.invalidParameter, .parameter, "\(name) must not be negative; it is \(value).") }
        }
        if let lease = terms.leaseSeconds, lease <= 0 {
            throw EucaError(.invalidParameter, .parameter, "A lease must be at least one second; it is \(lease).")
        }
        let updated: AccountRecord = try await commit { txn in
            guard var record = try txn.get(found.id.rawValue, from: CloudSchema.accounts) else {
                throw EucaError(.notFound, .account, "The account '\(text)' does not exist.")
            }
            record.terms = terms == .none ? nil : terms
            try txn.put(record, at: record.id.rawValue, in: CloudSchema.accounts)
            return record
        }
        logger.info("account terms set", metadata: [
            "euca.account": "\(updated.id)", "max-instances": "\(terms.maxInstances.map(String.init) ?? "none")",
            "max-cores": "\(terms.maxCores.map(String.init) ?? "none")", "max-memory": "\(terms.maxMemoryMiB.map(String.init) ?? "none")",
            "lease": "\(terms.leaseSeconds.map(String.init) ?? "none")", "priority": "\(terms.priority)",
        ])
        return updated
    }

    /// An account's terms (none when it has not been given any).
    public func terms(of account: AccountID) -> AccountTerms {
        state.read { $0.accounts[account]?.terms } ?? .none
    }

    /// Every account's terms, for the policies.
    func allTerms() -> [AccountID: AccountTerms] {
        state.read { tables in tables.accounts.compactMapValues(\.terms) }
    }
}
