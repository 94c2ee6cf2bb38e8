import ArgumentParser
import EucaCloud
import EucaCluster
import EucaCore
import EucaEC2API
import EucaHypervisor
import EucaHypervisorLibvirt
import EucaNet
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaStoreLMDB
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
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

    func serve(_ config: EucaConfig) async throws {
        let stateDirectory = URL(fileURLWithPath: try config.nonEmptyString("STATE_DIR", default: "./var")).standardizedFileURL.path
        let level = try config.choice("LOGLEVEL", default: "INFO", from: ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"])
        let libvirtURI = try config.nonEmptyString("LIBVIRT_URI", default: "test:///default")
        let zone = try config.nonEmptyString("CLUSTER_NAME", default: "cluster01")
        let policyName = try config.nonEmptyString("SCHEDPOLICY", default: "ROUNDROBIN")
        let networkModeName = try config.nonEmptyString("VNET_MODE", default: "SYSTEM")
        let apiSettings = try EC2APISettings(config)
        let nodeSettings = try NodeSettings(
            config, defaultNode: NodeID(ProcessInfo.processInfo.hostName), defaultInstancePath: stateDirectory + "/instances")
        let network = try config.value("VNET_MODE", default: SystemNetworkMode() as any NetworkMode) { NetworkModes.mode(named: $0) }
        let registry = PlacementRegistry.builtIn
        guard let policy = registry.policy(named: policyName) else {
            throw ConfigError(
                key: "SCHEDPOLICY", source: config.entry("SCHEDPOLICY")?.source ?? .defaultValue,
                message: "\"\(policyName)\" is not one of \(registry.names.joined(separator: ", "))")
        }
        _ = networkModeName

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Self.logLevel(level)
            return handler
        }
        let logger = Logger(label: "euca.cloud")
        let known = Set((CloudSettings.keys + NodeSettings.keys + EC2APISettings.keys + DaemonKeys.keys).map(\.name))
        for key in config.unknownFileKeys(known: known) {
            logger.warning("ignoring an unknown configuration key", metadata: ["key": "\(key)"])
        }
        let prometheus = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))

        let store = try LMDBStateStore(directory: stateDirectory + "/state")
        defer { store.close() }
        let hypervisor = try LibvirtHypervisor(uri: libvirtURI, logger: Logger(label: "euca.hypervisor"))
        let node = try NodeController(hypervisor: hypervisor, settings: nodeSettings, logger: Logger(label: "euca.nc"))
        let cluster = ClusterController(zone: zone, nodes: [node], policy: policy, logger: Logger(label: "euca.cc"))
        let endpointHost = apiSettings.host == "0.0.0.0" ? "127.0.0.1" : apiSettings.host
        let cloudSettings = try CloudSettings(config, endpoint: "http://\(endpointHost):\(apiSettings.port)/")
        let cloud = CloudController(store: store, clusters: [cluster], network: network, settings: cloudSettings, logger: logger)
        let started = try await cloud.bootstrap(defaultImage: Self.defaultImage())
        if started.isFirstStart {
            logger.info("first start: administrator account and default image created", metadata: [
                "euca.account": "\(started.adminAccount.id)", "euca.image": "\(started.defaultImageId?.rawValue ?? "none")",
            ])
        }

        let api = EC2API(cloud: cloud, settings: apiSettings, logger: Logger(label: "euca.ec2"))
        let router = Router()
        api.addRoutes(to: router)
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: prometheus.emitToBuffer())))
        }
        router.get("/healthz") { _, _ in "ok\n" }

        let credentials = stateDirectory + "/credentials"
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(apiSettings.host, port: apiSettings.port), serverName: "Euca"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? apiSettings.port
                let endpoint = "http://\(endpointHost):\(port)"
                do {
                    try CredentialFiles.write(
                        to: credentials, key: started.adminKey, region: cloudSettings.regionName, endpoint: endpoint)
                } catch {
                    logger.error("could not write the credential files", metadata: ["error": "\(error)"])
                }
                logger.info("EC2 API listening", metadata: ["endpoint": "\(endpoint)", "zone": "\(zone)", "libvirt": "\(libvirtURI)"])
                let banner = """
                    Euca is running.
                      EC2 endpoint:  \(endpoint)/  (also \(endpoint)/services/Eucalyptus)
                      credentials:   \(credentials)/credentials  (aws CLI and boto3: AWS_SHARED_CREDENTIALS_FILE)
                      aws config:    \(credentials)/config       (AWS_CONFIG_FILE; region \(cloudSettings.regionName))
                      eucarc:        \(credentials)/eucarc       (source it for euca2ools and the aws CLI)
                      default image: \(started.defaultImageId?.rawValue ?? "none")
                    Try: . \(credentials)/eucarc && aws ec2 describe-availability-zones

                    """
                FileHandle.standardOutput.write(Data(banner.utf8))
            },
            logger: Logger(label: "euca.http"))
        let group = ServiceGroup(services: [cloud, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        logger.info("euca-cloud stopped")
    }

    static func logLevel(_ name: String) -> Logger.Level {
        switch name {
        case "TRACE": .trace
        case "DEBUG": .debug
        case "WARN": .warning
        case "ERROR": .error
        case "FATAL": .critical
        default: .info
        }
    }

    /// The image registered on the first start, so RunInstances works at once. It boots nothing:
    /// it runs on libvirt's test driver only, until a bootable image is registered.
    static func defaultImage() -> ImageRecord {
        ImageRecord(
            id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "euca-test-empty",
            description: "An image with no operating system, for libvirt's test driver. Register a bootable image for real guests.",
            architecture: "x86_64", kernelId: nil, ramdiskId: nil, location: "builtin:empty", isPublic: true,
            createdAt: Date(), boot: BootSpec())
    }
}

