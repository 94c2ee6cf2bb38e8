public import EucaCore
public import EucaSecurity
import Foundation

/// A RegisterImage request.
public struct ImageRegistration: Sendable, Hashable {
    public var name: String
    public var description: String?
    public var architecture: String
    public var location: String
    public var kernelId: String?
    public var ramdiskId: String?
    public var tags: [Tag]

    public init(name: String, description: String? = nil, architecture: String = "x86_64", location: String,
                kernelId: String? = nil, ramdiskId: String? = nil, tags: [Tag] = []) {
        self.name = name
        self.description = description
        self.architecture = architecture
        self.location = location
        self.kernelId = kernelId
        self.ramdiskId = ramdiskId
        self.tags = tags
    }
}

/// A change ModifyImageAttribute or ResetImageAttribute asks for.
public enum ImageAttributeChange: Sendable, Hashable {
    case description(String)
    case kernel(String)
    case ramdisk(String)
    case addLaunchPermission(users: [String], all: Bool)
    case removeLaunchPermission(users: [String], all: Bool)
    case resetLaunchPermission
    case resetKernel
    case resetRamdisk
}

/// Images registered from the image store's objects: machine images private to their owner until
/// shared, kernels and ramdisks registered by the cloud's administrators; attributes and launch
/// permissions.
public struct ImageService: CloudService {
    public let context: CloudContext
    /// Where registered images' files come from; nil for a cloud that registers none.
    let imageStore: ImageStore?

    init(context: CloudContext, imageStore: ImageStore?) {
        self.context = context
        self.imageStore = imageStore
    }

    /// Images visible to `principal`: its own, shared with it, and public ones.
    public func list(for principal: Principal) -> [ImageRecord] {
        state.read { tables in tables.images.values.filter { $0.isVisible(to: principal.accountId) } }
            .sorted { $0.id < $1.id }
    }


    static let architectures: Set<String> = ["i386", "x86_64", "arm64"]

