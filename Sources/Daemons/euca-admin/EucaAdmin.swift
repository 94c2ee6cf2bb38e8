import ArgumentParser
import EucaCore
import EucaDaemon
import Foundation

@main
struct EucaAdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-admin",
        abstract: "The operator's command line for a Euca cloud.",
        discussion: """
            This release offers the configuration commands below. Registering clusters and nodes, \
            approving users and setting quotas need the multi-machine daemons and come with them.
            """,
        subcommands: [ConfigKeys.self, CheckConfig.self])

    struct ConfigKeys: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config-keys", abstract: "List every configuration key euca-cloud reads, with its type and default.")

        @Flag(help: "Print a Markdown table (as in docs/configuration.md).")
        var markdown = false

        func run() {
            if markdown {
                print(AllKeys.markdown(AllKeys.cloud), terminator: "")
                return
            }
            for key in AllKeys.cloud {
                print("\(key.name)  (\(key.type); default \(key.defaultValue))\n    \(key.summary)")
            }
        }
    }

    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Check an eucalyptus.conf-style file the way euca-cloud reads it at start.")

        @Argument(help: "The file to check.")
        var file: String

        /// The unknown keys in the file, or the first error.
        static func check(_ file: String) -> Result<[String], ConfigError> {
            do {
                let config = try EucaConfig.load(path: file, required: true, environment: [:])
                try AllKeys.validate(config)
                return .success(config.unknownFileKeys(known: Set(AllKeys.cloud.map(\.name))))
            } catch {
                return .failure(error)
            }
        }

        func run() throws {
            switch Self.check(file) {
            case .success(let unknown):
                for key in unknown { print("warning: \(file): unknown key \(key) (ignored)") }
                print("\(file): OK")
            case .failure(let error):
                FileHandle.standardError.write(Data("euca-admin: \(error)\n".utf8))
                throw ExitCode(78)
            }
        }
    }
}
