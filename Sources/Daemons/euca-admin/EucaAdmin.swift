import ArgumentParser
import EucaCloud
import EucaCore
import EucaScheduler
import EucaDaemon
import EucaEC2API
import Foundation

@main
struct EucaAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-admin",
        abstract: "The operator's command line for a Euca cloud.",
        discussion: """
            Talks to the cloud controller's admin API with the administrator's credentials (from \
            --state, or EUCA_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY): registers clusters \
            and nodes (printing the one-time join token each daemon is started with), shows every \
            component and node, creates accounts and sets their quotas, leases \
            and priorities, creates users and their access keys and turns keys off. The configuration and image commands work on \
            files alone.
            """,
        subcommands: [RegisterCluster.self, RegisterNode.self, DeregisterCluster.self, DeregisterNode.self, DescribeServices.self,
                      DescribeNodes.self, DescribeNetworkPlan.self, CreateAccount.self, DescribeAccounts.self, SetQuota.self, SetLease.self, SetPriority.self,
                      CreateUser.self, DescribeUsers.self, CreateAccessKey.self, DeactivateAccessKey.self, ActivateAccessKey.self,
                      DeleteAccessKey.self, GetCredentials.self, ListRequests.self, ApproveUser.self, RejectUser.self, SetPassword.self,
                      ConfigKeys.self, CheckConfig.self, UploadImage.self, APICoverage.self])

    struct ConfigKeys: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config-keys", abstract: "List every configuration key euca-cloud reads, with its type and default.")

        @Flag(help: "Print a Markdown table (as in docs/configuration-keys.md).")
        var markdown = false
        @Option(help: "The daemon whose keys to list: euca-cloud, euca-clc, euca-cc or euca-nc.")
        var daemon = "euca-cloud"

        func validate() throws {
            guard AllKeys.keys(of: daemon) != nil else { throw ValidationError("--daemon is one of \(AllKeys.daemonNames)") }
        }

        func run() {
            let keys = AllKeys.keys(of: daemon) ?? AllKeys.cloud
            if markdown {
                print(AllKeys.markdown(keys), terminator: "")
                return
            }
            for key in keys {
                print("\(key.name)  (\(key.type); default \(key.defaultValue))\n    \(key.summary)")
            }
        }
    }

    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Check an eucalyptus.conf-style file the way a daemon reads it at start.")

        @Argument(help: "The file to check.")
        var file: String
        @Option(help: "The daemon that reads it: euca-cloud, euca-clc, euca-cc or euca-nc.")
        var daemon = "euca-cloud"

        func validate() throws {
            guard AllKeys.keys(of: daemon) != nil else { throw ValidationError("--daemon is one of \(AllKeys.daemonNames)") }
        }

        /// The warnings about the file (keys `daemon` does not read, a placement policy that is
        /// not built in), or the first error.
        static func check(_ file: String, daemon: String = "euca-cloud") -> Result<[String], ConfigError> {
            do {
                let config = try EucaConfig.load(path: file, required: true, environment: [:])
                var warnings: [String] = []
                var registry = PlacementRegistry.builtIn
                // A cluster controller built with policies of its own accepts names euca-admin
                // cannot know: such a name is taken here, and the daemon's own --check-config
                // checks it against its registry.
                if let name = config.entry("SCHEDPOLICY")?.value, !name.isEmpty, registry.policy(named: name) == nil,
                   name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
                    try? registry.register(name) { .greedy }
                    warnings.append("SCHEDPOLICY \(name) is not one of \(PlacementRegistry.builtIn.names.joined(separator: ", ")): "
                        + "only a cluster controller built with it accepts it (check with that daemon's --check-config)")
                }
                try AllKeys.validate(config, registry: registry)
                let keys = AllKeys.keys(of: daemon) ?? AllKeys.cloud
                for key in keys where key.type == "port" { _ = try config.port(key.name, default: 0) }
                return .success(warnings + config.unknownFileKeys(known: Set(keys.map(\.name))).map { "\(daemon) does not read \($0) (ignored)" })
            } catch {
                return .failure(error)
            }
        }

        func run() throws {
            switch Self.check(file, daemon: daemon) {
            case .success(let warnings):
                for warning in warnings { print("warning: \(file): \(warning)") }
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
                `aws ec2 register-image --image-location`. The object belongs to one account: the \
                cloud's administrators unless --account names another (its 12-digit id, as \
                describe-accounts shows it); to every other account its location does not exist. \
                Kernels and ramdisks are registered by the cloud's administrator.
                """)

        @Option(help: "The cloud's state directory.") var state = "./var"
        @Option(help: "The image store (default: STATE/images).") var store: String?
        @Option(help: "kernel, ramdisk or machine.") var kind: String
        @Option(help: "The bucket to put it in.") var bucket = "images"
        @Option(help: "The object's name (default: the file's name).") var name: String?
        @Option(help: "The 12-digit id of the account the object belongs to (default: the cloud's administrators).") var account: String?
        @Argument(help: "The file to upload.") var file: String

        func run() throws {
            guard let kind = ImageKind(rawValue: kind) else { throw ValidationError("--kind is kernel, ramdisk or machine") }
            let owner = try account.map { text in
                guard let id = AccountID(parsing: text) else { throw ValidationError("--account takes a 12-digit account id, not \(text)") }
                return id
            }
            let store = ImageStore(root: self.store ?? state + "/images")
            let objectName = name ?? URL(fileURLWithPath: file).lastPathComponent
            var lastPercent = -1
            let (location, object) = try store.put(file: file, bucket: bucket, name: objectName, kind: kind, owner: owner) { done, total in
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

    struct Connection: ParsableArguments {
        @Option(help: "The cloud controller's state directory, to read the administrator's credentials from.") var state = "./var"

        func client() throws -> AdminClient { try AdminClient.from(state: state) }
    }

    static func hostPort(_ text: String, defaultPort: Int) throws -> (String, Int) {
        if text.hasPrefix("["), let end = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<end])
            let rest = text[text.index(after: end)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? defaultPort : defaultPort)
        }
        let parts = text.split(separator: ":")
        guard parts.count <= 2, let host = parts.first.map(String.init), !host.isEmpty else { throw ValidationError("expected HOST[:PORT]") }
        guard parts.count == 2 else { return (host, defaultPort) }
        guard let port = Int(parts[1]), (1...65535).contains(port) else { throw ValidationError("bad port in \(text)") }
        return (host, port)
    }

    static func report(_ body: () async throws -> Void) async throws {
        do { try await body() } catch let error as EucaError {
            FileHandle.standardError.write(Data("euca-admin: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
    }

    struct RegisterCluster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register-cluster", abstract: "Register a cluster controller and print its join token.")
        @OptionGroup var connection: Connection
        @Argument(help: "The cluster's name, which is its availability zone.") var name: String
        @Argument(help: "Where euca-cc listens: HOST[:PORT] (port 8774 by default).") var address: String

        func run() async throws {
            let (host, port) = try EucaAdminCommand.hostPort(address, defaultPort: 8774)
            try await report {
                let reply = try await connection.client().call("registerCluster", AdminAPI.RegisterCluster(name: name, host: host, port: port), as: AdminAPI.Registered.self)
                print("Cluster \(reply.name) registered at \(host):\(port). Start it with:\n  euca-cc --join \(reply.token)")
            }
        }
    }

    struct RegisterNode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register-node", abstract: "Register a node controller with a cluster and print its join token.")
        @OptionGroup var connection: Connection
        @Option(help: "The node's name (by default its host, and port when not 8775).") var name: String?
        @Argument(help: "The cluster the node belongs to.") var cluster: String
        @Argument(help: "Where euca-nc listens: HOST[:PORT] (port 8775 by default).") var address: String

        func run() async throws {
            let (host, port) = try EucaAdminCommand.hostPort(address, defaultPort: 8775)
            try await report {
                let reply = try await connection.client().call(
                    "registerNode", AdminAPI.RegisterNode(cluster: cluster, host: host, port: port, name: name), as: AdminAPI.Registered.self)
                print("Node \(reply.name) registered with \(cluster) at \(host):\(port). Start it with:\n  euca-nc --join \(reply.token)")
            }
        }
    }

    struct DeregisterCluster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deregister-cluster", abstract: "Remove a cluster and its nodes.")
        @OptionGroup var connection: Connection
        @Argument var name: String

        func run() async throws {
            try await report {
                _ = try await connection.client().call("deregisterCluster", AdminAPI.Deregister(name: name, cluster: nil), as: AdminAPI.Done.self)
                print("Cluster \(name) deregistered.")
            }
        }
    }

    struct DeregisterNode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deregister-node", abstract: "Remove a node from its cluster.")
        @OptionGroup var connection: Connection
        @Argument var cluster: String
        @Argument(help: "The node's name (as register-node printed it).") var name: String

        func run() async throws {
            try await report {
                _ = try await connection.client().call("deregisterNode", AdminAPI.Deregister(name: name, cluster: cluster), as: AdminAPI.Done.self)
                print("Node \(name) deregistered from \(cluster).")
            }
        }
    }

    static func ago(_ date: Date?) -> String {
        guard let date else { return "never" }
        return "\(Int(Date().timeIntervalSince(date)))s ago"
    }

    struct DescribeServices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe-services", abstract: "Show every component: its state, version, last contact and capacity.")
        @OptionGroup var connection: Connection
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await report {
                let rows = try await connection.client().call("describeServices", AdminAPI.Done(), as: [ServiceRow].self)
                if json {
                    let encoder = JSONEncoder()
                    encoder.dateEncodingStrategy = .iso8601
                    print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                    return
                }
                for row in rows {
                    let name = row.cluster.map { "\($0)/\(row.name)" } ?? row.name
                    print("SERVICE\t\(row.component)\t\(name)\t\(row.host)\t\(row.state)\t\(row.version)\t\(EucaAdminCommand.ago(row.lastContact))\t\(row.detail)")
                }
            }
        }
    }

    struct DescribeNodes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe-nodes", abstract: "Show every node with its cores, memory and disk, used and free.")
        @OptionGroup var connection: Connection
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await report {
                let rows = try await connection.client().call("describeNodes", AdminAPI.Done(), as: [NodeRow].self)
                if json {
                    let encoder = JSONEncoder()
                    encoder.dateEncodingStrategy = .iso8601
                    print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                    return
                }
                print("NODE\tcluster\tname\thost\tstate\tinstances\tcores used/free\tmemory MiB used/free\tdisk GiB used/free")
                for row in rows {
                    print("NODE\t\(row.cluster)\t\(row.name)\t\(row.host)\t\(row.asleep ? "asleep" : row.reachable ? "up" : "unreachable")\t\(row.instances)\t"
                        + "\(row.coresTotal - row.coresFree)/\(row.coresFree)\t\(row.memoryTotalMiB - row.memoryFreeMiB)/\(row.memoryFreeMiB)\t"
                        + "\(row.diskTotalGiB - row.diskFreeGiB)/\(row.diskFreeGiB)")
                    for instance in row.instanceIds ?? [] { print("INSTANCE\t\(instance)\t\(row.name)") }
                }
            }
        }
    }

    struct DescribeNetworkPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe-network-plan",
            abstract: "Show what each node's network is made to be: its ports, elastic IPs and the nftables tables of its security groups.")
        @OptionGroup var connection: Connection
        @Option(help: "Only this node.") var node: String?

        func run() async throws {
            try await report {
                let rows = try await connection.client().call(
                    "describeNetworkPlan", AdminAPI.DescribeNetworkPlan(node: node), as: [AdminAPI.NetworkPlanRow].self)
                if rows.isEmpty { print("No instance runs on \(node.map { "node \($0)" } ?? "any node").") }
                for row in rows { print("NODE\t\(row.node)\n\(row.plan)") }
            }
        }
    }

    struct CreateAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-account", abstract: "Create an account and print its access key.")
        @OptionGroup var connection: Connection
        @Argument var name: String

        func run() async throws {
            try await report {
                let reply = try await connection.client().call("createAccount", AdminAPI.CreateAccount(name: name), as: AdminAPI.AccountCreated.self)
                print("ACCOUNT\t\(reply.name)\t\(reply.accountId)\nKEY\t\(reply.accessKeyId)\t\(reply.secretAccessKey)")
            }
        }
    }

    struct DescribeAccounts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe-accounts", abstract: "Show every account with its quotas, lease, priority and what it uses.")
        @OptionGroup var connection: Connection
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await report {
                let rows = try await connection.client().call("describeAccounts", AdminAPI.Done(), as: [AdminAPI.AccountRow].self)
                if json {
                    print(String(decoding: try JSONEncoder().encode(rows), as: UTF8.self))
                    return
                }
                print("ACCOUNT\tname\tid\tinstances used/max\tcores used/max\tmemory MiB used/max\tlease s\tpriority")
                for row in rows { print(EucaAdminCommand.line(row)) }
            }
        }
    }

    /// Sends a change of an account's terms and prints the account as it is now.
    static func setTerms(_ change: AdminAPI.SetAccountTerms, on connection: Connection) async throws {
        print(line(try await connection.client().call("setAccountTerms", change, as: AdminAPI.AccountRow.self)))
    }

    static func line(_ row: AdminAPI.AccountRow) -> String {
        func limit(_ value: Int?) -> String { value.map(String.init) ?? "none" }
        return "ACCOUNT\t\(row.name)\t\(row.accountId)\t\(row.instances)/\(limit(row.maxInstances))\t\(row.cores)/\(limit(row.maxCores))\t"
            + "\(row.memoryMiB)/\(limit(row.maxMemoryMiB))\t\(limit(row.leaseSeconds))\t\(row.priority)"
    }

    struct SetQuota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-quota",
            abstract: "Limit an account's instances, cores and memory ('none' lifts a limit); launches over it get InstanceLimitExceeded.")
        @OptionGroup var connection: Connection
        @Argument(help: "The account's name or id.") var account: String
        @Option(help: "The most instances that may hold resources at once.") var instances: String?
        @Option(help: "The most cores.") var cores: String?
        @Option(help: "The most memory, in MiB.") var memory: String?

        func validate() throws {
            guard instances != nil || cores != nil || memory != nil else {
                throw ValidationError("Give at least one of --instances, --cores, --memory.")
            }
        }

        func run() async throws {
            try await report {
                let change = AdminAPI.SetAccountTerms(account: account, maxInstances: instances, maxCores: cores, maxMemoryMiB: memory)
                try await EucaAdminCommand.setTerms(change, on: connection)
            }
        }
    }

    struct SetLease: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-lease",
            abstract: "Give each instance the account launches from now on a lease: it is terminated when the lease ends.",
            discussion: "The lease shows on each instance as the tag euca:lease-expires.")
        @OptionGroup var connection: Connection
        @Argument(help: "The account's name or id.") var account: String
        @Argument(help: "The lease in seconds, or 'none'.") var seconds: String

        func run() async throws {
            try await report {
                let change = AdminAPI.SetAccountTerms(account: account, leaseSeconds: seconds)
                try await EucaAdminCommand.setTerms(change, on: connection)
            }
        }
    }

    struct SetPriority: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-priority",
            abstract: "Set an account's priority: a launch that does not fit ends instances of accounts with a lower one (default 0).")
        @OptionGroup var connection: Connection
        @Argument(help: "The account's name or id.") var account: String
        @Argument(help: "The priority, a whole number.") var priority: String

        func run() async throws {
            try await report {
                let change = AdminAPI.SetAccountTerms(account: account, priority: priority)
                try await EucaAdminCommand.setTerms(change, on: connection)
            }
        }
    }

    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-user", abstract: "Create a user of an account (it has no access key until create-access-key makes one).")
        @OptionGroup var connection: Connection
        @Option(help: "The account's name or id.") var account: String
        @Option(help: "The user's name: 1 to 64 letters, digits or +=,.@_-.") var user: String
        @Option(help: "An IAM path, such as /team/ (default /).") var path: String?

        func run() async throws {
            try await report {
                let row = try await connection.client().call(
                    "createUser", AdminAPI.CreateUser(account: account, user: user, path: path), as: AdminAPI.UserRow.self)
                print(EucaAdminCommand.lines(row))
            }
        }
    }

    struct DescribeUsers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe-users", abstract: "Show an account's users, whether each has a password, and their access keys.")
        @OptionGroup var connection: Connection
        @Option(help: "The account's name or id.") var account: String

        func run() async throws {
            try await report {
                let rows = try await connection.client().call("describeUsers", AdminAPI.DescribeUsers(account: account), as: [AdminAPI.UserRow].self)
                for row in rows { print(EucaAdminCommand.lines(row)) }
            }
        }
    }

    /// A user as `USER` and `KEY` lines.
    static func lines(_ row: AdminAPI.UserRow) -> String {
        (["USER\t\(row.userName)\t\(row.userId)\t\(row.arn)\tpassword \(row.hasPassword ? "set" : "none")"]
            + row.accessKeys.map { "KEY\t\($0.accessKeyId)\t\($0.status)" }).joined(separator: "\n")
    }

    struct CreateAccessKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-access-key",
            abstract: "Make an access key for a user (two at most) and print it; its secret is shown this once.")
        @OptionGroup var connection: Connection
        @Option(help: "The account's name or id.") var account: String
        @Option(help: "The user's name.") var user = "admin"

        func run() async throws {
            try await report {
                let key = try await connection.client().call(
                    "createAccessKey", AdminAPI.CreateAccessKey(account: account, user: user), as: AdminAPI.AccessKeyCreated.self)
                print("KEY\t\(key.accessKeyId)\t\(key.secretAccessKey)\t\(key.userName)\t\(key.accountId)")
            }
        }
    }

    /// Sends one change of an access key and prints the key's line.
    static func changeKey(_ operation: String, _ id: String, to outcome: String, on connection: Connection) async throws {
        try await report {
            _ = try await connection.client().call(operation, AdminAPI.AccessKeyChange(accessKeyId: id), as: AdminAPI.Done.self)
            print("KEY\t\(id)\t\(outcome)")
        }
    }

    struct DeactivateAccessKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deactivate-access-key", abstract: "Turn an access key off: requests signed with it are refused from the next one on.")
        @OptionGroup var connection: Connection
        @Argument(help: "The access key's id.") var accessKeyId: String

        func run() async throws {
            try await EucaAdminCommand.changeKey("deactivateAccessKey", accessKeyId, to: "Inactive", on: connection)
        }
    }

    struct ActivateAccessKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "activate-access-key", abstract: "Turn an access key back on.")
        @OptionGroup var connection: Connection
        @Argument(help: "The access key's id.") var accessKeyId: String

        func run() async throws {
            try await EucaAdminCommand.changeKey("activateAccessKey", accessKeyId, to: "Active", on: connection)
        }
    }

    struct DeleteAccessKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-access-key", abstract: "Delete an access key for good.")
        @OptionGroup var connection: Connection
        @Argument(help: "The access key's id.") var accessKeyId: String

        func run() async throws {
            try await EucaAdminCommand.changeKey("deleteAccessKey", accessKeyId, to: "deleted", on: connection)
        }
    }

    struct GetCredentials: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get-credentials",
            abstract: "Write a user's credentials bundle: eucarc, an aws CLI config and credentials, a new certificate and key, the cloud's CA.",
            discussion: "The bundle holds the user's first active access key (one is made if it has none). Unzip it and source eucarc.")
        @OptionGroup var connection: Connection
        @Option(help: "The account's name or id.") var account: String
        @Option(help: "The user's name.") var user = "admin"
        @Option(name: .shortAndLong, help: "Where to write the zip file (default: ACCOUNT-USER.zip here).") var output: String?

        func run() async throws {
            try await report {
                let reply = try await connection.client().call(
                    "getCredentials", AdminAPI.GetCredentials(account: account, user: user), as: AdminAPI.Credentials.self)
                guard let zip = Data(base64Encoded: reply.zip) else { throw EucaError(.internalFailure, nil, "The cloud sent no zip file.") }
                let path = output ?? reply.fileName
                guard FileManager.default.createFile(atPath: path, contents: zip, attributes: [.posixPermissions: 0o600]) else {
                    throw EucaError(.internalFailure, nil, "Could not write \(path).")
                }
                print("CREDENTIALS\t\(path)")
            }
        }
    }

    struct ListRequests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list-requests", abstract: "Show the sign-up requests waiting for a decision (made on the web console's sign-up page).")
        @OptionGroup var connection: Connection
        @Flag(help: "Show the approved and rejected ones too.") var all = false

        func run() async throws {
            try await report {
                let rows = try await connection.client().call("listRequests", AdminAPI.ListRequests(all: all), as: [AdminAPI.RequestRow].self)
                if rows.isEmpty { print("No sign-up request is waiting.") }
                for row in rows {
                    print("REQUEST\t\(row.id)\t\(row.state)\taccount \(row.accountName)\tuser \(row.userName)\t\(row.email)\t\(ISO8601DateFormatter().string(from: row.createdAt))")
                }
            }
        }
    }

    struct ApproveUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve-user",
            abstract: "Approve a sign-up request: its account and user are made, and the user can sign in and download its credentials.")
        @OptionGroup var connection: Connection
        @Argument(help: "The request's id (signup-...), as list-requests shows it.") var id: String

        func run() async throws {
            try await report {
                let reply = try await connection.client().call("approveUser", AdminAPI.Decide(id: id), as: AdminAPI.Approved.self)
                print("APPROVED\t\(id)\taccount \(reply.accountName) \(reply.accountId)\tuser \(reply.userName)")
            }
        }
    }

    struct RejectUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reject-user", abstract: "Reject a sign-up request: nothing is made, and its password is forgotten.")
        @OptionGroup var connection: Connection
        @Argument(help: "The request's id (signup-...), as list-requests shows it.") var id: String

        func run() async throws {
            try await report {
                _ = try await connection.client().call("rejectUser", AdminAPI.Decide(id: id), as: AdminAPI.Done.self)
                print("REJECTED\t\(id)")
            }
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Give a user a password for the web console (or change it), read from standard input, never from the command line.",
            discussion: "For the cloud's administrator: euca-admin set-password --account eucalyptus --user admin < file")
        @OptionGroup var connection: Connection
        @Option(help: "The account's name or id.") var account: String
        @Option(help: "The user's name.") var user = "admin"

        func run() async throws {
            try await report {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw EucaError(.missingParameter, .loginProfile, "Give the password on standard input.")
                }
                _ = try await connection.client().call(
                    "setPassword", AdminAPI.SetPassword(account: account, user: user, password: line), as: AdminAPI.Done.self)
                print("PASSWORD\t\(account)\t\(user)\tset")
            }
        }
    }
}
