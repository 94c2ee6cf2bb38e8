import EucaCore
import EucaScheduler
import Foundation
import EucaTesting
import Testing

/// The scheduling contracts, run against every built-in policy (the CustomPlacement example runs
/// them against its own).
@Suite struct SchedulingContractTests {
    @Test("placement policies", arguments: [PlacementPolicy.greedy, .roundRobin, .powerSave, .mostRoom], PlacementPolicyContract.cases)
    func placement(_ policy: PlacementPolicy, _ check: PlacementPolicyContract.Case) throws {
        try check.run(on: policy)
    }

    static let slaPolicies: [any SLAPolicy] = [QuotaPolicy(), LeasePolicy(), PriorityPolicy()]

    @Test("SLA policies", arguments: 0..<3, SLAPolicyContract.cases)
    func sla(_ index: Int, _ check: SLAPolicyContract.Case) throws {
        try check.run(on: Self.slaPolicies[index])
    }
}

/// The preemption case must not pass by having nothing to check: the built-in that preempts does
/// plan for the contract's sample zone.
@Test func thePreemptionContractIsExercisedByPriorityPolicy() throws {
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let request = AdmissionRequest(
        accountId: SLAPolicyContract.high, vmType: VMTypeCatalog.eucalyptusDefaults["c1.medium"]!, minCount: 2, maxCount: 2)
    let plan = try #require(PriorityPolicy().preempt(for: request, shortBy: 2, in: SLAPolicyContract.zone(now: now), terms: SLAPolicyContract.terms))
    #expect(plan.nodes.count == 2)
    #expect(!plan.victims.isEmpty)
}

/// The placement contract fails a policy that overcommits: one without a capacity filter.
@Test func thePlacementContractCatchesAnOvercommittingPolicy() {
    let careless = PlacementPolicy(name: "CARELESS", filters: [], scorers: [])
    let failures = PlacementPolicyContract.cases.filter { (try? $0.run(on: careless)) == nil }
    #expect(failures.map(\.name).contains { $0.hasPrefix("every placement fits its node") })
}
