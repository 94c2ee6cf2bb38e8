public import EucaCloud
public import EucaCore
public import EucaSecurity
import EucaWire
public import Foundation
public import Logging
public import ServiceLifecycle
public import AsyncHTTPClient

/// The cloud controller's view of its clusters and nodes: it attaches a client for each
/// registered cluster, tells each cluster which nodes it has (on a timer, so a cluster that
/// restarts or joins late catches up), and keeps what each last said for describe-services.
public actor CloudComponents: Service {
    public private(set) var registry: ComponentRegistry
    let cloud: CloudController
    let http: HTTPClient
    let logger: Logger
    let interval: Duration
    private var clusters: [String: RemoteCluster] = [:]
    private var health: [String: Health] = [:]
    private var nodeStatus: [String: [NodeStatus]] = [:]

    public struct Health: Sendable {
        public var reachable: Bool
        public var lastContact: Date?
        public var lastError: String?
        public var resources: ClusterResources?
    }

    public init(registry: ComponentRegistry, cloud: CloudController, http: HTTPClient, interval: Duration = .seconds(2), logger: Logger) {
        self.registry = registry
        self.cloud = cloud
        self.http = http
        self.interval = interval
        self.logger = logger
    }

    /// Sets the URL join tokens name (known once the API's port is bound).
    public func setCloudURL(_ url: String) {
        registry = ComponentRegistry(store: registry.store, authority: registry.authority, cloudURL: url, tokenLifetime: registry.tokenLifetime)
    }

    func client(for record: ComponentRecord) -> RemoteCluster {
        RemoteCluster(zone: record.name, client: InternalClient(http: http, baseURL: "https://\(record.host):\(record.port)\(ClusterAPI.prefix)"))
    }

    /// Attaches every registered cluster (at start).
    public func attachRegistered() async throws {
        for record in try await registry.components() where record.role == .cc { attach(record) }
    }

    func attach(_ record: ComponentRecord) {
        let cluster = client(for: record)
        clusters[record.name] = cluster
        cloud.attach(cluster)
    }

    public func register(_ role: ComponentRole, name: String, cluster: String?, host: String, port: Int) async throws -> (ComponentRecord, String) {
        let (record, token) = try await registry.register(role, name: name, cluster: cluster, host: host, port: port)
        if role == .cc { attach(record) }
        logger.info("component registered", metadata: ["role": "\(role.rawValue)", "name": "\(name)", "host": "\(host):\(port)"])
        if role == .nc, let cluster { await sync(cluster) }
        return (record, token)
    }

    /// Removes a cluster (with its nodes) or a node. Refused while instances other than
    /// terminated ones are on it: their domains would run on, unknown to the cloud.
    public func deregister(_ role: ComponentRole, name: String, cluster: String?) async throws {
        let hosted = cloud.instances.tables().instances.boxes.values.map(\.record).filter { instance in
            guard instance.state != .terminated else { return false }
            switch role {
            case .cc: return instance.zone == name
            case .nc: return instance.zone == cluster && instance.node?.rawValue == name
            default: return false
            }
        }
        if !hosted.isEmpty {
            let ids = hosted.map(\.id.rawValue).sorted()
            throw EucaError(
                .incorrectState, nil,
                "\(role == .cc ? "cluster" : "node") \(name) still holds \(ids.count) instance(s) (\(ids.prefix(5).joined(separator: ", "))\(ids.count > 5 ? ", …" : "")); terminate them first")
        }
        let removed = try await registry.deregister(role, name: name, cluster: cluster)
        for record in removed where record.role == .cc {
            clusters[record.name] = nil
            health[record.name] = nil
            cloud.detach(zone: record.name)
        }
        if role == .nc, let cluster { await sync(cluster) }
        logger.info("component deregistered", metadata: ["role": "\(role.rawValue)", "name": "\(name)"])
    }

    /// Tells one cluster its nodes and records what it says back.
    func sync(_ name: String) async {
        guard let cluster = clusters[name] else { return }
        let nodes = ((try? await registry.components()) ?? []).filter { $0.role == .nc && $0.cluster == name }
            .map { NodeEndpoint(name: NodeID($0.name), host: $0.host, port: $0.port) }
        var state = health[name] ?? Health(reachable: false)
        do {
            try await cluster.configureNodes(nodes)
            let statuses = try await cluster.describeNodes()
            nodeStatus[name] = statuses
            await cloud.noteNodeAddresses(Dictionary(statuses.compactMap { status in status.resources?.underlay.map { (status.node, $0) } }) { _, new in new })
            state.resources = try await cluster.describeResources()
            if !state.reachable { logger.info("cluster answers", metadata: ["euca.zone": "\(name)"]) }
            state.reachable = true
            state.lastContact = Date()
            state.lastError = nil
        } catch {
            if state.reachable || state.lastError == nil {
                logger.warning("cluster does not answer", metadata: ["euca.zone": "\(name)", "error": "\(error)"])
            }
            state.reachable = false
            state.lastError = "\(error)"
        }
        health[name] = state
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for name in await self.clusters.keys.sorted() { await self.sync(name) }
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// Every component with its state, for describe-services.
    public func services() async throws -> [ServiceRow] {
        var rows = [ServiceRow(component: "clc", name: "clc", cluster: nil, host: "", state: "running", version: EucaVersion.current,
                               lastContact: Date(), detail: "\(cloud.zones.count) clusters")]
        let records = try await registry.components()
        for record in records where record.role == .cc {
            let state = health[record.name]
            let capacity = state?.resources.map { resources in
                "\(resources.nodes.reduce(0) { $0 + $1.freeCores }) cores free of \(resources.nodes.reduce(0) { $0 + $1.totalCores })"
            }
            rows.append(ServiceRow(
                component: "cc", name: record.name, cluster: nil, host: "\(record.host):\(record.port)",
                state: record.joinedAt == nil ? "awaiting join" : state?.reachable == true ? "running" : "unreachable",
                version: EucaVersion.current, lastContact: state?.lastContact, detail: capacity ?? state?.lastError ?? ""))
        }
        for record in records where record.role == .nc {
            let status = nodeStatus[record.cluster ?? ""]?.first { $0.node.rawValue == record.name }
            let detail = status?.resources.map { "\($0.freeCores)/\($0.totalCores) cores, \($0.freeMemoryMiB)/\($0.totalMemoryMiB) MiB free" }
            rows.append(ServiceRow(
                component: "nc", name: record.name, cluster: record.cluster, host: "\(record.host):\(record.port)",
                state: record.joinedAt == nil ? "awaiting join" : status?.asleep == true ? "asleep"
                    : status?.reachable == true ? "running" : "unreachable",
                version: EucaVersion.current, lastContact: status?.lastContact, detail: detail ?? status?.lastError ?? ""))
        }
        return rows
    }

    /// Every node with its resources, for describe-nodes.
    public func nodes() async throws -> [NodeRow] {
        var rows: [NodeRow] = []
        // The instances the cloud's records place on each node (those that hold room there).
        var placed: [String: [String]] = [:]
        for box in cloud.instances.tables().instances.boxes.values where CloudState.Tables.holds(box.record) {
            if let node = box.record.node { placed["\(box.record.zone)/\(node.rawValue)", default: []].append(box.record.id.rawValue) }
        }
        for record in try await registry.components() where record.role == .nc {
            let status = nodeStatus[record.cluster ?? ""]?.first { $0.node.rawValue == record.name }
            let resources = status?.resources
            rows.append(NodeRow(
                cluster: record.cluster ?? "", name: record.name, host: "\(record.host):\(record.port)",
                reachable: status?.reachable ?? false, asleep: status?.asleep ?? false, lastContact: status?.lastContact,
                instances: status?.instances ?? 0,
                coresTotal: resources?.totalCores ?? 0, coresFree: resources?.freeCores ?? 0,
                memoryTotalMiB: resources?.totalMemoryMiB ?? 0, memoryFreeMiB: resources?.freeMemoryMiB ?? 0,
                diskTotalGiB: resources?.totalDiskGiB ?? 0, diskFreeGiB: resources?.freeDiskGiB ?? 0,
                instanceIds: (placed["\(record.cluster ?? "")/\(record.name)"] ?? []).sorted()))
        }
        return rows
    }
}

/// One line of describe-services.
public struct ServiceRow: Codable, Sendable {
    public var component: String
    public var name: String
    public var cluster: String?
    public var host: String
    public var state: String
    public var version: String
    public var lastContact: Date?
    public var detail: String
}

/// One line of describe-nodes.
public struct NodeRow: Codable, Sendable {
    public var cluster: String
    public var name: String
    public var host: String
    public var reachable: Bool
    /// Powered down by its power-saving cluster.
    public var asleep: Bool
    public var lastContact: Date?
    public var instances: Int
    public var coresTotal: Int
    public var coresFree: Int
    public var memoryTotalMiB: Int
    public var memoryFreeMiB: Int
    public var diskTotalGiB: Int
    public var diskFreeGiB: Int
    /// The instances the cloud's records place on the node (running, pending or stopping there).
    public var instanceIds: [String]? = nil
}
