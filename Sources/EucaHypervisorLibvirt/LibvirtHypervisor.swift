import CLibvirt
public import EucaCore
public import EucaHypervisor
import Foundation
public import Logging
import NIOPosix
import Synchronization

/// A ``Hypervisor`` on libvirt's C API: `qemu:///system` for real guests (KVM, or QEMU's TCG where
/// there is no usable KVM) and `test:///default` for tests.
///
/// Every libvirt call runs on a small pool of its own threads, never on Swift's cooperative pool,
/// and reads libvirt's thread-local error on the same thread right after the failing call. The
/// process-wide default event loop runs on a dedicated thread, so keepalive and domain events work
/// on remote connections.
public final class LibvirtHypervisor: Hypervisor {
    public let capabilities: HypervisorCapabilities
    public let uri: String
    private let connection: Connection
    private let pool: NIOThreadPool
    private let logger: Logger

    /// Opens a read-write connection to `uri`.
    ///
    /// - Parameter domainType: the `<domain type=…>` for new domains; by default `test` on the
    ///   test driver and `kvm` elsewhere.
    public init(uri: String, domainType: DomainType? = nil, logger: Logger) throws {
        LibvirtRuntime.prepare()
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        let opened: Result<OpaquePointer, HypervisorError> = LibvirtRuntime.call {
            guard let pointer = virConnectOpen(uri) else {
                return .failure(LibvirtRuntime.lastError(.unavailable, "cannot connect to \(uri)"))
            }
            return .success(pointer)
        }
        let connection = Connection(try opened.get())
        if !uri.hasPrefix("test:") {
            // Detect a dead daemon within ~30 s instead of hanging on it.
            _ = virConnectSetKeepAlive(connection.pointer, 5, 6)
        }
        self.uri = uri
        self.connection = connection
        self.pool = pool
        self.logger = logger
        let isTest = uri.hasPrefix("test:")
        self.capabilities = HypervisorCapabilities(
            domainType: domainType ?? (isTest ? .test : .kvm),
            writesConsoleLog: !isTest,
            domainsOutliveProcess: !isTest,
            gracefulShutdown: true)
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// Runs `body` on the libvirt thread pool.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let connection = connection
        return try await pool.runIfActive { try body(connection) }
    }

    public func launch(_ spec: DomainSpec) async throws {
        let xml = DomainXML.render(spec, type: capabilities.domainType.rawValue)
        try await blocking { connection in
            if let domain = try connection.lookup(spec.instanceId) {
                defer { virDomainFree(domain) }
                if try Self.state(domain) == .running { return }
                try Self.check(virDomainCreate(domain), .operationFailed, "cannot start \(spec.instanceId)")
                return
            }
            let domain = try connection.define(xml, id: spec.instanceId)
            defer { virDomainFree(domain) }
            if virDomainCreate(domain) != 0 {
                let error = LibvirtRuntime.lastError(.operationFailed, "cannot start \(spec.instanceId)")
                // Leave nothing behind: the definition goes too.
                _ = virDomainUndefine(domain)
                throw error
            }
        }
        logger.debug("domain started", metadata: ["euca.instance": "\(spec.instanceId)"])
    }

    public func start(_ spec: DomainSpec) async throws {
        try await launch(spec)
    }

    public func terminate(_ id: InstanceID) async throws {
        try await blocking { connection in
            guard let domain = try connection.lookup(id) else { return }
            defer { virDomainFree(domain) }
            if virDomainIsActive(domain) == 1, virDomainDestroy(domain) != 0 {
                let error = LibvirtRuntime.lastError(.operationFailed, "cannot destroy \(id)")
                // It may have stopped on its own between the two calls.
                if virDomainIsActive(domain) == 1 { throw error }
            }
            if virDomainUndefine(domain) != 0 {
                let error = LibvirtRuntime.lastError(.operationFailed, "cannot undefine \(id)")
                if error.code != .notFound { throw error }
            }
        }
    }

