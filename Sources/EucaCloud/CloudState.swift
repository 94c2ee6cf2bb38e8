public import EucaCore
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
        public var accessKeys: [String: AccessKey] = [:]
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
    }

    init() {}

    /// Reads the mirror under its lock. Keep `body` short.
    public func read<T>(_ body: (borrowing Tables) -> T) -> T {
        tables.withLock { body($0) }
    }

    func update(_ body: (inout Tables) -> Void) {
        tables.withLock { body(&$0) }
    }

    // MARK: - The mirror

    /// One committed put (a value) or delete (nil) of one key, as the tables take it.
    typealias Change = @Sendable (inout Tables) -> Void

    /// Where each mirrored collection's entries live in the tables. A put or delete in any other
    /// collection (the component registry's) leaves the tables alone.
    private static let placements: [String: @Sendable (inout Tables, String, (any Sendable)?) -> Void] = [
        CloudSchema.cloud.name: place(CloudSchema.cloud) { tables, _, value in tables.cloud = value },
        CloudSchema.accounts.name: place(CloudSchema.accounts) { $0.accounts[AccountID(rawValue: $1)] = $2 },
        CloudSchema.accessKeys.name: place(CloudSchema.accessKeys) { $0.accessKeys[$1] = $2 },
        CloudSchema.keyPairs.name: place(CloudSchema.keyPairs) { $0.keyPairs[$1] = $2 },
        CloudSchema.images.name: place(CloudSchema.images) { $0.images[ImageID(rawValue: $1)] = $2 },
        CloudSchema.instances.name: place(CloudSchema.instances) { $0.instances[InstanceID(rawValue: $1)] = $2 },
        CloudSchema.reservations.name: place(CloudSchema.reservations) { $0.reservations[ReservationID(rawValue: $1)] = $2 },
        CloudSchema.clientTokens.name: place(CloudSchema.clientTokens) { $0.tokens[$1] = $2 },
        CloudSchema.resources.name: place(CloudSchema.resources) { $0.resources[$1] = $2 },
        CloudSchema.tags.name: place(CloudSchema.tags) { $0.tags[$1] = $2 },
        CloudSchema.securityGroups.name: place(CloudSchema.securityGroups) { $0.groups[SecurityGroupID(rawValue: $1)] = $2 },
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

    /// Loads every collection from the store (at start).
    func load(from store: any StateStore) async throws {
        let loaded = try await store.read { txn in
            var tables = Tables()
            tables.cloud = try txn.get("cloud", from: CloudSchema.cloud)
            for (_, value) in try txn.all(CloudSchema.accounts) { tables.accounts[value.id] = value }
            for (_, value) in try txn.all(CloudSchema.accessKeys) { tables.accessKeys[value.accessKeyId] = value }
            for (key, value) in try txn.all(CloudSchema.keyPairs) { tables.keyPairs[key] = value }
            for (_, value) in try txn.all(CloudSchema.images) { tables.images[value.id] = value }
            for (_, value) in try txn.all(CloudSchema.instances) { tables.instances[value.id] = value }
            for (_, value) in try txn.all(CloudSchema.reservations) { tables.reservations[value.id] = value }
            for (key, value) in try txn.all(CloudSchema.clientTokens) { tables.tokens[key] = value }
            for (key, value) in try txn.all(CloudSchema.resources) { tables.resources[key] = value }
            for (key, value) in try txn.all(CloudSchema.tags) { tables.tags[key] = value }
            for (_, value) in try txn.all(CloudSchema.securityGroups) { tables.groups[value.id] = value }
            for (key, value) in try txn.all(CloudSchema.securityGroupNames) { tables.groupNames[key] = value }
            for (key, value) in try txn.all(CloudSchema.addresses) { tables.addresses[key] = value }
            return tables
        }
        tables.withLock { $0 = loaded }
    }

    public func accessKey(id: String) -> (key: AccessKey, isCloudAdmin: Bool)? {
        tables.withLock { tables in
            guard let key = tables.accessKeys[id] else { return nil }
            return (key, tables.accounts[key.accountId]?.isCloudAdmin ?? false)
        }
    }
}
