public import EucaCore
public import EucaScheduler

/// The cluster controller's settings.
public struct ClusterSettings: Sendable {
    /// The cluster's name, which is its availability zone (`CLUSTER_NAME`).
    public var name: String
    /// The placement policy (`SCHEDPOLICY`), from the registry the daemon was given.
    public var policy: PlacementPolicy

    public static let keys: [ConfigKey] = [
        ConfigKey("CLUSTER_NAME", type: "string", default: "cluster01", "The cluster's name, which is its availability zone."),
        ConfigKey("SCHEDPOLICY", type: "GREEDY|ROUNDROBIN or a registered name", default: "ROUNDROBIN", "How instances are placed on nodes."),
    ]

    public init(_ config: EucaConfig, registry: PlacementRegistry = .builtIn) throws(ConfigError) {
        name = try config.nonEmptyString("CLUSTER_NAME", default: "cluster01")
        policy = try config.value("SCHEDPOLICY", default: .roundRobin) { name in
            guard let policy = registry.policy(named: name) else {
                return .failure(ConfigProblem("\"\(name)\" is not one of \(registry.names.joined(separator: ", "))"))
            }
            return .success(policy)
        }
    }
}
