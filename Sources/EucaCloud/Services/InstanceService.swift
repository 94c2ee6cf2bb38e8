import Crypto
public import EucaCore
import EucaNet
public import EucaScheduler
public import EucaSecurity
public import Foundation
import Synchronization

/// A change ModifyInstanceAttribute asks for.
public enum InstanceAttributeChange: Sendable, Hashable {
    case instanceType(String)
    case userData(Data)
    case terminationProtection(Bool)
    case stopProtection(Bool)
    case shutdownBehavior(ShutdownBehavior)
    case groups([String])
}

/// An instance's health as DescribeInstanceStatus reports it.
public enum InstanceHealth: String, Sendable {
    case ok, impaired, initializing
    case notApplicable = "not-applicable"
}

extension StateReason {
    /// The instance's lease ended (an SLA policy's review).
    public static let leaseExpired = StateReason(code: "Server.LeaseExpired", message: "Server.LeaseExpired: The instance's lease ended")
    /// The instance was ended to make room for an account of higher priority.
    public static let preempted = StateReason(
        code: "Server.Preempted", message: "Server.Preempted: Ended to make room for a launch of higher priority")
}

/// Instances: launches (admitted by the SLA policies, placed in a zone, recorded, handed to the
/// reconciler's queue), state changes, attributes, console output and health.
public struct InstanceService: CloudService {
    public let context: CloudContext
    let work: InstanceWork
    let accounts: AccountService
    let images: ImageService
    let keyPairs: KeyPairService
    let securityGroups: SecurityGroupService
    let vpcs: VPCService
    let network: any NetworkMode
    /// The pool instances' own public addresses come from (`VNET_PUBLICIPS`), on a VPC network.
    var publicPool: [String]?
    /// The service-level policies, asked in order on admission.
    let slaPolicies: [any SLAPolicy]

    func enqueue(_ kind: InstanceWork.Kind) { work.enqueue(kind) }

    func cluster(_ zone: String) -> (any ClusterControllerAPI)? { context.cluster(zone) }
    var zoneOrder: [String] { context.zoneOrder }

    // MARK: - Instances: reading

    /// The caller's instances grouped by reservation, oldest first. A cloud administrator asking
    /// with `verbose` sees every account's, as in Eucalyptus.
    public func reservations(for principal: Principal, allAccounts: Bool = false) -> [(ReservationRecord, [InstanceRecord])] {
        let everyone = allAccounts && principal.isCloudAdmin
        let (instances, reservations) = state.read { tables in
            (everyone ? Array(tables.instances.values) : tables.instances(of: principal.accountId), tables.reservations)
        }
        var grouped: [ReservationID: [InstanceRecord]] = [:]
        for instance in instances {
            grouped[instance.reservationId, default: []].append(instance)
        }
        var result: [(ReservationRecord, [InstanceRecord])] = []
        result.reserveCapacity(grouped.count)
        for (id, instances) in grouped {
            guard let reservation = reservations[id] else { continue }
            result.append((reservation, instances.sorted { $0.launchIndex < $1.launchIndex }))
        }
        return result.sorted { ($0.0.createdAt, $0.0.id) < ($1.0.createdAt, $1.0.id) }
    }

    /// Snapshots of the instance and reservation tables (copy-on-write: taking them is cheap, and
    /// the state's lock is not held while they are read).
    public func tables() -> (instances: CloudState.InstanceTable, reservations: [ReservationID: ReservationRecord]) {
        state.read { ($0.instances, $0.reservations) }
    }