    public func shutdown(_ id: InstanceID, timeout: Duration) async throws {
        let asked = try await blocking { connection -> Bool in
            guard let domain = try connection.lookup(id) else { return false }
            defer { virDomainFree(domain) }
            guard try Self.state(domain) == .running else { return false }
            if virDomainShutdown(domain) != 0 {
                // A guest without ACPI support cannot be asked; it is destroyed below.
                _ = LibvirtRuntime.lastError(.operationFailed, "shutdown")
            }
            return true
        }
        guard asked else { return }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try await state(of: id) != .running { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        try await blocking { connection in
            guard let domain = try connection.lookup(id) else { return }
            defer { virDomainFree(domain) }
            if virDomainIsActive(domain) == 1 {
                try Self.check(virDomainDestroy(domain), .operationFailed, "cannot destroy \(id) after shutdown timed out")
            }
        }
    }

    public func reboot(_ id: InstanceID) async throws {
        try await blocking { connection in
            guard let domain = try connection.lookup(id) else {
                throw HypervisorError(.notFound, "no domain for \(id)")
            }
            defer { virDomainFree(domain) }
            try Self.check(virDomainReboot(domain, 0), .operationFailed, "cannot reboot \(id)")
        }
    }

    public func state(of id: InstanceID) async throws -> DomainState? {
        try await blocking { connection in
            guard let domain = try connection.lookup(id) else { return nil }
            defer { virDomainFree(domain) }
            return try Self.state(domain)
        }
    }

    public func list() async throws -> [InstanceID: DomainState] {
        try await blocking { connection in
            var domains: UnsafeMutablePointer<OpaquePointer?>?
            let count = virConnectListAllDomains(connection.pointer, &domains, 0)
            guard count >= 0 else { throw LibvirtRuntime.lastError(.operationFailed, "cannot list domains") }
            defer { free(domains) }
            var result: [InstanceID: DomainState] = [:]
            for index in 0..<Int(count) {
                guard let domain = domains?[index] else { continue }
                defer { virDomainFree(domain) }
                guard let name = virDomainGetName(domain), let id = InstanceID(parsing: String(cString: name)) else { continue }
                if let state = try? Self.state(domain) { result[id] = state }
            }
            return result
        }
    }

    public func hostInfo() async throws -> HostInfo {
        try await blocking { connection in
            var info = virNodeInfo()
            try Self.check(virNodeGetInfo(connection.pointer, &info), .operationFailed, "cannot read the host's size")
            return HostInfo(cores: Int(info.cpus), memoryMiB: Int(info.memory / 1024))
        }
    }

    // MARK: - Helpers (run on pool threads)

    private static func check(_ rc: Int32, _ code: HypervisorError.Code, _ message: String) throws {
        if rc != 0 { throw LibvirtRuntime.lastError(code, message) }
    }

    private static func state(_ domain: OpaquePointer) throws -> DomainState {
        var state: Int32 = 0
        var reason: Int32 = 0
        try check(virDomainGetState(domain, &state, &reason, 0), .operationFailed, "cannot read the domain's state")
        switch UInt32(state) {
        case VIR_DOMAIN_RUNNING.rawValue, VIR_DOMAIN_BLOCKED.rawValue: return .running
        case VIR_DOMAIN_PAUSED.rawValue, VIR_DOMAIN_PMSUSPENDED.rawValue: return .paused
        case VIR_DOMAIN_SHUTOFF.rawValue: return .shutoff
        case VIR_DOMAIN_CRASHED.rawValue: return .crashed
        case VIR_DOMAIN_SHUTDOWN.rawValue: return .running  // shutting down, still running
        default: return .other
        }
    }
}

/// A libvirt connection; libvirt connections may be used from several threads at once.
final class Connection: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { virConnectClose(pointer) }

    /// The instance's domain, or nil when there is none. The caller frees it.
    func lookup(_ id: InstanceID) throws -> OpaquePointer? {
        if let domain = virDomainLookupByName(pointer, id.rawValue) { return domain }
        let error = LibvirtRuntime.lastError(.operationFailed, "cannot look up \(id)")
        if error.code == .notFound { return nil }
        throw error
    }

    func define(_ xml: String, id: InstanceID) throws -> OpaquePointer {
        guard let domain = virDomainDefineXML(pointer, xml) else {
            throw LibvirtRuntime.lastError(.invalidDefinition, "cannot define \(id)")
        }
        return domain
    }
}

/// Process-wide libvirt set-up: error printing off, the default event loop on its own thread.
enum LibvirtRuntime {
    private static let prepared = Mutex(false)

    static func prepare() {
        let first = prepared.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        // Errors are read with virGetLastError and reported through Logger, not printed by libvirt.
        virSetErrorFunc(nil) { _, _ in }
        if virEventRegisterDefaultImpl() == 0 {
            let thread = Thread {
                while virEventRunDefaultImpl() == 0 {}
            }
            thread.name = "euca-libvirt-events"
            thread.start()
        }
    }

    /// Runs a closure that calls libvirt synchronously (the caller is already on a suitable thread).
    static func call<T>(_ body: () -> T) -> T { body() }

    /// The calling thread's last libvirt error as a typed error. Call right after the failing
    /// libvirt call, on the same thread.
    static func lastError(_ code: HypervisorError.Code, _ context: String) -> HypervisorError {
        guard let error = virGetLastError() else { return HypervisorError(code, context) }
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown libvirt error"
        let libvirtCode = UInt32(error.pointee.code)
        virResetLastError()
        let mapped: HypervisorError.Code = switch libvirtCode {
        case VIR_ERR_NO_DOMAIN.rawValue: .notFound
        case VIR_ERR_NO_CONNECT.rawValue: .unavailable
        case VIR_ERR_XML_ERROR.rawValue, VIR_ERR_XML_DETAIL.rawValue, VIR_ERR_CONFIG_UNSUPPORTED.rawValue: .invalidDefinition
        default: code
        }
        return HypervisorError(mapped, "\(context): \(message)")
    }
}
