public import EucaCore
public import EucaScheduler
public import Foundation

/// What every `PlacementPolicy` must do, whoever wrote it: the built-ins, the CustomPlacement
/// example, a researcher's. Run the cases with `@Test(arguments:)` over a policy.
public enum PlacementPolicyContract {
    public struct Case: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (PlacementPolicy) throws -> Void
        public var description: String { name }
        public func run(on policy: PlacementPolicy) throws { try body(policy) }
    }

    static func expect(_ condition: Bool, _ check: String, _ detail: @autoclosure () -> String) throws {
        if !condition { throw ContractViolation(check: check, detail: detail()) }
    }

    /// Nodes of uneven size and fill, in a fixed order.
    static func uneven() -> ClusterSnapshot {
        ClusterSnapshot(nodes: (0..<8).map { index in
            let cores = [2, 4, 8, 16][index % 4]
            let used = index % 3
            return NodeSnapshot(
                id: NodeID("n\(index)"), totalCores: cores, freeCores: max(0, cores - used * 2), totalMemoryMiB: cores * 1024,
                freeMemoryMiB: max(0, cores * 1024 - used * 1024), totalDiskGiB: 200, freeDiskGiB: 200 - used * 20, instances: used)
        })
    }

    static func fits(_ type: VMType, _ node: NodeSnapshot) -> Bool {
        node.freeCores >= type.cores && node.freeMemoryMiB >= type.memoryMiB && node.freeDiskGiB >= type.diskGiB
    }

    public static let cases: [Case] = [
        Case(name: "every placement fits its node, and placing until the policy stops never overcommits one") { policy in
            let type = VMTypeCatalog.eucalyptusDefaults["c1.medium"]!
            var cluster = uneven()
            var placed = 0
            while true {
                let decision = policy.place(PlacementRequest(vmType: type), in: cluster)
                guard let node = decision.node else {
                    guard case .unplaceable(let reasons) = decision, Set(reasons.keys) == Set(cluster.nodes.map(\.id)) else {
                        throw ContractViolation(check: "reasons", detail: "stopped without a reason for every node: \(decision)")
                    }
                    break
                }
                let snapshot = cluster.nodes.first { $0.id == node }!
                try expect(fits(type, snapshot), "fits", "\(node) has \(snapshot.freeCores) cores, \(snapshot.freeMemoryMiB) MiB free")
                cluster.place(type, on: node)
                placed += 1
                try expect(placed <= 1000, "terminates", "placed more than the cluster holds")
            }
            try expect(placed > 0, "places", "nothing placed on an empty-enough cluster")
            try expect(cluster.nodes.allSatisfy { $0.freeCores >= 0 && $0.freeMemoryMiB >= 0 && $0.freeDiskGiB >= 0 }, "no overcommit", "\(cluster.nodes)")
        },
        Case(name: "the same snapshot gets the same decision") { policy in
            let cluster = uneven()
            for type in VMTypeCatalog.eucalyptusDefaults.types {
                let first = policy.place(PlacementRequest(vmType: type), in: cluster)
                let second = policy.place(PlacementRequest(vmType: type), in: cluster)
                try expect(first == second, "pure", "\(type.name): \(first) then \(second)")
            }
        },
        Case(name: "a type no node can hold is unplaceable, with a reason per node") { policy in
            let huge = VMType(name: "huge", cores: 64, memoryMiB: 1 << 20, diskGiB: 10_000)
            let cluster = uneven()
            guard case .unplaceable(let reasons) = policy.place(PlacementRequest(vmType: huge), in: cluster) else {
                throw ContractViolation(check: "unplaceable", detail: "a 64-core type was placed")
            }
            try expect(Set(reasons.keys) == Set(cluster.nodes.map(\.id)), "reasons", "\(reasons)")
        },
        Case(name: "a preferred node the policy would take on its own is chosen") { policy in
            let cluster = uneven()
            let type = VMTypeCatalog.eucalyptusDefaults["m1.small"]!
            var preferredAny = false
            for node in cluster.nodes where policy.place(PlacementRequest(vmType: type), in: ClusterSnapshot(nodes: [node])).node == node.id {
                preferredAny = true
                let decision = policy.place(PlacementRequest(vmType: type, preferredNode: node.id), in: cluster)
                try expect(decision.node == node.id, "preferred", "preferred \(node.id), got \(decision)")
            }
            try expect(preferredAny, "preferred", "no node of the sample cluster takes an m1.small")
        },
    ]
}