    /// The caller's instances with these ids; throws `notFound` naming those it does not have.
    public func owned(_ ids: [InstanceID], for principal: Principal) throws(EucaError) -> [InstanceRecord] {
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
        public var securityGroupIds: [String]
        public var terminationProtected: Bool
        public var shutdownBehavior: ShutdownBehavior
        public var tags: [Tag]
        /// How the instances' metadata service answers; EC2's defaults when nil.
        public var metadataOptions: MetadataOptions?
        /// Stop protection (`DisableApiStop`).
        public var stopProtected = false
        /// Detailed monitoring (`Monitoring.Enabled`).
        public var monitored = false
        /// The one instance's private address (`PrivateIpAddress`), on a VPC network only.
        public var privateIp: String?
        /// Whether each instance gets a public address of its own from the pool
        /// (`AssociatePublicIpAddress`; by default, as its default subnet maps one), on a VPC
        /// network only.
        public var associatePublicIp: Bool?

        public init(
            imageId: String, instanceType: String = "m1.small", minCount: Int = 1, maxCount: Int = 1,
            keyName: String? = nil, userData: Data? = nil, zone: String? = nil, kernelId: String? = nil,
            ramdiskId: String? = nil, clientToken: String? = nil, securityGroups: [String] = [], securityGroupIds: [String] = [],
            terminationProtected: Bool = false,
            shutdownBehavior: ShutdownBehavior = .stop, tags: [Tag] = []
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
            self.securityGroupIds = securityGroupIds
            self.terminationProtected = terminationProtected
            self.shutdownBehavior = shutdownBehavior
            self.tags = tags
        }

        public init(_ request: RunRequest, metadataOptions: MetadataOptions?) {
            self = request
            self.metadataOptions = metadataOptions
        }

        /// A digest of everything but the token, to tell a retry from a different request.
        var digest: String {
            var text = [imageId, instanceType, "\(minCount)", "\(maxCount)", keyName ?? "", zone ?? "", kernelId ?? "",
                        ramdiskId ?? "", securityGroups.joined(separator: ","), securityGroupIds.joined(separator: ","),
                        shutdownBehavior.rawValue, terminationProtected ? "protected" : "", stopProtected ? "stop-protected" : "",
                        monitored ? "monitored" : "", privateIp ?? "", associatePublicIp.map { "\($0)" } ?? "",
                        tags.map { "\($0.key)=\($0.value)" }.joined(separator: ",")].joined(separator: "\n")
            text += "\n" + (userData?.base64EncodedString() ?? "")
            if let options = metadataOptions {
                text += "\nmetadata:\(options.httpTokens),\(options.httpEndpoint),\(options.httpPutResponseHopLimit)"
            }
            return Encoding.hex(SHA256.hash(data: Array(text.utf8)))
        }
    }

