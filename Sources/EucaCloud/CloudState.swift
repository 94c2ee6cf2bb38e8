public import EucaCore
public import EucaScheduler
public import EucaSecurity
import Synchronization

/// The cloud controller's in-memory mirror of its store, for reads that must not wait on disk.
///
/// Updated only by `afterCommit` actions, which the store runs in commit order: a read here sees
/// every write acknowledged before it began, and never a write that has not been committed.
public final class CloudState: CredentialStore {
    public struct Tables: Sendable {
        public var cloud: CloudRecord?
        public var accounts: [AccountID: AccountRecord] = [:]
        public var accessKeys: [String: StoredAccessKey] = [:]
        /// Users by `CloudSchema.userKey`.
        public var users: [String: UserRecord] = [:]
        /// Access keys' ids by their user's `CloudSchema.userKey`.
        public var accessKeysByUser: [String: Set<String>] = [:]
        /// Sign-up requests by id.
        public var signups: [String: SignupRecord] = [:]
        public var keyPairs: [String: KeyPairRecord] = [:]
        public var images: [ImageID: ImageRecord] = [:]
        public var instances = InstanceTable()
        public var reservations: [ReservationID: ReservationRecord] = [:]
        public var tokens: [String: ClientTokenRecord] = [:]
        public var resources: [String: ResourceEntry] = [:]
        public var tags: [String: ResourceTags] = [:]
        public var groups: [SecurityGroupID: SecurityGroupRecord] = [:]
        public var groupNames: [String: SecurityGroupID] = [:]
        public var addresses: [String: AddressRecord] = [:]

        // Secondary indexes, kept by the mirror beside the tables they index.
        /// Instance ids by owning account.
        public var instancesByAccount: [AccountID: Set<InstanceID>] = [:]
        /// Instance ids by availability zone.
        public var instancesByZone: [String: Set<InstanceID>] = [:]
        /// Security group ids by owning account.
        public var groupsByAccount: [AccountID: Set<SecurityGroupID>] = [:]
        /// Key pairs' store keys by owning account.
        public var keyPairsByAccount: [AccountID: Set<String>] = [:]
        /// Tagged resources' ids by tag key, then value.
        public var resourcesByTag: [String: [String: Set<String>]] = [:]
        /// Instances that ended since the event log last took them, kept only while there is an
        /// event log (`keepsEnded`).
        public var endedInstances: [InstanceRecord] = []
        var keepsEnded = false
        /// Per account, what its instances that hold resources (neither stopped nor terminated)
        /// hold: what admission counts, without a pass over the account's instances.
        public var usageByAccount: [AccountID: AccountUsage] = [:]

        /// Moves an instance's share of its account's usage from what `old` held to what `new` holds.
        fileprivate mutating func recount(from old: InstanceRecord?, to new: InstanceRecord?) {
            if let old, Self.holds(old) { count(old, -1) }
            if let new, Self.holds(new) { count(new, 1) }
        }

        /// Whether `instance` holds room on its node (neither terminated nor stopped).
        public static func holds(_ instance: InstanceRecord) -> Bool {
            instance.state != .terminated && instance.state != .stopped
        }

        private mutating func count(_ instance: InstanceRecord, _ sign: Int) {
            var usage = usageByAccount[instance.accountId, default: AccountUsage()]
            usage.instances += sign
            usage.cores += sign * instance.vmType.cores
            usage.memoryMiB += sign * instance.vmType.memoryMiB
            usageByAccount[instance.accountId] = usage.instances == 0 ? nil : usage
        }

        /// The caller's instances, without a pass over everyone's.
        public func instances(of account: AccountID) -> [InstanceRecord] {
            (instancesByAccount[account] ?? []).compactMap { instances[$0] }
        }

        /// The instances recorded in `zone`.
        public func instances(inZone zone: String) -> [InstanceRecord] {
            (instancesByZone[zone] ?? []).compactMap { instances[$0] }
        }

        /// Updates a secondary index for a record replaced by another (either may be nil).
        fileprivate static func reindex<Key: Hashable, Member: Hashable>(
            _ index: inout [Key: Set<Member>], _ member: Member, from old: Key?, to new: Key?
        ) {
            guard old != new else { return }
            if let old {
                index[old]?.remove(member)
                if index[old]?.isEmpty == true { index[old] = nil }
            }
            if let new { index[new, default: []].insert(member) }
        }
    }

    private let tables = Mutex(Tables())

    /// Instances by id, each held in a shared box, so that iterating the table costs one
    /// reference count per instance rather than a copy of every field.
    public struct InstanceTable: Sendable {
        public private(set) var boxes: [InstanceID: Box] = [:]

