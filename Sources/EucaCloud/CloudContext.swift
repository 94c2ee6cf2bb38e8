public import EucaCore
import EucaSecurity
import Foundation
import Logging
import Synchronization

/// What the cloud controller's services share: the durable store, its in-memory mirror, the
/// settings, the clock and the log, and the clusters each zone is served by.
public final class CloudContext: Sendable {
    public let store: any StateStore
    /// The mirror of the store: every read that must not wait on disk comes from here.
    public let state: CloudState
    public let settings: CloudSettings
    public let clock: any EucaClock
    let logger: Logger
    private let clusterTable: Mutex<(byZone: [String: any ClusterControllerAPI], order: [String])>

    init(
        store: any StateStore, secrets: SecretSealer, clusters: [any ClusterControllerAPI], settings: CloudSettings, clock: any EucaClock,
        logger: Logger
    ) {
        self.store = store
        self.state = CloudState(sealer: secrets)
        self.settings = settings
        self.clock = clock
        self.logger = logger
        var byZone: [String: any ClusterControllerAPI] = [:]
        var order: [String] = []
        for cluster in clusters where byZone[cluster.zone] == nil {
            byZone[cluster.zone] = cluster
            order.append(cluster.zone)
        }
        clusterTable = Mutex((byZone, order))
    }

    /// The zones in registration order.
    var zoneOrder: [String] { clusterTable.withLock { $0.order } }

    /// Each node's underlay address, as it last reported it.
    private let nodeAddresses = Mutex<[NodeID: String]>([:])
    /// Whether any address changed.
    func noteNodeAddresses(_ addresses: [NodeID: String]) -> Bool {
        nodeAddresses.withLock { known in
            let changed = addresses.contains { known[$0.key] != $0.value }
            known.merge(addresses) { _, new in new }
            return changed
        }
    }
    func nodeAddress(_ node: NodeID?) -> String? { node.flatMap { id in nodeAddresses.withLock { $0[id] } } }

    /// The cluster serving `zone`.
    func cluster(_ zone: String) -> (any ClusterControllerAPI)? { clusterTable.withLock { $0.byZone[zone] } }

    /// Adds (or replaces) the cluster serving its zone.
    func attach(_ cluster: any ClusterControllerAPI) {
        clusterTable.withLock { table in
            if table.byZone[cluster.zone] == nil { table.order.append(cluster.zone) }
            table.byZone[cluster.zone] = cluster
        }
    }

    /// Removes the cluster serving `zone`.
    func detach(zone: String) {
        clusterTable.withLock { table in
            table.byZone[zone] = nil
            table.order.removeAll { $0 == zone }
        }
    }

    /// Runs `body` in a write transaction. Once it has committed, every put and delete it made is
    /// applied to the in-memory mirror, in commit order: a service writes its records once.
    @discardableResult
    func commit<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let state = self.state
        return try await store.write { txn in
            let mirrored = MirroredWriter(txn)
            let result = try body(mirrored)
            let changes = mirrored.changes
            txn.afterCommit { state.update { tables in for change in changes { change(&tables) } } }
            return result
        }
    }
}

/// A part of the cloud controller with one job: one resource's records, their validation and
/// the errors EC2 clients see about them. Every service reads from the mirror and writes through
/// ``CloudContext/commit(_:)``; a new resource is a new service of this shape.
protocol CloudService: Sendable {
    var context: CloudContext { get }
}

extension CloudService {
    var state: CloudState { context.state }
    var settings: CloudSettings { context.settings }
    var logger: Logger { context.logger }
    func now() -> Date { context.clock.now() }

    @discardableResult
    func commit<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try await context.commit(body)
    }
}

/// A write transaction that notes each put and delete for the mirror, in order.
final class MirroredWriter: StoreWriter {
    private let base: any StoreWriter
    private(set) var changes: [CloudState.Change] = []

    init(_ base: any StoreWriter) { self.base = base }

    func get<V>(_ key: String, from collection: StoreCollection<V>) throws -> V? { try base.get(key, from: collection) }

    func scan<V>(_ collection: StoreCollection<V>, _ range: ScanRange) throws -> [(key: String, value: V)] {
        try base.scan(collection, range)
    }

    func put<V>(_ value: V, at key: String, in collection: StoreCollection<V>) throws {
        try base.put(value, at: key, in: collection)
        if let change = CloudState.change(collection, key: key, value: value) { changes.append(change) }
    }

    @discardableResult
    func delete<V>(_ key: String, from collection: StoreCollection<V>) throws -> Bool {
        let existed = try base.delete(key, from: collection)
        if let change = CloudState.change(collection, key: key, value: nil as V?) { changes.append(change) }
        return existed
    }

    func afterCommit(_ action: @escaping @Sendable () -> Void) { base.afterCommit(action) }
}
