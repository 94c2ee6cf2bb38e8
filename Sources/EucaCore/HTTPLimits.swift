
/// How long a client may take over each part of an HTTP exchange, and how many connections one
/// server holds at once. Every Euca HTTP server (EC2 and admin, metadata, internal APIs, image
/// service, metrics) runs with these, so a slow or endless client cannot hold it.
public struct HTTPLimits: Sendable, Hashable {
    /// From a request's first byte (or a new connection's opening) to the end of its headers.
    public var headerTimeout: Duration
    /// From the end of a request's headers to the end of its body.
    public var bodyTimeout: Duration
    /// How long a connection may wait, between requests, for the next one to begin.
    public var idleTimeout: Duration
    /// Connections held at once; the ones over it are closed as they arrive and counted in
    /// `euca_http_connections_shed_total`.
    public var maxConnections: Int
    /// Connections held at once from one client address, so that one client cannot take every
    /// place.
    public var maxConnectionsPerClient: Int

    public init(
        headerTimeout: Duration = .seconds(20), bodyTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(75),
        maxConnections: Int = 512, maxConnectionsPerClient: Int = 64
    ) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerClient = maxConnectionsPerClient
    }

    public static let keys: [ConfigKey] = [
        ConfigKey("HTTP_HEADER_TIMEOUT", type: "seconds", default: "20",
                  "How long an HTTP client may take to send a request's headers (a new connection's first request counts from the connection)."),
        ConfigKey("HTTP_BODY_TIMEOUT", type: "seconds", default: "60", "How long an HTTP client may take to send a request's body."),
        ConfigKey("HTTP_IDLE_TIMEOUT", type: "seconds", default: "75", "How long a kept-alive HTTP connection may wait for its next request."),
        ConfigKey("HTTP_MAX_CONNECTIONS", type: "integer", default: "512",
                  "Connections each HTTP server holds at once; more are closed as they arrive and counted in /metrics."),
        ConfigKey("HTTP_MAX_CONNECTIONS_PER_CLIENT", type: "integer", default: "64",
                  "Connections each HTTP server holds at once from one client address; more are closed as they arrive."),
    ]

    public init(_ config: EucaConfig) throws(ConfigError) {
        func duration(_ key: String, _ defaultValue: Double) throws(ConfigError) -> Duration {
            .milliseconds(Int64(try config.seconds(key, default: defaultValue, in: 0.1...3600) * 1000))
        }
        self.init(
            headerTimeout: try duration("HTTP_HEADER_TIMEOUT", 20), bodyTimeout: try duration("HTTP_BODY_TIMEOUT", 60),
            idleTimeout: try duration("HTTP_IDLE_TIMEOUT", 75),
            maxConnections: try config.integer("HTTP_MAX_CONNECTIONS", default: 512, in: 1...1_000_000),
            maxConnectionsPerClient: try config.integer("HTTP_MAX_CONNECTIONS_PER_CLIENT", default: 64, in: 1...1_000_000))
    }
}
