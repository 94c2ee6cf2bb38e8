import EucaCore
import EucaScheduler
import Foundation
import Synchronization

/// The work queue and the bookkeeping of work under way that the instance service and the
/// reconciler share: jobs for the clusters, instances with a cluster call in flight, resources
/// held in each zone for launches not yet placed, what admitted launches hold per account.
public final class InstanceWork: Sendable {
    /// Work for the clusters, with the id of the client request it serves (if any).
    struct Job: Sendable {
        var kind: Kind
        var requestID: String? = RequestID.current
    }

    enum Kind: Sendable {
        case launch([InstanceID])
        /// A launch that waits for the instances ended to make room for it, each instance sent to
        /// the node where its room was made.
        case launchAfter([InstanceID], victims: [InstanceID], preferred: [InstanceID: NodeID])
        /// A launch with a node preferred for some of its instances.
        case launchOn([InstanceID], preferred: [InstanceID: NodeID])
        case start([InstanceID])
        case stop([InstanceID])
        case terminate([InstanceID])
        case reboot([InstanceID])
        /// Hands instances' metadata options to their nodes.
        case metadataOptions([InstanceID])
        case reconcile
    }

    /// In-memory bookkeeping of work under way: instances with a cluster call in flight, and the
    /// the room held in each zone for launches not yet placed.
    struct Table {
        var inFlight: Set<InstanceID> = []
        /// Room held per zone for accepted launches, until the zone's cluster's figures count them.
        var reservations = ReservationLedger<String, Date>()
        /// Each zone's resources as last fetched from its cluster, and when the fetch began.
        var resources: [String: (asOf: Date, value: ClusterResources)] = [:]
        var warnedUnknown: Set<InstanceID> = []
        /// Nodes that did not answer the last time their cluster asked.
        /// Per zone, the nodes its cluster could not reach at its last report.
        var unreachableNodes: [String: Set<NodeID>] = [:]
        /// Zones whose cluster did not answer the last reconciliation.
        var unreachableZones: Set<String> = []
        /// Per account, what admitted launches hold before their instances are recorded.
        var admitting: [AccountID: AccountUsage] = [:]
    }


    let jobs: AsyncStream<Job>
    private let jobSink: AsyncStream<Job>.Continuation
    private let table = Mutex(Table())

    init() {
        (jobs, jobSink) = AsyncStream.makeStream(of: Job.self)
    }

    func enqueue(_ kind: Kind) {
        jobSink.yield(Job(kind: kind))
    }

    func finish() {
        jobSink.finish()
    }

    func withLock<T: Sendable, E: Error>(_ body: (inout Table) throws(E) -> T) throws(E) -> T {
        try table.withLock { (table: inout Table) throws(E) -> T in try body(&table) }
    }
}
