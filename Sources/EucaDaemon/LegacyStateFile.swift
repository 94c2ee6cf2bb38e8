public import EucaCore
import Foundation
public import Logging

/// State files earlier releases kept beside the store (a JSON array each), moved into the
/// store once at start and then removed, so every tier keeps its state one way.
public enum LegacyStateFile {
    /// Moves the entries of `file`, if it exists, into `collection` under `key`; entries the store
    /// already holds are kept as they are.
    public static func move<V: Codable & Sendable>(
        _ file: String, into store: any StateStore, _ collection: StoreCollection<V>, key: @escaping @Sendable (V) -> String,
        logger: Logger
    ) async throws {
        guard let data = FileManager.default.contents(atPath: file) else { return }
        let entries = try JSONDecoder().decode([V].self, from: data)
        try await store.write { txn in
            for entry in entries where try txn.get(key(entry), from: collection) == nil {
                try txn.put(entry, at: key(entry), in: collection)
            }
        }
        try FileManager.default.removeItem(atPath: file)
        logger.notice("state file moved into the store", metadata: ["file": "\(file)", "entries": "\(entries.count)"])
    }
}