    static func checkImageName(_ name: String) throws(EucaError) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "()[] ./-'@_"))
        guard (3...128).contains(name.count), name.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else {
            throw EucaError(
                .invalidParameter, .image,
                "AMI names are 3 to 128 characters: letters, digits, spaces and ( ) [ ] . / - ' @ _")
        }
    }

    /// Whether registering an image from `location` needs the cloud administrator (kernels and
    /// ramdisks do), for authorization before any change (and for DryRun).
    public func registrationNeedsAdmin(_ location: String, for principal: Principal) -> Bool {
        guard let object = imageStore?.object(at: location, for: principal.accountId, isCloudAdmin: principal.isCloudAdmin) else {
            return false
        }
        return object.kind != .machine
    }

    /// Registers an image from an object in the image store that belongs to the caller's account;
    /// its kind (machine, kernel, ramdisk) comes from the store. Only the cloud administrator
    /// registers kernels and ramdisks. Another account's object answers as a missing one.
    public func register(_ principal: Principal, _ request: ImageRegistration) async throws -> ImageRecord {
        try Self.checkImageName(request.name)
        guard Self.architectures.contains(request.architecture) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(request.architecture)) for parameter architecture is invalid.")
        }
        if let description = request.description, description.count > 255 {
            throw EucaError(.invalidParameter, .parameter, "Image descriptions are at most 255 characters.")
        }
        try TagService.checkTags(request.tags)
        guard let store = imageStore else {
            throw EucaError(.unsupported, .image, "This cloud has no image store to register images from.")
        }
        guard let object = store.object(at: request.location, for: principal.accountId, isCloudAdmin: principal.isCloudAdmin) else {
            throw EucaError(.invalidParameter, .image, "The image location '\(request.location.prefix(600))' is not in the image store.")
        }
        if object.kind != .machine && !principal.isCloudAdmin {
            throw EucaError(.unauthorized, .image, "Only the cloud's administrators register kernels and ramdisks.")
        }
        let artifact = ImageArtifact(imageId: ImageID.generate(object.kind), location: store.path(of: request.location), sha256: object.sha256)
        var boot = BootSpec()
        var kernel: ImageRecord?, ramdisk: ImageRecord?
        switch object.kind {
        case .kernel: boot.kernel = artifact
        case .ramdisk: boot.ramdisk = artifact
        case .machine:
            boot.disk = artifact
            kernel = try request.kernelId.map { try resolve($0, kind: .kernel, principal: principal) }
            ramdisk = try request.ramdiskId.map { try resolve($0, kind: .ramdisk, principal: principal) }
        }
        let image = ImageRecord(
            id: artifact.imageId, ownerId: principal.accountId, name: request.name, description: request.description,
            architecture: request.architecture, kernelId: kernel?.id, ramdiskId: ramdisk?.id, location: request.location,
            isPublic: object.kind != .machine, createdAt: now(), boot: boot)
        let account = principal.accountId
        try await commit { txn in
            for (_, other) in try txn.all(CloudSchema.images) where other.ownerId == account && other.name == request.name {
                throw EucaError(.duplicate, .image, "AMI name \(request.name) is already in use by AMI \(other.id)")
            }
            try txn.put(image, at: image.id.rawValue, in: CloudSchema.images)
            try TagService.add(ResourceEntry(id: image.id.rawValue, type: .image, accountId: account), tags: request.tags, in: txn)
        }
        logger.info("image registered", metadata: ["euca.account": "\(account)", "euca.image": "\(image.id)", "location": "\(request.location)"])
        return image
    }

    /// The caller's own image with this id.
    func ownImage(_ text: String, _ principal: Principal) throws(EucaError) -> ImageRecord {
        guard let id = ImageID(parsing: text) else { throw EucaError(.malformedID, .image, "Invalid id: \"\(text)\"") }
        guard let image = state.read({ $0.images[id] }), image.isVisible(to: principal.accountId) else {
            throw EucaError(.notFound, .image, "The image id '[\(text)]' does not exist")
        }
        guard image.ownerId == principal.accountId else {
            throw EucaError(.unauthorized, .image, "You do not own the image \(text).")
        }
        return image
    }

    /// Checks that the caller owns the image: `unauthorized` for one it can see but does not own.
    public func visibleOwnedCheck(_ text: String, _ principal: Principal) throws(EucaError) -> ImageRecord {
        try ownImage(text, principal)
    }

    /// Deregisters one of the caller's images. Instances launched from it keep running.
    public func deregister(_ principal: Principal, _ text: String) async throws {
        let image = try ownImage(text, principal)
        try await commit { txn in
            guard try txn.delete(image.id.rawValue, from: CloudSchema.images) else {
                throw EucaError(.notFound, .image, "The image id '[\(text)]' does not exist")
            }
            try TagService.remove(resource: image.id.rawValue, in: txn)
        }
        logger.info("image deregistered", metadata: ["euca.account": "\(principal.accountId)", "euca.image": "\(image.id)"])
    }

    /// The image, if the caller may see it (for DescribeImageAttribute).
    public func visible(_ text: String, _ principal: Principal) throws(EucaError) -> ImageRecord {
        guard let id = ImageID(parsing: text) else { throw EucaError(.malformedID, .image, "Invalid id: \"\(text)\"") }
        guard let image = state.read({ $0.images[id] }), image.isVisible(to: principal.accountId) else {
            throw EucaError(.notFound, .image, "The image id '[\(text)]' does not exist")
        }
        return image
    }

    /// Changes or resets an attribute of one of the caller's images.
    public func modify(_ principal: Principal, _ text: String, _ change: ImageAttributeChange) async throws {
        let image = try ownImage(text, principal)
        var kernel: ImageID?, ramdisk: ImageID?
        switch change {
        case .kernel(let id): kernel = try resolve(id, kind: .kernel, principal: principal).id
        case .ramdisk(let id): ramdisk = try resolve(id, kind: .ramdisk, principal: principal).id
        case .description(let text) where text.count > 255:
            throw EucaError(.invalidParameter, .parameter, "Image descriptions are at most 255 characters.")
        case .addLaunchPermission(let users, _), .removeLaunchPermission(let users, _):
            for user in users where AccountID(parsing: user) == nil {
                throw EucaError(.invalidParameter, .parameter, "Value (\(user)) for parameter userId is invalid: account ids are 12 digits.")
            }
        default: break
        }
        try await commit { [kernel, ramdisk] txn in
            guard var record = try txn.get(image.id.rawValue, from: CloudSchema.images) else {
                throw EucaError(.notFound, .image, "The image id '[\(text)]' does not exist")
            }
            switch change {
            case .description(let text): record.description = text
            case .kernel: record.kernelId = kernel
            case .ramdisk: record.ramdiskId = ramdisk
            case .addLaunchPermission(let users, let all):
                if all { record.isPublic = true }
                for user in users.map(AccountID.init(rawValue:)) where !record.launchUsers.contains(user) { record.launchUsers.append(user) }
            case .removeLaunchPermission(let users, let all):
                if all { record.isPublic = false }
                record.launchUsers.removeAll { users.contains($0.rawValue) }
            case .resetLaunchPermission:
                record.isPublic = false
                record.launchUsers = []
            case .resetKernel: record.kernelId = record.registeredKernelId
            case .resetRamdisk: record.ramdiskId = record.registeredRamdiskId
            }
            try txn.put(record, at: record.id.rawValue, in: CloudSchema.images)
        }
        logger.info("image attribute changed", metadata: ["euca.image": "\(image.id)", "change": "\(change)"])
    }

    /// A visible image of `kind` with this id, for a launch or a machine image's kernel and ramdisk.
    func resolve(_ text: String, kind: ImageKind, principal: Principal) throws(EucaError) -> ImageRecord {
        guard let id = ImageID(parsing: text) else {
            throw EucaError(.malformedID, kind.resourceKind, "Invalid id: \"\(text)\"")
        }
        guard let image = state.read({ $0.images[id] }), image.isVisible(to: principal.accountId) else {
            throw EucaError(.notFound, kind.resourceKind, "The image id '[\(text)]' does not exist")
        }
        guard image.kind == kind else {
            throw EucaError(.invalidParameter, kind.resourceKind, "\(text) is a \(image.kind.rawValue) image, not a \(kind.rawValue) image.")
        }
        return image
    }
}
