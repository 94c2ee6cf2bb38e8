import CLMDB
public import EucaCore
internal import Foundation
import Synchronization

/// The default ``StateStore``: one LMDB environment in a directory.
///
/// Every collection lives in LMDB's main database under the key `name NUL key`, so collections need
/// no set-up and scans within one collection are in key order. Reads run on the caller's thread in
/// a read-only transaction (the environment is opened with `MDB_NOTLS`). Writes run on one writer
/// thread: writes that arrive together are committed as one LMDB transaction (each in a nested
/// transaction of its own, so one failing write does not undo the others) and one `fsync`. A
/// `write` returns only after that commit, so every acknowledged write survives a crash.
public final class LMDBStateStore: StateStore {
    private let env: Environment
    private let writer: Writer

    /// Opens (creating if needed) the store in `directory`.
    ///
    /// - Parameters:
    ///   - mapSizeMiB: the most the store can hold; the file grows sparsely up to it.
    ///   - durable: when false, commits are not synced to disk (faster, and a crash may lose the
    ///     last writes); only for tests and simulations.
    public init(directory: String, mapSizeMiB: Int = 4096, durable: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        env = try Environment(directory: directory, mapSizeMiB: mapSizeMiB, durable: durable)
        writer = Writer(env: env)
    }

    /// Stops the writer thread (after the writes already queued) and closes the environment.
    public func close() {
        writer.stop()
        env.close()
    }

    /// Unmaps the pages of the store's file that this process has read, leaving them to the
    /// kernel's page cache, which holds them whether they are mapped or not.
    ///
    /// LMDB reads through a read-only shared map of its file, so every page a read or a write's
    /// search has touched stays in the process's resident memory, although it is only a view of
    /// the cache (writes go through `pwrite`, not the map). A page read again is mapped again
    /// from the cache, with no disk read. Safe while transactions run: the map is never written.
    public func releaseResidentPages() {
        env.releaseResidentPages()
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try env.withReadTransaction { txn in
            let reader = Transaction(txn: txn, dbi: env.dbi, writable: false)
            defer { reader.isOpen = false }
            return try body(reader)
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let result: any Sendable = try await withCheckedThrowingContinuation { continuation in
            writer.submit(Writer.Job(body: { try body($0) }, continuation: continuation))
        }
        return result as! T
    }
}

/// The LMDB environment and its main database handle.
final class Environment: @unchecked Sendable {
    // Set once in init; mdb_env_* calls are thread-safe.
    private(set) var pointer: OpaquePointer?
    private(set) var dbi: MDB_dbi = 0
    private let closed = Mutex(false)
    /// The data file's path as the kernel lists the mapping of it.
    private let dataFile: String

    init(directory: String, mapSizeMiB: Int, durable: Bool) throws {
        dataFile = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path + "/data.mdb"
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        pointer = env
        do {
            try check(mdb_env_set_mapsize(env, mapSizeMiB * 1024 * 1024), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxreaders(env, 512), "mdb_env_set_maxreaders")
            var flags = UInt32(MDB_NOTLS)
            if !durable { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, directory, flags, 0o600), "mdb_env_open \(directory)")
            var txn: OpaquePointer?
            try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
            var handle: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, nil, 0, &handle)
            guard rc == 0 else {
                mdb_txn_abort(txn)
                throw lmdbError(rc, "mdb_dbi_open")
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
            dbi = handle
        } catch {
            mdb_env_close(env)
            pointer = nil
            throw error
        }
    }

