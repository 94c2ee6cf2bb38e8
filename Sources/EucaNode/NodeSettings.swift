public import EucaCore

/// The node controller's settings, read from the configuration once at start.
public struct NodeSettings: Sendable, Hashable {
    /// The node's name in its cluster.
    public var node: NodeID
    /// Where instances' files live (console logs, disks, the node's record of each instance).
    public var instancePath: String
    /// Overrides of the host's size, as Eucalyptus' `MAX_CORES`, `MAX_MEM` (MiB) and `MAX_DISK` (GiB).
    public var maxCores: Int?
    public var maxMemoryMiB: Int?
    public var maxDiskGiB: Int?
    /// How long a stop waits for the guest to power off before destroying it.
    public var shutdownTimeout: Duration
    /// The bridge instance interfaces join (`VNET_BRIDGE`); none when empty.
    public var bridge: String?
    /// The libvirt connection instances run on (`LIBVIRT_URI`).
    public var libvirtURI: String

    public init(
        node: NodeID, instancePath: String, libvirtURI: String = "test:///default", maxCores: Int? = nil, maxMemoryMiB: Int? = nil, maxDiskGiB: Int? = nil,
        shutdownTimeout: Duration = .seconds(30), bridge: String? = nil
    ) {
        self.node = node
        self.instancePath = instancePath
        self.maxCores = maxCores
        self.maxMemoryMiB = maxMemoryMiB
        self.maxDiskGiB = maxDiskGiB
        self.shutdownTimeout = shutdownTimeout
        self.bridge = bridge
        self.libvirtURI = libvirtURI
    }

    /// The keys this struct reads, for the operator's guide.
    public static let keys: [ConfigKey] = [
        ConfigKey("LIBVIRT_URI", type: "URI", default: "test:///default", "The libvirt connection instances run on."),
        ConfigKey("NODE_NAME", type: "string", default: "the host name", "This node's name in its cluster."),
        ConfigKey("INSTANCE_PATH", type: "path", default: "STATE_DIR/instances", "Where instances' consoles, disks and records live."),
        ConfigKey("MAX_CORES", type: "integer", default: "the host's cores", "Cores this node offers to instances."),
        ConfigKey("MAX_MEM", type: "integer (MiB)", default: "the host's memory", "Memory this node offers to instances."),
        ConfigKey("MAX_DISK", type: "integer (GiB)", default: "free space under INSTANCE_PATH", "Disk this node offers to instances."),
        ConfigKey("SHUTDOWN_TIMEOUT", type: "seconds", default: "30", "How long a stop waits for the guest before destroying it."),
        ConfigKey("VNET_BRIDGE", type: "string", default: "(none)", "The bridge instance interfaces join; none when empty."),
    ]

    /// Reads the settings; `defaultInstancePath` applies when `INSTANCE_PATH` is unset.
    public init(_ config: EucaConfig, defaultNode: NodeID, defaultInstancePath: String) throws(ConfigError) {
        let bridge = try config.string("VNET_BRIDGE", default: "")
        self.init(
            node: NodeID(try config.nonEmptyString("NODE_NAME", default: defaultNode.rawValue)),
            instancePath: try config.nonEmptyString("INSTANCE_PATH", default: defaultInstancePath),
            libvirtURI: try config.nonEmptyString("LIBVIRT_URI", default: "test:///default"),
            maxCores: try config.optionalInteger("MAX_CORES", in: 1...1_000_000),
            maxMemoryMiB: try config.optionalInteger("MAX_MEM", in: 1...1_000_000_000),
            maxDiskGiB: try config.optionalInteger("MAX_DISK", in: 1...1_000_000_000),
            shutdownTimeout: .milliseconds(Int64(try config.seconds("SHUTDOWN_TIMEOUT", default: 30, in: 0...3600) * 1000)),
            bridge: bridge.isEmpty ? nil : bridge)
    }
}
