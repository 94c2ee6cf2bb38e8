import EucaCloud
import AsyncHTTPClient
public import EucaCore
import EucaHypervisor
public import EucaNode
public import EucaSecurity
import EucaHTTP
import EucaWire
import Foundation
import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
public import ServiceLifecycle

/// `euca-nc`: a node controller serving the node API over mutual TLS to its cluster.
public enum NodeDaemon {
    public static let keys: [ConfigKey] =
        DaemonSettings.keys + NodeSettings.keys + ComponentDaemonSettings.keys(portKey: "NC_PORT", defaultPort: 8775)
        + [
            ConfigKey(
                "IMAGE_SERVICE_URL", type: "URL", default: "https://CLOUD:8776 (the cloud controller the node joined)",
                "Where the node downloads images from: the cloud controller's image service."),
        ]
}

/// What a node controller builds from its settings, in `euca-nc` and in `euca-cloud`.
public enum NodeRuntime {
    /// The instance metadata service for `node`'s instances, when `METADATA_ADDRESS` is set and
    /// on this host (the instances' network puts it there); nil, with a log line saying why, if not.
    /// Throws, saying why, when another process already listens there.
    public static func metadataServer(
        _ settings: NodeSettings, node: NodeController, limits: HTTPLimits, logger: Logger
    ) throws -> (any Service)? {
        guard let address = settings.metadataAddress else { return nil }
        guard MetadataServer.isLocalAddress(address) else {
            logger.notice("no instance metadata service: \(address) is not an address of this host (add it to the instances' bridge)")
            return nil
        }
        if let problem = MetadataServer.bindProblem(address: address, port: settings.metadataPort) {
            throw EucaError(
                .unavailable, nil,
                "the instance metadata service cannot listen on \(address):\(settings.metadataPort): \(problem). Only one node controller per host serves metadata; set METADATA_ADDRESS=\"\" on the others.")
        }
        let service = MetadataService(lookup: { address in await node.instance(at: address) })
        return MetadataServer.application(service: service, address: address, port: settings.metadataPort, limits: limits, logger: logger)
    }

    /// The node's image cache, fed by `source`.
    public static func imageCache(_ settings: NodeSettings, source: any ImageSource, logger: Logger) throws -> ImageCache {
        try ImageCache(directory: settings.imageCachePath, limitBytes: settings.imageCacheBytes, source: source, logger: logger)
    }
}

/// A component's key and certificate: loaded from its state directory, or obtained by joining.
public enum Identities {
    /// The cloud controller's image service, as it named it when this component joined (or, for
    /// a component that joined an earlier release, its default port on the cloud's host).
    public static func imageServiceURL(store: any StateStore) async throws -> String? {
        guard let joined = try await store.read({ txn in try txn.get("cloud", from: JoinedCloud.collection) }) else { return nil }
        if let url = joined.imageServiceURL { return url }
        guard let host = URLComponents(string: joined.cloudURL)?.host else { return nil }
        return "https://\(host.contains(":") ? "[\(host)]" : host):8776"
    }

    /// The component's identity: redeemed with `token` (and the cloud it joined recorded in
    /// `store`), or loaded from `directory`.
    public static func obtain(
        role: ComponentRole, directory: String, token: String?, store: any StateStore, logger: Logger
    ) async throws -> ComponentIdentity {
        // An earlier release kept the cloud's URL in a file beside the certificate.
        let legacy = directory + "/cloud-url"
        if let text = try? String(contentsOfFile: legacy, encoding: .utf8) {
            let joined = JoinedCloud(cloudURL: text.trimmingCharacters(in: .whitespacesAndNewlines), imageServiceURL: nil)
            try await store.write { txn in
                if try txn.get("cloud", from: JoinedCloud.collection) == nil { try txn.put(joined, at: "cloud", in: JoinedCloud.collection) }
            }
            try? FileManager.default.removeItem(atPath: legacy)
        }
        if let token {
            let (identity, joined) = try await Join.redeem(token, expecting: role)
            try identity.save(directory: directory)
            try await store.write { txn in try txn.put(joined, at: "cloud", in: JoinedCloud.collection) }
            logger.info("joined the cloud", metadata: ["name": "\(identity.component?.name ?? "?")"])
            return identity
        }
        guard let identity = ComponentIdentity.load(directory: directory) else {
            throw EucaError(
                .invalidParameter, .parameter,
                "No certificate in \(directory). Register this \(role == .cc ? "cluster" : "node") with euca-admin and start it once with --join TOKEN.")
        }
        return identity
    }
}
