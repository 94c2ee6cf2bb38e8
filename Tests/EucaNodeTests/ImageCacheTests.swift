import Crypto
import EucaCore
import EucaNode
import EucaTesting
import Foundation
import Logging
import Testing

/// An image source that serves bytes from memory and counts downloads; with a gate, each
/// download waits until the test advances it.
actor CountingSource: ImageSource {
    var files: [String: Data]
    var downloads = 0
    let gate: ManualClock?

    init(files: [String: Data], gate: ManualClock? = nil) {
        self.files = files
        self.gate = gate
    }

    func download(_ artifact: ImageArtifact, to destination: String) async throws {
        downloads += 1
        if let gate { try await gate.sleep(for: .seconds(1)) }
        guard let data = files[artifact.location] else { throw EucaError(.notFound, .image, "no \(artifact.location)") }
        try data.write(to: URL(fileURLWithPath: destination))
    }
}

func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

func scratchDirectory(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("euca-\(name)-\(UUID())").path
}

@Suite struct ImageCacheTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func artifact(_ location: String, _ data: Data) -> ImageArtifact {
        ImageArtifact(imageId: ImageID.generate(.machine), location: location, sha256: sha256Hex(data))
    }

    @Test func concurrentLaunchesOfOneImageDownloadItOnce() async throws {
        let bytes = Data((0..<100_000).map { UInt8($0 % 251) })
        let gate = ManualClock()
        let source = CountingSource(files: ["b/disk.img": bytes], gate: gate)
        let cache = try ImageCache(directory: scratchDirectory("cache"), limitBytes: 1 << 30, source: source, logger: logger)
        let image = artifact("b/disk.img", bytes)
        let paths = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await cache.acquire(image) } }
            // All eight are under way, and the one download is held, before it may finish.
            while await cache.pinCount(image.sha256!) < 8 { await Task.yield() }
            await gate.waitForSleepers(1)
            gate.advance(by: .seconds(1))
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(paths).count == 1)
        #expect(await source.downloads == 1)
        #expect(await cache.downloadCount == 1)
        #expect(FileManager.default.contents(atPath: paths[0]) == bytes)
        // Cached now: another launch downloads nothing.
        _ = try await cache.acquire(image)
        #expect(await source.downloads == 1)
    }

    @Test func aFileThatDoesNotMatchItsChecksumIsRefusedAndNotKept() async throws {
        let directory = scratchDirectory("cache")
        let source = CountingSource(files: ["b/k": Data("tampered".utf8)])
        let cache = try ImageCache(directory: directory, limitBytes: 1 << 30, source: source, logger: logger)
        let claimed = artifact("b/k", Data("the real kernel".utf8))
        await #expect(throws: EucaError.self) { try await cache.acquire(claimed) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        #expect(await cache.checksums.isEmpty)
        // Without a checksum nothing is fetched at all.
        let unchecked = ImageArtifact(imageId: ImageID.generate(.kernel), location: "b/k", sha256: nil)
        await #expect(throws: EucaError.self) { try await cache.acquire(unchecked) }
        #expect(await source.downloads == 1)
    }

    @Test func leastRecentlyUsedFilesNotInUseAreEvictedBeyondTheLimit() async throws {
        let a = Data(repeating: 1, count: 60), b = Data(repeating: 2, count: 60), c = Data(repeating: 3, count: 60)
        let source = CountingSource(files: ["x/a": a, "x/b": b, "x/c": c])
        let cache = try ImageCache(directory: scratchDirectory("cache"), limitBytes: 100, source: source, logger: logger)
        let (ia, ib, ic) = (artifact("x/a", a), artifact("x/b", b), artifact("x/c", c))
        _ = try await cache.acquire(ia)
        await cache.release(ia.sha256!)
        _ = try await cache.acquire(ib)  // 120 bytes: a is unused and oldest, so it goes
        #expect(await cache.checksums == [ib.sha256!])
        _ = try await cache.acquire(ic)  // b and c are both in use: over the limit, nothing goes
        #expect(await cache.checksums == [ib.sha256!, ic.sha256!])
        await cache.release(ib.sha256!)  // b is free now and oldest
        #expect(await cache.checksums == [ic.sha256!])
        #expect(!FileManager.default.fileExists(atPath: cache.path(of: ib.sha256!)))
        // a again: downloaded again, since it was evicted.
        _ = try await cache.acquire(ia)
        #expect(await source.downloads == 4)
    }

    @Test func aRestartedCacheKeepsItsFilesAndDropsPartialOnes() async throws {
        let directory = scratchDirectory("cache")
        let data = Data("kernel".utf8)
        let source = CountingSource(files: ["b/k": data])
        let image = artifact("b/k", data)
        do {
            let cache = try ImageCache(directory: directory, limitBytes: 1 << 20, source: source, logger: logger)
            _ = try await cache.acquire(image)
        }
        try Data("half".utf8).write(to: URL(fileURLWithPath: directory + "/\(image.sha256!).1234.partial"))
        let again = try ImageCache(directory: directory, limitBytes: 1 << 20, source: source, logger: logger)
        #expect(await again.checksums == [image.sha256!])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [image.sha256!])
        #expect(await again.pin(image.sha256!))
        _ = try await again.acquire(image)
        #expect(await source.downloads == 1)
    }

    /// The real source behind the fake: files of the cloud's image store on this machine.
    @Test func theLocalSourceCopiesFromTheImageStoreAndNothingOutsideIt() async throws {
        let root = scratchDirectory("store")
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        let data = Data("a disk".utf8)
        try data.write(to: URL(fileURLWithPath: root + "/images/disk.img"))
        let cache = try ImageCache(
            directory: scratchDirectory("cache"), limitBytes: 1 << 20, source: LocalImageSource(root: root), logger: logger)
        let path = try await cache.acquire(artifact("images/disk.img", data))
        #expect(FileManager.default.contents(atPath: path) == data)
        // Older records name the file by its absolute path in the store.
        #expect(try LocalImageSource.resolve(root + "/images/disk.img", root: root) == root + "/images/disk.img")
        for outside in ["../etc/passwd", "images/../../x", "/etc/passwd", "a/b/c", "images"] {
            #expect(throws: EucaError.self) { try LocalImageSource.resolve(outside, root: root) }
        }
    }

    @Test func overlaysAreQcow2FilesBackedByTheCachedImage() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img") else {
            print("skipped: qemu-img is not installed (apt install qemu-utils)")
            return
        }
        let directory = scratchDirectory("overlay")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let backing = directory + "/base.raw"
        try Data(repeating: 0, count: 1 << 20).write(to: URL(fileURLWithPath: backing))
        #expect(Overlay.format(of: backing) == "raw")
        try await Overlay.create(at: directory + "/root.qcow2", backing: backing)
        #expect(Overlay.format(of: directory + "/root.qcow2") == "qcow2")
        try await Overlay.create(at: directory + "/second.qcow2", backing: directory + "/root.qcow2")
        await #expect(throws: EucaError.self) { try await Overlay.create(at: directory + "/bad.qcow2", backing: directory + "/missing") }
        #expect(!FileManager.default.fileExists(atPath: directory + "/bad.qcow2"))
    }
}
