public import EucaCore
public import EucaSecurity
import Foundation

/// A tag as requests carry it.
public struct Tag: Sendable, Hashable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// Tags on every taggable resource, and the index of those resources by id: which account owns
/// each, so that tagging another account's resource answers as a missing one.
public struct TagService: CloudService {
    public let context: CloudContext

    init(context: CloudContext) { self.context = context }

    /// EC2's limit of tags per resource.
    public static let maxTagsPerResource = 50

    /// Checks keys and values against EC2's limits: keys 1 to 128 characters, not starting with
    /// `aws:` or `euca:`, values up to 256, no key twice.
    public static func checkTags(_ tags: [Tag]) throws(EucaError) {
        var seen = Set<String>()
        for tag in tags {
            guard !tag.key.isEmpty else { throw EucaError(.invalidParameter, .tag, "Tag keys must not be empty.") }
            guard tag.key.count <= 128 else {
                throw EucaError(.invalidParameter, .tag, "Tag key '\(tag.key.prefix(40))…' exceeds the maximum length of 128 characters.")
            }
            guard tag.value.count <= 256 else {
                throw EucaError(.invalidParameter, .tag, "The value of tag '\(tag.key)' exceeds the maximum length of 256 characters.")
            }
            try checkUserKey(tag.key)
            guard seen.insert(tag.key).inserted else {
                throw EucaError(.invalidParameter, .tag, "The tag key '\(tag.key)' is given more than once.")
            }
        }
    }

    /// Refuses keys in the prefixes reserved for the cloud itself: EC2's `aws:` and Euca's `euca:`.
    static func checkUserKey(_ key: String) throws(EucaError) {
        for prefix in ["aws:", "euca:"] where key.lowercased().hasPrefix(prefix) {
            throw EucaError(.invalidParameter, .tag, "Tag keys starting with '\(prefix)' are reserved for internal use.")
        }
    }