        public final class Box: Sendable {
            public let record: InstanceRecord
            init(_ record: InstanceRecord) { self.record = record }
        }

        public subscript(id: InstanceID) -> InstanceRecord? {
            get { boxes[id]?.record }
            set { boxes[id] = newValue.map(Box.init) }
        }

        /// The records, in no particular order.
        public var values: LazyMapSequence<Dictionary<InstanceID, Box>.Values, InstanceRecord> {
            boxes.values.lazy.map(\.record)
        }

        public var count: Int { boxes.count }

        /// An instance's state, without a copy of its record.
        public func state(of id: InstanceID) -> InstanceState? { boxes[id]?.record.state }
    }

    /// Opens the access keys' sealed secrets.
    public let sealer: SecretSealer

    init(sealer: SecretSealer) { self.sealer = sealer }

    /// Reads the mirror under its lock. Keep `body` short.
    public func read<T>(_ body: (borrowing Tables) -> T) -> T {
        tables.withLock { body($0) }
    }

    func update(_ body: (inout Tables) -> Void) {
        tables.withLock { body(&$0) }
        let waiting = watch.withLock { watch in
            watch.version &+= 1
            defer { watch.waiting = [:] }
            return Array(watch.waiting.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    // MARK: - Waiting for a change

    private struct Watch {
        var version: UInt64 = 0
        var next = 0
        var waiting: [Int: CheckedContinuation<Void, any Error>] = [:]
        var cancelled: Set<Int> = []
    }

    private let watch = Mutex(Watch())

    /// How many commits the mirror has taken; it grows by one with each.
    public var version: UInt64 { watch.withLock { $0.version } }

    /// Returns once a commit after `version` has reached the mirror (at once if one already has),
    /// so a caller waits for the state it needs without polling: read ``version``, check, wait.
    /// Throws `CancellationError` if the task is cancelled first.
    public func waitForChange(after version: UInt64) async throws {
        let id = watch.withLock { watch -> Int in
            watch.next += 1
            return watch.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = watch.withLock { watch in
                    if watch.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if watch.version != version { return .success(()) }
                    watch.waiting[id] = continuation
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let waiter = watch.withLock { watch -> CheckedContinuation<Void, any Error>? in
                guard let waiter = watch.waiting.removeValue(forKey: id) else {
                    watch.cancelled.insert(id)
                    return nil
                }
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Waits until `condition` holds of the tables, checking it after each commit.
    public func wait(until condition: (borrowing Tables) -> Bool) async throws {
        while true {
            let seen = version
            if read(condition) { return }
            try await waitForChange(after: seen)
        }
    }

    // MARK: - The mirror

    /// One committed put (a value) or delete (nil) of one key, as the tables take it.
    typealias Change = @Sendable (inout Tables) -> Void

    /// Where each mirrored collection's entries live in the tables. A put or delete in any other
    /// collection (the component registry's) leaves the tables alone.
    private static let placements: [String: @Sendable (inout Tables, String, (any Sendable)?) -> Void] = [
        CloudSchema.cloud.name: place(CloudSchema.cloud) { tables, _, value in tables.cloud = value },
        CloudSchema.accounts.name: place(CloudSchema.accounts) { $0.accounts[AccountID(rawValue: $1)] = $2 },
        CloudSchema.accessKeys.name: place(CloudSchema.accessKeys) { tables, key, value in
            let owner = { (stored: StoredAccessKey?) in stored.map { CloudSchema.userKey($0.accountId, $0.userName) } }
            Tables.reindex(&tables.accessKeysByUser, key, from: owner(tables.accessKeys[key]), to: owner(value))
            tables.accessKeys[key] = value
        },
        CloudSchema.users.name: place(CloudSchema.users) { $0.users[$1] = $2 },
        CloudSchema.signups.name: place(CloudSchema.signups) { $0.signups[$1] = $2 },
        CloudSchema.keyPairs.name: place(CloudSchema.keyPairs) { tables, key, value in
            Tables.reindex(&tables.keyPairsByAccount, key, from: tables.keyPairs[key]?.accountId, to: value?.accountId)
            tables.keyPairs[key] = value
        },
        CloudSchema.images.name: place(CloudSchema.images) { $0.images[ImageID(rawValue: $1)] = $2 },
        CloudSchema.instances.name: place(CloudSchema.instances) { tables, key, value in
            let id = InstanceID(rawValue: key)
            let old = tables.instances[id]
            Tables.reindex(&tables.instancesByAccount, id, from: old?.accountId, to: value?.accountId)
            Tables.reindex(&tables.instancesByZone, id, from: old?.zone, to: value?.zone)
            tables.recount(from: old, to: value)
            if tables.keepsEnded, let old, let value, old.state != .terminated, value.state == .terminated {
                tables.endedInstances.append(value)
            }
            tables.instances[id] = if let value, let old { value.sharingUnchanged(with: old) } else { value }
        },
        CloudSchema.reservations.name: place(CloudSchema.reservations) { $0.reservations[ReservationID(rawValue: $1)] = $2 },
        CloudSchema.clientTokens.name: place(CloudSchema.clientTokens) { $0.tokens[$1] = $2 },
        CloudSchema.resources.name: place(CloudSchema.resources) { $0.resources[$1] = $2 },
        CloudSchema.tags.name: place(CloudSchema.tags) { tables, key, value in
            for (tagKey, tagValue) in tables.tags[key]?.tags ?? [:] where value?.tags[tagKey] != tagValue {
                tables.resourcesByTag[tagKey]?[tagValue]?.remove(key)
                if tables.resourcesByTag[tagKey]?[tagValue]?.isEmpty == true { tables.resourcesByTag[tagKey]?[tagValue] = nil }
                if tables.resourcesByTag[tagKey]?.isEmpty == true { tables.resourcesByTag[tagKey] = nil }
            }
            for (tagKey, tagValue) in value?.tags ?? [:] { tables.resourcesByTag[tagKey, default: [:]][tagValue, default: []].insert(key) }
            tables.tags[key] = value
        },
        CloudSchema.securityGroups.name: place(CloudSchema.securityGroups) { tables, key, value in
            let id = SecurityGroupID(rawValue: key)
            Tables.reindex(&tables.groupsByAccount, id, from: tables.groups[id]?.accountId, to: value?.accountId)
            tables.groups[id] = value
        },
        CloudSchema.securityGroupNames.name: place(CloudSchema.securityGroupNames) { $0.groupNames[$1] = $2 },
        CloudSchema.addresses.name: place(CloudSchema.addresses) { $0.addresses[$1] = $2 },
    ]

    private static func place<V>(
        _: StoreCollection<V>, _ body: @escaping @Sendable (inout Tables, String, V?) -> Void
    ) -> @Sendable (inout Tables, String, (any Sendable)?) -> Void {
        { tables, key, value in body(&tables, key, value as? V) }
    }

    /// The change a committed write makes to the tables, or nil for a collection not mirrored.
    static func change<V>(_ collection: StoreCollection<V>, key: String, value: V?) -> Change? {
        guard let placement = placements[collection.name] else { return nil }
        return { tables in placement(&tables, key, value) }
    }

    /// Loads every mirrored collection from the store (at start), through the same placements
    /// that committed writes take, so the indexes are built the one way.
    func load(from store: any StateStore) async throws {
        let loaded = try await store.read { txn in
            var tables = Tables()
            func load<V>(_ collection: StoreCollection<V>) throws {
                for (key, value) in try txn.all(collection) { CloudState.change(collection, key: key, value: value)?(&tables) }
            }
            try load(CloudSchema.cloud)
            try load(CloudSchema.accounts)
            try load(CloudSchema.accessKeys)
            try load(CloudSchema.users)
            try load(CloudSchema.signups)
            try load(CloudSchema.keyPairs)
            try load(CloudSchema.images)
            try load(CloudSchema.instances)
            try load(CloudSchema.reservations)
            try load(CloudSchema.clientTokens)
            try load(CloudSchema.resources)
            try load(CloudSchema.tags)
            try load(CloudSchema.securityGroups)
            try load(CloudSchema.securityGroupNames)
            try load(CloudSchema.addresses)
            return tables
        }
        tables.withLock { tables in
            let keeps = tables.keepsEnded
            tables = loaded
            tables.keepsEnded = keeps
        }
    }

    /// The key with this id and its secret, whether or not it is active (the verifier checks
    /// that); nil for an unknown id or a secret this cloud's master key does not open.
    /// Starts keeping the instances that end, for the event log.
    func keepEnded() { tables.withLock { $0.keepsEnded = true } }

    /// The instances that ended since the last call, in the order they ended.
    func takeEnded() -> [InstanceRecord] {
        tables.withLock { tables in
            defer { tables.endedInstances = [] }
            return tables.endedInstances
        }
    }

    public func accessKey(id: String) -> (key: AccessKey, isCloudAdmin: Bool)? {
        let found = tables.withLock { tables -> (StoredAccessKey, Bool)? in
            guard let key = tables.accessKeys[id] else { return nil }
            return (key, tables.accounts[key.accountId]?.isCloudAdmin ?? false)
        }
        guard let (stored, isAdmin) = found, let key = stored.opened(by: sealer) else { return nil }
        return (key, isAdmin)
    }
}
