public import EucaCore

/// The type instances run as: libvirt's `<domain type=…>`, or the in-memory hypervisor's own.
public struct DomainType: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Hardware virtualization.
    public static let kvm = DomainType(rawValue: "kvm")
    /// QEMU's TCG emulation.
    public static let qemu = DomainType(rawValue: "qemu")
    /// libvirt's test driver: domains that boot nothing.
    public static let test = DomainType(rawValue: "test")
    /// The in-memory hypervisor of `EucaTesting`.
    public static let memory = DomainType(rawValue: "memory")

    /// Whether instances of this type boot real guests, from image files.
    public var bootsGuests: Bool { self == .kvm || self == .qemu }

    public var description: String { rawValue }
}

/// What a hypervisor backend can do, so callers need no casts to find out.
public struct HypervisorCapabilities: Sendable, Hashable {
    /// The domain type instances run as: `kvm`, `qemu` (TCG emulation) or `test`.
    public var domainType: DomainType
    /// Whether the guest's serial console is written to ``DomainSpec/consoleLogPath``.
    public var writesConsoleLog: Bool
    /// Whether domain definitions and running guests outlive the process that made them. False
    /// for libvirt's `test:///default` driver, whose domains vanish with the process.
    public var domainsOutliveProcess: Bool
    /// Whether the guest can be asked to shut down (ACPI) rather than only destroyed.
    public var gracefulShutdown: Bool

    public init(domainType: DomainType, writesConsoleLog: Bool, domainsOutliveProcess: Bool, gracefulShutdown: Bool) {
        self.domainType = domainType
        self.writesConsoleLog = writesConsoleLog
        self.domainsOutliveProcess = domainsOutliveProcess
        self.gracefulShutdown = gracefulShutdown
    }
}

/// Everything a hypervisor needs to define one instance's domain.
public struct DomainSpec: Sendable, Hashable {
    public var instanceId: InstanceID
    public var vcpus: Int
    public var memoryMiB: Int
    /// A kernel on the node's disk, for direct kernel boot.
    public var kernelPath: String?
    public var ramdiskPath: String?
    public var commandLine: String
    /// The instance's root disk on the node (a qcow2 overlay or a raw file).
    public var diskPath: String?
    public var diskFormat: String
    public var macAddress: String
    /// The bridge the instance's interface joins; nil for no network interface.
    public var bridge: String?
    /// A tap of this name for the instance's interface: on `bridge` where one is given (SYSTEM
    /// mode, the node filtering what crosses the bridge by tap), or on no bridge (the node routes
    /// it: the modes where the cloud gives addresses).
    public var tapDevice: String?
    /// Where the serial console is logged.
    public var consoleLogPath: String?

    public init(
        instanceId: InstanceID, vcpus: Int, memoryMiB: Int, kernelPath: String? = nil, ramdiskPath: String? = nil,
        commandLine: String = "", diskPath: String? = nil, diskFormat: String = "qcow2", macAddress: String,
        bridge: String? = nil, tapDevice: String? = nil, consoleLogPath: String? = nil
    ) {
        self.tapDevice = tapDevice
        self.instanceId = instanceId
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.kernelPath = kernelPath
        self.ramdiskPath = ramdiskPath
        self.commandLine = commandLine
        self.diskPath = diskPath
        self.diskFormat = diskFormat
        self.macAddress = macAddress
        self.bridge = bridge
        self.consoleLogPath = consoleLogPath
    }
}

/// The state of a domain as the hypervisor reports it.
public enum DomainState: String, Sendable, Hashable, Codable {
    case running, paused, shutoff, crashed, other

    /// The observation a node reports for a domain in this state.
    public var observed: ObservedState {
        switch self {
        case .running, .paused, .other: .running
        case .shutoff: .shutoff
        case .crashed: .crashed
        }
    }
}

/// The host's size, as the hypervisor sees it.
public struct HostInfo: Sendable, Hashable {
    public var cores: Int
    public var memoryMiB: Int

    public init(cores: Int, memoryMiB: Int) {
        self.cores = cores
        self.memoryMiB = memoryMiB
    }
}

/// A hypervisor on one node. Backends: `LibvirtHypervisor` (in `EucaHypervisorLibvirt`) and
/// `InMemoryHypervisor` (in `EucaTesting`); `HypervisorContract` checks both.
///
/// Calls may block for as long as the hypervisor takes (seconds for a real guest); backends keep
/// blocking work off Swift's cooperative threads. Domains are named by their instance id.
public protocol Hypervisor: Sendable {
    var capabilities: HypervisorCapabilities { get }
    /// Defines and starts the instance's domain. If it throws, nothing is left on the host.
    /// Idempotent: a domain that already runs is left alone; one that is defined but shut off is
    /// started.
    func launch(_ spec: DomainSpec) async throws
    /// Starts a shut-off domain, defining it from `spec` first if the hypervisor lost it.
    func start(_ spec: DomainSpec) async throws
    /// Destroys and undefines the domain. Idempotent: an unknown instance is not an error.
    func terminate(_ id: InstanceID) async throws
    /// Asks the guest to power off and destroys it after `timeout`; the definition is kept.
    /// Idempotent: a shut-off or unknown domain is not an error.
    func shutdown(_ id: InstanceID, timeout: Duration) async throws
    /// Reboots the guest. Throws `notFound` for an unknown instance.
    func reboot(_ id: InstanceID) async throws
    /// The state of the instance's domain, or nil if there is none.
    func state(of id: InstanceID) async throws -> DomainState?
    /// Every instance domain on the host (domains not named by an instance id are ignored).
    func list() async throws -> [InstanceID: DomainState]
    /// The host's cores and memory.
    func hostInfo() async throws -> HostInfo
}

/// A hypervisor failure.
public struct HypervisorError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case notFound, invalidDefinition, operationFailed, unavailable }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// No domain for the instance.
        public static let notFound = Code(.notFound)
        /// The hypervisor refused the domain definition.
        public static let invalidDefinition = Code(.invalidDefinition)
        /// The hypervisor failed the operation.
        public static let operationFailed = Code(.operationFailed)
        /// The hypervisor cannot be reached.
        public static let unavailable = Code(.unavailable)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "hypervisor \(code): \(message)" }
}
