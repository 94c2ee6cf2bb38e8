import EucaConsole
import EucaCloud
import EucaCluster
public import EucaCore
public import EucaScheduler
import EucaEC2API
import EucaNet
import EucaNode

/// Every configuration key the daemons read, for `euca-admin config-keys` and the operator's guide.
public enum AllKeys {
    /// The keys `euca-cloud` reads.
    public static let cloud: [ConfigKey] =
        DaemonSettings.keys + EC2APISettings.keys + ConsoleSettings.keys + CloudSettings.keys + ClusterSettings.keys + NodeSettings.keys
        + NetworkSettings.keys + [SampleImage.key]

    /// The keys each daemon reads, by program name.
    public static let byDaemon: [(program: String, keys: [ConfigKey])] = [
        ("euca-cloud", cloud), ("euca-clc", CloudDaemon.keys), ("euca-cc", ClusterDaemon.keys), ("euca-nc", NodeDaemon.keys),
    ]

    /// The keys `program` reads, or nil when it is none of the daemons.
    public static func keys(of program: String) -> [ConfigKey]? {
        byDaemon.first { $0.program == program }?.keys
    }

    /// The daemons' names, for an error that asks for one.
    public static var daemonNames: String { byDaemon.map(\.program).joined(separator: ", ") }

    /// Reads every setting `euca-cloud` reads from `config`, throwing the first error;
    /// `SCHEDPOLICY` is checked against `registry`.
    public static func validate(_ config: EucaConfig, registry: PlacementRegistry = .builtIn) throws(ConfigError) {
        let daemon = try DaemonSettings(config)
        _ = try EC2APISettings(config)
        _ = try CloudSettings(config, endpoint: "")
        _ = try ClusterSettings(config, registry: registry)
        _ = try NodeSettings(config, defaultNode: "node", defaultInstancePath: daemon.stateDirectory + "/instances")
        _ = try NetworkSettings(config)
    }

    /// A Markdown table of `keys`.
    public static func markdown(_ keys: [ConfigKey]) -> String {
        var text = "| key | type | default | meaning |\n|---|---|---|---|\n"
        for key in keys {
            let cells = [key.type, key.defaultValue, key.summary].map { $0.replacingOccurrences(of: "|", with: "\\|") }
            text += "| `\(key.name)` | \(cells[0]) | \(cells[1]) | \(cells[2]) |\n"
        }
        return text
    }
}
