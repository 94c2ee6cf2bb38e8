import ArgumentParser
import EucaCloud
import EucaCluster
import EucaCore
import EucaDaemon
import EucaEC2API
import EucaHTTP
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
        let daemon = try DaemonSettings(config)
        let stateDirectory = URL(fileURLWithPath: daemon.stateDirectory).standardizedFileURL.path
        let apiSettings = try EC2APISettings(config)
        let nodeSettings = try NodeSettings(
            config, defaultNode: NodeID(ProcessInfo.processInfo.hostName), defaultInstancePath: stateDirectory + "/instances")
        let clusterSettings = try ClusterSettings(config)
        let network = try NetworkSettings(config)
        let endpointHost = apiSettings.host == "0.0.0.0" ? "127.0.0.1" : apiSettings.host
        let cloudSettings = try CloudSettings(config, endpoint: "http://\(endpointHost):\(apiSettings.port)/")
        let libvirtURI = nodeSettings.libvirtURI
        let zone = clusterSettings.name

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = DaemonLogging.level(daemon.logLevel)
            return handler
        }
        let logger = Logger(label: "euca.cloud")
        let known = Set(AllKeys.cloud.map(\.name))
        for key in config.unknownFileKeys(known: known) {
            logger.warning("ignoring an unknown configuration key", metadata: ["key": "\(key)"])
        }
        let prometheus = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))

        let store = try LMDBStateStore(directory: stateDirectory + "/state")
        defer { store.close() }
        let nodeLogger = Logger(label: "euca.nc")
        let hypervisor = try await NodeRuntime.hypervisor(nodeSettings, logger: nodeLogger)
        let imageStore = ImageStore(root: try config.nonEmptyString("IMAGE_STORE_PATH", default: stateDirectory + "/images"))
        let images = try NodeRuntime.imageCache(nodeSettings, source: LocalImageSource(root: imageStore.root), logger: nodeLogger)
        let node = try NodeController(hypervisor: hypervisor, settings: nodeSettings, images: images, logger: nodeLogger)
        await node.restoreImagePins()
        let cluster = ClusterController(
            zone: zone, nodes: [node], policy: clusterSettings.policy, timings: clusterSettings.timings, logger: Logger(label: "euca.cc"))
        let cloud = CloudController(
            store: store, clusters: [cluster], network: network, networkApplier: UnenforcedNetworkApplier(logger: logger),
            imageStore: imageStore, settings: cloudSettings, logger: logger)
        let started = try await cloud.bootstrap(defaultImage: DefaultImage.record())
        if started.isFirstStart {
            logger.info("first start: administrator account and default image created", metadata: [
                "euca.account": "\(started.adminAccount.id)", "euca.image": "\(started.defaultImageId?.rawValue ?? "none")",
            ])
        }
        var registeredSample: ImageID?
        let sampleDirectory = try config.string("SAMPLE_IMAGE_DIR", default: "")
        if !sampleDirectory.isEmpty {
            let admin = Principal(
                accountId: started.adminAccount.id, userName: started.adminKey.userName, accessKeyId: started.adminKey.accessKeyId,
                isCloudAdmin: true)
            registeredSample = try await SampleImage.registerOnce(
                directory: sampleDirectory, cloud: cloud, store: imageStore, admin: admin, logger: logger)
        }
        let sampleImage = registeredSample

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
            router: router, server: GuardedHTTP.http1(daemon.http, name: "ec2"),
            configuration: ApplicationConfiguration(address: .hostname(apiSettings.host, port: apiSettings.port), serverName: "Euca"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? apiSettings.port
                let endpoint = "http://\(endpointHost):\(port)"
                cloud.setEndpoint(endpoint + "/")
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
                      default image: \(started.defaultImageId?.rawValue ?? "none")\(sampleImage.map { "\n  sample image:  \($0)  (euca-sample: ssh root@ADDRESS with your key pair)" } ?? "")
                    Try: . \(credentials)/eucarc && aws ec2 describe-availability-zones

                    """
                FileHandle.standardOutput.write(Data(banner.utf8))
            },
            logger: Logger(label: "euca.http"))
        var services: [any Service] = [cluster, cloud, app]
        if let metadata = try NodeRuntime.metadataServer(nodeSettings, node: node, limits: daemon.http, logger: nodeLogger) {
            services.append(metadata)
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        logger.info("euca-cloud stopped")
    }

}

