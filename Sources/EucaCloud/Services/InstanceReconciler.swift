import EucaCore
import EucaNet
import EucaScheduler
import Foundation
import Synchronization
import ServiceLifecycle

/// Drives each instance toward what its user asked for: runs the work queue's jobs on the
/// clusters, and on a timer compares desired state with what the clusters report, carries out
/// the SLA policies' review and forgets old terminated instances.
public struct InstanceReconciler: CloudService {
    public let context: CloudContext
    let work: InstanceWork
    let instances: InstanceService
    /// The service-level policies, asked in order on the reconcile timer.
    let slaPolicies: [any SLAPolicy]

    func enqueue(_ kind: InstanceWork.Kind) { work.enqueue(kind) }
    func cluster(_ zone: String) -> (any ClusterControllerAPI)? { context.cluster(zone) }
    var zoneOrder: [String] { context.zoneOrder }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    while !Task.isCancelled {
                        try? await context.clock.sleep(for: settings.reconcileInterval)
                        if Task.isCancelled { break }
                        await reconcile()
                    }
                }
                group.addTask { [self] in
                    await reconcile()
                    await withTaskGroup(of: Void.self) { running in
                        for await job in work.jobs {
                            running.addTask { await self.perform(job) }
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        work.finish()
    }

    /// Runs one reconciliation pass now (the timer does this on its own).
    public func reconcileNow() async { await reconcile() }

    // MARK: - Work on the clusters

    func claim(_ ids: [InstanceID]) -> [InstanceID] {
        work.withLock { work in
            let free = ids.filter { !work.inFlight.contains($0) }
            work.inFlight.formUnion(free)
            return free
        }
    }

    func release(_ ids: [InstanceID]) {
        work.withLock { work in work.inFlight.subtract(ids) }
    }

    func records(_ ids: [InstanceID]) -> [InstanceRecord] {
        state.read { tables in ids.compactMap { tables.instances[$0] } }
    }

    func perform(_ job: InstanceWork.Job) async {
        await RequestID.$current.withValue(job.requestID) { await perform(job.kind) }
    }

    func perform(_ kind: InstanceWork.Kind) async {
        switch kind {
        case .reconcile:
            await reconcile()
        case .launch(let ids):
            await perform(.launchOn(ids, preferred: [:]))
        case .launchOn(let ids, let preferred):
            await dispatch(ids, expecting: .pending) { cluster, records in
                try await cluster.runInstances(records.map { record in
                    var launch = record.launch
                    if let node = preferred[record.id] { launch.preferredNode = node }
                    return launch
                })
            }
        case .launchAfter(let ids, let victims, let preferred):
            let held = claim(ids)
            let cleared = await awaitTerminated(victims, limit: .seconds(60))
            if !cleared {
                logger.warning("instances ended for a launch are still shutting down; launching anyway", metadata: [
                    "euca.instances": "\(victims.map(\.rawValue).joined(separator: ","))",
                ])
            }
            release(held)
            await perform(.launchOn(ids, preferred: preferred))
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
        case .metadataOptions(let ids):
            for record in records(ids) where record.state == .running || record.state == .stopped {
                guard let cluster = cluster(record.zone) else { continue }
                do {
                    try await cluster.modifyInstanceMetadataOptions(record.id, record.metadataOptions ?? MetadataOptions())
                } catch {
                    // The reconciler tries again when the node reports other options.
                    logger.warning("could not hand metadata options to the node", metadata: ["euca.instance": "\(record.id)", "error": "\(error)"])
                }
            }
        }
    }

    /// Sends one cluster call per zone for the instances still in `expected`, then records the
    /// outcome of each.
    func dispatch(
        _ ids: [InstanceID], expecting expected: InstanceState,
        _ call: @escaping @Sendable (any ClusterControllerAPI, [InstanceRecord]) async throws -> [InstanceOutcome]
    ) async {
        let claimed = claim(ids)
        defer { release(claimed) }
        let byZone = Dictionary(grouping: records(claimed).filter { $0.state == expected }, by: \.zone)
        for (zone, records) in byZone {
            var outcomes: [InstanceOutcome]?
            if let cluster = cluster(zone) {
                do {
                    outcomes = try await call(cluster, records)
                } catch is CancellationError {
                    // Stopping: the work is taken up again at the next start.
                } catch {
                    // The reconciler tries again; the desired state is already durable.
                    logger.error("cluster call failed", metadata: ["euca.zone": "\(zone)", "error": "\(error)"])
                }
            }
            // Handed on: figures asked for from now on count these launches. Bound before their
            // outcomes are recorded, or a launch admitted in between would find running
            // instances whose room the ledger holds unbound, take them for launches given up,
            // and count their room free in figures older than them.
            instances.bindReservations(records.map(\.id))
            guard let outcomes else { continue }
            do {
                try await record(outcomes, expecting: expected)
            } catch {
                logger.error("could not record a cluster's outcomes", metadata: ["euca.zone": "\(zone)", "error": "\(error)"])
            }
        }
    }

    /// Records what a cluster said it did, for instances still in `expected`.
    func record(_ outcomes: [InstanceOutcome], expecting expected: InstanceState) async throws {
        let now = context.clock.now()
        try await commit { txn in
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
                    if next == .terminated {
                        try AddressService.releaseAssociations(of: record.id, in: txn)
                        record.publicIp = nil
                    }
                    try txn.put(record, at: record.id.rawValue, in: CloudSchema.instances)
                } else if outcome.node != nil, record.node != outcome.node {
                    try txn.put(record, at: record.id.rawValue, in: CloudSchema.instances)
                }
            }
        }
        for outcome in outcomes {
            if let failure = outcome.failure {
                logger.warning("instance operation failed", metadata: ["euca.instance": "\(outcome.instanceId)", "failure": "\(failure)"])
            }
        }
    }

    /// Compares each instance's desired state with what its cluster reports, writes the states
    /// that follow, and re-issues work that a restart or a failure interrupted.
    func reconcile() async {
        for zone in zoneOrder {
            guard let cluster = cluster(zone) else { continue }
            let asOf = now()
            let report: ClusterInstances
            do {
                report = try await cluster.describeInstances()
                work.withLock { _ = $0.unreachableZones.remove(zone) }
            } catch {
                logger.warning("cluster did not answer", metadata: ["euca.zone": "\(zone)", "error": "\(error)"])
                work.withLock { _ = $0.unreachableZones.insert(zone) }
                continue
            }
            await reconcile(zone: zone, report: report, asOf: asOf)
        }
        await reviewSLAs()
        await purgeTerminated()
    }

    func reconcile(zone: String, report: ClusterInstances, asOf: Date) async {
        let observed = Dictionary(report.reports.map { ($0.instanceId, $0) }, uniquingKeysWith: { first, _ in first })
        let unreachable = Set(report.unreachableNodes)
        work.withLock { $0.unreachableNodes[zone] = unreachable }
        let busy = work.withLock { $0.inFlight }
        let known = state.read { tables in tables.instances(inZone: zone) }
        var transitions: [(InstanceID, InstanceState, InstanceState, NodeID?)] = []
        var relaunch: [InstanceID] = [], restart: [InstanceID] = [], reterminate: [InstanceID] = [], restop: [InstanceID] = []
        var learned: [(InstanceID, String)] = [], reoption: [InstanceID] = []
        for instance in known where !busy.contains(instance.id) && instance.stateChangedAt <= asOf {
            if let node = instance.node, unreachable.contains(node) { continue }
            let seen = observed[instance.id]
            let state = seen?.state ?? .absent
            if state == .launching { continue }
            if let seen, let address = seen.privateIp, address != instance.privateIp, instance.state == .running {
                learned.append((instance.id, address))
            }
            if let seen, let options = seen.metadataOptions, options != (instance.metadataOptions ?? MetadataOptions()),
                instance.state == .running || instance.state == .stopped
            {
                reoption.append(instance.id)
            }
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
            let now = context.clock.now()
            let transitions = transitions
            do {
                try await commit { txn in
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
                            record.transitionReason = InstanceService.transitionReason("Server initiated", at: now)
                        case (.running, .stopped), (.running, .shuttingDown):
                            record.stateReason = .instanceInitiated
                            record.transitionReason = InstanceService.transitionReason("Instance initiated", at: now)
                        case (_, .running):
                            record.stateReason = nil
                        default:
                            break
                        }
                        if next == .terminated {
                            try AddressService.releaseAssociations(of: record.id, in: txn)
                            record.publicIp = nil
                        }
                        try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
                    }
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
            instances.reserve(records(relaunch), in: zone)
            enqueue(.launch(relaunch))
        }
        if !restart.isEmpty { enqueue(.start(restart)) }
        if !reoption.isEmpty { enqueue(.metadataOptions(reoption)) }
        if !learned.isEmpty { await recordAddresses(learned) }
        if !reterminate.isEmpty { enqueue(.terminate(reterminate)) }
        if !restop.isEmpty { enqueue(.stop(restop)) }
    }

    /// Records the addresses nodes saw instances take on their network (from the site's DHCP in
    /// SYSTEM mode), so DescribeInstances shows them.
    func recordAddresses(_ learned: [(InstanceID, String)]) async {
        do {
            try await commit { txn in
                for (id, address) in learned {
                    guard var record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state == .running,
                        record.vni == nil, record.privateIp != address
                    else { continue }
                    record.privateIp = address
                    try txn.put(record, at: id.rawValue, in: CloudSchema.instances)
                }
            }
            for (id, address) in learned {
                logger.info("instance address learned", metadata: ["euca.instance": "\(id)", "address": "\(address)"])
            }
        } catch {
            logger.error("could not record instance addresses", metadata: ["error": "\(error)"])
        }
    }

    /// Forgets instances terminated longer ago than the retention, and reservations left empty.
    func purgeTerminated() async {
        let cutoff = now().addingTimeInterval(-Double(settings.terminatedRetention.components.seconds))
        let expired = state.read { tables in
            Array(tables.instances.values.filter { $0.state == .terminated && $0.stateChangedAt < cutoff }.map(\.id))
        }
        guard !expired.isEmpty else { return }
        do {
            try await commit { txn in
                var removed: [InstanceID] = []
                var emptied: [ReservationID] = []
                for id in expired {
                    guard let record = try txn.get(id.rawValue, from: CloudSchema.instances), record.state == .terminated else { continue }
                    try txn.delete(id.rawValue, from: CloudSchema.instances)
                    try TagService.remove(resource: id.rawValue, in: txn)
                    removed.append(id)
                    if var reservation = try txn.get(record.reservationId.rawValue, from: CloudSchema.reservations) {
                        reservation.instanceIds.removeAll { $0 == id }
                        if reservation.instanceIds.allSatisfy({ expired.contains($0) }) {
                            try txn.delete(reservation.id.rawValue, from: CloudSchema.reservations)
                            emptied.append(reservation.id)
                        }
                    }
                }
            }
            logger.info("terminated instances forgotten", metadata: ["count": "\(expired.count)"])
        } catch {
            logger.error("could not forget terminated instances", metadata: ["error": "\(error)"])
        }
    }

    /// Runs the policies' review over the instances that hold resources and carries out what
    /// they ask. Called on the reconcile timer.
    func reviewSLAs() async {
        let now = context.clock.now()
        let holding = state.read { tables in
            Array(tables.instances.values.filter { $0.state != .terminated && $0.state != .shuttingDown })
        }.map(instances.slaView)
        guard !holding.isEmpty else { return }
        let terms = instances.accounts.allTerms()
        // The first policy to name an instance gives the reason; a lease's end has EC2-style code
        // of its own, any other policy's decision `Server.ServiceLevel` with the policy's words.
        var ending: [InstanceID: StateReason] = [:]
        for policy in slaPolicies {
            for action in policy.review(holding, terms: terms, now: now) {
                switch action {
                case .terminate(let id, let reason):
                    if ending[id] == nil {
                        ending[id] = policy is LeasePolicy
                            ? .leaseExpired : StateReason(code: "Server.ServiceLevel", message: "Server.ServiceLevel: \(reason)")
                    }
                }
            }
        }
        guard !ending.isEmpty else { return }
        for reason in Set(ending.values) {
            do {
                let ended = try await instances.terminateForPolicy(ending.filter { $0.value == reason }.map(\.key), reason: reason)
                for id in ended {
                    logger.info("instance ended by SLA policy", metadata: ["euca.instance": "\(id)", "reason": "\(reason.message)"])
                }
            } catch {
                logger.error("could not end instances an SLA policy named", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Waits until each of `ids` is terminated (or gone), up to `limit`.
    func awaitTerminated(_ ids: [InstanceID], limit: Duration) async -> Bool {
        let state = self.state
        let clock = context.clock
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await state.wait { tables in ids.allSatisfy { tables.instances[$0].map { $0.state == .terminated } ?? true } }
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await clock.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
