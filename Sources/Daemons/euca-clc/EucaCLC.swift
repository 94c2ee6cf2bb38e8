import ArgumentParser
import Foundation

@main
struct EucaCLCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-clc",
        abstract: "The cloud controller: the EC2 API, accounts, images, key pairs and the cloud's durable state.",
        discussion: """
            In this release the cloud controller runs only inside euca-cloud, which also holds the \
            cluster and node controllers and calls them in process. Running it as a daemon of its own, \
            talking to euca-cc daemons over mutual TLS, is not available yet: this command says so \
            and exits with status 2. Use `euca-cloud` to run a cloud.
            """)

    func run() throws {
        FileHandle.standardError.write(Data("euca-clc: a separate cloud controller daemon is not available in this release; run euca-cloud.\n".utf8))
        throw ExitCode(2)
    }
}
