import AsyncHTTPClient
public import EucaCore
public import EucaDaemon
import EucaHTTP
import EucaNode
import EucaSecurity
import EucaStoreLMDB
import EucaWire
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import ServiceLifecycle

extension NodeDaemon {
    /// Runs `euca-nc`: joins (or loads its identity), builds its ``NodeAssembly`` and serves the
    /// node API over mutual TLS to its cluster, with `/metrics` beside.
    public static func run(config: EucaConfig, join token: String?) async throws {
        let daemon = try DaemonSettings(config)
        let state = URL(fileURLWithPath: daemon.stateDirectory).standardizedFileURL.path
        let settings = try NodeSettings(config, defaultNode: NodeID(ProcessInfo.processInfo.hostName), defaultInstancePath: state + "/instances")
        let component = try ComponentDaemonSettings(config, portKey: "NC_PORT", defaultPort: 8775)
        let metrics = DaemonRuntime.bootstrap(level: daemon.logLevel)
        let store = try LMDBStateStore(directory: state + "/node-state")
        defer { store.close() }
        let identity = try await Identities.obtain(
            role: .nc, directory: state + "/tls", token: token, store: store, logger: Logger(label: "euca.nc"))
        var nodeLogger = Logger(label: "euca.nc")
        nodeLogger[metadataKey: "euca.node"] = "\(identity.component?.name ?? settings.node.rawValue)"
        let logger = nodeLogger

        var nodeSettings = settings
        if let name = identity.component?.name { nodeSettings.node = NodeID(name) }
        let joinedImageService = try await Identities.imageServiceURL(store: store) ?? ""
        let imageService = try config.value("IMAGE_SERVICE_URL", default: joinedImageService) { text in
            text.isEmpty || text.hasPrefix("https://")
                ? .success(text) : .failure(ConfigProblem("\"\(text)\" is not an https:// URL of the cloud controller's image service"))
        }
        var imageSource: (any ImageSource)?
        var imageClient: HTTPClient?
        if imageService.isEmpty {
            logger.notice("no image service known (set IMAGE_SERVICE_URL, or join again): instances that boot images cannot start here")
        } else {
            let client = try InternalTLS.client(identity: identity, timeout: .seconds(3600))
            imageClient = client
            imageSource = RemoteImageSource(http: client, baseURL: imageService)
        }
        let assembly = try await NodeAssembly.make(settings: nodeSettings, store: store, imageSource: imageSource, limits: daemon.http, logger: logger)
        let node = assembly.node
        let router = Router()
        NodeAPI.addRoutes(to: router, node: node, logger: logger)
        let app = Application(
            router: router,
            server: try .tls(
                GuardedHTTP.http1(daemon.http, name: "node"),
                configuration: InternalTLS.serverConfiguration(identity: identity, allowing: .cc, logger: logger)),
            configuration: ApplicationConfiguration(address: .hostname(component.bind, port: component.port), serverName: "euca-nc"),
            onServerRunning: { channel in
                logger.info("node API listening", metadata: ["port": "\(channel.localAddress?.port ?? 0)", "libvirt": "\(settings.libvirtURI)"])
            },
            logger: logger)
        var services: [any Service] = [app, DaemonRuntime.memoryScavenger(stores: [store])] + assembly.services
        if component.metricsPort != 0 {
            services.append(DaemonRuntime.metricsServer(
                host: try config.nonEmptyString("METRICS_BIND", default: "127.0.0.1"), port: component.metricsPort, registry: metrics,
                limits: daemon.http, logger: logger))
        }
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        try? await imageClient?.shutdown()
        logger.info("euca-nc stopped")
    }
}
