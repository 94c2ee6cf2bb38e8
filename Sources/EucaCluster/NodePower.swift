public import EucaCore
import Foundation

/// Switches nodes off and on, for a cluster whose placement policy powers down idle nodes
/// (POWERSAVE).
///
/// Contract: ``powerDown(_:)`` is called only for a node that runs no instance and has none on
/// the way; it returns once the node has been told to go down. ``wake(_:)`` returns once the node
/// has been told to come up; the cluster then waits until the node controller answers. Both may
/// be called again for a node in the state asked for and must then do no harm.
public protocol NodePower: Sendable {
    func powerDown(_ node: NodeID) async throws
    func wake(_ node: NodeID) async throws
}

/// Powers nodes down and up by running the operator's shell commands (`POWER_DOWN_COMMAND`,
/// `POWER_WAKE_COMMAND`): for example `ssh root@$EUCA_NODE_HOST systemctl suspend` and
/// `wakeonlan "$(cat /etc/euca/mac/$EUCA_NODE)"`, or `ipmitool` against the node's BMC.
///
/// Each command runs with `/bin/sh -c` in a process group of its own (killed whole at the timeout), with the node's name in `EUCA_NODE` and its host in
/// `EUCA_NODE_HOST`; an exit status other than 0 is an error carrying what it wrote to stderr.
public struct CommandNodePower: NodePower {
    public var powerDownCommand: String
    public var wakeCommand: String
    /// How long a command may run before it is killed.
    public var timeout: Duration
    private let host: @Sendable (NodeID) -> String?

    public init(powerDownCommand: String, wakeCommand: String, timeout: Duration = .seconds(60), host: @escaping @Sendable (NodeID) -> String?) {
        self.powerDownCommand = powerDownCommand
        self.wakeCommand = wakeCommand
        self.timeout = timeout
        self.host = host
    }

    public func powerDown(_ node: NodeID) async throws { try await run(powerDownCommand, for: node) }
    public func wake(_ node: NodeID) async throws { try await run(wakeCommand, for: node) }

    func run(_ command: String, for node: NodeID) async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["EUCA_NODE"] = node.rawValue
        environment["EUCA_NODE_HOST"] = host(node) ?? ""
        let (status, message) = try await ChildProcess.run("/bin/sh", ["-c", command], environment: environment, timeout: timeout)
        guard status == 0 else {
            throw EucaError(.internalFailure, .node, "'\(command)' for \(node) exited with \(status)\(message.isEmpty ? "" : ": \(message)")")
        }
    }
}
