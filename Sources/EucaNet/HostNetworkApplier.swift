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

    /// Runs `arguments` and then the path of a file holding `text` (`nft -f`, `ip -batch`): the
    /// file is written in `directory`, readable by its owner alone, and removed afterwards.
    func run(_ arguments: [String], reading text: String, in directory: URL) async throws {
        let file = directory.appendingPathComponent(".euca-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EucaError(.internalFailure, nil, "cannot write \(file.path)")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        try await run(arguments + [file.path])
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
/// security groups as one nftables table of Euca's own. Meant for a network namespace of Euca's
/// own (``VPCHost``'s): it turns on forwarding and proxy ARP for the whole namespace.
///
/// - Idempotent: the same plan twice changes nothing (the second is not even sent to the kernel).
/// - By difference: a port added or removed touches that port's address and route only, and
///   its chains, map elements and set elements in one nftables transaction
///   (``NftablesState/difference(to:table:)``); the kernel applies each transaction whole.
/// - ``stop()`` removes the table and the routes it added; the ports themselves belong to the
///   hypervisor, which removes them with their instances.
public actor HostNetworkApplier {
    public let table: String
    private let commands: HostCommands
    private let scratch: URL
    /// What the host was last made to match.
    private var ports: [String: InstancePort] = [:]
    /// The table as last loaded; nil when it must be loaded whole.
    private var loaded: NftablesState?
    private var memo = NftablesMemo()
    private var forwarding = false
    /// The gateway address each port was given.
    private var gateways: [String: String] = [:]

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
            // Proxy ARP for every port at once: it is on where `all` or the port says so.
            try await commands.run([
                "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.proxy_arp=1",
            ])
            // Ports' ends rely on it (see `release`); a host without it is told so now, not left open.
            do {
                try await commands.run(["conntrack", "--version"])
            } catch {
                throw EucaError(.unavailable, nil, "conntrack is needed to end a port's tracked connections (Debian: conntrack): \(error)")
            }
            forwarding = true
        }
        let wanted = Dictionary(plan.ports.map { ($0.device, $0) }) { first, _ in first }
        let gone = ports.values.filter { port in
            wanted[port.device].map { $0.privateIp != port.privateIp || plan.gateway(of: $0) != gateways[port.device] } ?? true
        }
        await release(gone)
        for port in gone {
            ports[port.device] = nil
            gateways[port.device] = nil
        }
        // By difference from what was loaded; whole when there is nothing to start from, or when
        // the difference is refused (the table was changed behind this applier's back).
        let state = plan.nftablesState(memo: &memo)
        let script = loaded.map { $0.difference(to: state, table: table) } ?? state.full(table: table)
        // New ports in one `ip -batch`, however many there are, while nft loads the table: the
        // table names ports by name, so neither waits for the other.
        let new = plan.ports.filter { ports[$0.device] != $0 }
        async let plumbed: Void = new.isEmpty ? () : batch(new.map {
            "address replace \(plan.gateway(of: $0))/32 dev \($0.device)\nlink set dev \($0.device) up\nroute replace \($0.privateIp)/32 dev \($0.device)\n"
                // Answer ARP at once, not after the kernel's random delay of up to 0.8 s.
                + "ntable change name arp_cache dev \($0.device) proxy_delay 0\n"
        }.joined(), force: false)
        var refused: (any Error)?
        if let script {
            do { try await load(script) } catch { refused = error }
        }
        try await plumbed
        for port in new {
            ports[port.device] = port
            gateways[port.device] = plan.gateway(of: port)
        }
        if let refused {
            guard loaded != nil else { throw refused }
            self.loaded = nil
            try await load(state.full(table: table))
        }
        loaded = state
    }

    /// Removes everything ``apply(_:)`` added: the table, and the ports' routes and gateway
    /// address, and turns proxy ARP off again.
    public func stop() async throws {
        await release(Array(ports.values))
        ports = [:]
        gateways = [:]
        if forwarding {
            try? await commands.run(["sysctl", "-q", "-w", "net.ipv4.conf.all.proxy_arp=0"])
            forwarding = false
        }
        try await load("table inet \(table) {}\ndelete table inet \(table)\n")
        loaded = nil
    }

    /// Undoes what ``apply(_:)`` did to these ports. A device may be gone with its instance, and
    /// all of it with the device, so failures are expected and passed over.
    private func release(_ gone: [InstancePort]) async {
        guard !gone.isEmpty else { return }
        // The connections the kernel tracks for a gone port's address go with it: an address
        // given to another instance later must not inherit them, and pass its `in_` chain as
        // "established". (conntrack answers 1 when there were none.)
        for port in gone {
            for direction in ["--src", "--dst"] { try? await commands.run(["conntrack", "-D", direction, port.privateIp]) }
        }
        try? await batch(gone.map { port in
            "route del \(port.privateIp)/32 dev \(port.device)\n" + (gateways[port.device].map { "address del \($0)/32 dev \(port.device)\n" } ?? "")
        }.joined(), force: true)
    }

    /// Runs `ip -batch` over `lines`; `force` goes on past a line that fails.
    private func batch(_ lines: String, force: Bool) async throws {
        try await commands.run(["ip"] + (force ? ["-force"] : []) + ["-batch"], reading: lines, in: scratch)
    }

    private func load(_ text: String) async throws {
        try await commands.run(["nft", "-f"], reading: text, in: scratch)
    }
}
