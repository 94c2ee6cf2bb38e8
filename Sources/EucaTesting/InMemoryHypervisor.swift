public import EucaCore
public import EucaHypervisor

/// A ``Hypervisor`` that keeps domains in memory: a readable specification of the contract and a
/// fake for tests and simulations.
///
/// Failure hooks make a node's bad days reproducible: ``failNextLaunch(with:)``,
/// ``powerOffGuest(_:)`` (the guest shuts itself down), ``crash(_:)`` and ``loseAllDomains()``
/// (what a host reboot does to a hypervisor whose domains do not outlive it).
public actor InMemoryHypervisor: Hypervisor {
    public nonisolated let capabilities: HypervisorCapabilities
    private let host: HostInfo
    private let clock: any Clock<Duration>
    private let bootTime: Duration
    /// Each domain in a box of its own, so the table's slots stay small at 100,000 domains.
    private final class Domain {
        let spec: DomainSpec
        var state: DomainState
        init(_ spec: DomainSpec, _ state: DomainState) {
            self.spec = spec
            self.state = state
        }
    }

    private var domains: [InstanceID: Domain] = [:]
    private var nextLaunchFailure: HypervisorError?
    /// The latest operations (at most ``operationsKept``), oldest first, for tests that check
    /// what was asked of the hypervisor.
    public private(set) var operations: [String] = []
    /// How many operations ``operations`` keeps.
    public static let operationsKept = 1_000

    /// - Parameters:
    ///   - bootTime: how long `launch` and `start` take, measured on `clock`.
    public init(
        host: HostInfo = HostInfo(cores: 16, memoryMiB: 16384), clock: any Clock<Duration> = ContinuousClock(),
        bootTime: Duration = .zero, domainsOutliveProcess: Bool = true
    ) {
        self.host = host
        self.clock = clock
        self.bootTime = bootTime
        self.capabilities = HypervisorCapabilities(
            domainType: "memory", writesConsoleLog: false, domainsOutliveProcess: domainsOutliveProcess,
            gracefulShutdown: true)
    }

    /// Makes the next `launch` fail with `error` (leaving nothing behind, as the contract says).
    public func failNextLaunch(with error: HypervisorError = HypervisorError(.operationFailed, "injected failure")) {
        nextLaunchFailure = error
    }

    /// The guest powers itself off.
    public func powerOffGuest(_ id: InstanceID) {
        domains[id]?.state = .shutoff
    }

    /// The domain crashes.
    public func crash(_ id: InstanceID) {
        domains[id]?.state = .crashed
    }

    /// Every domain disappears, as after a host reboot on a hypervisor without persistent domains.
    public func loseAllDomains() {
        domains.removeAll()
    }

    /// The spec a domain was defined with.
    public func spec(of id: InstanceID) -> DomainSpec? { domains[id]?.spec }

    private func note(_ operation: String) {
        if operations.count == Self.operationsKept { operations.removeFirst(Self.operationsKept / 2) }
        operations.append(operation)
    }

    public func launch(_ spec: DomainSpec) async throws {
        note("launch \(spec.instanceId)")
        if let failure = nextLaunchFailure {
            nextLaunchFailure = nil
            throw failure
        }
        if let existing = domains[spec.instanceId], existing.state == .running { return }
        try await boot(spec)
    }

    public func start(_ spec: DomainSpec) async throws {
        note("start \(spec.instanceId)")
        if domains[spec.instanceId]?.state == .running { return }
        try await boot(spec)
    }

    private func boot(_ spec: DomainSpec) async throws {
        domains[spec.instanceId] = Domain(spec, .shutoff)
        if bootTime > .zero { try await clock.sleep(for: bootTime, tolerance: nil) }
        // The domain may have been terminated while it booted.
        if domains[spec.instanceId] != nil { domains[spec.instanceId]?.state = .running }
    }

    public func terminate(_ id: InstanceID) async throws {
        note("terminate \(id)")
        domains[id] = nil
    }

    public func shutdown(_ id: InstanceID, timeout: Duration) async throws {
        note("shutdown \(id)")
        domains[id]?.state = .shutoff
    }

    public func reboot(_ id: InstanceID) async throws {
        note("reboot \(id)")
        guard let domain = domains[id], domain.state == .running else {
            throw HypervisorError(domains[id] == nil ? .notFound : .operationFailed, "domain \(id) is not running")
        }
    }

    public func state(of id: InstanceID) async throws -> DomainState? { domains[id]?.state }

    public func list() async throws -> [InstanceID: DomainState] { domains.mapValues(\.state) }

    public func hostInfo() async throws -> HostInfo { host }
}
