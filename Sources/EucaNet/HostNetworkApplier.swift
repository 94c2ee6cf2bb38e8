import EucaCore
import Foundation

/// Runs the commands that change a host's network (`ip`, `nft`, `sysctl`), by name from `PATH`.
/// `prefix` runs them elsewhere: `["ip", "netns", "exec", "ns1"]` in a network namespace.
public struct HostCommands: Sendable {
    public var prefix: [String]
    public var timeout: Duration

    public init(prefix: [String] = [], timeout: Duration = .seconds(10)) {
        self.prefix = prefix
        self.timeout = timeout
    }

    /// Runs `arguments`; throws with the command's own message when it fails.
    public func run(_ arguments: [String]) async throws {
        _ = try await output(arguments)
    }

    /// Runs `arguments` and returns what it wrote to standard output.
    public func output(_ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.runKeepingOutput("/usr/bin/env", prefix + arguments, timeout: timeout)
        guard result.status == 0 else {
            throw EucaError(.internalFailure, nil, "\(arguments.prefix(3).joined(separator: " ")) failed (\(result.status)): \(result.errors.prefix(500))")
        }
        return result.output
    }
}

/// Makes one host match its ``HostPlan``: each port routed as its instance's gateway, and the
/// security groups as one nftables table of Euca's own, replaced whole in one transaction.
///
/// - Idempotent: the same plan twice changes nothing (the second is not even sent to the kernel).
/// - By difference: a port added or removed touches that port's address, route and proxy ARP
///   only; the table is rewritten whole, which the kernel swaps atomically.
/// - ``stop()`` removes the table and the routes it added; the ports themselves belong to the
///   hypervisor, which removes them with their instances.
public actor HostNetworkApplier {
    public let table: String
    private let commands: HostCommands
    private let scratch: URL
    /// What the host was last made to match.
    private var ports: [String: InstancePort] = [:]
    private var ruleset: String?
    private var forwarding = false
    private var gateway: String?

    /// `scratch` is where rulesets are written for `nft -f` (the temporary directory if nil).
    public init(table: String = "euca", commands: HostCommands = HostCommands(), scratch: String? = nil) {
        self.table = NetworkText.identifier(table)
        self.commands = commands
        self.scratch = scratch.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
    }

    /// Makes the host match `plan`; refuses a plan with a bad value, naming it, and changes nothing.
    public func apply(_ plan: HostPlan) async throws {
        let problems = plan.problems()
        guard problems.isEmpty else {
            throw EucaError(.invalidParameter, nil, "the network plan is refused: \(problems.joined(separator: "; "))")
        }
        if !forwarding && !plan.ports.isEmpty {
            try await commands.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            forwarding = true
        }
        let wanted = Dictionary(plan.ports.map { ($0.device, $0) }) { first, _ in first }
        for (device, port) in ports where wanted[device]?.privateIp != port.privateIp || gateway != plan.gateway {
            await release(port)
            ports[device] = nil
        }
        gateway = plan.gateway
        for port in plan.ports where ports[port.device] != port {
            try await commands.run(["sysctl", "-q", "-w", "net.ipv4.conf.\(port.device).proxy_arp=1", "net.ipv4.neigh.\(port.device).proxy_delay=0"])
            try await commands.run(["ip", "address", "replace", "\(plan.gateway)/32", "dev", port.device])
            try await commands.run(["ip", "link", "set", port.device, "up"])
            try await commands.run(["ip", "route", "replace", "\(port.privateIp)/32", "dev", port.device])
            ports[port.device] = port
        }
        let text = plan.nftablesRuleset(table: table)
        if text != ruleset {
            try await load(text)
            ruleset = text
        }
    }

    /// Removes everything ``apply(_:)`` added: the table, and the ports' routes, gateway address
    /// and proxy ARP.
    public func stop() async throws {
        for port in ports.values { await release(port) }
        ports = [:]
        try await load("table inet \(table) {}\ndelete table inet \(table)\n")
        ruleset = nil
    }

    /// Undoes what ``apply(_:)`` did to one port. The device may be gone with its instance, and
    /// all of it with the device, so failures are expected and ignored.
    private func release(_ port: InstancePort) async {
        try? await commands.run(["ip", "route", "del", "\(port.privateIp)/32", "dev", port.device])
        if let gateway { try? await commands.run(["ip", "address", "del", "\(gateway)/32", "dev", port.device]) }
        try? await commands.run(["sysctl", "-q", "-w", "net.ipv4.conf.\(port.device).proxy_arp=0"])
    }

    private func load(_ text: String) async throws {
        let file = scratch.appendingPathComponent("euca-nft-\(UUID().uuidString).nft")
        guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EucaError(.internalFailure, nil, "cannot write \(file.path)")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        try await commands.run(["nft", "-f", file.path])
    }
}
