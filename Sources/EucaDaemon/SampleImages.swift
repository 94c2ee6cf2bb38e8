public import EucaCloud
public import EucaCore
public import EucaSecurity
import Foundation
public import Logging

/// The image registered on the first start, so RunInstances works at once. It boots nothing: it
/// runs on libvirt's test driver only, until a bootable image is registered.
public enum DefaultImage {
    public static func record() -> ImageRecord {
        ImageRecord(
            id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "euca-test-empty",
            description: "An image with no operating system, for libvirt's test driver. Register a bootable image for real guests.",
            architecture: "x86_64", kernelId: nil, ramdiskId: nil, location: "builtin:empty", isPublic: true,
            createdAt: Date(), boot: BootSpec())
    }
}

/// The sample guest that `scripts/build-sample-image` builds (a Debian kernel, a busybox and
/// dropbear initramfs, a blank disk), registered once as a public image so a new cloud has an
/// instance a user can log into.
public enum SampleImage {
    public static let name = "euca-sample"
    static let files: [(file: String, kind: ImageKind)] = [("vmlinuz", .kernel), ("initrd.gz", .ramdisk), ("disk.img", .machine)]

    /// The configuration key naming the directory the sample was built in.
    public static let key = ConfigKey(
        "SAMPLE_IMAGE_DIR", type: "path", default: "(none)",
        "A directory made by scripts/build-sample-image; at start its image is registered once as the public image euca-sample.")

    /// Registers the sample in `directory` unless the cloud already has an image of that name
    /// (or the directory lacks a file). Returns the machine image's id.
    public static func registerOnce(
        directory: String, cloud: CloudController, store: ImageStore, admin: Principal, logger: Logger
    ) async throws -> ImageID? {
        if let existing = cloud.images.list(for: admin).first(where: { $0.name == name && $0.ownerId == admin.accountId }) {
            return existing.id
        }
        for (file, _) in files where !FileManager.default.fileExists(atPath: "\(directory)/\(file)") {
            logger.notice("no sample image registered: \(directory)/\(file) is missing (run scripts/build-sample-image)")
            return nil
        }
        var ids: [ImageKind: ImageID] = [:]
        for (file, kind) in files {
            let (location, _) = try store.put(file: "\(directory)/\(file)", bucket: name, name: file, kind: kind)
            let registration = ImageRegistration(
                name: kind == .machine ? name : "\(name)-\(kind.rawValue)",
                description: kind == .machine
                    ? "Debian's kernel with a busybox and dropbear initramfs: DHCP, key and user data from the metadata service, ssh as root."
                    : nil,
                location: location, kernelId: kind == .machine ? ids[.kernel]?.rawValue : nil,
                ramdiskId: kind == .machine ? ids[.ramdisk]?.rawValue : nil)
            ids[kind] = try await cloud.images.register(admin, registration).id
        }
        guard let machine = ids[.machine] else { return nil }
        try await cloud.images.modify(admin, machine.rawValue, .addLaunchPermission(users: [], all: true))
        logger.info("sample image registered", metadata: ["euca.image": "\(machine)", "directory": "\(directory)"])
        return machine
    }
}
