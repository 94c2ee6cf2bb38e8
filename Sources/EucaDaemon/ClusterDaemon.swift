public import EucaCore
import EucaCluster
public import EucaScheduler
import EucaSecurity
import EucaHTTP
import EucaStoreLMDB
import EucaWire
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import ServiceLifecycle
import Synchronization

/// `euca-cc`: a cluster controller serving the cluster API over mutual TLS to the cloud
/// controller, and calling its nodes' APIs with its own certificate.
public enum ClusterDaemon {
    /// The nodes the cloud controller last named, keyed by node name.
    static let nodeEndpoints = StoreCollection<NodeEndpoint>("cluster-node-endpoints")

    public static let keys: [ConfigKey] =
        DaemonSettings.keys + ClusterSettings.keys + ComponentDaemonSettings.keys(portKey: "CC_PORT", defaultPort: 8774)

    /// Runs the daemon; `registry` may hold placement policies of the caller's own, selectable by
    /// `SCHEDPOLICY`.
    public static func run(config: EucaConfig, join token: String?, registry: PlacementRegistry = .builtIn) async throws {
        let daemon = try DaemonSettings(config)
        let state = URL(fileURLWithPath: daemon.stateDirectory).standardizedFileURL.path
        let component = try ComponentDaemonSettings(config, portKey: "CC_PORT", defaultPort: 8774)
        let settings = try ClusterSettings(config, registry: registry)
        let metrics = DaemonRuntime.bootstrap(level: daemon.logLevel)
        let logger = Logger(label: "euca.cc")
        let store = try LMDBStateStore(directory: state + "/cluster-state")
        defer { store.close() }
        let identity = try await Identities.obtain(role: .cc, directory: state + "/tls", token: token, store: store, logger: logger)
        let zone = identity.component?.name ?? settings.name
        let http = try InternalTLS.client(identity: identity, timeout: settings.timings.nodeTimeout)
        try await LegacyStateFile.move(state + "/nodes.json", into: store, Self.nodeEndpoints, key: \.name.rawValue, logger: logger)
        try await LegacyStateFile.move(
            state + "/sleeping-nodes.json", into: store, ClusterController.sleepingNodes, key: \.node.rawValue, logger: logger)
        let saved = try await store.read { txn in try txn.all(Self.nodeEndpoints).map(\.value) }
        let endpoints = Mutex(saved)
        @Sendable func remote(_ endpoint: NodeEndpoint) -> any NodeControllerAPI {
            RemoteNode(node: endpoint.name, client: InternalClient(
                http: http, baseURL: "https://\(endpoint.host):\(endpoint.port)\(NodeAPI.prefix)", timeout: settings.timings.nodeTimeout))
        }
        let power = settings.powerCommands.map { commands in
            CommandNodePower(powerDownCommand: commands.down, wakeCommand: commands.wake) { node in
                endpoints.withLock { list in list.first { $0.name == node }?.host }
            }
        }
        if settings.policy.powersDownIdleNodes && power == nil {
            logger.notice("\(settings.policy.name) packs instances, but without POWER_DOWN_COMMAND and POWER_WAKE_COMMAND no node is powered down")
        }
        let cluster = try await ClusterController.open(
            zone: zone, nodes: saved.map(remote), policy: settings.policy, timings: settings.timings, power: power,
            powerTimings: settings.powerTimings, store: store, logger: logger)
        let router = Router()
        ClusterAPI.addRoutes(
            to: router, cluster: cluster,
            configureNodes: { nodes in
                let changed = endpoints.withLock { current -> Bool in
                    defer { current = nodes }
                    return current != nodes
                }
                guard changed else { return }
                try await store.write { txn in
                    for (key, _) in try txn.all(Self.nodeEndpoints) { try txn.delete(key, from: Self.nodeEndpoints) }
                    for node in nodes { try txn.put(node, at: node.name.rawValue, in: Self.nodeEndpoints) }
                }
                await cluster.setNodes(nodes.map(remote))
            },
            endpoints: { endpoints.withLock { $0 } }, logger: logger)
        let app = Application(
            router: router,
            server: try .tls(
                GuardedHTTP.http1(daemon.http, name: "cluster"),
                configuration: InternalTLS.serverConfiguration(identity: identity, allowing: .clc, logger: logger)),
            configuration: ApplicationConfiguration(address: .hostname(component.bind, port: component.port), serverName: "euca-cc"),
            onServerRunning: { channel in
                logger.info("cluster API listening", metadata: [
                    "euca.zone": "\(zone)", "port": "\(channel.localAddress?.port ?? 0)", "policy": "\(settings.policy.name)",
                ])
            },
            logger: logger)
        var services: [any Service] = [cluster, app, DaemonRuntime.memoryScavenger(stores: [store])]
        if component.metricsPort != 0 {
            services.append(DaemonRuntime.metricsServer(
                host: try config.nonEmptyString("METRICS_BIND", default: "127.0.0.1"), port: component.metricsPort, registry: metrics,
                limits: daemon.http, logger: logger))
        }
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        try? await http.shutdown()
        logger.info("euca-cc stopped")
    }
}
