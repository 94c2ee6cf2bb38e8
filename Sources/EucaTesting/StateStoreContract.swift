public import EucaCore
import Synchronization

/// A failed check in a contract suite: which case, and what was expected.
public struct ContractViolation: Error, CustomStringConvertible {
    public var check: String
    public var detail: String
    public var description: String { "\(check): \(detail)" }
}

/// The behaviour every ``StateStore`` must have, as named cases a test runs against each store.
///
/// ```swift
/// @Test(arguments: StateStoreContract.cases)
/// func lmdb(_ check: StateStoreContract.Case) async throws {
///     try await check.run(on: try LMDBStateStore(directory: temporaryDirectory()))
/// }
/// ```
public enum StateStoreContract {
    public struct Case: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (any StateStore) async throws -> Void
        public var description: String { name }
        /// Runs the check against a new, empty store.
        public func run(on store: any StateStore) async throws { try await body(store) }
    }

    struct Item: Codable, Sendable, Equatable {
        var name: String
        var size: Int
    }

    static let items = StoreCollection<Item>("contract.items")
    static let others = StoreCollection<Item>("contract.others")

    static func expect(_ condition: Bool, _ check: String, _ detail: @autoclosure () -> String) throws {
        if !condition { throw ContractViolation(check: check, detail: detail()) }
    }

    struct Rejected: Error {}

    public static let cases: [Case] = [
        Case(name: "a written value is read back, in a later transaction and in the same one") { store in
            let seen = try await store.write { txn in
                try txn.put(Item(name: "a", size: 1), at: "k1", in: items)
                return try txn.get("k1", from: items)
            }
            try expect(seen == Item(name: "a", size: 1), "read-your-writes", "saw \(String(describing: seen))")
            let later = try await store.read { try $0.get("k1", from: items) }
            try expect(later == Item(name: "a", size: 1), "durable read", "saw \(String(describing: later))")
            let missing = try await store.read { try $0.get("nope", from: items) }
            try expect(missing == nil, "missing key", "saw \(String(describing: missing))")
        },
        Case(name: "a closure that throws leaves nothing behind") { store in
            try await store.write { try $0.put(Item(name: "kept", size: 1), at: "k", in: items) }
            do {
                try await store.write { txn in
                    try txn.put(Item(name: "changed", size: 2), at: "k", in: items)
                    try txn.put(Item(name: "new", size: 3), at: "n", in: items)
                    throw Rejected()
                }
                throw ContractViolation(check: "rollback", detail: "write did not rethrow")
            } catch is Rejected {}
            let (kept, new) = try await store.read { (try $0.get("k", from: items), try $0.get("n", from: items)) }
            try expect(kept == Item(name: "kept", size: 1) && new == nil, "rollback", "saw \(String(describing: kept)), \(String(describing: new))")
        },
        Case(name: "one failing write among concurrent ones does not undo the others") { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        do {
                            try await store.write { txn in
                                try txn.put(Item(name: "w\(index)", size: index), at: "w\(index)", in: items)
                                if index % 5 == 0 { throw Rejected() }
                            }
                        } catch is Rejected {}
                    }
                }
                try await group.waitForAll()
            }
            let stored = try await store.read { try $0.all(items) }
            let expected = (0..<40).filter { $0 % 5 != 0 }.map { "w\($0)" }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            try expect(stored.map(\.key) == expected, "isolation of failures", "stored \(stored.map(\.key))")
        },
        Case(name: "scans are in byte order, by prefix, after a key and limited") { store in
            let keys = ["b", "a", "ab", "a/2", "a/10", "a/1", "B", "é", "z"]
            try await store.write { txn in
                for key in keys { try txn.put(Item(name: key, size: key.count), at: key, in: items) }
                try txn.put(Item(name: "other", size: 0), at: "a/3", in: others)
            }
            let all = try await store.read { try $0.scan(items, .all).map(\.key) }
            let sorted = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            try expect(all == sorted, "order", "\(all) != \(sorted)")
            let prefixed = try await store.read { try $0.scan(items, ScanRange(prefix: "a/")).map(\.key) }
            try expect(prefixed == ["a/1", "a/10", "a/2"], "prefix", "\(prefixed)")
            let after = try await store.read { try $0.scan(items, ScanRange(prefix: "a/", after: "a/1")).map(\.key) }
            try expect(after == ["a/10", "a/2"], "after", "\(after)")
            let afterMissing = try await store.read { try $0.scan(items, ScanRange(after: "aa", limit: 2)).map(\.key) }
            try expect(afterMissing == ["ab", "b"], "after a key that is not stored, limited", "\(afterMissing)")
            let none = try await store.read { try $0.scan(items, ScanRange(limit: 0)).map(\.key) }
            try expect(none.isEmpty, "limit 0", "\(none)")
            let other = try await store.read { try $0.all(others).map(\.value.name) }
            try expect(other == ["other"], "collections are separate", "\(other)")
        },
        Case(name: "delete reports whether the key existed") { store in
            try await store.write { try $0.put(Item(name: "x", size: 1), at: "x", in: items) }
            let (first, second) = try await store.write { txn in
                (try txn.delete("x", from: items), try txn.delete("x", from: items))
            }
            try expect(first && !second, "delete", "first \(first), second \(second)")
            let gone = try await store.read { try $0.get("x", from: items) }
            try expect(gone == nil, "deleted", "\(String(describing: gone))")
        },
        Case(name: "concurrent read-modify-write transactions are serialized") { store in
            try await store.write { try $0.put(Item(name: "counter", size: 0), at: "c", in: items) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await store.write { txn in
                            var item = try txn.get("c", from: items)!
                            item.size += 1
                            try txn.put(item, at: "c", in: items)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let count = try await store.read { try $0.get("c", from: items)?.size }
            try expect(count == 50, "serializable", "counter is \(String(describing: count))")
        },
        Case(name: "afterCommit actions run once per committed write, in commit order, and not after a failure") { store in
            let log = Mutex<[Int]>([])
            for index in 0..<5 {
                try await store.write { txn in
                    try txn.put(Item(name: "h", size: index), at: "h", in: items)
                    txn.afterCommit { log.withLock { $0.append(index) } }
                }
            }
            _ = try? await store.write { txn in
                txn.afterCommit { log.withLock { $0.append(99) } }
                throw Rejected()
            }
            let seen = log.withLock { $0 }
            try expect(seen == [0, 1, 2, 3, 4], "afterCommit", "\(seen)")
        },
        Case(name: "keys over the limit are refused") { store in
            let long = String(repeating: "k", count: StoreLimits.maxKeyBytes + 1)
            do {
                try await store.write { try $0.put(Item(name: "long", size: 0), at: long, in: items) }
                throw ContractViolation(check: "key limit", detail: "a \(long.count)-byte key was accepted")
            } catch let error as StoreError {
                try expect(error.code == .keyTooLong, "key limit", "\(error)")
            }
            let exact = String(repeating: "k", count: StoreLimits.maxKeyBytes)
            try await store.write { try $0.put(Item(name: "exact", size: 0), at: exact, in: items) }
        },
    ]
}
