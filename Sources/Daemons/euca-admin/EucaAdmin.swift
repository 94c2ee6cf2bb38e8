import ArgumentParser
import EucaCloud
import EucaCore
import EucaDaemon
import EucaEC2API
import Foundation

@main
struct EucaAdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-admin",
        abstract: "The operator's command line for a Euca cloud.",
        discussion: """
            This release offers the configuration commands and image upload below. Registering \
            clusters and nodes, approving users and setting quotas need the multi-machine daemons \
            and come with them.
            """,
        subcommands: [ConfigKeys.self, CheckConfig.self, UploadImage.self, APICoverage.self])

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

    struct UploadImage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upload-image",
            abstract: "Copy a kernel, ramdisk or machine image into the cloud's image store, ready for RegisterImage.",
            discussion: """
                Writes the file and its SHA-256 under the image store (IMAGE_STORE_PATH, by default \
                STATE_DIR/images) of a cloud on this machine, and prints the location to give \
                `aws ec2 register-image --image-location`. Kernels and ramdisks are registered by the \
                cloud's administrator.
                """)

        @Option(help: "The cloud's state directory.") var state = "./var"
        @Option(help: "The image store (default: STATE/images).") var store: String?
        @Option(help: "kernel, ramdisk or machine.") var kind: String
        @Option(help: "The bucket to put it in.") var bucket = "images"
        @Option(help: "The object's name (default: the file's name).") var name: String?
        @Argument(help: "The file to upload.") var file: String

        func run() throws {
            guard let kind = ImageKind(rawValue: kind) else { throw ValidationError("--kind is kernel, ramdisk or machine") }
            let store = ImageStore(root: self.store ?? state + "/images")
            let objectName = name ?? URL(fileURLWithPath: file).lastPathComponent
            var lastPercent = -1
            let (location, object) = try store.put(file: file, bucket: bucket, name: objectName, kind: kind) { done, total in
                let percent = total > 0 ? Int(done * 100 / total) : 100
                guard percent != lastPercent else { return }
                lastPercent = percent
                let bar = String(repeating: "#", count: percent / 4) + String(repeating: ".", count: 25 - percent / 4)
                FileHandle.standardError.write(Data("\r[\(bar)] \(percent)%".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
            print("\(location)  \(object.kind.rawValue)  \(object.format)  \(object.size) bytes  sha256 \(object.sha256)")
            print("Register it with: aws ec2 register-image --name NAME --image-location \(location)")
        }
    }

    struct APICoverage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "api-coverage", abstract: "Print, in Markdown, which EC2 actions this cloud offers, partly offers or not yet.")

        func run() {
            print(EC2API.coverageMarkdown(), terminator: "")
        }
    }
}
