public import EucaCore
public import EucaScheduler
import Foundation

/// The cloud controller's settings, read from the configuration once at start.
public struct CloudSettings: Sendable {
    /// The region this cloud answers as (`REGION_NAME`).
    public var regionName: String
    /// Other region names a signature's scope may carry (`REGION_ALIASES`), for clients that
    /// name the region after the host or a name of their own (euca2ools' `[region NAME]`).
    public var regionAliases: [String]
    /// The URL clients reach the EC2 API at, shown by DescribeRegions.
    public var endpoint: String
    public var vmTypes: VMTypeCatalog
    /// How often desired state is reconciled with what the clusters report.
    public var reconcileInterval: Duration
    /// How long terminated instances stay visible, as in EC2 (about an hour).
    public var terminatedRetention: Duration
    /// The most instances one RunInstances call may ask for.
    public var maxInstancesPerRequest: Int
    /// How long a cluster's free resources are reused before they are asked for again.
    public var capacityCacheTime: Duration
    /// The most security groups one account may hold (`MAX_SECURITY_GROUPS`).
    public var maxSecurityGroupsPerAccount: Int
    /// The most key pairs one account may hold (`MAX_KEY_PAIRS`).
    public var maxKeyPairsPerAccount: Int
    /// How a launch's zone is chosen when it names none (`ZONE_POLICY`): a placement policy over
    /// the zones, each seen as one entry with its room for the launch's type.
    public var zonePolicy: PlacementPolicy
    /// Where each instance's life is appended, as a JSON line, when it ends (`EVENT_LOG`): a
    /// trace `euca-sim run --sort` replays. Nil for none.
    public var eventLog: String? = nil

    public init(
        regionName: String = "eucalyptus", regionAliases: [String] = [], endpoint: String = "http://127.0.0.1:8773/",
        vmTypes: VMTypeCatalog = .standard, reconcileInterval: Duration = .seconds(2),
        terminatedRetention: Duration = .seconds(3600), maxInstancesPerRequest: Int = 1000, capacityCacheTime: Duration = .seconds(1),
        maxSecurityGroupsPerAccount: Int = 500, maxKeyPairsPerAccount: Int = 5000, zonePolicy: PlacementPolicy = .mostRoom
    ) {
        self.zonePolicy = zonePolicy
        self.maxSecurityGroupsPerAccount = maxSecurityGroupsPerAccount
        self.maxKeyPairsPerAccount = maxKeyPairsPerAccount
        self.capacityCacheTime = capacityCacheTime
        self.regionName = regionName
        self.regionAliases = regionAliases
        self.endpoint = endpoint
        self.vmTypes = vmTypes
        self.reconcileInterval = reconcileInterval
        self.terminatedRetention = terminatedRetention
        self.maxInstancesPerRequest = maxInstancesPerRequest
    }

    public static let keys: [ConfigKey] = [
        ConfigKey("REGION_NAME", type: "string", default: "eucalyptus", "The region name clients sign for and DescribeRegions shows."),
        ConfigKey(
            "REGION_ALIASES", type: "list of names", default: "(none)",
            "Other region names signatures may be scoped to, separated by commas (for euca2ools configurations that name the region after the host)."),
        ConfigKey("VM_TYPES", type: "list of name:cores:memoryMiB:diskGiB or -name", default: "Eucalyptus' five types and AWS' t2, t3, t3a, m5, c5, r5",
                  "VM types to add or redefine, separated by commas; -name removes one, -t2.* every t2 type."),
        ConfigKey("RECONCILE_INTERVAL", type: "seconds", default: "2", "How often instance states are checked against the nodes."),
        ConfigKey("TERMINATED_RETENTION", type: "seconds", default: "3600", "How long terminated instances stay visible."),
        ConfigKey("IMAGE_STORE_PATH", type: "path", default: "STATE_DIR/images", "Where image files live; RegisterImage takes bucket/name within it."),
        ConfigKey("MAX_INSTANCES_PER_REQUEST", type: "integer", default: "1000", "The largest MaxCount a RunInstances call may ask for."),
        ConfigKey("MAX_SECURITY_GROUPS", type: "integer", default: "500", "The most security groups one account may hold."),
        ConfigKey("MAX_KEY_PAIRS", type: "integer", default: "5000", "The most key pairs one account may hold."),
        ConfigKey("CAPACITY_CACHE_TIME", type: "seconds", default: "1",
                  "How long the cloud controller reuses a cluster's free resources when admitting launches (launches it admitted since are counted against them)."),
        ConfigKey("EVENT_LOG", type: "path", default: "(none)",
                  "A file the cloud controller appends each ended instance to, as a JSON line (launch time, lifetime, size): a trace euca-sim replays with --sort."),
        ConfigKey("ZONE_POLICY", type: "MOSTROOM|GREEDY|ROUNDROBIN|POWERSAVE or a registered name", default: "MOSTROOM",
                  "How the cloud controller chooses the zone of a launch that names none: a placement policy run over the zones."),
    ]

    public init(_ config: EucaConfig, endpoint: String, registry: PlacementRegistry = .builtIn) throws(ConfigError) {
        let defaults = CloudSettings()
        self.init(
            regionName: try config.nonEmptyString("REGION_NAME", default: defaults.regionName),
            regionAliases: try config.value("REGION_ALIASES", default: []) { text in
                let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if let bad = names.first(where: { !Self.isRegionName($0) }) {
                    return .failure(ConfigProblem("\"\(bad)\" is not a region name (letters, digits, '.', '-' and '_', at most 64)"))
                }
                return .success(names)
            },
            endpoint: endpoint,
            vmTypes: try config.value("VM_TYPES", default: defaults.vmTypes) { defaults.vmTypes.applying(setting: $0) },
            reconcileInterval: .milliseconds(Int64(try config.seconds("RECONCILE_INTERVAL", default: 2, in: 0.05...3600) * 1000)),
            terminatedRetention: .seconds(Int64(try config.seconds("TERMINATED_RETENTION", default: 3600, in: 0...31_536_000))),
            maxInstancesPerRequest: try config.integer("MAX_INSTANCES_PER_REQUEST", default: 1000, in: 1...100_000),
            capacityCacheTime: .milliseconds(Int64(try config.seconds("CAPACITY_CACHE_TIME", default: 1, in: 0...60) * 1000)),
            maxSecurityGroupsPerAccount: try config.integer("MAX_SECURITY_GROUPS", default: 500, in: 1...1_000_000),
            maxKeyPairsPerAccount: try config.integer("MAX_KEY_PAIRS", default: 5000, in: 1...1_000_000),
            zonePolicy: try config.value("ZONE_POLICY", default: .mostRoom) { name in
                registry.policy(named: name).map { .success($0) }
                    ?? .failure(ConfigProblem("\"\(name)\" is not one of \(registry.names.joined(separator: ", "))"))
            })
        let log = try config.string("EVENT_LOG", default: "")
        eventLog = log.isEmpty ? nil : log
    }

    /// Every region a signature may be scoped to: the region and its aliases.
    public var signingRegions: Set<String> { Set([regionName] + regionAliases) }

    static func isRegionName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-._".unicodeScalars.contains($0)) }
    }
}
