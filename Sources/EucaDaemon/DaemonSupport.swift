public import EucaCloud
import EucaCluster
public import EucaCore
import EucaEC2API
public import EucaNet
import EucaNode
public import EucaSecurity
import Foundation
public import Logging

/// Every configuration key the daemons read, for `euca-admin config-keys` and the operator's guide.
public enum AllKeys {
    /// The keys `euca-cloud` reads.
    public static let cloud: [ConfigKey] =
        DaemonSettings.keys + EC2APISettings.keys + CloudSettings.keys + ClusterSettings.keys + NodeSettings.keys
        + NetworkSettings.keys + [SampleImage.key]

    /// The keys each daemon reads, by program name.
    public static let byDaemon: [(program: String, keys: [ConfigKey])] = [
        ("euca-cloud", cloud), ("euca-clc", CloudDaemon.keys), ("euca-cc", ClusterDaemon.keys), ("euca-nc", NodeDaemon.keys),
    ]

    /// The keys `program` reads, or nil when it is none of the daemons.
    public static func keys(of program: String) -> [ConfigKey]? {
        byDaemon.first { $0.program == program }?.keys
    }

    /// The daemons' names, for an error that asks for one.
    public static var daemonNames: String { byDaemon.map(\.program).joined(separator: ", ") }

    /// Reads every setting `euca-cloud` reads from `config`, throwing the first error.
    public static func validate(_ config: EucaConfig) throws(ConfigError) {
        let daemon = try DaemonSettings(config)
        _ = try EC2APISettings(config)
        _ = try CloudSettings(config, endpoint: "")
        _ = try ClusterSettings(config)
        _ = try NodeSettings(config, defaultNode: "node", defaultInstancePath: daemon.stateDirectory + "/instances")
        _ = try NetworkSettings(config)
    }

    /// A Markdown table of `keys`.
    public static func markdown(_ keys: [ConfigKey]) -> String {
        var text = "| key | type | default | meaning |\n|---|---|---|---|\n"
        for key in keys {
            let cells = [key.type, key.defaultValue, key.summary].map { $0.replacingOccurrences(of: "|", with: "\\|") }
            text += "| `\(key.name)` | \(cells[0]) | \(cells[1]) | \(cells[2]) |\n"
        }
        return text
    }
}

public enum DaemonLogging {
    /// The swift-log level for an Eucalyptus `LOGLEVEL` name.
    public static func level(_ name: String) -> Logger.Level {
        switch name {
        case "TRACE": .trace
        case "DEBUG": .debug
        case "WARN": .warning
        case "ERROR": .error
        case "FATAL": .critical
        default: .info
        }
    }
}

/// The administrator's credentials as the aws CLI, boto3 and euca2ools read them.
public enum CredentialFiles {
    /// Writes `credentials`, `config` and `eucarc` (mode 0600) into `directory` (mode 0700).
    public static func write(to directory: String, key: AccessKey, region: String, endpoint: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let files = [
            "credentials": """
                [default]
                aws_access_key_id = \(key.accessKeyId)
                aws_secret_access_key = \(key.secretAccessKey)

                """,
            "config": """
                [default]
                region = \(region)
                output = json
                endpoint_url = \(endpoint)

                """,
            "eucarc": """
                # Euca credentials for the account \(key.accountId) (user \(key.userName)).
                export EC2_URL=\(endpoint)/services/Eucalyptus
                export EC2_ACCESS_KEY=\(key.accessKeyId)
                export EC2_SECRET_KEY=\(key.secretAccessKey)
                export AWS_ACCESS_KEY_ID=\(key.accessKeyId)
                export AWS_SECRET_ACCESS_KEY=\(key.secretAccessKey)
                export AWS_DEFAULT_REGION=\(region)
                export AWS_ENDPOINT_URL=\(endpoint)
                export AWS_SHARED_CREDENTIALS_FILE=\(directory)/credentials
                export AWS_CONFIG_FILE=\(directory)/config

                """,
        ]
        for (name, text) in files {
            let path = directory + "/" + name
            guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }
}

/// The applier for modes that do not enforce security groups (SYSTEM): it says once what it was
/// handed, so an operator is not misled into thinking rules are in force.
public actor UnenforcedNetworkApplier: NetworkApplier {
    private let logger: Logger
    private var warned = false

    public init(logger: Logger) { self.logger = logger }

    public func apply(_ plan: NetworkPlan) async throws {
        guard !plan.enforcesRules else { return }
        let rules = plan.groups.reduce(0) { $0 + $1.ingress.count + $1.egress.count }
        if !warned && rules > 0 {
            warned = true
            logger.notice("security group rules are stored but not enforced in this network mode", metadata: ["rules": "\(rules)"])
        }
    }
}

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
