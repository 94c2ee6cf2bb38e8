import EucaCore
import EucaNet

/// The applier of modes that enforce rules on the hosts (VPC): each plan goes to every cluster
/// (`configureNetwork`), which hands it to its nodes; each node applies what its own instances
/// need. Plans go out one at a time, in the order they were made, so a later one is never
/// overtaken by an earlier.
actor ClusterNetworkApplier: NetworkApplier {
    private let context: CloudContext
    private var tail: Task<(any Error)?, Never>?
    /// The policy last sent, and when: the same one again goes out only after `resend`.
    private var last: (policy: NetworkPolicy, at: ContinuousClock.Instant)?
    private let resend: Duration

    init(context: CloudContext, resend: Duration = .seconds(25)) {
        self.context = context
        self.resend = resend
    }

    func apply(_ plan: NetworkPlan) async throws {
        let policy = NetworkPolicy(groups: plan.groups, generation: plan.generation)
        if let last, last.policy.groups == policy.groups, last.at.duration(to: .now) < resend {
            _ = await tail?.value
            return
        }
        last = (policy, .now)
        let context = self.context
        let previous = tail
        let task = Task { () -> (any Error)? in
            _ = await previous?.value
            return await Self.send(policy, context: context)
        }
        tail = task
        if let error = await task.value {
            last = nil
            throw error
        }
    }

    /// Sends `policy` to every cluster at once; the first failure, if any.
    private static func send(_ policy: NetworkPolicy, context: CloudContext) async -> (any Error)? {
        let clusters = context.zoneOrder.compactMap { context.cluster($0) }
        return await withTaskGroup(of: (any Error)?.self) { group in
            for cluster in clusters {
                group.addTask {
                    do {
                        try await cluster.configureNetwork(policy)
                        return nil
                    } catch {
                        return EucaError(.unavailable, .zone, "the cluster of \(cluster.zone) did not take the network policy", underlying: error)
                    }
                }
            }
            var first: (any Error)?
            for await error in group where first == nil { first = error }
            return first
        }
    }
}
