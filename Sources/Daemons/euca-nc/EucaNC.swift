import ArgumentParser
import EucaCore
import EucaDaemon
import EucaNodeDaemon
import Foundation

@main
struct EucaNCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-nc",
        abstract: "The node controller: runs instances on this host through libvirt.",
        discussion: """
            Serves the node API on NC_PORT (8775) over mutual TLS to its cluster controller and runs \
            instances through LIBVIRT_URI. Register the node with `euca-admin register-node CLUSTER \
            HOST[:PORT]` and start it once with `--join TOKEN`; its certificate is kept under \
            STATE_DIR/tls. Instances keep running when the cloud or cluster controller is down.
            """)

    @Option(help: "An eucalyptus.conf-style file to read.") var config: String?
    @Option(help: "Where the node controller keeps its state (overrides STATE_DIR).") var state: String?
    @Option(help: "The join token euca-admin register-node printed.") var join: String?

    func run() async throws {
        do {
            var settings = try EucaConfig.load(path: config, required: config != nil)
            if let state { settings.environment["STATE_DIR"] = state }
            try await NodeDaemon.run(config: settings, join: join)
        } catch let error as ConfigError {
            DaemonRuntime.fail("euca-nc", "configuration error: \(error)")
        } catch let error as EucaError {
            DaemonRuntime.fail("euca-nc", error.message, code: 1)
        }
    }
}
