public import EucaCore
public import EucaScheduler
import Foundation

/// Service levels in a simulation: the cloud's own `SLAPolicy` values (quotas, leases,
/// priorities, or a researcher's), asked as the cloud controller asks them.
///
/// - Every arrival is a launch of one instance by its account (``VMArrival/account``, or
///   ``defaultAccount``): each policy's `admit` is asked with the account's usage (its VMs that
///   hold room) and terms; the launch is refused when any allows none.
/// - A launch that finds no room asks each policy's `preempt` for a plan over the cluster (one
///   zone, every VM that runs); the first plan's victims end at once and the launch goes to the
///   plan's node.
/// - Every `reviewInterval` seconds, each policy's `review` is asked over the VMs that run, with
///   the simulated time as `now`; each VM it names ends then (a lease's end is seen at the first
///   review after it, as in the cloud).
public struct SimServiceLevels: Sendable {
    public var policies: [any SLAPolicy]
    public var terms: [AccountID: AccountTerms]
    public var reviewInterval: Double

    /// The account of arrivals that name none.
    public static let defaultAccount = AccountID(rawValue: "000000000000")
    /// The zone every simulated instance is in, for the policies' views.
    public static let zone = "sim"

    public init(policies: [any SLAPolicy], terms: [AccountID: AccountTerms] = [:], reviewInterval: Double = 60) {
        self.policies = policies
        self.terms = terms
        self.reviewInterval = reviewInterval
    }

    func terms(of account: AccountID) -> AccountTerms { terms[account] ?? .none }

    /// The smallest count any policy allows for one instance, and the refusing policy's name.
    func admit(_ type: VMType, for account: AccountID, usage: AccountUsage) -> String? {
        let request = AdmissionRequest(accountId: account, vmType: type, minCount: 1, maxCount: 1)
        let terms = terms(of: account)
        for policy in policies {
            switch policy.admit(request, usage: usage, terms: terms) {
            case .admit(let count) where count >= 1: continue
            case .admit, .refuse: return policy.name
            }
        }
        return nil
    }
}

/// The simulated instances as the SLA policies see them: ids, accounts, usage by account.
struct ServiceLevelBook {
    struct Entry {
        var id: InstanceID
        var account: AccountID
        var type: VMType
        var start: Double
        var leaseEnds: Double?
    }

    /// By VM slot, for the VMs that hold room.
    private(set) var entries: [Int: Entry] = [:]
    private var slots: [InstanceID: Int] = [:]
    private(set) var usage: [AccountID: AccountUsage] = [:]

    mutating func add(slot: Int, arrival: Int, account: AccountID, type: VMType, start: Double, lease: Int?) {
        let id = InstanceID(rawValue: "i-" + String(arrival, radix: 16))
        entries[slot] = Entry(id: id, account: account, type: type, start: start, leaseEnds: lease.map { start + Double($0) })
        slots[id] = slot
        var used = usage[account, default: AccountUsage()]
        used.instances += 1
        used.cores += type.cores
        used.memoryMiB += type.memoryMiB
        usage[account] = used
    }

    mutating func remove(slot: Int) {
        guard let entry = entries.removeValue(forKey: slot) else { return }
        slots[entry.id] = nil
        var used = usage[entry.account, default: AccountUsage()]
        used.instances -= 1
        used.cores -= entry.type.cores
        used.memoryMiB -= entry.type.memoryMiB
        usage[entry.account] = used.instances == 0 ? nil : used
    }

    func slot(of id: InstanceID) -> Int? { slots[id] }

    /// Every VM that holds room, in slot order, as the policies see an instance.
    func instances(on hosts: (Int) -> NodeID) -> [(slot: Int, instance: SLAInstance)] {
        entries.keys.sorted().map { slot in
            let entry = entries[slot]!
            return (slot, SLAInstance(
                id: entry.id, accountId: entry.account, vmType: entry.type, zone: SimServiceLevels.zone,
                launchTime: Date(timeIntervalSince1970: entry.start), state: .running,
                leaseEnds: entry.leaseEnds.map { Date(timeIntervalSince1970: $0) }, node: hosts(slot)))
        }
    }
}
