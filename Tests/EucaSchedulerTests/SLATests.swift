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

    @Test func priorityPreemptsLowerAccountsNewestFirstAndOnlyWhenThatIsEnough() {
        let priority = PriorityPolicy()
        let terms = [account: AccountTerms(priority: 10), other: AccountTerms(priority: 1)]
        let older = instance(other, launched: 1)
        let newer = instance(other, launched: 2)
        let peer = instance(account, launched: 3)
        let request = AdmissionRequest(accountId: account, vmType: .small, minCount: 1, maxCount: 1)
        #expect(priority.preempt(for: request, shortBy: 1, zone: "a", running: [older, newer, peer], terms: terms) == [newer.id])
        // Not enough lower-priority instances to free the room: nothing is ended.
        #expect(priority.preempt(for: request, shortBy: 3, zone: "a", running: [older, newer, peer], terms: terms).isEmpty)
        // Another zone's instances free nothing here.
        #expect(priority.preempt(for: request, shortBy: 1, zone: "b", running: [older, newer], terms: terms).isEmpty)
        // An account of equal or lower priority preempts nothing.
        let low = AdmissionRequest(accountId: other, vmType: .small, minCount: 1, maxCount: 1)
        #expect(priority.preempt(for: low, shortBy: 1, zone: "a", running: [peer], terms: terms).isEmpty)
    }
}
