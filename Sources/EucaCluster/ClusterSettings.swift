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
    /// For POWERSAVE: how long a node may idle before it is powered down, how long a woken node
    /// may take to answer.
    public var powerTimings: PowerTimings
    /// The commands that power a node down and wake it (`POWER_DOWN_COMMAND`,
    /// `POWER_WAKE_COMMAND`); nil when not configured, and then no node is powered down.
    public var powerCommands: (down: String, wake: String)?

    public static let keys: [ConfigKey] = [
        ConfigKey("CLUSTER_NAME", type: "string", default: "cluster01", "The cluster's name, which is its availability zone."),
        ConfigKey("SCHEDPOLICY", type: "GREEDY|ROUNDROBIN|POWERSAVE or a registered name", default: "ROUNDROBIN", "How instances are placed on nodes."),
        ConfigKey("NC_POLLING_FREQUENCY", type: "seconds", default: "1", "How often the cluster asks its nodes what they run."),
        ConfigKey("NODE_TIMEOUT", type: "seconds", default: "5", "How long the cluster waits for a node before calling it unreachable."),
        ConfigKey("LAUNCH_TIMEOUT", type: "seconds", default: "900", "How long a node may take to run or start an instance (image download and boot) before the launch fails."),
        ConfigKey("POWER_IDLETHRESH", type: "seconds", default: "300", "With POWERSAVE: how long a node runs nothing before it is powered down."),
        ConfigKey("POWER_WAKETHRESH", type: "seconds", default: "300", "With POWERSAVE: how long a woken node may take to answer before the launch on it fails."),
        ConfigKey("POWER_DOWN_COMMAND", type: "shell command", default: "none",
                  "With POWERSAVE: powers a node down; EUCA_NODE and EUCA_NODE_HOST name it. Without it and POWER_WAKE_COMMAND, no node is powered down."),
        ConfigKey("POWER_WAKE_COMMAND", type: "shell command", default: "none", "With POWERSAVE: wakes a node (for example wakeonlan or ipmitool)."),
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
            nodeTimeout: .milliseconds(Int64(try config.seconds("NODE_TIMEOUT", default: 5, in: 0.1...3600) * 1000)),
            launchTimeout: .milliseconds(Int64(try config.seconds("LAUNCH_TIMEOUT", default: 900, in: 1...86_400) * 1000)))
        powerTimings = PowerTimings(
            idleThreshold: .milliseconds(Int64(try config.seconds("POWER_IDLETHRESH", default: 300, in: 0.1...604_800) * 1000)),
            wakeTimeout: .milliseconds(Int64(try config.seconds("POWER_WAKETHRESH", default: 300, in: 0.1...3600) * 1000)))
        let down = config.entry("POWER_DOWN_COMMAND").map(\.value).flatMap { $0.isEmpty ? nil : $0 }
        let wake = config.entry("POWER_WAKE_COMMAND").map(\.value).flatMap { $0.isEmpty ? nil : $0 }
        switch (down, wake) {
        case (let down?, let wake?): powerCommands = (down, wake)
        case (nil, nil): powerCommands = nil
        case (nil, _?):
            throw ConfigError(key: "POWER_WAKE_COMMAND", source: config.entry("POWER_WAKE_COMMAND")?.source ?? .defaultValue,
                              message: "is set but POWER_DOWN_COMMAND is not; give both or neither")
        case (_?, nil):
            throw ConfigError(key: "POWER_DOWN_COMMAND", source: config.entry("POWER_DOWN_COMMAND")?.source ?? .defaultValue,
                              message: "is set but POWER_WAKE_COMMAND is not; give both or neither")
        }
    }
}