/// The daemon's own keys (the libraries document theirs).
enum DaemonKeys {
    static let keys: [ConfigKey] = [
        ConfigKey("STATE_DIR", type: "path", default: "./var", "Where the cloud keeps its store, instances and credentials."),
        ConfigKey("LOGLEVEL", type: "TRACE|DEBUG|INFO|WARN|ERROR|FATAL", default: "INFO", "How much the daemon logs."),
        ConfigKey("LIBVIRT_URI", type: "URI", default: "test:///default", "The libvirt connection instances run on."),
        ConfigKey("CLUSTER_NAME", type: "string", default: "cluster01", "The cluster's name, which is its availability zone."),
        ConfigKey("SCHEDPOLICY", type: "GREEDY|ROUNDROBIN", default: "ROUNDROBIN", "How instances are placed on nodes."),
        ConfigKey("VNET_MODE", type: "SYSTEM", default: "SYSTEM", "The network mode; SYSTEM only in this release."),
    ]
}

/// The administrator's credentials as the aws CLI, boto3 and euca2ools read them.
enum CredentialFiles {
    static func write(to directory: String, key: AccessKey, region: String, endpoint: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let files = [
            "credentials": """
                [default]
                aws_access_key_id = \(key.accessKeyId)
                aws_secret_access_key = \(key.secretAccessKey)

                """,
            "config": """
                [default]
                region = \(region)
                output = json
                endpoint_url = \(endpoint)

                """,
            "eucarc": """
                # Euca credentials for the account \(key.accountId) (user \(key.userName)).
                export EC2_URL=\(endpoint)/services/Eucalyptus
                export EC2_ACCESS_KEY=\(key.accessKeyId)
                export EC2_SECRET_KEY=\(key.secretAccessKey)
                export AWS_ACCESS_KEY_ID=\(key.accessKeyId)
                export AWS_SECRET_ACCESS_KEY=\(key.secretAccessKey)
                export AWS_DEFAULT_REGION=\(region)
                export AWS_ENDPOINT_URL=\(endpoint)
                export AWS_SHARED_CREDENTIALS_FILE=\(directory)/credentials
                export AWS_CONFIG_FILE=\(directory)/config

                """,
        ]
        for (name, text) in files {
            let path = directory + "/" + name
            guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }
}