    /// A date as tags carry it: ISO 8601 in UTC, to the second.
    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().timeSeparator(.colon).time(includingFractionalSeconds: false).timeZone(separator: .omitted))
    }

    /// Every resource's tags (a copy-on-write snapshot: cheap to take).
    public func all() -> [String: ResourceTags] { state.read { $0.tags } }

    public func tags(of id: String) -> [String: String] { state.read { $0.tags[id]?.tags ?? [:] } }

    // MARK: - Inside transactions

    /// Records a new taggable resource and its first tags.
    static func add(_ entry: ResourceEntry, tags: [Tag], in txn: any StoreWriter) throws {
        try txn.put(entry, at: entry.id, in: CloudSchema.resources)
        guard !tags.isEmpty else { return }
        guard tags.count <= maxTagsPerResource else {
            throw EucaError(.limitExceeded, .tag, "The maximum number of tags per resource (\(maxTagsPerResource)) would be exceeded.")
        }
        let record = ResourceTags(
            resourceId: entry.id, type: entry.type, accountId: entry.accountId,
            tags: Dictionary(tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }))
        try txn.put(record, at: entry.id, in: CloudSchema.tags)
    }

    /// Forgets a resource and its tags.
    static func remove(resource id: String, in txn: any StoreWriter) throws {
        try txn.delete(id, from: CloudSchema.resources)
        try txn.delete(id, from: CloudSchema.tags)
    }

    // MARK: - CreateTags, DeleteTags

    static func checkTaggable(_ id: String) throws(EucaError) -> TaggableType {
        guard let type = TaggableType.of(id) else {
            throw EucaError(.malformedID, .resource, "The ID '\(id.prefix(64))' is not valid")
        }
        return type
    }

    static func notFound(_ id: String, _ type: TaggableType) -> EucaError {
        switch type {
        case .instance: EucaError(.notFound, .instance, "The instance ID '\(id)' does not exist")
        case .image: EucaError(.notFound, .image, "The image id '[\(id)]' does not exist")
        case .securityGroup: EucaError(.notFound, .securityGroup, "The security group '\(id)' does not exist")
        case .keyPair: EucaError(.notFound, .keyPair, "The key pair '\(id)' does not exist")
        case .elasticIp: EucaError(.notFound, .address, "The allocation ID '\(id)' does not exist")
        }
    }

    /// Adds or overwrites tags on each resource; all or nothing.
    public func create(_ principal: Principal, resourceIds: [String], tags: [Tag]) async throws {
        try TagService.checkTags(tags)
        for id in resourceIds { _ = try Self.checkTaggable(id) }
        let account = principal.accountId
        try await commit { txn in
            for id in resourceIds {
                let type = try Self.checkTaggable(id)
                guard let entry = try txn.get(id, from: CloudSchema.resources), entry.accountId == account else {
                    throw Self.notFound(id, type)
                }
                var record = try txn.get(id, from: CloudSchema.tags)
                    ?? ResourceTags(resourceId: id, type: entry.type, accountId: entry.accountId, tags: [:])
                for tag in tags { record.tags[tag.key] = tag.value }
                guard record.tags.count <= Self.maxTagsPerResource else {
                    throw EucaError(.limitExceeded, .tag, "The maximum number of tags per resource (\(Self.maxTagsPerResource)) would be exceeded for '\(id)'.")
                }
                try txn.put(record, at: id, in: CloudSchema.tags)
            }
        }
    }

    /// Removes tags: each key (only when its value matches, if a value is given), or every tag of
    /// the resources when no keys are given.
    public func delete(_ principal: Principal, resourceIds: [String], keys: [(key: String, value: String?)]) async throws {
        for id in resourceIds { _ = try Self.checkTaggable(id) }
        for (key, _) in keys { try Self.checkUserKey(key) }
        let account = principal.accountId
        try await commit { txn in
            for id in resourceIds {
                let type = try Self.checkTaggable(id)
                guard let entry = try txn.get(id, from: CloudSchema.resources), entry.accountId == account else {
                    throw Self.notFound(id, type)
                }
                guard var record = try txn.get(id, from: CloudSchema.tags) else { continue }
                if keys.isEmpty {
                    record.tags = record.tags.filter { $0.key.lowercased().hasPrefix("euca:") }
                } else {
                    for (key, value) in keys where value == nil || record.tags[key] == value { record.tags[key] = nil }
                }
                if record.tags.isEmpty {
                    try txn.delete(id, from: CloudSchema.tags)
                } else {
                    try txn.put(record, at: id, in: CloudSchema.tags)
                }
            }
        }
    }

    /// The caller's tags, one row per tag, ordered by resource id and key.
    public func describe(_ principal: Principal) -> [(resource: ResourceTags, key: String, value: String)] {
        let records = state.read { tables in tables.tags.values.filter { $0.accountId == principal.accountId } }
        var rows: [(resource: ResourceTags, key: String, value: String)] = []
        for record in records.sorted(by: { $0.resourceId < $1.resourceId }) {
            for (key, value) in record.tags.sorted(by: { $0.key < $1.key }) { rows.append((record, key, value)) }
        }
        return rows
    }

    /// Writes index entries for resources stored before the index existed.
    func indexExistingResources() async throws {
        let missing: [ResourceEntry] = state.read { tables in
            var entries: [ResourceEntry] = []
            for instance in tables.instances.values where tables.resources[instance.id.rawValue] == nil {
                entries.append(ResourceEntry(id: instance.id.rawValue, type: .instance, accountId: instance.accountId))
            }
            for image in tables.images.values where tables.resources[image.id.rawValue] == nil {
                entries.append(ResourceEntry(id: image.id.rawValue, type: .image, accountId: image.ownerId))
            }
            for pair in tables.keyPairs.values where tables.resources[pair.id.rawValue] == nil {
                entries.append(ResourceEntry(id: pair.id.rawValue, type: .keyPair, accountId: pair.accountId))
            }
            return entries
        }
        guard !missing.isEmpty else { return }
        try await commit { txn in
            for entry in missing { try txn.put(entry, at: entry.id, in: CloudSchema.resources) }
        }
    }
}
