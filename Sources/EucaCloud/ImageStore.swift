public import EucaCore
public import Foundation
import Crypto

/// The cloud's store of image files: objects named `bucket/name`, each with its metadata (kind,
/// size, SHA-256, owner) in a file beside it. RegisterImage takes an object's location.
///
/// An object belongs to the account it was uploaded for; to every other account its location is
/// as absent as one never uploaded.
public struct ImageStore: Sendable {
    public let root: String

    /// What the store knows of one object.
    public struct Object: Sendable, Codable, Hashable {
        public var kind: ImageKind
        /// `raw` or `qcow2` for machine images; `kernel` or `ramdisk` for the others.
        public var format: String
        public var size: Int64
        public var sha256: String
        public var uploadedAt: Date
        /// The account the object was uploaded for; nil for the cloud administrators'.
        public var ownerId: AccountID?

        /// Whether `account` may register an image from this object.
        public func belongs(to account: AccountID, isCloudAdmin: Bool) -> Bool {
            ownerId.map { $0 == account } ?? isCloudAdmin
        }
    }

    public init(root: String) {
        self.root = root
    }

    /// Whether `location` is `bucket/name` with safe characters and no `..`.
    public static func isValidLocation(_ location: String) -> Bool {
        let parts = location.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part != "." && part != ".." && part.count <= 255
                && part.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
        }
    }

    public func path(of location: String) -> String { "\(root)/\(location)" }

    /// The object at `location`, or nil when there is none.
    public func object(at location: String) -> Object? {
        guard Self.isValidLocation(location), let data = FileManager.default.contents(atPath: path(of: location) + ".euca.json") else {
            return nil
        }
        return try? JSONDecoder().decode(Object.self, from: data)
    }

    /// The object at `location` if it belongs to `account`; nil when there is none or it is
    /// another account's, so the two cannot be told apart.
    public func object(at location: String, for account: AccountID, isCloudAdmin: Bool) -> Object? {
        object(at: location).flatMap { $0.belongs(to: account, isCloudAdmin: isCloudAdmin) ? $0 : nil }
    }

    /// Copies `file` into the store as `bucket/name` for `owner` (nil: the cloud administrators),
    /// hashing it on the way, and records its metadata. `progress` is told the bytes copied so far
    /// and the total.
    @discardableResult
    public func put(
        file: String, bucket: String, name: String, kind: ImageKind, owner: AccountID? = nil,
        progress: ((Int64, Int64) -> Void)? = nil
    ) throws -> (location: String, object: Object) {
        let location = "\(bucket)/\(name)"
        guard Self.isValidLocation(location) else {
            throw EucaError(.invalidParameter, .image, "\(location) is not a valid location (bucket/name, letters, digits, . _ -)")
        }
        let manager = FileManager.default
        try manager.createDirectory(atPath: "\(root)/\(bucket)", withIntermediateDirectories: true)
        guard let input = FileHandle(forReadingAtPath: file) else {
            throw EucaError(.notFound, .image, "cannot read \(file)")
        }
        defer { try? input.close() }
        let total = Int64((try? manager.attributesOfItem(atPath: file)[.size] as? NSNumber)??.int64Value ?? 0)
        let partial = path(of: location) + ".partial"
        guard manager.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: partial)
        else {
            throw EucaError(.internalFailure, .image, "cannot write \(partial)")
        }
        var hasher = SHA256()
        var copied: Int64 = 0
        var head = Data()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            if head.count < 4 { head.append(chunk.prefix(4 - head.count)) }
            hasher.update(data: chunk)
            try output.write(contentsOf: chunk)
            copied += Int64(chunk.count)
            progress?(copied, total)
        }
        try output.synchronize()
        try output.close()
        let format: String = switch kind {
        case .kernel: "kernel"
        case .ramdisk: "ramdisk"
        case .machine: head.starts(with: [0x51, 0x46, 0x49, 0xFB]) ? "qcow2" : "raw"
        }
        let object = Object(
            kind: kind, format: format, size: copied, sha256: hasher.finalize().map { String(format: "%02x", $0) }.joined(),
            uploadedAt: Date(), ownerId: owner)
        if manager.fileExists(atPath: path(of: location)) { try manager.removeItem(atPath: path(of: location)) }
        try manager.moveItem(atPath: partial, toPath: path(of: location))
        try JSONEncoder().encode(object).write(to: URL(fileURLWithPath: path(of: location) + ".euca.json"), options: .atomic)
        return (location, object)
    }
}