/// What every `SLAPolicy` must do: admit no more than asked, act only on instances it was
/// shown, and plan preemptions that free room where the launch then goes.
public enum SLAPolicyContract {
    public struct Case: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (any SLAPolicy) throws -> Void
        public var description: String { name }
        public func run(on policy: any SLAPolicy) throws { try body(policy) }
    }

    public static let high = AccountID(rawValue: "111111111111")
    static let low = AccountID(rawValue: "222222222222")
    public static let terms: [AccountID: AccountTerms] = [
        high: AccountTerms(maxInstances: 5, maxCores: 8, leaseSeconds: 60, priority: 10),
        low: AccountTerms(leaseSeconds: 30, priority: 1),
    ]

    /// A zone of three full nodes, each running two small instances of the low-priority account.
    public static func zone(now: Date) -> ZoneView {
        let small = VMTypeCatalog.eucalyptusDefaults["m1.small"]!
        var instances: [SLAInstance] = []
        var nodes: [NodeSnapshot] = []
        for index in 0..<3 {
            let node = NodeID("n\(index)")
            nodes.append(NodeSnapshot(id: node, totalCores: 2, freeCores: 0, totalMemoryMiB: 512, freeMemoryMiB: 256, totalDiskGiB: 10, freeDiskGiB: 6))
            for slot in 0..<2 {
                instances.append(SLAInstance(
                    id: .generate(), accountId: low, vmType: small, zone: "z", launchTime: now.addingTimeInterval(Double(-100 + index * 2 + slot)),
                    state: .running, leaseEnds: now.addingTimeInterval(Double(-10 + index * 10)), node: node))
            }
        }
        return ZoneView(zone: "z", nodes: nodes, instances: instances)
    }

    public static let cases: [Case] = [
        Case(name: "admission never allows more than asked, nor fewer than zero") { policy in
            for (min, max) in [(1, 1), (1, 10), (3, 3), (0, 0)] {
                for usage in [AccountUsage(), AccountUsage(instances: 4, cores: 4, memoryMiB: 512)] {
                    let request = AdmissionRequest(accountId: high, vmType: VMTypeCatalog.eucalyptusDefaults["m1.small"]!, minCount: min, maxCount: max)
                    if case .admit(let count) = policy.admit(request, usage: usage, terms: terms[high]!) {
                        guard count >= 0 && count <= max else {
                            throw ContractViolation(check: "admit", detail: "admitted \(count) of \(min)...\(max)")
                        }
                    }
                }
            }
        },
        Case(name: "review acts only on the instances it is shown") { policy in
            let now = Date(timeIntervalSince1970: 1_700_000_000)
            let zone = zone(now: now)
            let shown = Set(zone.instances.map(\.id))
            for action in policy.review(zone.instances, terms: terms, now: now) {
                switch action {
                case .terminate(let id, let reason):
                    guard shown.contains(id), !reason.isEmpty else {
                        throw ContractViolation(check: "review", detail: "named \(id), not shown, or gave no reason")
                    }
                }
            }
            for action in policy.review([], terms: terms, now: now) {
                throw ContractViolation(check: "review", detail: "acted with nothing shown: \(action)")
            }
        },
        Case(name: "a preemption ends shown instances, places every short instance, and each then fits its node") { policy in
            let now = Date(timeIntervalSince1970: 1_700_000_000)
            let zone = zone(now: now)
            let type = VMTypeCatalog.eucalyptusDefaults["c1.medium"]!
            for short in 1...3 {
                let request = AdmissionRequest(accountId: high, vmType: type, minCount: short, maxCount: short)
                guard let plan = policy.preempt(for: request, shortBy: short, in: zone, terms: terms) else { continue }
                let byId = Dictionary(uniqueKeysWithValues: zone.instances.map { ($0.id, $0) })
                guard plan.victims.allSatisfy({ byId[$0] != nil }), Set(plan.victims).count == plan.victims.count else {
                    throw ContractViolation(check: "victims", detail: "named instances not shown, or one twice: \(plan.victims)")
                }
                guard plan.nodes.count == short else {
                    throw ContractViolation(check: "nodes", detail: "\(plan.nodes.count) nodes for \(short) short instances")
                }
                var room = Dictionary(uniqueKeysWithValues: zone.nodes.map { ($0.id, $0) })
                for victim in plan.victims.compactMap({ byId[$0] }) {
                    guard let node = victim.node else { continue }
                    room[node]?.freeCores += victim.vmType.cores
                    room[node]?.freeMemoryMiB += victim.vmType.memoryMiB
                    room[node]?.freeDiskGiB += victim.vmType.diskGiB
                }
                for node in plan.nodes {
                    guard let free = room[node], free.freeCores >= type.cores, free.freeMemoryMiB >= type.memoryMiB, free.freeDiskGiB >= type.diskGiB else {
                        throw ContractViolation(check: "fits", detail: "no room on \(node) after the plan: \(String(describing: room[node]))")
                    }
                    room[node] = free.placing(type)
                }
            }
        },
        Case(name: "a review acts no earlier than the policy's next review time says") { policy in
            let now = Date(timeIntervalSince1970: 1_700_000_000)
            let zone = zone(now: now)
            for offset in [-20.0, -5, 0, 15] {
                let asked = now.addingTimeInterval(offset)
                let due = policy.nextReview(of: zone.instances, terms: terms, after: asked)
                // Before the time it names (or ever, when it names none), a review does nothing.
                let quiet: [Date]
                if let due {
                    quiet = [asked, asked.addingTimeInterval(due.timeIntervalSince(asked) / 2)].filter { $0 < due }
                } else {
                    quiet = [asked, asked.addingTimeInterval(1_000_000)]
                }
                for moment in quiet where !policy.review(zone.instances, terms: terms, now: moment).isEmpty {
                    throw ContractViolation(check: "nextReview", detail: "said \(String(describing: due)) after \(asked), but acted at \(moment)")
                }
            }
        },
        Case(name: "decisions are pure: the same inputs, the same answers") { policy in
            let now = Date(timeIntervalSince1970: 1_700_000_000)
            let zone = zone(now: now)
            let request = AdmissionRequest(accountId: high, vmType: VMTypeCatalog.eucalyptusDefaults["m1.small"]!, minCount: 1, maxCount: 4)
            guard policy.admit(request, usage: AccountUsage(), terms: terms[high]!) == policy.admit(request, usage: AccountUsage(), terms: terms[high]!),
                policy.review(zone.instances, terms: terms, now: now) == policy.review(zone.instances, terms: terms, now: now),
                policy.preempt(for: request, shortBy: 2, in: zone, terms: terms) == policy.preempt(for: request, shortBy: 2, in: zone, terms: terms)
            else {
                throw ContractViolation(check: "pure", detail: "two calls with the same inputs answered differently")
            }
        },
    ]
}
