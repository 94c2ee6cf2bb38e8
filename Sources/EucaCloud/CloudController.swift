public import EucaCore
public import EucaNet
public import EucaScheduler
public import EucaSecurity
import Foundation
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
public final class CloudController: Service, CloudService {
    public let context: CloudContext
    /// Tags, and the index of taggable resources.
    public let tags: TagService
    public let accounts: AccountService
    /// Users of accounts, their access keys and passwords.
    public let users: UserService
    /// Requests for accounts, waiting for an administrator.
    public let signups: SignupService
    public let keyPairs: KeyPairService
    public let securityGroups: SecurityGroupService
    public let images: ImageService
    public let addresses: AddressService
    public let vpcs: VPCService
    /// Instances: launches, state changes, attributes, admission by the SLA policies.
    public let instances: InstanceService
    /// Drives each instance toward what its user asked for, from the work queue and on a timer.
    public let reconciler: InstanceReconciler
    public var settings: CloudSettings { context.settings }
    public var state: CloudState { context.state }
    var store: any StateStore { context.store }
    let network: any NetworkMode
    let endpoint: Mutex<String>

    /// The SLA policies a cloud runs unless told otherwise: quotas, leases and priorities.
    public static let builtInSLAPolicies: [any SLAPolicy] = [QuotaPolicy(), LeasePolicy(), PriorityPolicy()]

    /// `secrets` seals the access keys' secrets in `store`: a store that outlives the process
    /// needs the same key at every start (``SecretSealer/loadOrCreate(directory:)``).
    public init(
        store: any StateStore, secrets: SecretSealer, clusters: [any ClusterControllerAPI], network: NetworkSettings = NetworkSettings(),
        networkApplier: (any NetworkApplier)? = nil, imageStore: ImageStore? = nil,
        slaPolicies: [any SLAPolicy] = CloudController.builtInSLAPolicies, settings: CloudSettings,
        clock: any EucaClock = SystemClock(), logger: Logger
    ) {
        context = CloudContext(store: store, secrets: secrets, clusters: clusters, settings: settings, clock: clock, logger: logger)
        tags = TagService(context: context)
        users = UserService(context: context)
        signups = SignupService(context: context)
        accounts = AccountService(context: context, users: users)
        keyPairs = KeyPairService(context: context)
        let enforces = network.mode.plan([]).enforcesRules
        securityGroups = SecurityGroupService(
            context: context, network: network.mode,
            networkApplier: networkApplier ?? (enforces ? ClusterNetworkApplier(context: context) : nil))
        images = ImageService(context: context, imageStore: imageStore)
        vpcs = VPCService(context: context)
        addresses = AddressService(context: context, publicIPs: network.publicIPs, vpcs: vpcs)
        let work = InstanceWork()
        instances = InstanceService(
            context: context, work: work, accounts: accounts, images: images, keyPairs: keyPairs, securityGroups: securityGroups,
            vpcs: vpcs, network: network.mode, publicPool: network.publicIPs.isEmpty ? nil : network.publicIPs, slaPolicies: slaPolicies)
        reconciler = InstanceReconciler(context: context, work: work, instances: instances, slaPolicies: slaPolicies)
        self.network = network.mode
        self.endpoint = Mutex(settings.endpoint)
        if settings.eventLog != nil { context.state.keepEnded() }
    }

    /// Records the nodes' underlay addresses, as they report them: the policy tells each node
    /// where the instances of its VPCs on other nodes are.
    public func noteNodeAddresses(_ addresses: [NodeID: String]) async {
        if context.noteNodeAddresses(addresses), network.plan([]).enforcesRules { await securityGroups.publishNetworkPlan() }
    }

    /// The availability zones, one per cluster, in registration order.
    public var zones: [String] { zoneOrder }

    /// The zones in registration order.
    var zoneOrder: [String] { context.zoneOrder }

    /// The cluster serving `zone`.
    func cluster(_ zone: String) -> (any ClusterControllerAPI)? { context.cluster(zone) }

    /// Adds (or replaces) the cluster serving its zone; its instances are reconciled from then on.
    public func attach(_ cluster: any ClusterControllerAPI) {
        context.attach(cluster)
        logger.info("cluster attached", metadata: ["euca.zone": "\(cluster.zone)"])
    }

