public import EucaCloud
public import EucaCore
import EucaConsole
import EucaEC2API
import EucaHTTP
import EucaNet
public import EucaScheduler
import EucaSecurity
import EucaStoreLMDB
import EucaWire
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// `euca-clc`: the cloud controller on its own: the EC2 API, the admin API and joins on one port,
/// its clusters reached over mutual TLS.
public enum CloudDaemon {
    public static let keys: [ConfigKey] =
        DaemonSettings.keys + EC2APISettings.keys + ConsoleSettings.keys + CloudSettings.keys + NetworkSettings.keys
        + [
            ConfigKey("CLUSTER_SYNC_INTERVAL", type: "seconds", default: "2", "How often the cloud controller tells clusters their nodes and asks their state."),
            ConfigKey(
                "CLOUD_HOST", type: "host", default: "EC2_BIND, or 127.0.0.1 when that is 0.0.0.0",
                "The name or address components reach the cloud controller at: written into join tokens, credentials and its certificate."),
            ConfigKey(
                "IMAGE_PORT", type: "port", default: "8776",
                "The image service node controllers download images from (HTTPS, mutual TLS, node certificates only); 0 turns it off."),
        ]

    /// Runs the daemon; `slaPolicies` replaces the built-in quota, lease and priority policies
    /// (a package with SLA policies of its own passes them here from its own `main`).
    public static func run(config: EucaConfig, slaPolicies: [any SLAPolicy] = CloudController.builtInSLAPolicies) async throws {
        let daemon = try DaemonSettings(config)
        let state = URL(fileURLWithPath: daemon.stateDirectory).standardizedFileURL.path
        let apiSettings = try EC2APISettings(config)
        let endpointHost = apiSettings.host == "0.0.0.0" ? (try config.string("CLOUD_HOST", default: "127.0.0.1")) : apiSettings.host
        let syncInterval = try config.seconds("CLUSTER_SYNC_INTERVAL", default: 2, in: 0.1...3600)
        let imagePort = try config.port("IMAGE_PORT", default: 8776)
        let metrics = DaemonRuntime.bootstrap(level: daemon.logLevel)
        let logger = Logger(label: "euca.clc")

        let assembly = try await CloudAssembly.make(
            config: config, clusters: [], slaPolicies: slaPolicies, endpointHost: endpointHost, logger: logger)
        defer { assembly.store.close() }
        let authority = try CloudCA.loadOrCreate(directory: state + "/ca")
        let identity = try await ownIdentity(authority: authority, directory: state + "/tls", hosts: [endpointHost], store: assembly.store)
        let http = try InternalTLS.client(identity: identity)
        let registry = ComponentRegistry(store: assembly.store, authority: authority, cloudURL: "http://\(endpointHost):\(apiSettings.port)")
        let components = CloudComponents(
            registry: registry, cloud: assembly.cloud, http: http, interval: .milliseconds(Int64(syncInterval * 1000)), logger: logger)
        try await components.attachRegistered()

        let credentials = assembly.credentialsDirectory
        let app = assembly.application(
            metrics: metrics,
            addRoutes: { router in
                AdminAPI.addRoutes(
                    to: router, components: components, cloud: assembly.cloud, authority: authority, authenticator: assembly.api.authenticator, logger: logger)
                Join.addRoute(
                    to: router, registry: registry,
                    imageServiceURL: imagePort == 0 ? nil : "https://\(endpointHost.contains(":") ? "[\(endpointHost)]" : endpointHost):\(imagePort)",
                    logger: logger)
            },
            onRunning: { endpoint in
                await components.setCloudURL(endpoint)
                logger.info("cloud controller listening", metadata: ["endpoint": "\(endpoint)", "ca": "\(authority.fingerprint.prefix(16))"])
                FileHandle.standardOutput.write(Data("euca-clc is running.\n  EC2 endpoint:  \(endpoint)/\n  credentials:   \(credentials)/credentials\n".utf8))
            })
        var services: [any Service] = [assembly.cloud, components, app, DaemonRuntime.memoryScavenger(stores: [assembly.store])]
        let console = try ConsoleServer.make(
            cloud: assembly.cloud, authority: authority, settings: try ConsoleSettings(config, defaultHost: apiSettings.host),
            hosts: [endpointHost], limits: daemon.http, logger: Logger(label: "euca.console")
        ) { url in FileHandle.standardOutput.write(Data("  web console:   \(url)\n".utf8)) }
        if let console { services.append(console) }
        if imagePort != 0 {
            let router = Router()
            ImageFileService.addRoutes(to: router, root: assembly.imageStore.root, logger: logger)
            services.append(Application(
                router: router,
                server: try .tls(
                    GuardedHTTP.http1(daemon.http, name: "image"),
                    configuration: InternalTLS.serverConfiguration(identity: identity, allowing: .nc, logger: logger)),
                configuration: ApplicationConfiguration(address: .hostname(apiSettings.host, port: imagePort), serverName: "euca-clc"),
                onServerRunning: { channel in
                    logger.info("image service listening", metadata: ["port": "\(channel.localAddress?.port ?? imagePort)"])
                },
                logger: logger))
        }
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        try? await http.shutdown()
        logger.info("euca-clc stopped")
    }

    /// The cloud controller's own certificate (role clc), issued by its CA for `hosts` (the names
    /// node controllers reach its image service at); issued again when the hosts change.
    /// The hosts the cloud controller's certificate names, in its store under the key `clc`.
    static let certificateHosts = StoreCollection<[String]>("clc-certificate-hosts")

    static func ownIdentity(authority: CloudCA, directory: String, hosts: [String], store: any StateStore) async throws -> ComponentIdentity {
        // An earlier release kept the hosts in a file beside the certificate.
        let legacy = directory + "/hosts"
        if let text = try? String(contentsOfFile: legacy, encoding: .utf8) {
            let named = text.split(separator: "\n").map(String.init)
            try await store.write { txn in
                if try txn.get("clc", from: certificateHosts) == nil { try txn.put(named, at: "clc", in: certificateHosts) }
            }
            try? FileManager.default.removeItem(atPath: legacy)
        }
        let issuedFor = try await store.read { txn in try txn.get("clc", from: certificateHosts) }
        if let identity = ComponentIdentity.load(directory: directory), identity.caPEM == authority.certificatePEM, issuedFor == hosts {
            return identity
        }
        let (keyPEM, csrPEM) = try ComponentIdentity.newKey(name: "clc")
        let certificate = try authority.issue(csrPEM: csrPEM, role: .clc, name: "clc", hosts: hosts)
        let identity = ComponentIdentity(keyPEM: keyPEM, certificatePEM: try certificate.serializeAsPEM().pemString, caPEM: authority.certificatePEM)
        try identity.save(directory: directory)
        try await store.write { txn in try txn.put(hosts, at: "clc", in: certificateHosts) }
        return identity
    }
}

