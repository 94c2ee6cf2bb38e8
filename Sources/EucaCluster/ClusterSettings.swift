public import EucaCore
public import EucaScheduler

/// The cluster controller's settings.
public struct ClusterSettings: Sendable {
    /// The cluster's name, which is its availability zone (`CLUSTER_NAME`).
    public var name: String
    /// The placement policy (`SCHEDPOLICY`), from the registry the daemon was given.
    public var policy: PlacementPolicy
    /// How often nodes are polled and how long a node may take to answer.
    public var timings: ClusterTimings

    public static let keys: [ConfigKey] = [
        ConfigKey("CLUSTER_NAME", type: "string", default: "cluster01", "The cluster's name, which is its availability zone."),
        ConfigKey("SCHEDPOLICY", type: "GREEDY|ROUNDROBIN|POWERSAVE or a registered name", default: "ROUNDROBIN", "How instances are placed on nodes."),
        ConfigKey("NC_POLLING_FREQUENCY", type: "seconds", default: "1", "How often the cluster asks its nodes what they run."),
        ConfigKey("NODE_TIMEOUT", type: "seconds", default: "5", "How long the cluster waits for a node before calling it unreachable."),
    ]

    public init(_ config: EucaConfig, registry: PlacementRegistry = .builtIn) throws(ConfigError) {
        name = try config.nonEmptyString("CLUSTER_NAME", default: "cluster01")
        policy = try config.value("SCHEDPOLICY", default: .roundRobin) { name in
            guard let policy = registry.policy(named: name) else {
                return .failure(ConfigProblem("\"\(name)\" is not one of \(registry.names.joined(separator: ", "))"))
            }
            return .success(policy)
        }
        timings = ClusterTimings(
            pollInterval: .milliseconds(Int64(try config.seconds("NC_POLLING_FREQUENCY", default: 1, in: 0.05...3600) * 1000)),
            nodeTimeout: .milliseconds(Int64(try config.seconds("NODE_TIMEOUT", default: 5, in: 0.1...3600) * 1000)))
    }
}
