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

    public init(id: InstanceID, accountId: AccountID, vmType: VMType, zone: String, launchTime: Date, state: InstanceState, leaseEnds: Date?) {
        self.id = id
        self.accountId = accountId
        self.vmType = vmType
        self.zone = zone
        self.launchTime = launchTime
        self.state = state
        self.leaseEnds = leaseEnds
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
    /// in `zone`, in the order they should go. Empty when none may.
    func preempt(for request: AdmissionRequest, shortBy: Int, zone: String, running: [SLAInstance], terms: [AccountID: AccountTerms]) -> [InstanceID]
}

extension SLAPolicy {
    public func admit(_ request: AdmissionRequest, usage: AccountUsage, terms: AccountTerms) -> AdmissionVerdict { .admit(request.maxCount) }
    public func review(_ instances: [SLAInstance], terms: [AccountID: AccountTerms], now: Date) -> [SLAAction] { [] }
    public func preempt(
        for request: AdmissionRequest, shortBy: Int, zone: String, running: [SLAInstance], terms: [AccountID: AccountTerms]
    ) -> [InstanceID] { [] }
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
}

/// Priorities: a launch that does not fit may end instances of accounts with a lower priority,
/// lowest priority first and, within it, the newest first.
public struct PriorityPolicy: SLAPolicy {
    public let name = "priority"
    public init() {}

    public func preempt(
        for request: AdmissionRequest, shortBy: Int, zone: String, running: [SLAInstance], terms: [AccountID: AccountTerms]
    ) -> [InstanceID] {
        let mine = terms[request.accountId]?.priority ?? 0
        let candidates = running
            .filter { $0.zone == zone && ($0.state == .running || $0.state == .pending) && (terms[$0.accountId]?.priority ?? 0) < mine }
            .sorted { lhs, rhs in
                let (lp, rp) = (terms[lhs.accountId]?.priority ?? 0, terms[rhs.accountId]?.priority ?? 0)
                return lp == rp ? lhs.launchTime > rhs.launchTime : lp < rp
            }
        // Enough instances to free the cores and memory of the instances that are short.
        var cores = 0, memory = 0
        var chosen: [InstanceID] = []
        for candidate in candidates {
            if cores >= shortBy * request.vmType.cores && memory >= shortBy * request.vmType.memoryMiB { break }
            chosen.append(candidate.id)
            cores += candidate.vmType.cores
            memory += candidate.vmType.memoryMiB
        }
        return cores >= shortBy * request.vmType.cores && memory >= shortBy * request.vmType.memoryMiB ? chosen : []
    }
}
