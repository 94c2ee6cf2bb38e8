import EucaCore
import EucaStoreLMDB
import EucaTesting
import Foundation
import Testing

func temporaryDirectory(_ label: String = "store") -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("euca-\(label)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct StateStoreContractTests {
    @Test("in-memory store", arguments: StateStoreContract.cases)
    func inMemory(_ check: StateStoreContract.Case) async throws {
        try await check.run(on: InMemoryStateStore())
    }

    @Test("LMDB store", arguments: StateStoreContract.cases)
    func lmdb(_ check: StateStoreContract.Case) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStateStore(directory: directory)
        defer { store.close() }
        try await check.run(on: store)
    }
}

@Suite struct LMDBDurabilityTests {
    struct Note: Codable, Sendable, Equatable { var text: String }
    static let notes = StoreCollection<Note>("notes")

    @Test func valuesSurviveReopening() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try LMDBStateStore(directory: directory)
            for index in 0..<20 {
                try await store.write { try $0.put(Note(text: "n\(index)"), at: String(format: "%03d", index), in: Self.notes) }
            }
            store.close()
        }
        let reopened = try LMDBStateStore(directory: directory)
        defer { reopened.close() }
        let notes = try await reopened.read { try $0.all(Self.notes) }
        #expect(notes.map(\.value.text) == (0..<20).map { "n\($0)" })
    }

    @Test func theDataFileIsPrivate() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStateStore(directory: directory)
        store.close()
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        #expect(mode & 0o077 == 0, "data.mdb has mode \(String(mode, radix: 8))")
    }

    @Test func writesAfterCloseAreRefused() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStateStore(directory: directory)
        store.close()
        await #expect(throws: StoreError.self) {
            try await store.write { try $0.put(Note(text: "late"), at: "x", in: Self.notes) }
        }
    }
}

@Suite struct LMDBResidentPagesTests {
    struct Note: Codable, Sendable, Equatable { var text: String }
    static let notes = StoreCollection<Note>("notes")

    /// Resident KiB of the process's mappings of `file`, from the kernel's own account.
    static func residentKiB(of file: String) throws -> Int {
        // Read to the end: the kernel reports a size of 0 for the file.
        let smaps = String(decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data(), as: UTF8.self)
        var inFile = false
        var total = 0
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inFile = line.hasSuffix(" " + file)
            } else if inFile && line.hasPrefix("Rss:") {
                total += Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
            }
        }
        return total
    }

    @Test func readPagesAreUnmappedAndReadAgainFromTheCache() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStateStore(directory: directory)
        defer { store.close() }
        let file = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path + "/data.mdb"
        let text = String(repeating: "x", count: 900)
        try await store.write { txn in
            for index in 0..<2_000 { try txn.put(Note(text: "\(index) \(text)"), at: String(format: "%05d", index), in: Self.notes) }
        }
        let written = try await store.read { try $0.all(Self.notes) }
        let mapped = try Self.residentKiB(of: file)
        #expect(mapped >= 1024, "reading 2,000 notes of 900 bytes mapped only \(mapped) KiB")

        store.releaseResidentPages()
        #expect(try Self.residentKiB(of: file) == 0)

        // Reads and writes go on as before, from the same data.
        #expect(try await store.read { try $0.all(Self.notes) }.map(\.value) == written.map(\.value))
        try await store.write { try $0.put(Note(text: "after"), at: "99999", in: Self.notes) }
        #expect(try await store.read { try $0.get("99999", from: Self.notes) } == Note(text: "after"))
    }

    @Test func releasingAClosedStoreDoesNothing() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStateStore(directory: directory)
        store.close()
        store.releaseResidentPages()
    }
}
