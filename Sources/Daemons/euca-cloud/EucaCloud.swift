import ArgumentParser
import EucaCloud
import EucaCluster
import EucaConsole
import EucaCore
import EucaDaemon
import EucaNode
import EucaNodeDaemon
import EucaSecurity
import EucaStoreLMDB
import Foundation
import Logging
import ServiceLifecycle

@main
struct EucaCloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-cloud",
        abstract: "Run a whole Euca cloud on this machine: cloud, cluster and node controller in one process.",
        discussion: """
            With no configuration file, euca-cloud keeps its state in ./var, serves the EC2 API on \
            127.0.0.1:8773 and runs instances on libvirt's test driver (test:///default). On its first \
            start it creates the administrator's credentials and writes them, with an aws CLI config, \
            under STATE_DIR/credentials. Every setting can come from eucalyptus.conf or from an \
            environment variable of the same name; run `euca-admin config-keys` to list them.
            """)

    @Option(name: .long, help: "An eucalyptus.conf-style file to read (KEY=\"value\" lines).")
    var config: String?

    @Option(name: .long, help: "Where the cloud keeps its state (overrides STATE_DIR).")
    var state: String?

    func run() async throws {
        var config: EucaConfig
        do {
            config = try EucaConfig.load(path: self.config, required: self.config != nil)
            if let state { config.environment["STATE_DIR"] = state }
            try await serve(config)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("euca-cloud: configuration error: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }

    /// Runs the three assemblies in one process: a node, a cluster of that one node, and the
    /// cloud over that cluster; the cloud's image store feeds the node directly.
    func serve(_ config: EucaConfig) async throws {
        let daemon = try DaemonSettings(config)
        let stateDirectory = URL(fileURLWithPath: daemon.stateDirectory).standardizedFileURL.path
        let nodeSettings = try NodeSettings(
            config, defaultNode: NodeID(ProcessInfo.processInfo.hostName), defaultInstancePath: stateDirectory + "/instances")
        let clusterSettings = try ClusterSettings(config)
        let metrics = DaemonRuntime.bootstrap(level: daemon.logLevel)
        let logger = Logger(label: "euca.cloud")
        for key in config.unknownFileKeys(known: Set(AllKeys.cloud.map(\.name))) {
            logger.warning("ignoring an unknown configuration key", metadata: ["key": "\(key)"])
        }

        let imageRoot = try CloudAssembly.imageStoreRoot(config)
        let nodeStore = try LMDBStateStore(directory: stateDirectory + "/node-state")
        defer { nodeStore.close() }
        let nodes = try await NodeAssembly.make(
            settings: nodeSettings, store: nodeStore, imageSource: LocalImageSource(root: imageRoot), limits: daemon.http, logger: Logger(label: "euca.nc"))
        let cluster = ClusterController(
            zone: clusterSettings.name, nodes: [nodes.node], policy: clusterSettings.policy, timings: clusterSettings.timings,
            logger: Logger(label: "euca.cc"))
        let assembly = try await CloudAssembly.make(config: config, clusters: [cluster], logger: logger)
        defer { assembly.store.close() }

        var sampleImage: ImageID?
        let sampleDirectory = try config.string("SAMPLE_IMAGE_DIR", default: "")
        if !sampleDirectory.isEmpty {
            let key = assembly.started.adminKey
            let admin = Principal(accountId: key.accountId, userName: key.userName, accessKeyId: key.accessKeyId, isCloudAdmin: true)
            sampleImage = try await SampleImage.registerOnce(
                directory: sampleDirectory, cloud: assembly.cloud, store: assembly.imageStore, admin: admin, logger: logger)
        }
        let (credentials, region, defaultImage, zone, libvirtURI) = (
            assembly.credentialsDirectory, assembly.cloudSettings.regionName, assembly.started.defaultImageId, clusterSettings.name,
            nodeSettings.libvirtURI
        )
        let cloud = assembly.cloud, authenticator = assembly.api.authenticator
        let authority = try CloudCA.loadOrCreate(directory: stateDirectory + "/ca")
        let app = assembly.application(
            metrics: metrics,
            addRoutes: { router in
                AdminAPI.addAccountRoutes(to: router, cloud: cloud, authority: authority, authenticator: authenticator, logger: logger)
                AdminAPI.addComponentRefusals(to: router, authenticator: authenticator, logger: logger)
            }
        ) { [sampleImage] endpoint in
            logger.info("EC2 API listening", metadata: ["endpoint": "\(endpoint)", "zone": "\(zone)", "libvirt": "\(libvirtURI)"])
            let banner = """
                Euca is running.
                  EC2 endpoint:  \(endpoint)/  (also \(endpoint)/services/Eucalyptus)
                  credentials:   \(credentials)/credentials  (aws CLI and boto3: AWS_SHARED_CREDENTIALS_FILE)
                  aws config:    \(credentials)/config       (AWS_CONFIG_FILE; region \(region))
                  eucarc:        \(credentials)/eucarc       (source it for euca2ools and the aws CLI)
                  IAM:           \(endpoint)/services/Euare  (users and access keys: aws iam --endpoint-url ...)
                  admin:         euca-admin --state \(stateDirectory) create-account NAME
                  default image: \(defaultImage?.rawValue ?? "none")\(sampleImage.map { "\n  sample image:  \($0)  (euca-sample: ssh root@ADDRESS with your key pair)" } ?? "")
                Try: . \(credentials)/eucarc && aws ec2 describe-availability-zones

                """
            FileHandle.standardOutput.write(Data(banner.utf8))
        }
        var services: [any Service] = nodes.services + [cluster, assembly.cloud, app, DaemonRuntime.memoryScavenger(stores: [nodeStore, assembly.store])]
        let console = try ConsoleServer.make(
            cloud: cloud, authority: authority, settings: try ConsoleSettings(config, defaultHost: assembly.apiSettings.host),
            hosts: [assembly.endpointHost], limits: daemon.http, logger: Logger(label: "euca.console")
        ) { url in
            FileHandle.standardOutput.write(Data("  web console:   \(url)  (sign up there; euca-admin set-password gives the administrator one)\n".utf8))
        }
        if let console { services.append(console) }
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        logger.info("euca-cloud stopped")
    }
}
