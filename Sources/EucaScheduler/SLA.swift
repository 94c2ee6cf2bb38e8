public import EucaCore
public import Foundation

/// What an account has agreed to: limits, a lease on each instance, and a priority. Nil means
/// no limit (or no lease).
public struct AccountTerms: Sendable, Codable, Hashable {
    public var maxInstances: Int?
    public var maxCores: Int?
    public var maxMemoryMiB: Int?
    /// How long each new instance may live.
    public var leaseSeconds: Int?
    /// Higher runs first: a launch that does not fit may end instances of lower priority.
    public var priority: Int

    public init(maxInstances: Int? = nil, maxCores: Int? = nil, maxMemoryMiB: Int? = nil, leaseSeconds: Int? = nil, priority: Int = 0) {
        self.maxInstances = maxInstances
        self.maxCores = maxCores
        self.maxMemoryMiB = maxMemoryMiB
        self.leaseSeconds = leaseSeconds
        self.priority = priority
    }

    public static let none = AccountTerms()
}

/// What an account uses now (instances that hold resources: not terminated).
public struct AccountUsage: Sendable, Hashable {
    public var instances: Int
    public var cores: Int
    public var memoryMiB: Int

    public init(instances: Int = 0, cores: Int = 0, memoryMiB: Int = 0) {
        self.instances = instances
        self.cores = cores
        self.memoryMiB = memoryMiB
    }
}

/// A launch asking to be admitted.
public struct AdmissionRequest: Sendable, Hashable {
    public var accountId: AccountID
    public var vmType: VMType
    public var minCount: Int
    public var maxCount: Int

    public init(accountId: AccountID, vmType: VMType, minCount: Int, maxCount: Int) {
        self.accountId = accountId
        self.vmType = vmType
        self.minCount = minCount
        self.maxCount = maxCount
    }
}

/// An instance as an SLA policy sees it.
public struct SLAInstance: Sendable, Hashable {
    public var id: InstanceID
    public var accountId: AccountID
    public var vmType: VMType
    public var zone: String
    public var launchTime: Date
    public var state: InstanceState
    /// When its lease ends, if it has one.
    public var leaseEnds: Date?
    /// The node it runs on, once placed.
    public var node: NodeID?

    public init(
        id: InstanceID, accountId: AccountID, vmType: VMType, zone: String, launchTime: Date, state: InstanceState, leaseEnds: Date?,
        node: NodeID? = nil
    ) {
        self.id = id
        self.accountId = accountId
        self.vmType = vmType
        self.zone = zone
        self.launchTime = launchTime
        self.state = state
        self.leaseEnds = leaseEnds
        self.node = node
    }
}

/// A zone as a preemption sees it: each node's room, and the instances on the nodes.
public struct ZoneView: Sendable, Hashable {
    public var zone: String
    public var nodes: [NodeSnapshot]
    public var instances: [SLAInstance]

    public init(zone: String, nodes: [NodeSnapshot], instances: [SLAInstance]) {
        self.zone = zone
        self.nodes = nodes
        self.instances = instances
    }
}

/// What a preemption ends, and where the launch then goes: for each instance the launch was
/// short of, the node on which ending the victims makes room for it.
public struct PreemptionPlan: Sendable, Hashable {
    public var victims: [InstanceID]
    public var nodes: [NodeID]

    public init(victims: [InstanceID], nodes: [NodeID]) {
        self.victims = victims
        self.nodes = nodes
    }
}

/// What an SLA policy decides about a launch.
public enum AdmissionVerdict: Sendable, Hashable {
    /// Admit up to this many instances.
    case admit(Int)
    /// Refuse, with the reason the caller reads.
    case refuse(String)
}

/// Something an SLA policy wants done, found on its timer.
public enum SLAAction: Sendable, Hashable {
    case terminate(InstanceID, reason: String)
}

