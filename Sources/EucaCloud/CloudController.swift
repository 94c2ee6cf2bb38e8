public import EucaCore
public import EucaNet
public import EucaSecurity
public import Foundation
public import Logging
public import ServiceLifecycle
import Crypto
import Synchronization

/// The cloud controller: accounts, key pairs, images and instances, kept durably in a
/// ``StateStore`` and driven through the clusters' ``ClusterControllerAPI``.
///
/// Every mutation is committed before it is acknowledged. Work on the clusters happens after the
/// acknowledgement, as in EC2 (an instance is `pending` until its node runs it); a reconciler
/// compares desired state with what the clusters report, on a timer and after each operation, and
/// drives each instance toward what its user asked for. It also conforms to `Service`: running
/// it runs that background work.
public final class CloudController: Service, Sendable {
    public let settings: CloudSettings
    public let state = CloudState()
    private let store: any StateStore
    private let clusters: [String: any ClusterControllerAPI]
    private let zoneOrder: [String]
    private let network: any NetworkMode
    private let logger: Logger
    private let jobs: AsyncStream<Job>
    private let jobSink: AsyncStream<Job>.Continuation
    private let work = Mutex(Work())
    private let endpoint: Mutex<String>

    enum Job: Sendable {
        case launch([InstanceID])
        case start([InstanceID])
        case stop([InstanceID])
        case terminate([InstanceID])
        case reboot([InstanceID])
        case reconcile
    }

    /// In-memory bookkeeping of work under way: instances with a cluster call in flight, and the
    /// resources pledged to launches not yet placed.
    struct Work {
        var inFlight: Set<InstanceID> = []
        var pledged: [String: [InstanceID: VMType]] = [:]
        var warnedUnknown: Set<InstanceID> = []
    }

    public init(
        store: any StateStore, clusters: [any ClusterControllerAPI], network: any NetworkMode = SystemNetworkMode(),
        settings: CloudSettings, logger: Logger
    ) {
        self.store = store
        self.clusters = Dictionary(clusters.map { ($0.zone, $0) }, uniquingKeysWith: { first, _ in first })
        self.zoneOrder = clusters.map(\.zone)
        self.network = network
        self.settings = settings
        self.logger = logger
        self.endpoint = Mutex(settings.endpoint)
        (jobs, jobSink) = AsyncStream.makeStream(of: Job.self)
    }

    /// The availability zones, one per cluster, in registration order.
    public var zones: [String] { zoneOrder }

    // MARK: - Start

    /// What the first start created, for the daemon to report.
    public struct Bootstrap: Sendable {
        public var adminAccount: AccountRecord
        public var adminKey: AccessKey
        public var defaultImageId: ImageID?
        /// True when this start created the cloud.
        public var isFirstStart: Bool
    }

    /// Loads the store into memory; on the first start, creates the administrator's account and
    /// access key and registers `defaultImage`.
    public func bootstrap(defaultImage: ImageRecord? = nil) async throws -> Bootstrap {
        try await state.load(from: store)
        if let cloud = state.read({ $0.cloud }) {
            let (account, key) = state.read { tables in
                (tables.accounts[cloud.adminAccountId], tables.accessKeys.values.first { $0.accountId == cloud.adminAccountId })
            }
            guard let account, let key else {
                throw EucaError(.internalFailure, .account, "the store names an administrator account it does not hold")
            }
            return Bootstrap(adminAccount: account, adminKey: key, defaultImageId: cloud.defaultImageId, isFirstStart: false)
        }
        let now = Date()
        let account = AccountRecord(id: .generate(), name: "eucalyptus", isCloudAdmin: true, createdAt: now)
        let key = AccessKey.generate(accountId: account.id, userName: "admin")
        let image = defaultImage.map { image in
            var owned = image
            owned.ownerId = account.id
            return owned
        }
        let cloud = CloudRecord(adminAccountId: account.id, createdAt: now, defaultImageId: image?.id)
        try await commit { txn in
            try txn.put(cloud, at: "cloud", in: CloudSchema.cloud)
            try txn.put(account, at: account.id.rawValue, in: CloudSchema.accounts)
            try txn.put(key, at: key.accessKeyId, in: CloudSchema.accessKeys)
            if let image { try txn.put(image, at: image.id.rawValue, in: CloudSchema.images) }
            return ((), { tables in
                tables.cloud = cloud
                tables.accounts[account.id] = account
                tables.accessKeys[key.accessKeyId] = key
                if let image { tables.images[image.id] = image }
            })
        }
        logger.info("cloud created", metadata: [
            "euca.account": "\(account.id)", "euca.access-key": "\(key.accessKeyId)",
            "euca.image": "\(image?.id.rawValue ?? "none")",
        ])
        return Bootstrap(adminAccount: account, adminKey: key, defaultImageId: image?.id, isFirstStart: true)
    }

