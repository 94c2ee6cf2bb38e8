import ArgumentParser
import Foundation

@main
struct EucaCCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-cc",
        abstract: "The cluster controller: one availability zone, its nodes and the placement of instances on them.",
        discussion: """
            In this release the cluster controller runs only inside euca-cloud, which calls it in \
            process. Running it as a daemon of its own on port 8774 is not available yet: this command \
            says so and exits with status 2. Use `euca-cloud` to run a cloud.
            """)

    func run() throws {
        FileHandle.standardError.write(Data("euca-cc: a separate cluster controller daemon is not available in this release; run euca-cloud.\n".utf8))
        throw ExitCode(2)
    }
}