/// A service-level policy: evaluated when a launch asks to be admitted, and on a timer over the
/// instances that run. Pure functions of what they are given: no I/O, so they run in a simulator
/// as in the cloud. Policies compose: a launch is admitted with the smallest count any allows.
public protocol SLAPolicy: Sendable {
    var name: String { get }
    /// How many of the request's instances may start (at most `maxCount`).
    func admit(_ request: AdmissionRequest, usage: AccountUsage, terms: AccountTerms) -> AdmissionVerdict
    /// Instances to act on now.
    func review(_ instances: [SLAInstance], terms: [AccountID: AccountTerms], now: Date) -> [SLAAction]
    /// Instances that may be ended to make room for `request`, which is `shortBy` instances short
    /// in `zone`, and the nodes the launch then goes to: after the victims on a node end, one of
    /// the request's instances must fit on that node by its own figures. Nil when no plan does.
    func preempt(for request: AdmissionRequest, shortBy: Int, in zone: ZoneView, terms: [AccountID: AccountTerms]) -> PreemptionPlan?
    /// The earliest time after `now` at which `review` could act on these same instances, if
    /// nothing else changes: a simulator skips the reviews before it. Nil: never, until the
    /// instances change. The default, `now`, asks for every review.
    func nextReview(of instances: [SLAInstance], terms: [AccountID: AccountTerms], after now: Date) -> Date?
}

extension SLAPolicy {
    public func admit(_ request: AdmissionRequest, usage: AccountUsage, terms: AccountTerms) -> AdmissionVerdict { .admit(request.maxCount) }
    public func review(_ instances: [SLAInstance], terms: [AccountID: AccountTerms], now: Date) -> [SLAAction] { [] }
    public func preempt(
        for request: AdmissionRequest, shortBy: Int, in zone: ZoneView, terms: [AccountID: AccountTerms]
    ) -> PreemptionPlan? { nil }
    public func nextReview(of instances: [SLAInstance], terms: [AccountID: AccountTerms], after now: Date) -> Date? { now }
}

/// Per-account limits on instances, cores and memory, as EC2's `InstanceLimitExceeded`.
public struct QuotaPolicy: SLAPolicy {
    public let name = "quota"
    public init() {}

    public func admit(_ request: AdmissionRequest, usage: AccountUsage, terms: AccountTerms) -> AdmissionVerdict {
        var room = request.maxCount
        if let limit = terms.maxInstances { room = min(room, limit - usage.instances) }
        if let limit = terms.maxCores, request.vmType.cores > 0 { room = min(room, (limit - usage.cores) / request.vmType.cores) }
        if let limit = terms.maxMemoryMiB, request.vmType.memoryMiB > 0 {
            room = min(room, (limit - usage.memoryMiB) / request.vmType.memoryMiB)
        }
        room = max(0, room)
        if room < request.minCount {
            return .refuse("Your quota allows for \(room) more running instance(s) of \(request.vmType.name). You requested at least \(request.minCount).")
        }
        return .admit(room)
    }

    /// Quotas act at admission only.
    public func nextReview(of instances: [SLAInstance], terms: [AccountID: AccountTerms], after now: Date) -> Date? { nil }
}

/// Time-limited instances: each ends when its lease does (the leases of the seed's "time-limited
/// SLAs").
public struct LeasePolicy: SLAPolicy {
    public let name = "lease"
    public init() {}

    public func review(_ instances: [SLAInstance], terms: [AccountID: AccountTerms], now: Date) -> [SLAAction] {
        instances.compactMap { instance in
            guard let ends = instance.leaseEnds, ends <= now, instance.state != .terminated, instance.state != .shuttingDown else { return nil }
            return .terminate(instance.id, reason: "The instance's lease ended at \(ends).")
        }
    }

    /// The first lease to end.
    public func nextReview(of instances: [SLAInstance], terms: [AccountID: AccountTerms], after now: Date) -> Date? {
        instances.compactMap { instance in
            instance.state == .terminated || instance.state == .shuttingDown ? nil : instance.leaseEnds.map { max($0, now) }
        }.min()
    }
}

