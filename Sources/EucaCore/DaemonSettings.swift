/// Settings every daemon reads: where its state lives and how much it logs.
public struct DaemonSettings: Sendable, Hashable {
    public var stateDirectory: String
    /// One of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (Eucalyptus' `LOGLEVEL`).
    public var logLevel: String
    /// The limits every HTTP server of the daemon runs with.
    public var http: HTTPLimits

    public static let keys: [ConfigKey] = [
        ConfigKey("STATE_DIR", type: "path", default: "./var", "Where the daemon keeps its store, instances and credentials."),
        ConfigKey("LOGLEVEL", type: "TRACE|DEBUG|INFO|WARN|ERROR|FATAL", default: "INFO", "How much the daemon logs."),
    ] + HTTPLimits.keys

    public init(_ config: EucaConfig) throws(ConfigError) {
        stateDirectory = try config.nonEmptyString("STATE_DIR", default: "./var")
        logLevel = try config.choice("LOGLEVEL", default: "INFO", from: ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"])
        http = try HTTPLimits(config)
    }
}

/// This build's version, as describe-services shows it.
public enum EucaVersion {
    public static let current = "0.6.0"
}
