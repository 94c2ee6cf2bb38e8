import ArgumentParser
import EucaCore
import EucaDaemon
import Foundation

@main
struct EucaCLCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-clc",
        abstract: "The cloud controller: the EC2 API, the admin API, accounts, images and the cloud's durable state.",
        discussion: """
            Serves the EC2 API, the admin API (euca-admin) and component joins on EC2_PORT (8773). \
            On its first start it creates the cloud's CA under STATE_DIR/ca and the administrator's \
            credentials under STATE_DIR/credentials. Clusters are added with `euca-admin \
            register-cluster`, which prints the join token to start euca-cc with. Settings come from \
            eucalyptus.conf and the environment; `euca-admin config-keys` lists them.
            """)

    @Option(help: "An eucalyptus.conf-style file to read.") var config: String?
    @Option(help: "Where the cloud controller keeps its state (overrides STATE_DIR).") var state: String?

    func run() async throws {
        do {
            var settings = try EucaConfig.load(path: config, required: config != nil)
            if let state { settings.environment["STATE_DIR"] = state }
            try await CloudDaemon.run(config: settings)
        } catch let error as ConfigError {
            DaemonRuntime.fail("euca-clc", "configuration error: \(error)")
        } catch let error as EucaError {
            DaemonRuntime.fail("euca-clc", error.message, code: 1)
        }
    }
}