    func withReadTransaction<T>(_ body: (OpaquePointer?) throws -> T) throws -> T {
        guard !closed.withLock({ $0 }) else { throw StoreError(.closed, "the store is closed") }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(pointer, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin (read)")
        defer { mdb_txn_abort(txn) }
        return try body(txn)
    }

    func releaseResidentPages() {
        // LMDB does not say where it mapped its file (`me_mapaddr` is only set for a fixed map),
        // so the mapping is found in the process's own list of them.
        // Read to the end: the kernel reports a size of 0 for the file, and a read by that size
        // stops short in a process with many mappings.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps"), let data = try? handle.readToEnd() else { return }
        try? handle.close()
        let maps = String(decoding: data, as: UTF8.self)
        closed.withLock { closed in
            guard !closed else { return }
            for line in maps.split(separator: "\n") where line.hasSuffix(" " + dataFile) {
                let range = line.prefix { $0 != " " }.split(separator: "-")
                guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start,
                    let address = UnsafeMutableRawPointer(bitPattern: start)
                else { continue }
                _ = madvise(address, Int(end - start), MADV_DONTNEED)
            }
        }
    }

    func close() {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if !wasClosed, let pointer { mdb_env_close(pointer) }
    }
}

/// A transaction as the store's closures see it.
final class Transaction: StoreWriter {
    let txn: OpaquePointer?
    let dbi: MDB_dbi
    let writable: Bool
    var isOpen = true
    var actions: [@Sendable () -> Void] = []

    init(txn: OpaquePointer?, dbi: MDB_dbi, writable: Bool) {
        self.txn = txn
        self.dbi = dbi
        self.writable = writable
    }

    private func storedKey(_ collection: String, _ key: String) throws -> [UInt8] {
        try checkStoreKey(key)
        var bytes = Array(collection.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key.utf8)
        return bytes
    }

    func get<V>(_ key: String, from collection: StoreCollection<V>) throws -> V? {
        precondition(isOpen, "a transaction is used after its closure returned")
        var keyBytes = try storedKey(collection.name, key)
        return try keyBytes.withUnsafeMutableBytes { keyBuffer in
            var mdbKey = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            var mdbValue = MDB_val()
            let rc = mdb_get(txn, dbi, &mdbKey, &mdbValue)
            if rc == MDB_NOTFOUND { return nil }
            try check(rc, "mdb_get")
            return try decodeStored(V.self, from: Data(bytes: mdbValue.mv_data, count: mdbValue.mv_size))
        }
    }

    func scan<V>(_ collection: StoreCollection<V>, _ range: ScanRange) throws -> [(key: String, value: V)] {
        precondition(isOpen, "a transaction is used after its closure returned")
        var results: [(key: String, value: V)] = []
        if let limit = range.limit, limit <= 0 { return results }
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }

        let collectionPrefix = try storedKey(collection.name, "")
        let wanted = collectionPrefix + Array(range.prefix.utf8)
        var start = wanted
        if let after = range.after {
            let afterKey = collectionPrefix + Array(after.utf8)
            if afterKey.lexicographicallyPrecedes(wanted) == false { start = afterKey }
        }
        var rc = start.withUnsafeMutableBytes { buffer -> Int32 in
            var key = MDB_val(mv_size: buffer.count, mv_data: buffer.baseAddress)
            var value = MDB_val()
            return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
        }
        while rc == 0 {
            var key = MDB_val()
            var value = MDB_val()
            rc = mdb_cursor_get(cursor, &key, &value, MDB_GET_CURRENT)
            try check(rc, "mdb_cursor_get")
            let keyBytes = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            guard keyBytes.starts(with: wanted) else { break }
            let userKey = String(decoding: keyBytes.dropFirst(collectionPrefix.count), as: UTF8.self)
            if let after = range.after, userKey == after {
                // MDB_SET_RANGE lands on `after` itself when it exists; a paged scan starts past it.
            } else {
                let data = Data(bytes: value.mv_data, count: value.mv_size)
                results.append((userKey, try decodeStored(V.self, from: data)))
                if let limit = range.limit, results.count >= limit { break }
            }
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        if rc != 0 && rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get") }
        return results
    }

    func put<V>(_ value: V, at key: String, in collection: StoreCollection<V>) throws {
        precondition(isOpen && writable, "put outside an open write transaction")
        var keyBytes = try storedKey(collection.name, key)
        var data = try encodeStored(value)
        try keyBytes.withUnsafeMutableBytes { keyBuffer in
            try data.withUnsafeMutableBytes { valueBuffer in
                var mdbKey = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
                var mdbValue = MDB_val(mv_size: valueBuffer.count, mv_data: valueBuffer.baseAddress)
                try check(mdb_put(txn, dbi, &mdbKey, &mdbValue, 0), "mdb_put")
            }
        }
    }

