public import EucaNet

/// A ``NetworkApplier`` that keeps every plan it is handed, for tests of what the cloud asks of
/// the network.
public actor RecordingNetworkApplier: NetworkApplier {
    public private(set) var plans: [NetworkPlan] = []

    public init() {}

    public func apply(_ plan: NetworkPlan) async throws {
        plans.append(plan)
    }

    /// The most recent plan.
    public var latest: NetworkPlan? { plans.last }
}
