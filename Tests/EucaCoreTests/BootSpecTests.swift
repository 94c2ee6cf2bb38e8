import EucaCore
import Foundation
import Testing

/// `BootSpec` shares its fields between copies; it must still behave as a plain value.
@Suite struct BootSpecTests {
    let kernel = ImageArtifact(imageId: ImageID(rawValue: "aki-0123456789abcdef0"), location: "bucket/vmlinuz", sha256: "ab")
    let disk = ImageArtifact(imageId: ImageID(rawValue: "ami-0123456789abcdef0"), location: "bucket/disk.qcow2")

    @Test func aChangedCopyLeavesTheOriginalAlone() {
        let original = BootSpec(kernel: kernel, commandLine: "console=ttyS0")
        var changed = original
        changed.commandLine = "quiet"
        changed.disk = disk
        #expect(original.commandLine == "console=ttyS0" && original.disk == nil && original.kernel == kernel)
        #expect(changed.commandLine == "quiet" && changed.disk == disk && changed.kernel == kernel)
        #expect(changed != original)
    }

    @Test func equalValuesBuiltApartAreEqualAndHashAlike() {
        let one = BootSpec(kernel: kernel, disk: disk, commandLine: "x")
        let other = BootSpec(kernel: kernel, disk: disk, commandLine: "x")
        #expect(one == other)
        #expect(Set([one, other]).count == 1)
        #expect(one != BootSpec(kernel: kernel, disk: disk, commandLine: "y"))
    }

    /// Records written before the fields were shared read back the same, and are written the same.
    @Test func theStoredFormIsAKeyPerFieldWithAbsentOptionalsLeftOut() throws {
        let stored = #"{"commandLine":"","disk":{"imageId":"ami-0123456789abcdef0","location":"bucket\/disk.qcow2"}}"#
        let decoded = try JSONDecoder().decode(BootSpec.self, from: Data(stored.utf8))
        #expect(decoded == BootSpec(disk: disk))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(String(decoding: try encoder.encode(decoded), as: UTF8.self) == stored)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(BootSpec.self, from: Data("{}".utf8)) }
    }
}