    func delete<V>(_ key: String, from collection: StoreCollection<V>) throws -> Bool {
        precondition(isOpen && writable, "delete outside an open write transaction")
        var keyBytes = try storedKey(collection.name, key)
        return try keyBytes.withUnsafeMutableBytes { keyBuffer in
            var mdbKey = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            let rc = mdb_del(txn, dbi, &mdbKey, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "mdb_del")
            return true
        }
    }

    func afterCommit(_ action: @escaping @Sendable () -> Void) {
        actions.append(action)
    }
}

/// The single thread that owns LMDB's write lock, committing queued writes in groups.
final class Writer: Sendable {
    struct Job: @unchecked Sendable {
        // The closure is only ever run on the writer thread.
        let body: (Transaction) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct Queue {
        var jobs: [Job] = []
        var stopping = false
    }

    private let env: Environment
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(env: Environment) {
        self.env = env
        let thread = Thread { [self] in self.loop() }
        thread.name = "euca-lmdb-writer"
        thread.start()
    }

    func submit(_ job: Job) {
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted {
            wakeup.signal()
        } else {
            job.continuation.resume(throwing: StoreError(.closed, "the store is closed"))
        }
    }

    func stop() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        guard first else { return }
        wakeup.signal()
        finished.wait()
    }

    private func loop() {
        while true {
            wakeup.wait()
            let (jobs, stopping) = queue.withLock { queue in
                defer { queue.jobs = [] }
                return (queue.jobs, queue.stopping)
            }
            if !jobs.isEmpty { commit(jobs) }
            if stopping {
                // Anything submitted between the drain and the flag was refused by `submit`.
                finished.signal()
                return
            }
        }
    }

    private func commit(_ jobs: [Job]) {
        var results: [Result<any Sendable, any Error>] = []
        var actions: [@Sendable () -> Void] = []
        var parent: OpaquePointer?
        var rc = mdb_txn_begin(env.pointer, nil, 0, &parent)
        guard rc == 0 else {
            let error = lmdbError(rc, "mdb_txn_begin")
            for job in jobs { job.continuation.resume(throwing: error) }
            return
        }
        for job in jobs {
            var child: OpaquePointer?
            rc = mdb_txn_begin(env.pointer, parent, 0, &child)
            guard rc == 0 else {
                results.append(.failure(lmdbError(rc, "mdb_txn_begin (nested)")))
                continue
            }
            let transaction = Transaction(txn: child, dbi: env.dbi, writable: true)
            do {
                let value = try job.body(transaction)
                transaction.isOpen = false
                try check(mdb_txn_commit(child), "mdb_txn_commit (nested)")
                results.append(.success(value))
                actions.append(contentsOf: transaction.actions)
            } catch {
                if transaction.isOpen { mdb_txn_abort(child) }
                transaction.isOpen = false
                results.append(.failure(error))
            }
        }
        rc = mdb_txn_commit(parent)
        if rc != 0 {
            let error = lmdbError(rc, "mdb_txn_commit")
            for job in jobs { job.continuation.resume(throwing: error) }
            return
        }
        for action in actions { action() }
        for (job, result) in zip(jobs, results) {
            job.continuation.resume(with: result)
        }
    }
}

private func check(_ rc: Int32, _ operation: String) throws {
    if rc != 0 { throw lmdbError(rc, operation) }
}

private func lmdbError(_ rc: Int32, _ operation: String) -> StoreError {
    let text = String(cString: mdb_strerror(rc))
    let code: StoreError.Code = switch rc {
    case MDB_MAP_FULL: .full
    case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH: .corrupt
    default: .io
    }
    return StoreError(code, "\(operation): \(text)")
}
