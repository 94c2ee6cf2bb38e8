/// A named collection of values of one type in a ``StateStore``.
///
/// Keys are strings of at most ``StoreLimits/maxKeyBytes`` UTF-8 bytes, ordered by their bytes.
/// A collection's name must not contain a NUL character.
public struct StoreCollection<Value: Codable & Sendable>: Sendable, Hashable {
    public let name: String
    public init(_ name: String) {
        precondition(!name.isEmpty && !name.utf8.contains(0), "a collection name is non-empty and has no NUL")
        self.name = name
    }
}

/// Limits every store enforces, so code that works on one store works on all.
public enum StoreLimits {
    /// The longest key, in UTF-8 bytes.
    public static let maxKeyBytes = 400
}

/// Which keys a scan visits, in ascending byte order.
public struct ScanRange: Sendable, Hashable {
    /// Only keys that start with this prefix.
    public var prefix: String
    /// Only keys strictly after this one (for resuming a paged scan).
    public var after: String?
    /// At most this many entries.
    public var limit: Int?

    public init(prefix: String = "", after: String? = nil, limit: Int? = nil) {
        self.prefix = prefix
        self.after = after
        self.limit = limit
    }

    public static let all = ScanRange()
}

/// Reads inside a transaction. Valid only inside the closure it was passed to.
public protocol StoreReader {
    /// The value at `key`, or nil.
    func get<V>(_ key: String, from collection: StoreCollection<V>) throws -> V?
    /// Entries in ascending key order.
    func scan<V>(_ collection: StoreCollection<V>, _ range: ScanRange) throws -> [(key: String, value: V)]
}

/// Reads and writes inside a transaction. Valid only inside the closure it was passed to.
public protocol StoreWriter: StoreReader {
    /// Stores `value` at `key`, replacing what was there.
    func put<V>(_ value: V, at key: String, in collection: StoreCollection<V>) throws
    /// Removes `key`; returns whether it existed.
    @discardableResult
    func delete<V>(_ key: String, from collection: StoreCollection<V>) throws -> Bool
    /// Runs `action` after this transaction has been durably committed, before `write` returns, in
    /// commit order across transactions. It is dropped if the transaction fails. The action must be
    /// quick and must not use the store.
    func afterCommit(_ action: @escaping @Sendable () -> Void)
}

/// The durable store of desired state: typed collections, serializable transactions, ordered scans.
///
/// Contract, checked for every implementation by `StateStoreContract` in `EucaTesting`:
/// - A `write` whose closure returns has been durably committed when `write` returns; if the
///   closure throws, none of its writes are visible and the error is rethrown.
/// - Writes are serializable: each write transaction sees every write committed before it.
/// - A `read` sees a consistent snapshot; it never sees part of a write.
/// - Closures run synchronously and must not suspend; they may run on another thread.
/// - Keys longer than ``StoreLimits/maxKeyBytes`` are rejected with `StoreError.keyTooLong`.
public protocol StateStore: Sendable {
    /// Runs `body` against a consistent snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
    /// Runs `body` in a write transaction and commits it durably.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T
}

/// A failure of the store itself (not of the closure run in it).
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case io, full, corrupt, encoding, keyTooLong, closed }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The storage could not be read or written.
        public static let io = Code(.io)
        /// The store has no room left.
        public static let full = Code(.full)
        /// Stored data could not be decoded.
        public static let corrupt = Code(.corrupt)
        /// A value could not be encoded.
        public static let encoding = Code(.encoding)
        /// A key is longer than ``StoreLimits/maxKeyBytes``.
        public static let keyTooLong = Code(.keyTooLong)
        /// The store has been closed.
        public static let closed = Code(.closed)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "store \(code): \(message)" }
}

extension StoreReader {
    /// Every entry of `collection`, in key order.
    public func all<V>(_ collection: StoreCollection<V>) throws -> [(key: String, value: V)] {
        try scan(collection, .all)
    }
}

/// Checks a key against ``StoreLimits``.
public func checkStoreKey(_ key: String) throws {
    if key.utf8.count > StoreLimits.maxKeyBytes {
        throw StoreError(.keyTooLong, "key of \(key.utf8.count) bytes is over the limit of \(StoreLimits.maxKeyBytes)")
    }
}