/// Priorities: a launch that does not fit may end instances of accounts with a lower priority,
/// lowest priority first and, within it, the newest first. Victims are chosen node by node, so
/// that the room they free is on one node and the launch fits there: for each instance the
/// launch is short of, the node that needs the fewest victims.
public struct PriorityPolicy: SLAPolicy {
    public let name = "priority"
    public init() {}

    /// Priorities act when a launch does not fit, not on review.
    public func nextReview(of instances: [SLAInstance], terms: [AccountID: AccountTerms], after now: Date) -> Date? { nil }

    public func preempt(
        for request: AdmissionRequest, shortBy: Int, in zone: ZoneView, terms: [AccountID: AccountTerms]
    ) -> PreemptionPlan? {
        let mine = terms[request.accountId]?.priority ?? 0
        func priority(_ instance: SLAInstance) -> Int { terms[instance.accountId]?.priority ?? 0 }
        // Accounts without terms rank 0: when no account ranks below the caller, nothing is
        // ended, and a full zone's instances need not be looked at on every launch it refuses.
        guard mine > 0 || terms.values.contains(where: { $0.priority < mine }) else { return nil }
        var candidates: [NodeID: [SLAInstance]] = [:]
        for instance in zone.instances
        where instance.zone == zone.zone && (instance.state == .running || instance.state == .pending) && priority(instance) < mine {
            guard let node = instance.node else { continue }
            candidates[node, default: []].append(instance)
        }
        for node in candidates.keys {
            candidates[node]?.sort { lhs, rhs in
                priority(lhs) == priority(rhs) ? lhs.launchTime > rhs.launchTime : priority(lhs) < priority(rhs)
            }
        }
        var nodes = zone.nodes
        let type = request.vmType
        func fits(_ node: NodeSnapshot) -> Bool {
            node.freeCores >= type.cores && node.freeMemoryMiB >= type.memoryMiB && node.freeDiskGiB >= type.diskGiB
        }
        var victims: [InstanceID] = []
        var placed: [NodeID] = []
        for _ in 0..<shortBy {
            // The node where the fewest victims make room for one more of the request's instances;
            // between equals, the one whose victims matter least (lowest priority, then newest).
            func cost(_ chosen: [SLAInstance]) -> (Int, Int, Double) {
                (chosen.count, chosen.map(priority).max() ?? Int.min, -(chosen.map(\.launchTime.timeIntervalSince1970).min() ?? 0))
            }
            var best: (index: Int, victims: [SLAInstance])?
            for (index, node) in nodes.enumerated() {
                var room = node
                var chosen: [SLAInstance] = []
                for candidate in candidates[node.id] ?? [] where !fits(room) {
                    chosen.append(candidate)
                    room.freeCores += candidate.vmType.cores
                    room.freeMemoryMiB += candidate.vmType.memoryMiB
                    room.freeDiskGiB += candidate.vmType.diskGiB
                }
                guard fits(room), best.map({ cost(chosen) < cost($0.victims) }) ?? true else { continue }
                best = (index, chosen)
            }
            guard let best else { return nil }
            let node = nodes[best.index].id
            let ended = Set(best.victims.map(\.id))
            candidates[node]?.removeAll { ended.contains($0.id) }
            for victim in best.victims {
                nodes[best.index].freeCores += victim.vmType.cores
                nodes[best.index].freeMemoryMiB += victim.vmType.memoryMiB
                nodes[best.index].freeDiskGiB += victim.vmType.diskGiB
            }
            nodes[best.index] = nodes[best.index].placing(type)
            victims += best.victims.map(\.id)
            placed.append(node)
        }
        return victims.isEmpty ? nil : PreemptionPlan(victims: victims, nodes: placed)
    }
}
