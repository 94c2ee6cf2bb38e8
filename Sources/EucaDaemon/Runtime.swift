public import EucaCore
public import EucaStoreLMDB
import Foundation
public import Hummingbird
import EucaHTTP
import HTTPTypes
public import Logging
import Metrics
import NIOCore
public import Prometheus
public import ServiceLifecycle

/// What every daemon does once at start: logging, metrics, and a plain-HTTP `/metrics` endpoint.
public enum DaemonRuntime {
    /// Bootstraps logging at `level` (an Eucalyptus LOGLEVEL name) and Prometheus metrics, and
    /// sets how the allocator holds memory (``ProcessMemory``).
    public static func bootstrap(level: String) -> PrometheusCollectorRegistry {
        ProcessMemory.tune(environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = DaemonLogging.level(level)
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// Adds `GET /metrics` and `GET /healthz` to `router`.
    public static func addMetricsRoutes(to router: Router<BasicRequestContext>, registry: PrometheusCollectorRegistry) {
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/healthz") { _, _ in "ok\n" }
    }

    /// A plain-HTTP application serving `/metrics` on `host:port`.
    public static func metricsServer(
        host: String, port: Int, registry: PrometheusCollectorRegistry, limits: HTTPLimits, logger: Logger
    ) -> some Service {
        let router = Router()
        addMetricsRoutes(to: router, registry: registry)
        return Application(
            router: router, server: GuardedHTTP.http1(limits, name: "metrics"),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)), logger: logger)
    }

    /// The service that, every ten seconds (``MemoryScavenger``), hands the allocator's free pages
    /// back and unmaps the pages of `stores`' files that the daemon has read (they stay in the
    /// kernel's page cache; the mirrors answer reads); every daemon runs one beside its services.
    public static func memoryScavenger(stores: [LMDBStateStore]) -> some Service {
        Scavenging(scavenger: MemoryScavenger {
            ProcessMemory.returnFreePages()
            for store in stores { store.releaseResidentPages() }
        })
    }

    private struct Scavenging: Service {
        let scavenger: MemoryScavenger
        func run() async throws { await cancelWhenGracefulShutdown { await scavenger.run() } }
    }

    /// Writes a line to standard error and exits with `code` (78 for configuration errors).
    public static func fail(_ program: String, _ message: String, code: Int32 = 78) -> Never {
        FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
        exit(code)
    }
}

/// The keys the component daemons (euca-cc, euca-nc) read besides their libraries'.
public struct ComponentDaemonSettings: Sendable {
    public var bind: String
    public var port: Int
    public var metricsPort: Int

    public static func keys(portKey: String, defaultPort: Int) -> [ConfigKey] {
        [
            ConfigKey("BIND_ADDRESS", type: "address", default: "0.0.0.0", "The address the daemon's internal API listens on."),
            ConfigKey(portKey, type: "port", default: "\(defaultPort)", "The internal API's port (HTTPS, mutual TLS)."),
            ConfigKey("METRICS_PORT", type: "port", default: "\(defaultPort + 10)", "The plain-HTTP port of /metrics and /healthz; 0 turns it off."),
            ConfigKey("METRICS_BIND", type: "address", default: "127.0.0.1", "The address /metrics listens on."),
        ]
    }

    public init(_ config: EucaConfig, portKey: String, defaultPort: Int) throws(ConfigError) {
        bind = try config.nonEmptyString("BIND_ADDRESS", default: "0.0.0.0")
        port = try config.port(portKey, default: defaultPort)
        metricsPort = try config.port("METRICS_PORT", default: defaultPort + 10)
    }
}

public enum DaemonLogging {
    /// The swift-log level for an Eucalyptus `LOGLEVEL` name.
    public static func level(_ name: String) -> Logger.Level {
        switch name {
        case "TRACE": .trace
        case "DEBUG": .debug
        case "WARN": .warning
        case "ERROR": .error
        case "FATAL": .critical
        default: .info
        }
    }
}
