public import EucaCloud
public import EucaCore
public import EucaEC2API
import EucaHTTP
import EucaNet
public import EucaScheduler
import EucaSecurity
public import EucaStoreLMDB
import Foundation
public import Hummingbird
public import Logging
public import Prometheus
public import ServiceLifecycle

/// The cloud controller's parts, made from its settings: the durable store, the controller and
/// its services, the image store and the EC2 API on its HTTP server. `euca-clc` builds one over
/// remote clusters and adds the admin API and joins; `euca-cloud` builds one over its in-process
/// cluster.
public struct CloudAssembly: Sendable {
    public let daemon: DaemonSettings
    public let apiSettings: EC2APISettings
    public let cloudSettings: CloudSettings
    /// The name or address clients reach the EC2 API at.
    public let endpointHost: String
    public let store: LMDBStateStore
    public let imageStore: ImageStore
    public let cloud: CloudController
    public let api: EC2API
    /// What the first start created, or found.
    public let started: CloudController.Bootstrap
    let logger: Logger

    /// Opens the store under `STATE_DIR/state`, with the master key in `STATE_DIR/master.key`
    /// (made on the first start), and bootstraps the cloud (the administrator's
    /// account and the default image on the first start).
    public static func make(
        config: EucaConfig, clusters: [any ClusterControllerAPI], slaPolicies: [any SLAPolicy] = CloudController.builtInSLAPolicies,
        placement: PlacementRegistry = .builtIn, endpointHost: String? = nil, logger: Logger
    ) async throws -> CloudAssembly {
        let daemon = try DaemonSettings(config)
        let state = URL(fileURLWithPath: daemon.stateDirectory).standardizedFileURL.path
        let apiSettings = try EC2APISettings(config)
        let network = try NetworkSettings(config)
        let host = endpointHost ?? (apiSettings.host == "0.0.0.0" ? "127.0.0.1" : apiSettings.host)
        let cloudSettings = try CloudSettings(config, endpoint: "http://\(host):\(apiSettings.port)/", registry: placement)
        let store = try LMDBStateStore(directory: state + "/state")
        let secrets = try SecretSealer.loadOrCreate(directory: state)
        let imageStore = ImageStore(root: try imageStoreRoot(config))
        let cloud = CloudController(
            // A mode that enforces rules has its plans carried to the hosts by the cloud itself.
            store: store, secrets: secrets, clusters: clusters, network: network,
            networkApplier: network.mode.plan([]).enforcesRules ? nil : UnenforcedNetworkApplier(logger: logger),
            imageStore: imageStore, slaPolicies: slaPolicies, settings: cloudSettings, logger: logger)
        let started = try await cloud.bootstrap(defaultImage: DefaultImage.record())
        if started.isFirstStart {
            logger.info("first start: administrator account and default image created", metadata: [
                "euca.account": "\(started.adminAccount.id)", "euca.image": "\(started.defaultImageId?.rawValue ?? "none")",
            ])
        }
        let api = EC2API(cloud: cloud, settings: apiSettings, logger: Logger(label: "euca.ec2"))
        return CloudAssembly(
            daemon: daemon, apiSettings: apiSettings, cloudSettings: cloudSettings, endpointHost: host, store: store,
            imageStore: imageStore, cloud: cloud, api: api, started: started, logger: logger)
    }

    /// Where the image store lives (`IMAGE_STORE_PATH`, by default `STATE_DIR/images`).
    public static func imageStoreRoot(_ config: EucaConfig) throws(ConfigError) -> String {
        let state = URL(fileURLWithPath: try DaemonSettings(config).stateDirectory).standardizedFileURL.path
        return try config.nonEmptyString("IMAGE_STORE_PATH", default: state + "/images")
    }

    /// Where the credential files are written.
    public var credentialsDirectory: String {
        URL(fileURLWithPath: daemon.stateDirectory).standardizedFileURL.path + "/credentials"
    }

    /// The EC2 API's HTTP server with `/metrics`, `/healthz` and the routes `addRoutes` adds. Once
    /// it listens, the endpoint is known: DescribeRegions shows it, the credential files name it,
    /// and `onRunning` is told it.
    public func application(
        metrics: PrometheusCollectorRegistry, addRoutes: (Router<BasicRequestContext>) -> Void = { _ in },
        onRunning: @escaping @Sendable (_ endpoint: String) async -> Void
    ) -> some Service {
        let router = Router()
        api.addRoutes(to: router)
        addRoutes(router)
        DaemonRuntime.addMetricsRoutes(to: router, registry: metrics)
        let (cloud, host, credentials, key, region, logger) = (cloud, endpointHost, credentialsDirectory, started.adminKey, cloudSettings.regionName, logger)
        return Application(
            router: router, server: GuardedHTTP.http1(daemon.http, name: "ec2"),
            configuration: ApplicationConfiguration(address: .hostname(apiSettings.host, port: apiSettings.port), serverName: "Euca"),
            onServerRunning: { [apiSettings] channel in
                let endpoint = "http://\(host):\(channel.localAddress?.port ?? apiSettings.port)"
                cloud.setEndpoint(endpoint + "/")
                do {
                    try CredentialFiles.write(to: credentials, key: key, region: region, endpoint: endpoint)
                } catch {
                    logger.error("could not write the credential files", metadata: ["error": "\(error)"])
                }
                await onRunning(endpoint)
            },
            logger: Logger(label: "euca.http"))
    }
}
