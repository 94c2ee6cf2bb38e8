public import EucaCore
import Crypto
import Foundation
public import Logging
import Metrics

/// Where a node gets image files it does not have: the cloud's image store, in process or over
/// the internal API.
public protocol ImageSource: Sendable {
    /// Writes the artifact's bytes to `destination`, a file that does not exist yet. The cache
    /// checks the checksum afterwards, so a source need not. Throws when it cannot.
    func download(_ artifact: ImageArtifact, to destination: String) async throws
}

/// A node's cache of image files (kernels, ramdisks, disk images), named by their SHA-256.
///
/// - Every file is checked against its checksum after download; a mismatch is refused and
///   nothing is kept.
/// - Concurrent requests for one file share one download.
/// - When the files exceed `limitBytes`, the least recently used ones go, except those in use
///   (a kernel a defined domain boots, a disk an instance's overlay is backed by). A file larger
///   than the whole limit is still kept while it is used.
public actor ImageCache {
    public nonisolated let directory: String
    public nonisolated let limitBytes: Int64
    private let source: any ImageSource
    private let logger: Logger
    private var entries: [String: Entry] = [:]
    private var downloads: [String: Task<String, any Error>] = [:]
    private var pinned: [String: Int] = [:]
    private var clock: UInt64 = 0
    /// How many files were downloaded since the cache was made.
    public private(set) var downloadCount = 0
    private let downloadsMetric = Counter(label: "euca_image_cache_downloads_total")
    private let refusedMetric = Counter(label: "euca_image_cache_checksum_failures_total")
    private let evictedMetric = Counter(label: "euca_image_cache_evictions_total")
    private let bytesMetric = Gauge(label: "euca_image_cache_bytes")

    struct Entry {
        var size: Int64
        var lastUse: UInt64
    }

    public init(directory: String, limitBytes: Int64, source: any ImageSource, logger: Logger) throws {
        self.directory = directory
        self.limitBytes = limitBytes
        self.source = source
        self.logger = logger
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Files from before a restart count, oldest first by modification time; partial downloads go.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var found: [(String, Int64, Date)] = []
        for name in names {
            let path = "\(directory)/\(name)"
            guard Self.isChecksum(name) else {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            found.append((name, size, attributes?[.modificationDate] as? Date ?? .distantPast))
        }
        for (name, size, _) in found.sorted(by: { $0.2 < $1.2 }) {
            clock += 1
            entries[name] = Entry(size: size, lastUse: clock)
        }
    }

    static func isChecksum(_ name: String) -> Bool {
        name.utf8.count == 64 && name.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Where the file with this checksum is (or would be) kept.
    public nonisolated func path(of sha256: String) -> String { "\(directory)/\(sha256)" }

    /// The bytes the cached files take.
    public var usedBytes: Int64 { entries.values.reduce(0) { $0 + $1.size } }
    /// The checksums of the cached files.
    public var checksums: Set<String> { Set(entries.keys) }

    /// The local path of the artifact's file, downloading and checking it first if need be. The
    /// file is pinned (never evicted) until ``release(_:)`` is called as often as this.
    public func acquire(_ artifact: ImageArtifact) async throws -> String {
        guard let sha = artifact.sha256?.lowercased(), Self.isChecksum(sha) else {
            throw EucaError(.invalidParameter, .image, "image \(artifact.imageId) has no SHA-256 checksum; the node will not use it")
        }
        pinned[sha, default: 0] += 1
        do {
            let path = try await fetch(sha, artifact)
            clock += 1
            entries[sha]?.lastUse = clock
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: path)
            return path
        } catch {
            unpin(sha)
            throw error
        }
    }

    /// How many uses (acquired and not released, or under way) hold the file with this checksum.
    public func pinCount(_ sha256: String) -> Int { pinned[sha256.lowercased()] ?? 0 }

    /// Pins a file that is already cached (after a restart, for the instances that use it).
    /// Returns false when the file is not in the cache.
    @discardableResult
    public func pin(_ sha256: String) -> Bool {
        guard entries[sha256.lowercased()] != nil else { return false }
        pinned[sha256.lowercased(), default: 0] += 1
        return true
    }

    /// Ends one use of a file; it may be evicted once no use is left.
    public func release(_ sha256: String) {
        unpin(sha256.lowercased())
        evict()
    }

    private func unpin(_ sha: String) {
        guard let count = pinned[sha] else { return }
        pinned[sha] = count > 1 ? count - 1 : nil
    }

    private func fetch(_ sha: String, _ artifact: ImageArtifact) async throws -> String {
        let path = "\(directory)/\(sha)"
        if entries[sha] != nil, FileManager.default.fileExists(atPath: path) { return path }
        if let running = downloads[sha] { return try await running.value }
        let task = Task { try await self.download(sha, artifact, to: path) }
        downloads[sha] = task
        defer { downloads[sha] = nil }
        return try await task.value
    }

    private func download(_ sha: String, _ artifact: ImageArtifact, to path: String) async throws -> String {
        let partial = "\(path).\(UUID().uuidString).partial"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        let started = ContinuousClock.now
        downloadCount += 1
        downloadsMetric.increment()
        try await source.download(artifact, to: partial)
        let (digest, size) = try Self.sha256(of: partial)
        guard digest == sha else {
            refusedMetric.increment()
            logger.error("image checksum mismatch; refused", metadata: [
                "euca.image": "\(artifact.imageId)", "expected": "\(sha)", "actual": "\(digest)",
            ])
            throw EucaError(.invalidParameter, .image, "image \(artifact.imageId) does not match its SHA-256 checksum")
        }
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: partial)
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        clock += 1
        entries[sha] = Entry(size: size, lastUse: clock)
        bytesMetric.record(usedBytes)
        logger.info("image cached", metadata: [
            "euca.image": "\(artifact.imageId)", "bytes": "\(size)", "seconds": "\(ContinuousClock.now - started)",
        ])
        evict()
        return path
    }

    /// Removes least recently used files that nothing uses until the cache fits its limit.
    private func evict() {
        var used = usedBytes
        guard used > limitBytes else { return }
        let candidates = entries.filter { pinned[$0.key] == nil }.sorted { $0.value.lastUse < $1.value.lastUse }
        for (sha, entry) in candidates where used > limitBytes {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(sha)")
            entries[sha] = nil
            used -= entry.size
            evictedMetric.increment()
            bytesMetric.record(used)
            logger.info("image evicted from the cache", metadata: ["sha256": "\(sha)", "bytes": "\(entry.size)"])
        }
    }

    static func sha256(of path: String) throws -> (String, Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw EucaError(.internalFailure, .image, "cannot read \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }
}

/// An ``ImageSource`` on this machine's disk: the cloud's image store when the node runs in the
/// same process or on the same host as the cloud controller.
public struct LocalImageSource: ImageSource {
    /// The image store's directory; artifact locations are `bucket/name` under it (or absolute
    /// paths under it, as older records have them).
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func download(_ artifact: ImageArtifact, to destination: String) async throws {
        let path = try Self.resolve(artifact.location, root: root)
        do {
            try FileManager.default.copyItem(atPath: path, toPath: destination)
        } catch {
            throw EucaError(.notFound, .image, "image \(artifact.imageId) is not in the image store (\(artifact.location))")
        }
    }

    /// The file of a location in the store rooted at `root`; refuses anything outside it.
    public static func resolve(_ location: String, root: String) throws -> String {
        let base = URL(fileURLWithPath: root).standardizedFileURL.path
        let path = location.hasPrefix("/") ? URL(fileURLWithPath: location).standardizedFileURL.path : "\(base)/\(location)"
        let relative = path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : ""
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw EucaError(.invalidParameter, .image, "\(location) is not a location in the image store")
        }
        return path
    }
}
