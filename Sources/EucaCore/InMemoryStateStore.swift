package import Foundation
import Synchronization

/// A ``StateStore`` held in memory: for tests, simulations and experiments that need no durability.
///
/// Values are encoded as they would be in a durable store, so a type that cannot round-trip
/// through `Codable` fails here too. Writes are serialized by a lock; `afterCommit` actions run in
/// commit order.
public final class InMemoryStateStore: StateStore {
    private let tables = Mutex<[String: [String: Data]]>([:])

    public init() {}

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let snapshot = tables.withLock { $0 }
        return try body(MemoryTransaction(tables: snapshot))
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try tables.withLock { tables in
            let transaction = MemoryTransaction(tables: tables)
            let result = try body(transaction)
            tables = transaction.tables
            transaction.isOpen = false
            for action in transaction.actions { action() }
            return result
        }
    }
}

private final class MemoryTransaction: StoreWriter {
    var tables: [String: [String: Data]]
    var actions: [@Sendable () -> Void] = []
    var isOpen = true

    init(tables: [String: [String: Data]]) { self.tables = tables }

    func get<V>(_ key: String, from collection: StoreCollection<V>) throws -> V? {
        try checkStoreKey(key)
        guard let data = tables[collection.name]?[key] else { return nil }
        return try decodeStored(V.self, from: data)
    }

    func scan<V>(_ collection: StoreCollection<V>, _ range: ScanRange) throws -> [(key: String, value: V)] {
        guard let table = tables[collection.name] else { return [] }
        var keys = table.keys.filter { key in
            key.utf8.starts(with: range.prefix.utf8)
                && (range.after.map { after in after.utf8.lexicographicallyPrecedes(key.utf8) } ?? true)
        }
        keys.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if let limit = range.limit { keys = Array(keys.prefix(max(0, limit))) }
        return try keys.map { key in (key, try decodeStored(V.self, from: table[key]!)) }
    }

    func put<V>(_ value: V, at key: String, in collection: StoreCollection<V>) throws {
        precondition(isOpen, "a transaction is used after its closure returned")
        try checkStoreKey(key)
        tables[collection.name, default: [:]][key] = try encodeStored(value)
    }

    func delete<V>(_ key: String, from collection: StoreCollection<V>) throws -> Bool {
        precondition(isOpen, "a transaction is used after its closure returned")
        try checkStoreKey(key)
        return tables[collection.name]?.removeValue(forKey: key) != nil
    }

    func afterCommit(_ action: @escaping @Sendable () -> Void) {
        actions.append(action)
    }
}

/// Encodes a stored value the way every store in this package does (JSON).
package func encodeStored<V: Encodable>(_ value: V) throws -> Data {
    do {
        return try JSONEncoder().encode(value)
    } catch {
        throw StoreError(.encoding, "cannot encode \(V.self): \(error)")
    }
}

/// Decodes a stored value the way every store in this package does (JSON).
package func decodeStored<V: Decodable>(_ type: V.Type, from data: Data) throws -> V {
    do {
        return try JSONDecoder().decode(V.self, from: data)
    } catch {
        throw StoreError(.corrupt, "cannot decode \(V.self): \(error)")
    }
}
