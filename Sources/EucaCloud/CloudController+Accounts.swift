import EucaCore
public import EucaSecurity
import Foundation

extension CloudController {
    /// Every account.
    public func accounts() -> [AccountRecord] {
        state.read { Array($0.accounts.values) }.sorted { $0.name < $1.name }
    }

    /// Creates an account with one access key for its `admin` user.
    public func createAccount(name: String) async throws -> (AccountRecord, AccessKey) {
        guard !name.isEmpty, name.count <= 63,
            name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isLowercase || ("0"..."9").contains($0) || $0 == "-") })
        else {
            throw EucaError(.invalidParameter, .account, "Account names are 1 to 63 lowercase letters, digits or '-'.")
        }
        let account = AccountRecord(id: .generate(), name: name, isCloudAdmin: false, createdAt: Date())
        let key = AccessKey.generate(accountId: account.id, userName: "admin")
        try await commit { txn in
            for (_, existing) in try txn.all(CloudSchema.accounts) where existing.name == name {
                throw EucaError(.duplicate, .account, "An account named '\(name)' exists already.")
            }
            try txn.put(account, at: account.id.rawValue, in: CloudSchema.accounts)
            try txn.put(key, at: key.accessKeyId, in: CloudSchema.accessKeys)
        }
        logger.info("account created", metadata: ["euca.account": "\(account.id)", "name": "\(name)"])
        return (account, key)
    }

    /// The account with this name or id.
    public func account(named text: String) -> AccountRecord? {
        state.read { tables in tables.accounts.values.first { $0.name == text || $0.id.rawValue == text } }
    }
}
