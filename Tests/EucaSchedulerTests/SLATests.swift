import EucaCore
import EucaScheduler
import EucaTesting
import Foundation
import Testing

@Suite struct SLAPolicyTests {
    let account = AccountID(rawValue: "111111111111")
    let other = AccountID(rawValue: "222222222222")

    func instance(_ account: AccountID, _ type: VMType = .small, launched: Double = 0, lease: Double? = nil, zone: String = "a") -> SLAInstance {
        SLAInstance(id: .generate(), accountId: account, vmType: type, zone: zone, launchTime: Date(timeIntervalSince1970: launched),
                    state: .running, leaseEnds: lease.map { Date(timeIntervalSince1970: $0) })
    }

    @Test func quotasAdmitWhatFitsUnderEveryLimit() {
        let quota = QuotaPolicy()
        let request = AdmissionRequest(accountId: account, vmType: .small, minCount: 1, maxCount: 10)
        // m1.small is 1 core and 128 MiB; the memory limit is the tightest here.
        let terms = AccountTerms(maxInstances: 8, maxCores: 6, maxMemoryMiB: 512)
        #expect(quota.admit(request, usage: AccountUsage(instances: 1, cores: 1, memoryMiB: 128), terms: terms) == .admit(3))
        #expect(quota.admit(request, usage: AccountUsage(), terms: .none) == .admit(10))
        let full = AccountUsage(instances: 8, cores: 8, memoryMiB: 2048)
        guard case .refuse(let why) = quota.admit(request, usage: full, terms: terms) else {
            Issue.record("a full account was admitted")
            return
        }
        #expect(why.contains("0 more"))
    }

    @Test func leasesEndInstancesWhoseLeaseHasPassed() {
        let lease = LeasePolicy()
        let expired = instance(account, lease: 100)
        let current = instance(account, lease: 300)
        let unleased = instance(account)
        let actions = lease.review([expired, current, unleased], terms: [:], now: Date(timeIntervalSince1970: 200))
        #expect(actions.count == 1)
        guard case .terminate(let id, _) = actions.first else { return }
        #expect(id == expired.id)
    }

    /// A full node of `cores` cores and 8 GiB.
    func full(_ node: NodeID, cores: Int = 1) -> NodeSnapshot {
        NodeSnapshot(id: node, totalCores: cores, freeCores: 0, totalMemoryMiB: 8192, freeMemoryMiB: 8192 - 128 * cores, totalDiskGiB: 100, freeDiskGiB: 50)
    }

    func on(_ node: NodeID, _ instance: SLAInstance) -> SLAInstance {
        var placed = instance
        placed.node = node
        return placed
    }

    @Test func priorityPreemptsLowerAccountsNewestFirstAndOnlyWhenThatIsEnough() {
        let priority = PriorityPolicy()
        let terms = [account: AccountTerms(priority: 10), other: AccountTerms(priority: 1)]
        let older = on("n1", instance(other, launched: 1))
        let newer = on("n2", instance(other, launched: 2))
        let peer = on("n3", instance(account, launched: 3))
        let zone = ZoneView(zone: "a", nodes: [full("n1"), full("n2"), full("n3")], instances: [older, newer, peer])
        let request = AdmissionRequest(accountId: account, vmType: .small, minCount: 1, maxCount: 1)
        #expect(priority.preempt(for: request, shortBy: 1, in: zone, terms: terms) == PreemptionPlan(victims: [newer.id], nodes: ["n2"]))
        #expect(priority.preempt(for: request, shortBy: 2, in: zone, terms: terms)?.victims.sorted() == [older.id, newer.id].sorted())
        // Not enough lower-priority instances to free the room: nothing is ended.
        #expect(priority.preempt(for: request, shortBy: 3, in: zone, terms: terms) == nil)
        // Another zone's instances free nothing here.
        let elsewhere = ZoneView(zone: "b", nodes: [full("n1"), full("n2")], instances: [older, newer])
        #expect(priority.preempt(for: request, shortBy: 1, in: elsewhere, terms: terms) == nil)
        // An account of equal or lower priority preempts nothing.
        let low = AdmissionRequest(accountId: other, vmType: .small, minCount: 1, maxCount: 1)
        #expect(priority.preempt(for: low, shortBy: 1, in: zone, terms: terms) == nil)
    }

    /// Room counted across a zone is not room on a node: two one-core instances on two nodes do
    /// not make room for a two-core instance. The victims are chosen on one node, where the
    /// launch then fits.
    @Test func preemptionMakesRoomOnOneNode() {
        let priority = PriorityPolicy()
        let terms = [account: AccountTerms(priority: 10), other: AccountTerms(priority: 1)]
        let spread = [on("n1", instance(other, launched: 1)), on("n2", instance(other, launched: 2))]
        let nodes = [full("n1", cores: 1), full("n2", cores: 1)]
        let large = AdmissionRequest(accountId: account, vmType: VMType(name: "m1.large", cores: 2, memoryMiB: 512, diskGiB: 10), minCount: 1, maxCount: 1)
        #expect(priority.preempt(for: large, shortBy: 1, in: ZoneView(zone: "a", nodes: nodes, instances: spread), terms: terms) == nil)

        let packed = [on("n1", instance(other, launched: 1)), on("n1", instance(other, launched: 2)), on("n2", instance(other, launched: 3))]
        let plan = priority.preempt(
            for: large, shortBy: 1, in: ZoneView(zone: "a", nodes: [full("n1", cores: 2), full("n2", cores: 1)], instances: packed), terms: terms)
        #expect(plan?.nodes == ["n1"])
        #expect(Set(plan?.victims ?? []) == Set(packed.prefix(2).map(\.id)))
    }
}
