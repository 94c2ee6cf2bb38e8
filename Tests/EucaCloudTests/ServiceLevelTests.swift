import EucaCloud
import EucaCore
import EucaScheduler
import EucaSecurity
import EucaTesting
import Foundation
import Synchronization
import Testing

@Suite struct ServiceLevelTests {
    func account(_ test: TestCloud, _ name: String, _ terms: AccountTerms) async throws -> Principal {
        let (record, key) = try await test.cloud.accounts.create(name: name)
        try await test.cloud.accounts.setTerms(terms, forAccount: name)
        return Principal(accountId: record.id, userName: "admin", accessKeyId: key.accessKeyId, isCloudAdmin: false)
    }

    func launch(_ test: TestCloud, _ principal: Principal, min: Int = 1, max: Int = 1, type: String = "m1.small") async throws -> [InstanceRecord] {
        try await test.cloud.instances.run(
            principal, .init(imageId: test.image.rawValue, instanceType: type, minCount: min, maxCount: max)).1
    }

    @Test func quotasRefuseWithInstanceLimitExceededAndHoldUnderConcurrency() async throws {
        let test = try await TestCloud.make(nodes: 2, cores: 8)
        defer { test.service.cancel() }
        let user = try await account(test, "quota", AccountTerms(maxInstances: 3))
        // Five concurrent launches of one: exactly three are admitted.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 { group.addTask { (try? await launch(test, user)) != nil } }
            var admitted = 0
            for await ok in group where ok { admitted += 1 }
            return admitted
        }
        #expect(outcomes == 3)
        await #expect {
            try await launch(test, user)
        } throws: { error in
            guard let error = error as? EucaError else { return false }
            return error.code == .limitExceeded && error.resource == .instance
        }
        // MaxCount takes what the quota allows once room is freed.
        let mine = test.cloud.instances.reservations(for: user).flatMap(\.1).map(\.id)
        _ = try await test.cloud.instances.terminate(user, Array(mine.prefix(2)))
        try await test.waitFor(Array(mine.prefix(2)), .terminated)
        let more = try await launch(test, user, min: 1, max: 5)
        #expect(more.count == 2)
        // Lifting the limit lets the account launch again.
        try await test.cloud.accounts.setTerms(.none, forAccount: "quota")
        #expect(try await launch(test, user, max: 2).count == 2)
    }

    /// A policy of a researcher's own: ends every c1.medium instance at once.
    struct EndBatch: SLAPolicy {
        let name = "end-batch"
        func review(_ instances: [SLAInstance], terms: [AccountID: AccountTerms], now: Date) -> [SLAAction] {
            instances.filter { $0.vmType.name == "c1.medium" }.map { .terminate($0.id, reason: "batch work ends at once") }
        }
    }

    @Test func anInstanceEndedByAnotherPolicyGetsThatPolicysReasonNotALeases() async throws {
        let test = try await TestCloud.make(nodes: 1, slaPolicies: CloudController.builtInSLAPolicies + [EndBatch()])
        defer { test.service.cancel() }
        let user = try await account(test, "batch", .none)
        let id = try await launch(test, user, type: "c1.medium")[0].id
        let kept = try await launch(test, user)[0].id
        try await test.waitFor([id], .terminated)
        #expect(test.states([kept]) != [.terminated])
        let record = try #require(try test.cloud.instances.owned([id], for: user).first)
        #expect(record.stateReason?.code == "Server.ServiceLevel")
        #expect(record.stateReason?.message.contains("batch work ends at once") == true)
    }

    @Test func aCoreQuotaCountsTheTypesCores() async throws {
        let test = try await TestCloud.make(nodes: 2, cores: 8)
        defer { test.service.cancel() }
        let user = try await account(test, "cores", AccountTerms(maxCores: 4))
        #expect(try await launch(test, user, type: "m1.large").count == 1)   // 2 cores
        #expect(try await launch(test, user, min: 1, max: 4).count == 2)      // 2 × 1 core
        await #expect(throws: EucaError.self) { try await launch(test, user) }
    }

    @Test func aLeaseShowsAsATagAndEndsTheInstance() async throws {
        let clock = ManualClock()
        let test = try await TestCloud.make(nodes: 1, clock: clock)
        defer { test.service.cancel() }
        let user = try await account(test, "leased", AccountTerms(leaseSeconds: 60))
        let launched = try await launch(test, user)
        let id = launched[0].id
        let tag = try #require(test.cloud.tags.tags(of: id.rawValue)[InstanceService.leaseTagKey])
        let ends = try #require(launched[0].leaseEnds)
        #expect(ends.timeIntervalSince(launched[0].launchTime) == 60)
        #expect(tag.hasSuffix("Z") && tag.count == 20)
        try await test.waitFor([id], .running)
        // A second before the lease ends, a review leaves the instance alone; at its end, it ends it.
        clock.advance(by: .seconds(59))
        await test.cloud.reconciler.reconcileNow()
        #expect(test.states([id]) == [.running])
        clock.advance(by: .seconds(1))
        await test.cloud.reconciler.reconcileNow()
        try await test.waitFor([id], .terminated)
        let record = try #require(try test.cloud.instances.owned([id], for: user).first)
        #expect(record.stateReason == .leaseExpired)
        #expect(try await test.hypervisors[0].list().isEmpty)
        // The lease's tag is the cloud's: the user cannot remove or set it.
        await #expect(throws: EucaError.self) {
            try await test.cloud.tags.delete(user, resourceIds: [id.rawValue], keys: [(key: InstanceService.leaseTagKey, value: nil)])
        }
        await #expect(throws: EucaError.self) {
            try await test.cloud.tags.create(user, resourceIds: [id.rawValue], tags: [Tag(key: "euca:mine", value: "x")])
        }
        try await test.cloud.tags.delete(user, resourceIds: [id.rawValue], keys: [])
        #expect(test.cloud.tags.tags(of: id.rawValue)[InstanceService.leaseTagKey] == tag)
    }

    @Test func aHigherPriorityLaunchPreemptsTheNewestLowerPriorityInstance() async throws {
        let test = try await TestCloud.make(nodes: 1, cores: 2)
        defer { test.service.cancel() }
        let low = try await account(test, "batch", AccountTerms(priority: 0))
        let high = try await account(test, "urgent", AccountTerms(priority: 5))
        let first = try await launch(test, low)
        try await test.waitFor(first.map(\.id), .running)
        let second = try await launch(test, low)
        try await test.waitFor(second.map(\.id), .running)
        // The node is full: an account of equal priority is refused, a higher one preempts.
        await #expect(throws: EucaError.self) { try await launch(test, low) }
        let urgent = try await launch(test, high)
        try await test.waitFor(urgent.map(\.id), .running)
        #expect(test.states(first.map(\.id)) == [.running])
        let ended = try #require(try test.cloud.instances.owned(second.map(\.id), for: low).first)
        #expect(ended.state == .terminated)
        #expect(ended.stateReason == .preempted)
    }

    /// A policy that never preempts and notes every zone it was asked about.
    final class WatchPreemption: SLAPolicy {
        let name = "watch"
        let asked = Mutex<[ZoneView]>([])
        func preempt(for request: AdmissionRequest, shortBy: Int, in zone: ZoneView, terms: [AccountID: AccountTerms]) -> PreemptionPlan? {
            asked.withLock { $0.append(zone) }
            return nil
        }
    }

    @Test func preemptionIsAskedOnlyAboutNodesThatAnswer() async throws {
        let watch = WatchPreemption()
        let silenced = [SilencedNode(), SilencedNode()]
        var made = 0
        let test = try await TestCloud.make(nodes: 2, cores: 1, slaPolicies: [watch]) { node in
            defer { made += 1 }
            return silenced[made].node(node)
        }
        defer { test.service.cancel() }
        // One instance on each node fills the zone.
        let placed = try await launch(test, test.admin, min: 2, max: 2)
        try await test.waitFor(placed.map(\.id), .running)
        let nodes = Dictionary(uniqueKeysWithValues: try test.cloud.instances.owned(placed.map(\.id), for: test.admin).map { ($0.node!, $0.id) })
        #expect(nodes.count == 2)

        // node1 stops answering: the policy sees node0 and node0's instance, not node1's.
        silenced[1].silent.withLock { $0 = true }
        await test.cluster.poll()
        await #expect(throws: EucaError.self) { try await launch(test, test.admin) }
        let view = try #require(watch.asked.withLock { $0.last })
        #expect(view.nodes.map(\.id) == [NodeID("node0")])
        #expect(view.instances.map(\.id) == [nodes[NodeID("node0")]!])

        // No node answers: the launch is refused without asking the policy.
        silenced[0].silent.withLock { $0 = true }
        await test.cluster.poll()
        let before = watch.asked.withLock { $0.count }
        await #expect(throws: EucaError.self) { try await launch(test, test.admin) }
        #expect(watch.asked.withLock { $0.count } == before)
    }
}