    /// Launches instances. Returns the reservation once its instances are durably `pending`; a
    /// retry with the same client token returns the same reservation, also after a restart.
    public func run(_ principal: Principal, _ request: RunRequest) async throws -> (ReservationRecord, [InstanceRecord]) {
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
        guard request.privateIp == nil || request.maxCount == 1 else {
            throw EucaError(.invalidParameter, .parameter, "A private address can be given to one instance only: MaxCount must be 1 with PrivateIpAddress.")
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

        let image = try images.resolve(request.imageId, kind: .machine, principal: principal)
        let kernel = try request.kernelId.map { try images.resolve($0, kind: .kernel, principal: principal) }
            ?? image.kernelId.flatMap { id in state.read { $0.images[id] } }
        let ramdisk = try request.ramdiskId.map { try images.resolve($0, kind: .ramdisk, principal: principal) }
            ?? image.ramdiskId.flatMap { id in state.read { $0.images[id] } }
        guard let vmType = settings.vmTypes[request.instanceType] else {
            throw EucaError(.invalidParameter, .instanceType, "Invalid value '\(request.instanceType)' for InstanceType.")
        }
        var keyPair: KeyPairRecord?
        if let keyName = request.keyName {
            keyPair = state.read { $0.keyPairs[CloudSchema.keyPairKey(account, keyName)] }
            guard keyPair != nil else { throw EucaError(.notFound, .keyPair, "The key pair '\(keyName)' does not exist") }
        }
        try TagService.checkTags(request.tags)
        if let userData = request.userData, userData.count > 16384 {
            throw EucaError(.invalidParameter, .parameter, "User data is limited to 16384 bytes; this request has \(userData.count).")
        }
        let admission = try admit(AdmissionRequest(accountId: account, vmType: vmType, minCount: request.minCount, maxCount: request.maxCount))
        defer { settleAdmission(admission) }
        let (zone, seen) = try await chooseZone(request.zone, vmType: vmType)
        let nodes: [NodeSnapshot]
        if let seen { nodes = seen } else { nodes = try await room(in: zone) }
        let available = nodes.reduce(0) { $0 + $1.slots(for: vmType) }
        var count = min(admission.count, available)
        var victims: [InstanceID] = []
        var preferredNodes: [NodeID] = []
        if available < request.minCount {
            let wanted = AdmissionRequest(accountId: account, vmType: vmType, minCount: request.minCount, maxCount: request.minCount)
            let plan = try await preemptionPlan(for: wanted, shortBy: request.minCount - max(0, available), zone: zone)
            victims = plan?.victims ?? []
            preferredNodes = plan?.nodes ?? []
            guard !victims.isEmpty else {
                throw EucaError(
                    .insufficientCapacity, .zone,
                    "There is not enough capacity to fulfill your request for \(request.minCount) \(vmType.name) in \(zone): \(max(0, available)) available.")
            }
            count = request.minCount
        }
        let terms = accounts.terms(of: account)

        var boot = image.boot
        if let kernel { boot.kernel = kernel.boot.kernel ?? ImageArtifact(imageId: kernel.id, location: kernel.location) }
        if let ramdisk { boot.ramdisk = ramdisk.boot.ramdisk ?? ImageArtifact(imageId: ramdisk.id, location: ramdisk.location) }
        let now = context.clock.now()
        let reservationId = ReservationID.generate()
        let groups = try await securityGroups.resolveLaunchGroups(names: request.securityGroups, ids: request.securityGroupIds, account: account)
        let leaseEnds = terms.leaseSeconds.map { now.addingTimeInterval(Double($0)) }
        let tags = request.tags + (leaseEnds.map { [Tag(key: Self.leaseTagKey, value: TagService.iso8601($0))] } ?? [])
        // On a VPC network the cloud gives each instance its address in the zone's default
        // subnet, held until the records are committed (then the records hold them); on the
        // cloud's one network (STATIC, MANAGED-NOVLAN), from the MAC map or the group's block.
        var vni: Int?
        var privateIps: [String] = []
        var segmentAssignments: [SegmentNumbering.Assignment] = []
        var segmentBlock: Int?
        if network.placesInstancesOnVPC {
            vni = try await vpcs.vni(for: account)
            privateIps = try vpcs.reserveAddresses(count, of: account, zone: zone, wanted: request.privateIp)
        } else if request.privateIp != nil {
            let why = network.segment == nil
                ? "the site's network gives addresses. VNET_MODE=VPC lets the cloud give them."
                : "addresses come from \(network.name == "STATIC" ? "VNET_MACMAP" : "the security group's block")."
            throw EucaError(.unsupported, .parameter, "PrivateIpAddress is not supported in this cloud's network mode (\(network.name)): \(why)")
        } else if let segment = network.segment {
            vni = segment.vni
            (segmentAssignments, segmentBlock) = try vpcs.reserveSegmentAddresses(count, on: segment, group: groups.first?.id.rawValue ?? "")
            privateIps = segmentAssignments.map(\.address)
        }
        defer {
            if !segmentAssignments.isEmpty || segmentBlock != nil {
                vpcs.releaseSegmentAddresses(segmentAssignments, block: segmentBlock)
            } else if !privateIps.isEmpty {
                vpcs.releaseAddresses(privateIps, of: account)
            }
        }
        // And a public address of its own from the pool, where the pool has one free (the default
        // subnet maps one unless the request says not to; MANAGED-NOVLAN gives one, as Eucalyptus).
        var publicIps: [String] = []
        if network.givesInstancesPublicAddresses, request.associatePublicIp ?? true, let pool = publicPool {
            publicIps = vpcs.reservePublicAddresses(count, pool: pool)
            if publicIps.count < count {
                logger.notice("the public pool is used up: instances launch without a public address", metadata: [
                    "euca.account": "\(account)", "wanted": "\(count)", "given": "\(publicIps.count)",
                ])
            }
        }
        defer { if !publicIps.isEmpty { vpcs.releasePublic(publicIps) } }
        let instances: [InstanceRecord] = (0..<count).map { index in
            let id = InstanceID.generate()
            let addresses = network.addresses(for: id)
            return InstanceRecord(
                id: id, reservationId: reservationId, accountId: account, imageId: image.id, kernelId: kernel?.id,
                ramdiskId: ramdisk?.id, vmType: vmType, keyName: keyPair?.name, publicKey: keyPair?.publicKey,
                userData: request.userData, zone: zone, node: nil, state: .pending, stateReason: .pending,
                transitionReason: "", stateChangedAt: now, launchIndex: index, launchTime: now,
                clientToken: request.clientToken,
                macAddress: index < segmentAssignments.count ? segmentAssignments[index].macAddress ?? addresses.macAddress : addresses.macAddress,
                privateIp: privateIps.isEmpty ? addresses.privateIp : privateIps[index],
                publicIp: index < publicIps.count ? publicIps[index] : addresses.publicIp, shutdownBehavior: request.shutdownBehavior, boot: boot, groups: groups,
                terminationProtected: request.terminationProtected, leaseEnds: leaseEnds, metadataOptions: request.metadataOptions,
                stopProtected: request.stopProtected ? true : nil, monitored: request.monitored ? true : nil, vni: vni,
                autoPublicIp: index < publicIps.count ? true : nil, block: network.segment?.block,
                groupBlock: index < privateIps.count ? network.segment?.instanceSubnet(of: privateIps[index]) : nil)
        }
        let reservation = ReservationRecord(
            id: reservationId, accountId: account, instanceIds: instances.map(\.id), groups: groups,
            clientToken: request.clientToken, createdAt: now)
        let tokenRecord = request.clientToken.map {
            ClientTokenRecord(token: $0, accountId: account, reservationId: reservationId, parameterDigest: request.digest)
        }

        reserve(instances, in: zone)
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
                        return (reservation, instances)
                    }
                    try txn.put(tokenRecord, at: key, in: CloudSchema.clientTokens)
                }
                try txn.put(reservation, at: reservation.id.rawValue, in: CloudSchema.reservations)
                for instance in instances {
                    try txn.put(instance, at: instance.id.rawValue, in: CloudSchema.instances)
                    try TagService.add(
                        ResourceEntry(id: instance.id.rawValue, type: .instance, accountId: account), tags: tags, in: txn)
                }
                return (reservation, instances)
            }
        } catch {
            releaseReservations(instances.map(\.id))
            throw error
        }
        if outcome.0.id != reservation.id {
            releaseReservations(instances.map(\.id))
            return outcome
        }
        logger.info("instances launching", metadata: RequestID.tagged([
            "euca.account": "\(account)", "euca.reservation": "\(reservation.id)", "euca.zone": "\(zone)",
            "euca.instances": "\(instances.map(\.id.rawValue).joined(separator: ","))",
        ]).mapValues { .string($0) })
        if victims.isEmpty {
            enqueue(.launch(instances.map(\.id)))
        } else {
            let ended = try await terminateForPolicy(victims, reason: .preempted)
            logger.info("instances preempted for a launch of higher priority", metadata: [
                "euca.reservation": "\(reservation.id)", "euca.instances": "\(ended.map(\.rawValue).joined(separator: ","))",
            ])
            let preferred = Dictionary(uniqueKeysWithValues: zip(instances.map(\.id), preferredNodes))
            work.enqueue(.launchAfter(instances.map(\.id), victims: victims, preferred: preferred))
        }
        return outcome
    }

    func existingReservation(account: AccountID, token: String, digest: String) throws(EucaError) -> (ReservationRecord, [InstanceRecord])? {
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

    /// The zone asked for, or the one the zone policy chooses from the clusters' room for `vmType`
    /// (the first zone when none has room, where a preemption may make it).
    /// With the room the choice saw in that zone, when it looked.
    func chooseZone(_ requested: String?, vmType: VMType) async throws -> (zone: String, room: [NodeSnapshot]?) {
        if let requested {
            guard cluster(requested) != nil else {
                throw EucaError(.invalidParameter, .zone, "Invalid availability zone: [\(requested)]")
            }
            return (requested, nil)
        }
        guard let first = zoneOrder.first else { throw EucaError(.unavailable, .zone, "This cloud has no clusters.") }
        var zones: [(zone: String, nodes: [NodeSnapshot])] = []
        for zone in zoneOrder { zones.append((zone, (try? await room(in: zone)) ?? [])) }
        let view = ClusterSnapshot.zones(zones, for: vmType)
        let chosen = settings.zonePolicy.place(PlacementRequest(vmType: vmType), in: view).node?.rawValue ?? first
        return (chosen, zones.first { $0.zone == chosen }?.nodes)
    }

    /// The room on the zone's nodes after what the ledger holds for accepted launches its
    /// cluster's figures do not count yet (each placed first-fit, as the cloud does not know the
    /// node the cluster will choose).
    func room(in zone: String) async throws -> [NodeSnapshot] {
        guard let (asOf, resources) = try await clusterResources(zone) else { return [] }
        var nodes = resources.nodes.map { NodeSnapshot($0) }
        // Launches handed over before these figures were asked for are in them, and those of
        // instances no longer pending will not be placed: release both.
        let unbound = work.withLock { work in
            work.reservations.figuresArrived(for: zone, fetchedFrom: asOf)
            return work.reservations.unbound(on: zone)
        }
        let givenUp: Set<InstanceID> = unbound.isEmpty ? [] : state.read { tables in
            Set(unbound.filter { id in tables.instances.state(of: id).map { $0 != .pending } ?? false })
        }
        let held: [VMType: Int] = work.withLock { work in
            if !givenUp.isEmpty { work.reservations.releaseUnbound(on: zone) { !givenUp.contains($0) } }
            return work.reservations.heldCounts(on: zone)
        }
        // First fit, as one at a time would place them: each node takes what it has room for.
        for (type, count) in held {
            var left = count
            for index in nodes.indices where left > 0 {
                let fit = min(left, nodes[index].slots(for: type))
                if fit > 0 {
                    nodes[index] = nodes[index].placing(type, count: fit)
                    left -= fit
                }
            }
        }
        return nodes
    }

    /// The zone's cluster resources, fetched at most once per `capacityCacheTime`, with the time
    /// the fetch began; nil when the zone has no cluster.
    func clusterResources(_ zone: String) async throws -> (Date, ClusterResources)? {
        guard let cluster = cluster(zone) else { return nil }
        let lifetime = Double(settings.capacityCacheTime.components.seconds) + Double(settings.capacityCacheTime.components.attoseconds) / 1e18
        if let cached = work.withLock({ $0.resources[zone] }), now().timeIntervalSince(cached.asOf) < lifetime {
            return (cached.asOf, cached.value)
        }
        let asOf = now()
        let resources = try await cluster.describeResources()
        work.withLock { work in
            if (work.resources[zone]?.asOf ?? .distantPast) < asOf { work.resources[zone] = (asOf, resources) }
        }
        return (asOf, resources)
    }

    /// Holds room in `zone` for accepted launches.
    func reserve(_ instances: [InstanceRecord], in zone: String) {
        work.withLock { work in
            for instance in instances { work.reservations.reserve(instance.id, instance.vmType, on: zone) }
        }
    }

    /// Releases the room of launches that were never accepted.
    func releaseReservations(_ ids: [InstanceID]) {
        work.withLock { work in
            for id in ids { work.reservations.release(id) }
        }
    }

    /// Marks launches as handed to their cluster: their room is released once its figures count them.
    func bindReservations(_ ids: [InstanceID]) {
        let now = context.clock.now()
        work.withLock { work in
            for id in ids { work.reservations.bind(id, at: now) }
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
    func request(_ request: InstanceRequest, _ ids: [InstanceID], by principal: Principal) async throws -> [StateChange] {
        let records = try owned(ids, for: principal)
        for record in records { _ = try InstanceLifecycle.apply(request, to: record.state, id: record.id) }
        if request == .terminate, let protected = records.first(where: { $0.terminationProtected && $0.state != .terminated }) {
            throw EucaError(
                .operationNotPermitted, .instance,
                "The instance '\(protected.id)' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.")
        }
        if request == .stop, let protected = records.first(where: { $0.stopProtected == true && $0.state != .stopped }) {
            throw EucaError(
                .operationNotPermitted, .instance,
                "The instance '\(protected.id)' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.")
        }
        let now = context.clock.now()
        let changes: [StateChange] = try await commit { txn in
            var changes: [StateChange] = []
            for id in ids {
                guard var record = try txn.get(id.rawValue, from: CloudSchema.instances) else {
                    throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
                }
                let previous = record.state
                let next = try InstanceLifecycle.apply(request, to: previous, id: id)
                if request == .terminate && record.terminationProtected && previous != .terminated {
                    throw EucaError(.operationNotPermitted, .instance, "The instance '\(id)' may not be terminated.")
                }
                if request == .stop && record.stopProtected == true && previous != .stopped {
                    throw EucaError(.operationNotPermitted, .instance, "The instance '\(id)' may not be stopped.")
                }
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
                }
                changes.append(StateChange(instanceId: id, previous: previous, current: next))
            }
            return changes
        }
        logger.info("instances \(request.rawValue) requested", metadata: [
            "euca.account": "\(principal.accountId)", "euca.instances": "\(ids.map(\.rawValue).joined(separator: ","))",
        ])
        return changes
    }

    public func terminate(_ principal: Principal, _ ids: [InstanceID]) async throws -> [StateChange] {
        let changes = try await request(.terminate, ids, by: principal)
        enqueue(.terminate(changes.filter { $0.current == .shuttingDown }.map(\.instanceId)))
        return changes
    }

    public func stop(_ principal: Principal, _ ids: [InstanceID]) async throws -> [StateChange] {
        let changes = try await request(.stop, ids, by: principal)
        enqueue(.stop(changes.filter { $0.current == .stopping }.map(\.instanceId)))
        return changes
    }

    public func start(_ principal: Principal, _ ids: [InstanceID]) async throws -> [StateChange] {
        // Starting a stopped instance takes resources again, so the account's limits apply.
        let stopped = try owned(ids, for: principal).filter { $0.state == .stopped }
        var admissions: [Admission] = []
        defer { for admission in admissions { settleAdmission(admission) } }
        for (_, group) in Dictionary(grouping: stopped, by: \.vmType.name) {
            admissions.append(try admit(AdmissionRequest(
                accountId: group[0].accountId, vmType: group[0].vmType, minCount: group.count, maxCount: group.count)))
        }
        for instance in stopped where !fitsNetworkMode(instance) { try await adoptNetworkMode(instance) }
        let changes = try await request(.start, ids, by: principal)
        enqueue(.start(changes.filter { $0.previous == .stopped }.map(\.instanceId)))
        return changes
    }

    /// Whether `instance`'s addresses are of the network mode in force: one stopped while the
    /// cloud ran another mode is not (the operator switched modes with it stopped).
    func fitsNetworkMode(_ instance: InstanceRecord) -> Bool {
        if network.placesInstancesOnVPC { return instance.vni != nil && instance.block == nil }
        guard let segment = network.segment else { return instance.vni == nil }
        guard instance.vni == segment.vni, instance.block == segment.block, let address = instance.privateIp else { return false }
        switch segment.assignment {
        case .macMap(let map):
            return map.contains { $0.address == address && $0.macAddress == instance.macAddress.lowercased() }
        case .groupBlocks:
            return segment.groupBlock(of: address).flatMap(segment.groupBlockCIDR) != nil && instance.groupBlock == segment.instanceSubnet(of: address)
        }
    }

    /// Gives a stopped instance of another network mode the addresses of the mode in force, as a
    /// launch would (its MAC too, in STATIC mode), before it starts: nothing of the old mode is
    /// made again on its node. An own public address the new mode gives none of goes back to
    /// the pool; an elastic IP stays associated.
    func adoptNetworkMode(_ instance: InstanceRecord) async throws {
        var vni: Int?, privateIp: String?, macAddress = MACAddress.forInstance(instance.id), groupBlock: String?
        var vpcAddresses: [String] = []
        var segmentHold: (assignments: [SegmentNumbering.Assignment], block: Int?) = ([], nil)
        defer {
            if !vpcAddresses.isEmpty { vpcs.releaseAddresses(vpcAddresses, of: instance.accountId) }
            if !segmentHold.assignments.isEmpty { vpcs.releaseSegmentAddresses(segmentHold.assignments, block: segmentHold.block) }
        }
        if network.placesInstancesOnVPC {
            vni = try await vpcs.vni(for: instance.accountId)
            vpcAddresses = try vpcs.reserveAddresses(1, of: instance.accountId, zone: instance.zone)
            privateIp = vpcAddresses.first
        } else if let segment = network.segment {
            vni = segment.vni
            segmentHold = try vpcs.reserveSegmentAddresses(1, on: segment, group: instance.groups.first?.id.rawValue ?? "")
            privateIp = segmentHold.assignments.first?.address
            macAddress = segmentHold.assignments.first?.macAddress ?? macAddress
            groupBlock = privateIp.flatMap(segment.instanceSubnet(of:))
        }
        let keepsPublic = network.givesInstancesPublicAddresses
        let block = network.segment?.block
        let (id, mac) = (instance.id, macAddress)
        let (newVNI, newAddress, newGroupBlock) = (vni, privateIp, groupBlock)
        try await commit { txn in
            guard var record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state == .stopped else { return }
            record.vni = newVNI
            record.privateIp = newAddress
            record.block = block
            record.groupBlock = newGroupBlock
            record.macAddress = mac
            if record.autoPublicIp == true && !keepsPublic {
                record.publicIp = nil
                record.autoPublicIp = nil
            }
            try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
        }
        logger.notice("a stopped instance takes the addresses of the network mode in force", metadata: [
            "euca.instance": "\(id)", "mode": "\(network.name)", "privateIp": "\(newAddress ?? "(from the site's DHCP)")", "mac": "\(mac)",
        ])
    }

    public func reboot(_ principal: Principal, _ ids: [InstanceID]) async throws {
        _ = try await request(.reboot, ids, by: principal)
        enqueue(.reboot(ids))
    }

    public func consoleOutput(_ principal: Principal, _ id: InstanceID) async throws -> ConsoleOutput {
        guard let record = try owned([id], for: principal).first else {
            throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
        }
        guard let cluster = cluster(record.zone), record.state != .terminated, record.node != nil || record.state != .pending else {
            return ConsoleOutput(instanceId: id, output: Data(), timestamp: now())
        }
        do {
            return try await cluster.getConsoleOutput(id)
        } catch let error as EucaError where error.code == .notFound {
            return ConsoleOutput(instanceId: id, output: Data(), timestamp: now())
        }
    }


    /// Changes one attribute of an instance, with EC2's rules on the state it must be in.
    /// Changes how an instance's metadata service answers (ModifyInstanceMetadataOptions): the
    /// change is durable before the reply, then handed to the instance's node; nil leaves a field
    /// as it is. Returns the options now in force.
    public func modifyMetadataOptions(
        _ principal: Principal, _ id: InstanceID, httpTokens: String?, httpEndpoint: String?, hopLimit: Int?
    ) async throws -> MetadataOptions {
        _ = try owned([id], for: principal)
        try Self.validate(MetadataOptions(
            httpTokens: httpTokens ?? "optional", httpEndpoint: httpEndpoint ?? "enabled", httpPutResponseHopLimit: hopLimit ?? 1))
        let options = try await commit { txn -> MetadataOptions in
            guard var record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state != .terminated else {
                throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
            }
            var options = record.metadataOptions ?? MetadataOptions()
            if let httpTokens { options.httpTokens = httpTokens }
            if let httpEndpoint { options.httpEndpoint = httpEndpoint }
            if let hopLimit { options.httpPutResponseHopLimit = hopLimit }
            record.metadataOptions = options
            try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
            return options
        }
        logger.info("metadata options changed", metadata: [
            "euca.instance": "\(id)", "httpTokens": "\(options.httpTokens)", "httpEndpoint": "\(options.httpEndpoint)",
        ])
        enqueue(.metadataOptions([id]))
        return options
    }

    /// Checks metadata options as EC2 does.
    public static func validate(_ options: MetadataOptions) throws {
        guard ["optional", "required"].contains(options.httpTokens) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(options.httpTokens)) for parameter HttpTokens is invalid. Expected optional or required.")
        }
        guard ["enabled", "disabled"].contains(options.httpEndpoint) else {
            throw EucaError(.invalidParameter, .parameter, "Value (\(options.httpEndpoint)) for parameter HttpEndpoint is invalid. Expected enabled or disabled.")
        }
        guard (1...64).contains(options.httpPutResponseHopLimit) else {
            throw EucaError(
                .invalidParameter, .parameter,
                "Value (\(options.httpPutResponseHopLimit)) for parameter HttpPutResponseHopLimit is invalid. Expected 1 to 64.")
        }
    }

    public func modify(_ principal: Principal, _ id: InstanceID, _ change: InstanceAttributeChange) async throws {
        guard let current = try owned([id], for: principal).first else { return }
        var groups: [GroupIdentifier] = []
        if case .groups(let ids) = change {
            guard !ids.isEmpty else { throw EucaError(.missingParameter, .parameter, "The request must contain the parameter GroupId") }
            groups = try await securityGroups.resolveLaunchGroups(names: [], ids: ids, account: current.accountId)
        }
        var newType: VMType?
        if case .instanceType(let name) = change {
            guard let type = settings.vmTypes[name] else {
                throw EucaError(.invalidParameter, .instanceType, "Invalid value '\(name)' for InstanceType.")
            }
            newType = type
        }
        if case .userData(let data) = change, data.count > 16384 {
            throw EucaError(.invalidParameter, .parameter, "User data is limited to 16384 bytes; this request has \(data.count).")
        }
        try await commit { [groups, newType] txn in
            guard var record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state != .terminated else {
                throw EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
            }
            func requireStopped(_ attribute: String) throws {
                guard record.state == .stopped else {
                    throw EucaError(.incorrectState, .instance, "The instance '\(id)' is not in the 'stopped' state, which changing \(attribute) needs.")
                }
            }
            switch change {
            case .instanceType:
                try requireStopped("instanceType")
                record.vmType = newType ?? record.vmType
            case .userData(let data):
                try requireStopped("userData")
                record.userData = data.isEmpty ? nil : data
            case .terminationProtection(let on):
                record.terminationProtected = on
            case .stopProtection(let on):
                record.stopProtected = on ? true : nil
            case .shutdownBehavior(let behavior):
                record.shutdownBehavior = behavior
            case .groups:
                record.groups = groups
            }
            try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
        }
        logger.info("instance attribute changed", metadata: ["euca.instance": "\(id)", "change": "\(change)"])
        if case .groups = change { await securityGroups.publishNetworkPlan() }
    }

    /// The health of an instance: impaired when its node, or its zone's cluster, does not answer.
    public func health(of instance: InstanceRecord) -> InstanceHealth {
        switch instance.state {
        case .running:
            let unreachable = work.withLock { work in
                work.unreachableZones.contains(instance.zone)
                    || instance.node.map { work.unreachableNodes[instance.zone]?.contains($0) ?? false } ?? false
            }
            return unreachable ? .impaired : .ok
        case .pending: return .initializing
        default: return .notApplicable
        }
    }

    /// How many instances of the smallest VM type the cloud can hold in all, for
    /// DescribeAccountAttributes' `max-instances`.
    public func maximum() async -> Int {
        guard let smallest = settings.vmTypes.types.first else { return 0 }
        var total = 0
        for zone in zoneOrder {
            if let resources = try? await cluster(zone)?.describeResources() { total += resources.maximum(smallest) }
        }
        return total
    }

    /// The tag that shows when an instance's lease ends (ISO 8601). Keys starting with `euca:` are
    /// the cloud's own: users can read them, not set or delete them.
    public static let leaseTagKey = "euca:lease-expires"

    // MARK: - Admission

    /// What the account's instances hold now: those that are not stopped or terminated, and
    /// launches admitted but not yet recorded.
    public func usage(of account: AccountID, admitting: AccountUsage = AccountUsage()) -> AccountUsage {
        var usage = admitting
        let held = state.read { $0.usageByAccount[account] ?? AccountUsage() }
        usage.instances += held.instances
        usage.cores += held.cores
        usage.memoryMiB += held.memoryMiB
        return usage
    }

    /// Asks every SLA policy how many of the request's instances may start, and holds that many
    /// against the account until ``settleAdmission(_:)``, so concurrent launches cannot both use
    /// the same room. Throws `InstanceLimitExceeded` when fewer than `minCount` may.
    func admit(_ request: AdmissionRequest) throws(EucaError) -> Admission {
        let terms = accounts.terms(of: request.accountId)
        let policies = slaPolicies
        return try work.withLock { work throws(EucaError) -> Admission in
            let held = work.admitting[request.accountId, default: AccountUsage()]
            let usage = usage(of: request.accountId, admitting: held)
            var allowed = request.maxCount
            for policy in policies {
                switch policy.admit(request, usage: usage, terms: terms) {
                case .admit(let count): allowed = min(allowed, count)
                case .refuse(let why): throw EucaError(.limitExceeded, .instance, why)
                }
            }
            guard allowed >= request.minCount else {
                throw EucaError(.limitExceeded, .instance,
                                "Your account's limits allow \(allowed) more \(request.vmType.name) instance(s); you requested at least \(request.minCount).")
            }
            let admission = Admission(accountId: request.accountId, vmType: request.vmType, count: allowed)
            work.admitting[request.accountId] = admission.adding(to: held)
            return admission
        }
    }

    /// Instances a launch holds against its account before they are recorded.
    struct Admission: Sendable {
        var accountId: AccountID
        var vmType: VMType
        var count: Int

        func adding(to usage: AccountUsage) -> AccountUsage {
            AccountUsage(instances: usage.instances + count, cores: usage.cores + count * vmType.cores,
                         memoryMiB: usage.memoryMiB + count * vmType.memoryMiB)
        }

        func removing(from usage: AccountUsage) -> AccountUsage {
            AccountUsage(instances: usage.instances - count, cores: usage.cores - count * vmType.cores,
                         memoryMiB: usage.memoryMiB - count * vmType.memoryMiB)
        }
    }

    /// Stops holding an admission's room: its instances are recorded (and counted from the
    /// table) or the launch failed.
    func settleAdmission(_ admission: Admission) {
        work.withLock { work in
            let left = admission.removing(from: work.admitting[admission.accountId, default: AccountUsage()])
            work.admitting[admission.accountId] = left.instances <= 0 ? nil : left
        }
    }

    // MARK: - Review and preemption

    func slaView(_ instance: InstanceRecord) -> SLAInstance {
        SLAInstance(id: instance.id, accountId: instance.accountId, vmType: instance.vmType, zone: instance.zone,
                    launchTime: instance.launchTime, state: instance.state, leaseEnds: instance.leaseEnds, node: instance.node)
    }

    /// What the policies would end so that `shortBy` more of the request's instances fit in
    /// `zone`, node by node by the cluster's own figures; nil when no policy has a plan.
    func preemptionPlan(for request: AdmissionRequest, shortBy: Int, zone: String) async throws -> PreemptionPlan? {
        // The cluster's own figures now, not the cached ones: instances ended on a node must be
        // counted on that node. (Preemption is rare; the round trip is worth it.)
        guard let cluster = cluster(zone) else { return nil }
        let resources = try await cluster.describeResources()
        // Victims free room only on nodes that answer: with none, there is no plan to make (and a
        // zone whose node has stopped answering refuses every launch without a pass over its
        // instances, which would keep the node's next answer waiting behind them).
        let answering = Set(resources.nodes.map(\.node))
        guard !answering.isEmpty else { return nil }
        let instances: [SLAInstance] = state.read { tables in
            (tables.instancesByZone[zone] ?? []).compactMap { id in
                guard let instance = tables.instances[id], let node = instance.node, answering.contains(node) else { return nil }
                return slaView(instance)
            }
        }
        let view = ZoneView(zone: zone, nodes: resources.nodes.map { NodeSnapshot($0) }, instances: instances)
        let terms = accounts.allTerms()
        for policy in slaPolicies {
            if let plan = policy.preempt(for: request, shortBy: shortBy, in: view, terms: terms) { return plan }
        }
        return nil
    }

    /// Terminates instances on the cloud's own account (a policy's decision), whatever their
    /// termination protection: like a spot interruption, an SLA outranks it. Returns those that
    /// changed state.
    @discardableResult
    func terminateForPolicy(_ ids: [InstanceID], reason: StateReason) async throws -> [InstanceID] {
        let now = context.clock.now()
        let changed: [InstanceRecord] = try await commit { txn in
            var updated: [InstanceRecord] = []
            for id in ids {
                guard var record = try txn.get(id.rawValue, from: CloudSchema.instances),
                    let next = try? InstanceLifecycle.apply(.terminate, to: record.state, id: id), next != record.state
                else { continue }
                record.state = next
                record.stateChangedAt = now
                record.stateReason = reason
                record.transitionReason = Self.transitionReason("Server initiated", at: now)
                try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
                updated.append(record)
            }
            return updated
        }
        enqueue(.terminate(changed.filter { $0.state == .shuttingDown }.map(\.id)))
        return changed.map(\.id)
    }

}