    /// Runs `body` in a write transaction; its second result updates the in-memory mirror after
    /// the commit, in commit order.
    @discardableResult
    func commit<T: Sendable>(
        _ body: @escaping @Sendable (any StoreWriter) throws -> (T, @Sendable (inout CloudState.Tables) -> Void)
    ) async throws -> T {
        let state = self.state
        return try await store.write { txn in
            let (result, apply) = try body(txn)
            txn.afterCommit { state.update(apply) }
            return result
        }
    }

    // MARK: - Service

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: settings.reconcileInterval)
                        if Task.isCancelled { break }
                        await reconcile()
                    }
                }
                group.addTask { [self] in
                    await reconcile()
                    await withTaskGroup(of: Void.self) { running in
                        for await job in jobs {
                            running.addTask { await self.perform(job) }
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        jobSink.finish()
        logger.info("cloud controller stopped")
    }

    private func enqueue(_ job: Job) {
        jobSink.yield(job)
    }

    /// Runs one reconciliation pass now (the timer does this on its own).
    public func reconcileNow() async { await reconcile() }

    // MARK: - Regions, zones, types

    public struct Region: Sendable, Hashable {
        public var name: String
        public var endpoint: String
    }

    public func describeRegions() -> [Region] {
        [Region(name: settings.regionName, endpoint: endpoint.withLock { $0 })]
    }

    /// Sets the URL DescribeRegions shows, once the API knows the port it listens on.
    public func setEndpoint(_ url: String) {
        endpoint.withLock { $0 = url }
    }

    public struct Zone: Sendable, Hashable {
        public var name: String
        public var region: String
        public var state: String
    }

    public func describeAvailabilityZones() -> [Zone] {
        zoneOrder.map { Zone(name: $0, region: settings.regionName, state: "available") }
    }

    public func instanceTypes() -> [VMType] { settings.vmTypes.types }

    // MARK: - Images

    /// Images visible to `principal`: its own and public ones.
    public func images(for principal: Principal) -> [ImageRecord] {
        state.read { tables in
            tables.images.values.filter { $0.ownerId == principal.accountId || $0.isPublic }
        }.sorted { $0.id < $1.id }
    }

    /// The account id that owns the cloud (whose images are `amazon`-like system images).
    public var adminAccountId: AccountID? { state.read { $0.cloud?.adminAccountId } }

    // MARK: - Key pairs

    public func keyPairs(for principal: Principal) -> [KeyPairRecord] {
        state.read { tables in tables.keyPairs.values.filter { $0.accountId == principal.accountId } }
            .sorted { $0.name < $1.name }
    }

    static func checkKeyName(_ name: String) throws(EucaError) {
        guard !name.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must contain the parameter KeyName") }
        guard name.utf8.count <= 255, name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(name)) for parameter KeyName is invalid. Names are up to 255 printable ASCII characters.")
        }
    }

    /// Creates a key pair; the private key is returned once and never stored.
    public func createKeyPair(_ principal: Principal, name: String, type: KeyType) async throws -> (KeyPairRecord, privateKey: String) {
        try Self.checkKeyName(name)
        let generated = try KeyPairs.generate(type)
        let record = KeyPairRecord(
            id: .generate(), accountId: principal.accountId, name: name, type: type,
            fingerprint: generated.fingerprint, publicKey: generated.openSSHPublicKey, createdAt: Date())
        try await insert(record)
        logger.info("key pair created", metadata: ["euca.account": "\(principal.accountId)", "euca.key-pair": "\(name)"])
        return (record, generated.privateKeyMaterial)
    }

    /// Imports a public key.
    public func importKeyPair(_ principal: Principal, name: String, material: [UInt8]) async throws -> KeyPairRecord {
        try Self.checkKeyName(name)
        let imported = try KeyPairs.importPublicKey(material)
        let record = KeyPairRecord(
            id: .generate(), accountId: principal.accountId, name: name, type: imported.type,
            fingerprint: imported.fingerprint, publicKey: imported.openSSHPublicKey, createdAt: Date())
        try await insert(record)
        logger.info("key pair imported", metadata: ["euca.account": "\(principal.accountId)", "euca.key-pair": "\(name)"])
        return record
    }

    private func insert(_ record: KeyPairRecord) async throws {
        let key = CloudSchema.keyPairKey(record.accountId, record.name)
        try await commit { txn in
            if try txn.get(key, from: CloudSchema.keyPairs) != nil {
                throw EucaError(.duplicate, .keyPair, "The keypair '\(record.name)' already exists.")
            }
            try txn.put(record, at: key, in: CloudSchema.keyPairs)
            return ((), { $0.keyPairs[key] = record })
        }
    }

    /// Deletes a key pair by name or id. Deleting one that does not exist is not an error, as in
    /// EC2; a malformed id is.
    public func deleteKeyPair(_ principal: Principal, name: String?, id: String?) async throws -> KeyPairID? {
        if let id { _ = try KeyPairID(validating: id) }
        let account = principal.accountId
        let deleted: KeyPairID? = try await commit { txn in
            let matches = try txn.scan(CloudSchema.keyPairs, ScanRange(prefix: "\(account)/")).filter { entry in
                (name == nil || entry.value.name == name) && (id == nil || entry.value.id.rawValue == id)
            }
            guard let match = matches.first else { return (nil, { _ in }) }
            try txn.delete(match.key, from: CloudSchema.keyPairs)
            return (match.value.id, { $0.keyPairs[match.key] = nil })
        }
        if let deleted { logger.info("key pair deleted", metadata: ["euca.account": "\(account)", "euca.key-pair": "\(deleted)"]) }
        return deleted
    }

    // MARK: - Instances: reading

    /// The caller's instances grouped by reservation, oldest first. A cloud administrator asking
    /// with `verbose` sees every account's, as in Eucalyptus.
    public func reservations(for principal: Principal, allAccounts: Bool = false) -> [(ReservationRecord, [InstanceRecord])] {
        let everyone = allAccounts && principal.isCloudAdmin
        return state.read { tables in
            var grouped: [ReservationID: [InstanceRecord]] = [:]
            for instance in tables.instances.values where everyone || instance.accountId == principal.accountId {
                grouped[instance.reservationId, default: []].append(instance)
            }
            var result: [(ReservationRecord, [InstanceRecord])] = []
            result.reserveCapacity(grouped.count)
            for (id, instances) in grouped {
                guard let reservation = tables.reservations[id] else { continue }
                result.append((reservation, instances.sorted { $0.launchIndex < $1.launchIndex }))
            }
            return result
        }.sorted { ($0.0.createdAt, $0.0.id) < ($1.0.createdAt, $1.0.id) }
    }

    /// The caller's instances with these ids; throws `notFound` naming those it does not have.
    public func instances(_ ids: [InstanceID], for principal: Principal) throws(EucaError) -> [InstanceRecord] {
        var missing: [InstanceID] = []
        let found: [InstanceRecord] = state.read { tables in
            ids.compactMap { id in
                guard let instance = tables.instances[id], instance.accountId == principal.accountId || principal.isCloudAdmin else {
                    missing.append(id)
                    return nil
                }
                return instance
            }
        }
        if !missing.isEmpty {
            let list = missing.map(\.rawValue).joined(separator: ", ")
            throw EucaError(.notFound, .instance, "The instance ID\(missing.count > 1 ? "s" : "") '\(list)' \(missing.count > 1 ? "do" : "does") not exist")
        }
        return found
    }

    // MARK: - RunInstances

    /// A RunInstances request, validated by the API layer for form, here for meaning.
    public struct RunRequest: Sendable, Hashable {
        public var imageId: String
        public var instanceType: String
        public var minCount: Int
        public var maxCount: Int
        public var keyName: String?
        public var userData: Data?
        public var zone: String?
        public var kernelId: String?
        public var ramdiskId: String?
        public var clientToken: String?
        public var securityGroups: [String]
        public var shutdownBehavior: ShutdownBehavior

        public init(
            imageId: String, instanceType: String = "m1.small", minCount: Int = 1, maxCount: Int = 1,
            keyName: String? = nil, userData: Data? = nil, zone: String? = nil, kernelId: String? = nil,
            ramdiskId: String? = nil, clientToken: String? = nil, securityGroups: [String] = [],
            shutdownBehavior: ShutdownBehavior = .stop
        ) {
            self.imageId = imageId
            self.instanceType = instanceType
            self.minCount = minCount
            self.maxCount = maxCount
            self.keyName = keyName
            self.userData = userData
            self.zone = zone
            self.kernelId = kernelId
            self.ramdiskId = ramdiskId
            self.clientToken = clientToken
            self.securityGroups = securityGroups
            self.shutdownBehavior = shutdownBehavior
        }

        /// A digest of everything but the token, to tell a retry from a different request.
        var digest: String {
            var text = [imageId, instanceType, "\(minCount)", "\(maxCount)", keyName ?? "", zone ?? "", kernelId ?? "",
                        ramdiskId ?? "", securityGroups.joined(separator: ","), shutdownBehavior.rawValue].joined(separator: "\n")
            text += "\n" + (userData?.base64EncodedString() ?? "")
            return Encoding.hex(SHA256.hash(data: Array(text.utf8)))
        }
    }

    /// Launches instances. Returns the reservation once its instances are durably `pending`; a
    /// retry with the same client token returns the same reservation, also after a restart.
    public func runInstances(_ principal: Principal, _ request: RunRequest) async throws -> (ReservationRecord, [InstanceRecord]) {
        let account = principal.accountId
        guard request.minCount >= 1 else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(request.minCount)) for parameter minCount is invalid. Expected a positive value.")
        }
        guard request.maxCount >= 1 else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(request.maxCount)) for parameter maxCount is invalid. Expected a positive value.")
        }
        guard request.minCount <= request.maxCount else {
            throw EucaError(.invalidParameter, .parameter, "MinCount (\(request.minCount)) must not be greater than MaxCount (\(request.maxCount)).")
        }
        guard request.maxCount <= settings.maxInstancesPerRequest else {
            throw EucaError(.limitExceeded, .instance, "MaxCount \(request.maxCount) is over this cloud's limit of \(settings.maxInstancesPerRequest) instances per request.")
        }
        if let token = request.clientToken {
            guard !token.isEmpty, token.utf8.count <= 64, token.unicodeScalars.allSatisfy({ $0.isASCII }) else {
                throw EucaError(.invalidParameter, .parameter, "ClientToken must be 1 to 64 ASCII characters.")
            }
            if let existing = try existingReservation(account: account, token: token, digest: request.digest) { return existing }
        }

        let image = try resolveImage(request.imageId, kind: .machine, principal: principal)
        let kernel = try request.kernelId.map { try resolveImage($0, kind: .kernel, principal: principal) }
            ?? image.kernelId.flatMap { id in state.read { $0.images[id] } }
        let ramdisk = try request.ramdiskId.map { try resolveImage($0, kind: .ramdisk, principal: principal) }
            ?? image.ramdiskId.flatMap { id in state.read { $0.images[id] } }
        guard let vmType = settings.vmTypes[request.instanceType] else {
            throw EucaError(.invalidParameter, .instanceType, "Invalid value '\(request.instanceType)' for InstanceType.")
        }
        var keyPair: KeyPairRecord?
        if let keyName = request.keyName {
            keyPair = state.read { $0.keyPairs[CloudSchema.keyPairKey(account, keyName)] }
            guard keyPair != nil else { throw EucaError(.notFound, .keyPair, "The key pair '\(keyName)' does not exist") }
        }
        if let userData = request.userData, userData.count > 16384 {
            throw EucaError(.invalidParameter, .parameter, "User data is limited to 16384 bytes; this request has \(userData.count).")
        }
        let zone = try await chooseZone(request.zone, vmType: vmType, count: request.minCount)
        let available = try await availableSlots(in: zone, for: vmType)
        guard available >= request.minCount else {
            throw EucaError(
                .insufficientCapacity, .zone,
                "There is not enough capacity to fulfill your request for \(request.minCount) \(vmType.name) in \(zone): \(max(0, available)) available.")
        }
        let count = min(request.maxCount, available)

        var boot = image.boot
        if let kernel { boot.kernel = kernel.boot.kernel ?? ImageArtifact(imageId: kernel.id, location: kernel.location) }
        if let ramdisk { boot.ramdisk = ramdisk.boot.ramdisk ?? ImageArtifact(imageId: ramdisk.id, location: ramdisk.location) }
        let now = Date()
        let reservationId = ReservationID.generate()
        let groups = request.securityGroups.isEmpty ? ["default"] : request.securityGroups
        let instances: [InstanceRecord] = (0..<count).map { index in
            let id = InstanceID.generate()
            let addresses = network.addresses(for: id)
            return InstanceRecord(
                id: id, reservationId: reservationId, accountId: account, imageId: image.id, kernelId: kernel?.id,
                ramdiskId: ramdisk?.id, vmType: vmType, keyName: keyPair?.name, publicKey: keyPair?.publicKey,
                userData: request.userData, zone: zone, node: nil, state: .pending, stateReason: .pending,
                transitionReason: "", stateChangedAt: now, launchIndex: index, launchTime: now,
                clientToken: request.clientToken, macAddress: addresses.macAddress, privateIp: addresses.privateIp,
                publicIp: addresses.publicIp, shutdownBehavior: request.shutdownBehavior, boot: boot, securityGroups: groups)
        }
        let reservation = ReservationRecord(
            id: reservationId, accountId: account, instanceIds: instances.map(\.id), securityGroups: groups,
            clientToken: request.clientToken, createdAt: now)
        let tokenRecord = request.clientToken.map {
            ClientTokenRecord(token: $0, accountId: account, reservationId: reservationId, parameterDigest: request.digest)
        }

        pledge(instances, in: zone)
        let outcome: (ReservationRecord, [InstanceRecord])
        do {
            outcome = try await commit { txn in
                if let tokenRecord {
                    let key = CloudSchema.tokenKey(account, tokenRecord.token)
                    if let existing = try txn.get(key, from: CloudSchema.clientTokens) {
                        // A concurrent retry committed first: answer with its reservation.
                        guard existing.parameterDigest == tokenRecord.parameterDigest else {
                            throw EucaError(.idempotencyMismatch, .clientToken, "The client token '\(tokenRecord.token)' was used with different parameters.")
                        }
                        guard let reservation = try txn.get(existing.reservationId.rawValue, from: CloudSchema.reservations) else {
                            throw EucaError(.internalFailure, .reservation, "client token names a missing reservation")
                        }
                        let instances = try reservation.instanceIds.compactMap { try txn.get($0.rawValue, from: CloudSchema.instances) }
                        return ((reservation, instances), { _ in })
                    }
                    try txn.put(tokenRecord, at: key, in: CloudSchema.clientTokens)
                }
                try txn.put(reservation, at: reservation.id.rawValue, in: CloudSchema.reservations)
                for instance in instances { try txn.put(instance, at: instance.id.rawValue, in: CloudSchema.instances) }
                return ((reservation, instances), { tables in
                    tables.reservations[reservation.id] = reservation
                    for instance in instances { tables.instances[instance.id] = instance }
                    if let tokenRecord { tables.tokens[CloudSchema.tokenKey(account, tokenRecord.token)] = tokenRecord }
                })
            }
        } catch {
            unpledge(instances.map(\.id), in: zone)
            throw error
        }
        if outcome.0.id != reservation.id {
            unpledge(instances.map(\.id), in: zone)
            return outcome
        }
        logger.info("instances launching", metadata: [
            "euca.account": "\(account)", "euca.reservation": "\(reservation.id)", "euca.zone": "\(zone)",
            "euca.instances": "\(instances.map(\.id.rawValue).joined(separator: ","))",
        ])
        enqueue(.launch(instances.map(\.id)))
        return outcome
    }

    private func existingReservation(account: AccountID, token: String, digest: String) throws(EucaError) -> (ReservationRecord, [InstanceRecord])? {
        let found: (ClientTokenRecord, ReservationRecord?, [InstanceRecord])? = state.read { tables in
            guard let record = tables.tokens[CloudSchema.tokenKey(account, token)] else { return nil }
            let reservation = tables.reservations[record.reservationId]
            let instances = reservation?.instanceIds.compactMap { tables.instances[$0] } ?? []
            return (record, reservation, instances)
        }
        guard let (record, reservation, instances) = found else { return nil }
        guard record.parameterDigest == digest else {
            throw EucaError(.idempotencyMismatch, .clientToken, "The client token '\(token)' was used with different parameters.")
        }
        guard let reservation else { return nil }
        return (reservation, instances)
    }

    private func resolveImage(_ text: String, kind: ImageKind, principal: Principal) throws(EucaError) -> ImageRecord {
        guard let id = ImageID(parsing: text) else {
            throw EucaError(.malformedID, kind.resourceKind, "Invalid id: \"\(text)\"")
        }
        guard let image = state.read({ $0.images[id] }), image.ownerId == principal.accountId || image.isPublic else {
            throw EucaError(.notFound, kind.resourceKind, "The image id '[\(text)]' does not exist")
        }
        guard image.kind == kind else {
            throw EucaError(.invalidParameter, kind.resourceKind, "\(text) is a \(image.kind.rawValue) image, not a \(kind.rawValue) image.")
        }
        return image
    }

    private func chooseZone(_ requested: String?, vmType: VMType, count: Int) async throws -> String {
        if let requested {
            guard clusters[requested] != nil else {
                throw EucaError(.invalidParameter, .zone, "Invalid availability zone: [\(requested)]")
            }
            return requested
        }
        guard !zoneOrder.isEmpty else { throw EucaError(.unavailable, .zone, "This cloud has no clusters.") }
        // The zone with the most room, as Eucalyptus chose.
        var best = zoneOrder[0]
        var bestRoom = Int.min
        for zone in zoneOrder {
            let room = (try? await availableSlots(in: zone, for: vmType)) ?? 0
            if room > bestRoom { (best, bestRoom) = (zone, room) }
        }
        return best
    }

    /// How many more instances of `type` fit in `zone`, after what accepted launches not yet
    /// placed have pledged (placed first-fit on the cluster's free resources).
    func availableSlots(in zone: String, for type: VMType) async throws -> Int {
        guard let cluster = clusters[zone] else { return 0 }
        let resources = try await cluster.describeResources()
        var free = resources.nodes.map { ($0.freeCores, $0.freeMemoryMiB, $0.freeDiskGiB) }
        let pledged = work.withLock { Array($0.pledged[zone, default: [:]].values) }
        for claim in pledged {
            if let index = free.firstIndex(where: { $0.0 >= claim.cores && $0.1 >= claim.memoryMiB && $0.2 >= claim.diskGiB }) {
                free[index].0 -= claim.cores
                free[index].1 -= claim.memoryMiB
                free[index].2 -= claim.diskGiB
            }
        }
        return free.reduce(0) { total, node in
            total + NodeResources(node: "", totalCores: 0, freeCores: node.0, totalMemoryMiB: 0, freeMemoryMiB: node.1,
                                  totalDiskGiB: 0, freeDiskGiB: node.2, instances: 0).available(type)
        }
    }

    private func pledge(_ instances: [InstanceRecord], in zone: String) {
        work.withLock { work in
            for instance in instances { work.pledged[zone, default: [:]][instance.id] = instance.vmType }
        }
    }

    private func unpledge(_ ids: [InstanceID], in zone: String) {
        work.withLock { work in
            for id in ids { work.pledged[zone]?[id] = nil }
        }
    }

    // MARK: - Lifecycle requests

    /// One instance's state before and after a request, as EC2 reports it.
    public struct StateChange: Sendable, Hashable {
        public var instanceId: InstanceID
        public var previous: InstanceState
        public var current: InstanceState
    }

    static func transitionReason(_ what: String, at date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return "\(what) (\(formatter.string(from: date)) GMT)"
    }

    /// Applies a user request to each instance: all are checked first, and if any is unknown or in
    /// a state the request cannot apply to, nothing changes.
    private func request(_ request: InstanceRequest, _ ids: [InstanceID], by principal: Principal) async throws -> [StateChange] {
        let records = try instances(ids, for: principal)
        for record in records { _ = try InstanceLifecycle.apply(request, to: record.state, id: record.id) }
        let now = Date()
        let changes: [StateChange] = try await commit { txn in
            var changes: [StateChange] = []
            var updated: [InstanceRecord] = []
            for id in ids {
                guard var record = try txn.get(id.rawValue, from: CloudSchema.instances) else {
                    throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
                }
                let previous = record.state
                let next = try InstanceLifecycle.apply(request, to: previous, id: id)
                if next != previous {
                    record.state = next
                    record.stateChangedAt = now
                    switch request {
                    case .terminate, .stop:
                        record.stateReason = .userInitiated
                        record.transitionReason = Self.transitionReason("User initiated", at: now)
                    case .start:
                        record.stateReason = .pending
                        record.transitionReason = ""
                    case .reboot:
                        break
                    }
                    try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
                    updated.append(record)
                }
                changes.append(StateChange(instanceId: id, previous: previous, current: next))
            }
            return (changes, { [updated] tables in for record in updated { tables.instances[record.id] = record } })
        }
        logger.info("instances \(request.rawValue) requested", metadata: [
            "euca.account": "\(principal.accountId)", "euca.instances": "\(ids.map(\.rawValue).joined(separator: ","))",
        ])
        return changes
    }

    public func terminateInstances(_ principal: Principal, _ ids: [InstanceID]) async throws -> [StateChange] {
        let changes = try await request(.terminate, ids, by: principal)
        enqueue(.terminate(changes.filter { $0.current == .shuttingDown }.map(\.instanceId)))
        return changes
    }

    public func stopInstances(_ principal: Principal, _ ids: [InstanceID]) async throws -> [StateChange] {
        let changes = try await request(.stop, ids, by: principal)
        enqueue(.stop(changes.filter { $0.current == .stopping }.map(\.instanceId)))
        return changes
    }

    public func startInstances(_ principal: Principal, _ ids: [InstanceID]) async throws -> [StateChange] {
        let changes = try await request(.start, ids, by: principal)
        enqueue(.start(changes.filter { $0.previous == .stopped }.map(\.instanceId)))
        return changes
    }

    public func rebootInstances(_ principal: Principal, _ ids: [InstanceID]) async throws {
        _ = try await request(.reboot, ids, by: principal)
        enqueue(.reboot(ids))
    }

    public func consoleOutput(_ principal: Principal, _ id: InstanceID) async throws -> ConsoleOutput {
        guard let record = try instances([id], for: principal).first else {
            throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
        }
        guard let cluster = clusters[record.zone], record.state != .terminated, record.node != nil || record.state != .pending else {
            return ConsoleOutput(instanceId: id, output: Data(), timestamp: Date())
        }
        do {
            return try await cluster.getConsoleOutput(id)
        } catch let error as EucaError where error.code == .notFound {
            return ConsoleOutput(instanceId: id, output: Data(), timestamp: Date())
        }
    }

    // MARK: - Work on the clusters

    private func claim(_ ids: [InstanceID]) -> [InstanceID] {
        work.withLock { work in
            let free = ids.filter { !work.inFlight.contains($0) }
            work.inFlight.formUnion(free)
            return free
        }
    }

    private func release(_ ids: [InstanceID]) {
        work.withLock { work in work.inFlight.subtract(ids) }
    }

    private func records(_ ids: [InstanceID]) -> [InstanceRecord] {
        state.read { tables in ids.compactMap { tables.instances[$0] } }
    }

    private func perform(_ job: Job) async {
        switch job {
        case .reconcile:
            await reconcile()
        case .launch(let ids):
            await dispatch(ids, expecting: .pending) { cluster, records in
                try await cluster.runInstances(records.map(\.launch))
            }
        case .start(let ids):
            await dispatch(ids, expecting: .pending) { cluster, records in
                try await cluster.startInstances(records.map(\.launch))
            }
        case .terminate(let ids):
            await dispatch(ids, expecting: .shuttingDown) { cluster, records in
                try await cluster.terminateInstances(records.map(\.id))
            }
        case .stop(let ids):
            await dispatch(ids, expecting: .stopping) { cluster, records in
                try await cluster.stopInstances(records.map(\.id))
            }
        case .reboot(let ids):
            await dispatch(ids, expecting: .running) { cluster, records in
                try await cluster.rebootInstances(records.map(\.id))
            }
        }
    }

    /// Sends one cluster call per zone for the instances still in `expected`, then records the
    /// outcome of each.
    private func dispatch(
        _ ids: [InstanceID], expecting expected: InstanceState,
        _ call: @escaping @Sendable (any ClusterControllerAPI, [InstanceRecord]) async throws -> [InstanceOutcome]
    ) async {
        let claimed = claim(ids)
        defer { release(claimed) }
        let byZone = Dictionary(grouping: records(claimed).filter { $0.state == expected }, by: \.zone)
        for (zone, records) in byZone {
            defer { unpledge(records.map(\.id), in: zone) }
            guard let cluster = clusters[zone] else { continue }
            do {
                let outcomes = try await call(cluster, records)
                try await record(outcomes, expecting: expected)
            } catch {
                // The reconciler tries again; the desired state is already durable.
                logger.error("cluster call failed", metadata: ["euca.zone": "\(zone)", "error": "\(error)"])
            }
        }
    }

    /// Records what a cluster said it did, for instances still in `expected`.
    private func record(_ outcomes: [InstanceOutcome], expecting expected: InstanceState) async throws {
        let now = Date()
        try await commit { txn in
            var updated: [InstanceRecord] = []
            for outcome in outcomes {
                guard var record = try txn.get(outcome.instanceId.rawValue, from: CloudSchema.instances),
                    record.state == expected
                else { continue }
                var next: InstanceState?
                switch (expected, outcome.failure) {
                case (.pending, nil):
                    record.node = outcome.node ?? record.node
                    if let report = outcome.report, let state = InstanceLifecycle.reconcile(.pending, with: report.state) {
                        next = state
                    }
                case (.pending, .insufficientCapacity?):
                    next = record.launchTime == record.stateChangedAt ? .terminated : .stopped
                    record.stateReason = .insufficientCapacity
                case (.pending, .failed(let why)?):
                    next = .terminated
                    record.stateReason = .internalError(why)
                case (.pending, .notFound?):
                    next = .terminated
                    record.stateReason = .internalError("The node lost the instance.")
                case (.shuttingDown, nil), (.shuttingDown, .notFound?):
                    next = .terminated
                case (.stopping, nil):
                    next = .stopped
                case (.stopping, .notFound?):
                    next = .stopped
                default:
                    break
                }
                if let next, next != record.state {
                    record.state = next
                    record.stateChangedAt = now
                    if next == .running { record.stateReason = nil }
                    if next == .terminated && record.node == nil { record.node = nil }
                    try txn.put(record, at: record.id.rawValue, in: CloudSchema.instances)
                    updated.append(record)
                } else if outcome.node != nil, record.node != outcome.node {
                    try txn.put(record, at: record.id.rawValue, in: CloudSchema.instances)
                    updated.append(record)
                }
            }
            return ((), { [updated] tables in for record in updated { tables.instances[record.id] = record } })
        }
        for outcome in outcomes {
            if let failure = outcome.failure {
                logger.warning("instance operation failed", metadata: ["euca.instance": "\(outcome.instanceId)", "failure": "\(failure)"])
            }
        }
    }

    /// Compares each instance's desired state with what its cluster reports, writes the states
    /// that follow, and re-issues work that a restart or a failure interrupted.
    private func reconcile() async {
        for zone in zoneOrder {
            guard let cluster = clusters[zone] else { continue }
            let asOf = Date()
            let report: ClusterInstances
            do {
                report = try await cluster.describeInstances()
            } catch {
                logger.warning("cluster did not answer", metadata: ["euca.zone": "\(zone)", "error": "\(error)"])
                continue
            }
            await reconcile(zone: zone, report: report, asOf: asOf)
        }
        await purgeTerminated()
    }

    private func reconcile(zone: String, report: ClusterInstances, asOf: Date) async {
        let observed = Dictionary(report.reports.map { ($0.instanceId, $0) }, uniquingKeysWith: { first, _ in first })
        let unreachable = Set(report.unreachableNodes)
        let busy = work.withLock { $0.inFlight }
        let known = state.read { tables in tables.instances.values.filter { $0.zone == zone } }
        var transitions: [(InstanceID, InstanceState, InstanceState, NodeID?)] = []
        var relaunch: [InstanceID] = [], restart: [InstanceID] = [], reterminate: [InstanceID] = [], restop: [InstanceID] = []
        for instance in known where !busy.contains(instance.id) && instance.stateChangedAt <= asOf {
            if let node = instance.node, unreachable.contains(node) { continue }
            let seen = observed[instance.id]
            let state = seen?.state ?? .absent
            if state == .launching { continue }
            switch (instance.state, state) {
            case (.pending, .absent): relaunch.append(instance.id)
            case (.pending, .shutoff): restart.append(instance.id)
            case (.shuttingDown, .running), (.shuttingDown, .shutoff), (.shuttingDown, .crashed): reterminate.append(instance.id)
            case (.terminated, .running), (.terminated, .shutoff), (.terminated, .crashed): reterminate.append(instance.id)
            case (.stopping, .running): restop.append(instance.id)
            default: break
            }
            if let next = InstanceLifecycle.reconcile(instance.state, with: state, behavior: instance.shutdownBehavior) {
                transitions.append((instance.id, instance.state, next, seen?.node))
            }
        }
        let knownIds = Set(known.map(\.id))
        let strangers = observed.keys.filter { id in !knownIds.contains(id) && state.read({ $0.instances[id] }) == nil }
        let newStrangers = work.withLock { work in
            let fresh = strangers.filter { !work.warnedUnknown.contains($0) }
            work.warnedUnknown.formUnion(fresh)
            return fresh
        }
        for id in newStrangers {
            logger.warning("a node runs an instance this cloud does not know; it is left alone", metadata: ["euca.instance": "\(id)"])
        }

        if !transitions.isEmpty {
            let now = Date()
            let transitions = transitions
            do {
                try await commit { txn in
                    var updated: [InstanceRecord] = []
                    for (id, expected, next, node) in transitions {
                        guard var record = try txn.get(id.rawValue, from: CloudSchema.instances),
                            record.state == expected, record.stateChangedAt <= asOf
                        else { continue }
                        record.state = next
                        record.stateChangedAt = now
                        if let node { record.node = node }
                        switch (expected, next) {
                        case (.running, .terminated):
                            record.stateReason = .internalError("The instance's domain is gone from its node.")
                            record.transitionReason = Self.transitionReason("Server initiated", at: now)
                        case (.running, .stopped), (.running, .shuttingDown):
                            record.stateReason = .instanceInitiated
                            record.transitionReason = Self.transitionReason("Instance initiated", at: now)
                        case (_, .running):
                            record.stateReason = nil
                        default:
                            break
                        }
                        try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
                        updated.append(record)
                    }
                    return ((), { [updated] tables in for record in updated { tables.instances[record.id] = record } })
                }
                for (id, from, to, _) in transitions {
                    logger.info("instance state reconciled", metadata: ["euca.instance": "\(id)", "from": "\(from.name)", "to": "\(to.name)"])
                }
            } catch {
                logger.error("could not record reconciled states", metadata: ["error": "\(error)"])
            }
        }
        // Transitions to shutting-down (a guest that powered off with behaviour "terminate") need
        // their domain removed too.
        reterminate += transitions.filter { $0.2 == .shuttingDown }.map(\.0)
        if !relaunch.isEmpty {
            pledge(records(relaunch), in: zone)
            enqueue(.launch(relaunch))
        }
        if !restart.isEmpty { enqueue(.start(restart)) }
        if !reterminate.isEmpty { enqueue(.terminate(reterminate)) }
        if !restop.isEmpty { enqueue(.stop(restop)) }
    }

    /// Forgets instances terminated longer ago than the retention, and reservations left empty.
    private func purgeTerminated() async {
        let cutoff = Date().addingTimeInterval(-Double(settings.terminatedRetention.components.seconds))
        let expired = state.read { tables in
            tables.instances.values.filter { $0.state == .terminated && $0.stateChangedAt < cutoff }.map(\.id)
        }
        guard !expired.isEmpty else { return }
        do {
            try await commit { txn in
                var removed: [InstanceID] = []
                var emptied: [ReservationID] = []
                for id in expired {
                    guard let record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state == .terminated else { continue }
                    try txn.delete(id.rawValue, from: CloudSchema.instances)
                    removed.append(id)
                    if var reservation = try txn.get(record.reservationId.rawValue, from: CloudSchema.reservations) {
                        reservation.instanceIds.removeAll { $0 == id }
                        if reservation.instanceIds.allSatisfy({ expired.contains($0) }) {
                            try txn.delete(reservation.id.rawValue, from: CloudSchema.reservations)
                            emptied.append(reservation.id)
                        }
                    }
                }
                return ((), { [removed, emptied] tables in
                    for id in removed { tables.instances[id] = nil }
                    for id in emptied { tables.reservations[id] = nil }
                })
            }
            logger.info("terminated instances forgotten", metadata: ["count": "\(expired.count)"])
        } catch {
            logger.error("could not forget terminated instances", metadata: ["error": "\(error)"])
        }
    }
}