    /// Removes the cluster serving `zone`. Its instances keep their records.
    public func detach(zone: String) {
        context.detach(zone: zone)
        logger.info("cluster detached", metadata: ["euca.zone": "\(zone)"])
    }

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
        try await tags.indexExistingResources()
        if let cloud = state.read({ $0.cloud }) {
            try await users.upgradeStore()
            let (account, stored) = state.read { tables in
                (
                    tables.accounts[cloud.adminAccountId],
                    tables.accessKeys.values.filter { $0.accountId == cloud.adminAccountId && $0.userName == "admin" }
                        .min { $0.createdAt < $1.createdAt }
                )
            }
            guard let account, let stored else {
                throw EucaError(.internalFailure, .account, "the store names an administrator account it does not hold")
            }
            guard let key = stored.opened(by: state.sealer) else {
                throw EucaError(
                    .internalFailure, .accessKey,
                    "the administrator's access key does not open with this master key: start with the master key this store was made with")
            }
            return Bootstrap(adminAccount: account, adminKey: key, defaultImageId: cloud.defaultImageId, isFirstStart: false)
        }
        let now = context.clock.now()
        let account = AccountRecord(id: .generate(), name: "eucalyptus", isCloudAdmin: true, createdAt: now)
        let key = AccessKey.generate(accountId: account.id, userName: "admin")
        let image = defaultImage.map { image in
            var owned = image
            owned.ownerId = account.id
            return owned
        }
        let cloud = CloudRecord(adminAccountId: account.id, createdAt: now, defaultImageId: image?.id)
        let sealer = state.sealer
        try await commit { txn in
            try txn.put(cloud, at: "cloud", in: CloudSchema.cloud)
            try txn.put(account, at: account.id.rawValue, in: CloudSchema.accounts)
            try UserService.addAdmin(of: account, key: key, sealer: sealer, in: txn)
            if let image {
                try txn.put(image, at: image.id.rawValue, in: CloudSchema.images)
                try TagService.add(ResourceEntry(id: image.id.rawValue, type: .image, accountId: account.id), tags: [], in: txn)
            }
        }
        logger.info("cloud created", metadata: [
            "euca.account": "\(account.id)", "euca.access-key": "\(key.accessKeyId)",
            "euca.image": "\(image?.id.rawValue ?? "none")",
        ])
        return Bootstrap(adminAccount: account, adminKey: key, defaultImageId: image?.id, isFirstStart: true)
    }

    // MARK: - Service

    public func run() async throws {
        // Where the mode enforces rules, the hosts follow every change of groups, members and
        // addresses, for as long as the reconciler runs.
        let publisher = network.plan([]).enforcesRules ? Task { await securityGroups.publishOnChange() } : nil
        defer { publisher?.cancel() }
        let log = settings.eventLog.map { InstanceEventLog(path: $0, state: state, logger: logger) }
        let writer = log.map { log in Task { await log.run() } }
        defer {
            writer?.cancel()
            log?.flush()
        }
        try await reconciler.run()
        logger.info("cloud controller stopped")
    }

    /// Runs one reconciliation pass now (the timer does this on its own).
    public func reconcileNow() async { await reconciler.reconcileNow() }

    // MARK: - Regions, zones, types

    public struct Region: Sendable, Hashable {
        public var name: String
        public var endpoint: String
    }

    public func describeRegions() -> [Region] {
        [Region(name: settings.regionName, endpoint: endpoint.withLock { $0 })]
    }

    /// The EC2 API's URL, as DescribeRegions shows it (ending in `/`).
    public var currentEndpoint: String { endpoint.withLock { $0 } }

    /// Sets the URL DescribeRegions shows, once the API knows the port it listens on.
    public func setEndpoint(_ url: String) {
        endpoint.withLock { $0 = url }
    }

    public struct Zone: Sendable, Hashable {
        public var name: String
        /// EC2's zone id (`REGION-azN`, by the zone's place), as the zone's subnets name it.
        public var id: String
        public var region: String
        public var state: String
    }

    public func describeAvailabilityZones() -> [Zone] {
        zoneOrder.enumerated().map { index, zone in
            Zone(
                name: zone, id: VPCService.zoneId(of: zone, at: index, region: settings.regionName), region: settings.regionName,
                state: "available")
        }
    }

    public func instanceTypes() -> [VMType] { settings.vmTypes.types }

    /// Each zone's nodes with their capacity, as its cluster reports them; a zone whose cluster
    /// does not answer is left out.
    public func resources() async -> [ClusterResources] {
        var found: [ClusterResources] = []
        for zone in zoneOrder {
            if let cluster = cluster(zone), let resources = try? await cluster.describeResources() { found.append(resources) }
        }
        return found
    }

    /// How many instances of each VM type fit in `zone` now and in the empty zone, from its
    /// cluster's describeResources (Eucalyptus' `verbose` listing). Nil when the cluster does not
    /// answer.
    public func capacity(of zone: String) async -> [(type: VMType, free: Int, max: Int)]? {
        guard let cluster = cluster(zone), let resources = try? await cluster.describeResources() else { return nil }
        return settings.vmTypes.types.map { ($0, resources.available($0), resources.maximum($0)) }
    }

}
