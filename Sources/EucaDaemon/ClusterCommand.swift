public import ArgumentParser
import EucaCluster
import EucaCore
public import EucaScheduler
import Foundation

/// `euca-cc`'s command line, as a library type so that a package with placement policies of its
/// own can ship a cluster controller that knows them:
///
/// ```swift
/// @main enum Main {
///     static func main() async { await ClusterCommand.main(registry: .withMyPolicies) }
/// }
/// ```
public struct ClusterCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "euca-cc",
        abstract: "The cluster controller: one availability zone, its nodes and the placement of instances on them.",
        discussion: """
            Serves the cluster API on CC_PORT (8774) over mutual TLS to the cloud controller, and \
            calls its nodes with its own certificate. Register the cluster with `euca-admin \
            register-cluster NAME HOST[:PORT]` and start it once with `--join TOKEN`; its \
            certificate is kept under STATE_DIR/tls. SCHEDPOLICY chooses the placement policy.
            """)

    @Option(help: "An eucalyptus.conf-style file to read.") var config: String?
    @Option(help: "Where the cluster controller keeps its state (overrides STATE_DIR).") var state: String?
    @Option(help: "The join token euca-admin register-cluster printed.") var join: String?
    @Flag(help: "Check the configuration as this daemon reads it at start (SCHEDPOLICY against its own policies), then exit.")
    var checkConfig = false

    public init() {}

    public func run() async throws {
        try await run(registry: .builtIn)
    }

    /// Runs the daemon with `registry`'s placement policies selectable by `SCHEDPOLICY`.
    public func run(registry: PlacementRegistry) async throws {
        do {
            var settings = try EucaConfig.load(path: config, required: config != nil)
            if let state { settings.environment["STATE_DIR"] = state }
            if checkConfig {
                _ = try DaemonSettings(settings)
                let cluster = try ClusterSettings(settings, registry: registry)
                print("\(config ?? "the environment"): OK (SCHEDPOLICY \(cluster.policy.name))")
                return
            }
            try await ClusterDaemon.run(config: settings, join: join, registry: registry)
        } catch let error as ConfigError {
            DaemonRuntime.fail("euca-cc", "configuration error: \(error)")
        } catch let error as EucaError {
            DaemonRuntime.fail("euca-cc", error.message, code: 1)
        }
    }

    /// Parses the process's arguments and runs the daemon with `registry`; `--help` and bad
    /// arguments are answered as by `euca-cc`.
    public static func main(registry: PlacementRegistry) async {
        do {
            let command = try parse()
            try await command.run(registry: registry)
        } catch {
            exit(withError: error)
        }
    }
}
