import EucaCore
import Foundation

/// qcow2 copy-on-write overlays: each instance writes to its own file backed by a cached image.
public enum Overlay {
    /// The format of a disk image file: `qcow2` by its magic number, else `raw`.
    public static func format(of path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "raw" }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        return magic == Data([0x51, 0x46, 0x49, 0xFB]) ? "qcow2" : "raw"
    }

    /// Creates a qcow2 overlay at `path` backed by `backing` (raw or qcow2), with `qemu-img`.
    public static func create(at path: String, backing: String, qemuImg: String = "/usr/bin/qemu-img") async throws {
        let (status, errors) = try await ChildProcess.run(qemuImg, ["create", "-q", "-f", "qcow2", "-F", format(of: backing), "-b", backing, path])
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw EucaError(.internalFailure, .node, "qemu-img could not create \(path): \(errors)")
        }
    }
}
