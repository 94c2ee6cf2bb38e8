public import EucaCore
import EucaNet
import Foundation

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
    /// `auto` (probe the host), `kvm` or `qemu` (`HYPERVISOR_ACCEL`).
    public var acceleration: String
    /// Where fetched images are kept, and how many bytes they may take.
    public var imageCachePath: String
    public var imageCacheBytes: Int64
    /// Where the instance metadata service listens (`METADATA_ADDRESS`, `METADATA_PORT`); no
    /// service when the address is empty.
    public var metadataAddress: String?
    public var metadataPort: Int
    /// The host's interface on the site's network (`VNET_PUBINTERFACE`), where the elastic IPs of
    /// instances on a VPC are answered for; nil for none.
    public var publicInterface: String?
    /// The host's interface on the network between nodes (`VNET_PRIVINTERFACE`): its address
    /// carries the VPCs' VXLAN traffic to other nodes; nil for none.
    public var privateInterface: String?
    /// Where the VPC networks of this host keep their files (DHCP, what to clean up after a
    /// crash): under `/run`, since they live as long as the namespaces they describe (until the
    /// host restarts), and readable by dnsmasq once it has dropped its privileges.
    public var vpcPath = "/run/euca/vpc"
    /// The DNS servers DHCP gives instances on the networks the cloud addresses (`VNET_DNS`).
    public var dns: [String] = []

    public init(
        node: NodeID, instancePath: String, libvirtURI: String = "test:///default", maxCores: Int? = nil, maxMemoryMiB: Int? = nil, maxDiskGiB: Int? = nil,
        shutdownTimeout: Duration = .seconds(30), bridge: String? = nil, acceleration: String = "auto",
        imageCachePath: String? = nil, imageCacheBytes: Int64 = 10 << 30, metadataAddress: String? = nil, metadataPort: Int = 80,
        publicInterface: String? = nil, privateInterface: String? = nil
    ) {
        self.publicInterface = publicInterface
        self.privateInterface = privateInterface
        self.acceleration = acceleration
        self.imageCachePath = imageCachePath ?? Self.sibling(of: instancePath, "image-cache")
        self.imageCacheBytes = imageCacheBytes
        self.metadataAddress = metadataAddress
        self.metadataPort = metadataPort
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
        ConfigKey(
            "HYPERVISOR_ACCEL", type: "auto, kvm or qemu", default: "auto",
            "How QEMU guests run: kvm, qemu (TCG emulation), or auto (boot a guest kernel under KVM at start and use qemu if it does not run)."),
        ConfigKey("IMAGE_CACHE_PATH", type: "path", default: "STATE_DIR/image-cache", "Where the node keeps the images it fetched, named by their SHA-256."),
        ConfigKey("IMAGE_CACHE_SIZE", type: "integer (MiB)", default: "10240", "How much the image cache may hold; least recently used images not in use are evicted beyond it."),
        ConfigKey(
            "METADATA_ADDRESS", type: "IPv4 address", default: "169.254.169.254",
            "Where the instance metadata service listens; empty for none. The address must be on the instances' network (the bridge)."),
        ConfigKey("METADATA_PORT", type: "integer", default: "80", "The instance metadata service's port."),
        ConfigKey(
            "VNET_PUBINTERFACE", type: "device name", default: "(none)",
            "VPC, STATIC and MANAGED-NOVLAN: the host's interface on the network elastic IPs are reached from; without one, instances have no public addresses."),
        ConfigKey(
            "VNET_DNS", type: "IPv4 addresses", default: "(none)",
            "VPC, STATIC and MANAGED-NOVLAN: the DNS servers DHCP gives instances, separated by spaces or commas; none when empty."),
        ConfigKey(
            "VNET_PRIVINTERFACE", type: "device name", default: "(none)",
            "VPC, STATIC and MANAGED-NOVLAN: the host's interface on the network between nodes; its address carries each VPC's VXLAN traffic (UDP 4789) to the other nodes. Without one, a VPC's instances on this node reach only each other."),
    ]

    /// Reads the settings; `defaultInstancePath` applies when `INSTANCE_PATH` is unset.
    public init(_ config: EucaConfig, defaultNode: NodeID, defaultInstancePath: String) throws(ConfigError) {
        let bridge = try config.string("VNET_BRIDGE", default: "")
        let metadata = try config.value("METADATA_ADDRESS", default: "169.254.169.254") { text in
            text.isEmpty || Self.isIPv4(text) ? .success(text) : .failure(ConfigProblem("\"\(text)\" is not an IPv4 address"))
        }
        self.init(
            node: NodeID(try config.nonEmptyString("NODE_NAME", default: defaultNode.rawValue)),
            instancePath: try config.nonEmptyString("INSTANCE_PATH", default: defaultInstancePath),
            libvirtURI: try config.nonEmptyString("LIBVIRT_URI", default: "test:///default"),
            maxCores: try config.optionalInteger("MAX_CORES", in: 1...1_000_000),
            maxMemoryMiB: try config.optionalInteger("MAX_MEM", in: 1...1_000_000_000),
            maxDiskGiB: try config.optionalInteger("MAX_DISK", in: 1...1_000_000_000),
            shutdownTimeout: .milliseconds(Int64(try config.seconds("SHUTDOWN_TIMEOUT", default: 30, in: 0...3600) * 1000)),
            bridge: bridge.isEmpty ? nil : bridge,
            acceleration: try config.choice("HYPERVISOR_ACCEL", default: "auto", from: ["auto", "kvm", "qemu"]),
            imageCachePath: try config.nonEmptyString("IMAGE_CACHE_PATH", default: Self.sibling(of: defaultInstancePath, "image-cache")),
            imageCacheBytes: Int64(try config.integer("IMAGE_CACHE_SIZE", default: 10240, in: 1...100_000_000)) << 20,
            metadataAddress: metadata.isEmpty ? nil : metadata,
            metadataPort: try config.port("METADATA_PORT", default: 80),
            publicInterface: try config.value("VNET_PUBINTERFACE", default: nil as String?, Self.deviceName),
            privateInterface: try config.value("VNET_PRIVINTERFACE", default: nil as String?, Self.deviceName))
        dns = try config.value("VNET_DNS", default: []) { text in
            let servers = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
            if let bad = servers.first(where: { NetworkText.ipv4($0) == nil }) {
                return .failure(ConfigProblem("\"\(bad.prefix(64))\" is not an IPv4 address"))
            }
            return servers.count <= 8 ? .success(servers) : .failure(ConfigProblem("more than 8 servers"))
        }
    }

    static func deviceName(_ text: String) -> Result<String?, ConfigProblem> {
        text.isEmpty ? .success(nil) : NetworkText.isDeviceName(text) ? .success(text)
            : .failure(ConfigProblem("\"\(text.prefix(64))\" is not a network device name"))
    }

    static func sibling(of path: String, _ name: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().appendingPathComponent(name).path
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isNumber) && (Int(part) ?? 256) <= 255
        }
    }
}
