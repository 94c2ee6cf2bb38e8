public import EucaCore
public import EucaSecurity
import Foundation
import Synchronization

/// Key pairs: created (the private key returned once and never stored) or imported, by name
/// per account, with EC2's fingerprints.
public struct KeyPairService: CloudService {
    public let context: CloudContext

    init(context: CloudContext) { self.context = context }

    public func list(for principal: Principal) -> [KeyPairRecord] {
        state.read { tables in (tables.keyPairsByAccount[principal.accountId] ?? []).compactMap { tables.keyPairs[$0] } }
            .sorted { $0.name < $1.name }
    }

    static func checkKeyName(_ name: String) throws(EucaError) {
        guard !name.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must contain the parameter KeyName") }
        guard name.utf8.count <= 255, name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(name.prefix(64))) for parameter KeyName is invalid. Names are up to 255 printable ASCII characters.")
        }
    }

    /// Creates a key pair; the private key is returned once and never stored.
    public func create(_ principal: Principal, name: String, type: KeyType, tags: [Tag] = []) async throws -> (KeyPairRecord, privateKey: String) {
        try Self.checkKeyName(name)
        let generated = try KeyPairs.generate(type)
        let record = KeyPairRecord(
            id: .generate(), accountId: principal.accountId, name: name, type: type,
            fingerprint: generated.fingerprint, publicKey: generated.openSSHPublicKey, createdAt: now())
        try await insert(record, tags: tags)
        logger.info("key pair created", metadata: ["euca.account": "\(principal.accountId)", "euca.key-pair": "\(name)"])
        return (record, generated.privateKeyMaterial)
    }

    /// Imports a public key.
    public func importKey(_ principal: Principal, name: String, material: [UInt8], tags: [Tag] = []) async throws -> KeyPairRecord {
        try Self.checkKeyName(name)
        let imported = try KeyPairs.importPublicKey(material)
        let record = KeyPairRecord(
            id: .generate(), accountId: principal.accountId, name: name, type: imported.type,
            fingerprint: imported.fingerprint, publicKey: imported.openSSHPublicKey, createdAt: now())
        try await insert(record, tags: tags)
        logger.info("key pair imported", metadata: ["euca.account": "\(principal.accountId)", "euca.key-pair": "\(name)"])
        return record
    }

    func insert(_ record: KeyPairRecord, tags: [Tag]) async throws {
        try TagService.checkTags(tags)
        let held = state.read { tables in tables.keyPairsByAccount[record.accountId]?.count ?? 0 }
        guard held < settings.maxKeyPairsPerAccount else {
            throw EucaError(.limitExceeded, .keyPair, "The maximum number of key pairs (\(settings.maxKeyPairsPerAccount)) has been reached.")
        }
        let key = CloudSchema.keyPairKey(record.accountId, record.name)
        try await commit { txn in
            if try txn.get(key, from: CloudSchema.keyPairs) != nil {
                throw EucaError(.duplicate, .keyPair, "The keypair '\(record.name)' already exists.")
            }
            try txn.put(record, at: key, in: CloudSchema.keyPairs)
            try TagService.add(ResourceEntry(id: record.id.rawValue, type: .keyPair, accountId: record.accountId), tags: tags, in: txn)
        }
    }

    /// Deletes a key pair by name or id. Deleting one that does not exist is not an error, as in
    /// EC2; a malformed id is.
    public func delete(_ principal: Principal, name: String?, id: String?) async throws -> KeyPairID? {
        if let id { _ = try KeyPairID(validating: id) }
        let account = principal.accountId
        let deleted: KeyPairID? = try await commit { txn in
            let matches = try txn.scan(CloudSchema.keyPairs, ScanRange(prefix: "\(account)/")).filter { entry in
                (name == nil || entry.value.name == name) && (id == nil || entry.value.id.rawValue == id)
            }
            guard let match = matches.first else { return nil }
            try txn.delete(match.key, from: CloudSchema.keyPairs)
            try TagService.remove(resource: match.value.id.rawValue, in: txn)
            return match.value.id
        }
        if let deleted { logger.info("key pair deleted", metadata: ["euca.account": "\(account)", "euca.key-pair": "\(deleted)"]) }
        return deleted
    }

}
