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
