public import EucaCore
public import EucaScheduler
import Foundation

extension StateReason {
    /// The instance's lease ended (an SLA policy's review).
    public static let leaseExpired = StateReason(code: "Server.LeaseExpired", message: "Server.LeaseExpired: The instance's lease ended")
    /// The instance was ended to make room for an account of higher priority.
    public static let preempted = StateReason(
        code: "Server.Preempted", message: "Server.Preempted: Ended to make room for a launch of higher priority")
}

extension CloudController {
    /// The tag that shows when an instance's lease ends (ISO 8601). Keys starting with `euca:` are
    /// the cloud's own: users can read them, not set or delete them.
    public static let leaseTagKey = "euca:lease-expires"

    // MARK: - Admission

    /// What the account's instances hold now: those that are not stopped or terminated, and
    /// launches admitted but not yet recorded.
    public func usage(of account: AccountID, admitting: AccountUsage = AccountUsage()) -> AccountUsage {
        var usage = admitting
        let instances = state.read { $0.instances }
        for instance in instances.values where instance.accountId == account {
            switch instance.state {
            case .terminated, .stopped: continue
            default:
                usage.instances += 1
                usage.cores += instance.vmType.cores
                usage.memoryMiB += instance.vmType.memoryMiB
            }
        }
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
                    launchTime: instance.launchTime, state: instance.state, leaseEnds: instance.leaseEnds)
    }

    /// Instances the policies would end so that `shortBy` more of the request's fit in `zone`.
    func preemptionVictims(for request: AdmissionRequest, shortBy: Int, zone: String) -> [InstanceID] {
        let running = state.read { tables in Array(tables.instances.values.filter { $0.zone == zone }) }.map(slaView)
        let terms = accounts.allTerms()
        for policy in slaPolicies {
            let victims = policy.preempt(for: request, shortBy: shortBy, zone: zone, running: running, terms: terms)
            if !victims.isEmpty { return victims }
        }
        return []
    }

    /// Runs the policies' review over the instances that hold resources and carries out what
    /// they ask. Called on the reconcile timer.
    func reviewSLAs(now: Date = Date()) async {
        let instances = state.read { tables in
            Array(tables.instances.values.filter { $0.state != .terminated && $0.state != .shuttingDown })
        }.map(slaView)
        guard !instances.isEmpty else { return }
        let terms = accounts.allTerms()
        // The first policy to name an instance gives the reason; a lease's end has EC2-style code
        // of its own, any other policy's decision `Server.ServiceLevel` with the policy's words.
        var ending: [InstanceID: StateReason] = [:]
        for policy in slaPolicies {
            for action in policy.review(instances, terms: terms, now: now) {
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
                let ended = try await terminateForPolicy(ending.filter { $0.value == reason }.map(\.key), reason: reason)
                for id in ended {
                    logger.info("instance ended by SLA policy", metadata: ["euca.instance": "\(id)", "reason": "\(reason.message)"])
                }
            } catch {
                logger.error("could not end instances an SLA policy named", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Terminates instances on the cloud's own account (a policy's decision), whatever their
    /// termination protection: like a spot interruption, an SLA outranks it. Returns those that
    /// changed state.
    @discardableResult
    func terminateForPolicy(_ ids: [InstanceID], reason: StateReason) async throws -> [InstanceID] {
        let now = Date()
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

    /// Waits until each of `ids` is terminated (or gone), up to `limit`.
    func awaitTerminated(_ ids: [InstanceID], limit: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limit)
        while clock.now < deadline {
            let done = state.read { tables in ids.allSatisfy { tables.instances[$0].map { $0.state == .terminated } ?? true } }
            if done { return true }
            try? await Task.sleep(for: .milliseconds(100))
            if Task.isCancelled { return false }
        }
        return false
    }
}
