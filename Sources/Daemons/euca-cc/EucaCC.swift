import ArgumentParser
import EucaCore
import EucaDaemon
import Foundation

@main
struct EucaCCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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

    func run() async throws {
        do {
            var settings = try EucaConfig.load(path: config, required: config != nil)
            if let state { settings.environment["STATE_DIR"] = state }
            try await ClusterDaemon.run(config: settings, join: join)
        } catch let error as ConfigError {
            DaemonRuntime.fail("euca-cc", "configuration error: \(error)")
        } catch let error as EucaError {
            DaemonRuntime.fail("euca-cc", error.message, code: 1)
        }
    }
}
