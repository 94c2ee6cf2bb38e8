import ArgumentParser
import Foundation

@main
struct EucaNCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-nc",
        abstract: "The node controller: runs instances on this host through libvirt.",
        discussion: """
            In this release the node controller runs only inside euca-cloud, which calls it in \
            process. Running it as a daemon of its own on port 8775 is not available yet: this command \
            says so and exits with status 2. Use `euca-cloud` to run a cloud.
            """)

    func run() throws {
        FileHandle.standardError.write(Data("euca-nc: a separate node controller daemon is not available in this release; run euca-cloud.\n".utf8))
        throw ExitCode(2)
    }
}
