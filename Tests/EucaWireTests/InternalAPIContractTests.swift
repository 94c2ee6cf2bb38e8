import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaTesting
import EucaWire
import Foundation
import Hummingbird
import Logging
import Testing

/// The internal APIs' contract, run against the controllers in process and against their remote
/// clients through the servers over mutual TLS: the same cases, the same answers and errors.
@Suite(.serialized) struct InternalAPIContractTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func node(_ name: NodeID = "n1") throws -> NodeController {
        try NodeController(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: name, instancePath: WireTests.temp("nc"), maxDiskGiB: 100),
            logger: logger)
    }

    /// Serves `addRoutes` over mutual TLS with `identity`, admitting `allowed`; returns the port and the task.
    func serve(
        identity: ComponentIdentity, allowing allowed: ComponentRole, _ addRoutes: (Router<BasicRequestContext>) -> Void
    ) async throws -> (Int, Task<Void, any Error>) {
        let router = Router()
        addRoutes(router)
        return try await InternalTLS.serveOnLoopback(router, identity: identity, allowing: allowed, logger: logger)
    }

    @Test("a node controller in process", arguments: InternalAPIContract.nodeCases)
    func nodeInProcess(_ check: InternalAPIContract.Case<any NodeControllerAPI>) async throws {
        try await check.run(on: try node())
    }

    @Test("a node controller over mutual TLS", arguments: InternalAPIContract.nodeCases)
    func nodeOverTheWire(_ check: InternalAPIContract.Case<any NodeControllerAPI>) async throws {
        let ca = try CloudCA.loadOrCreate(directory: WireTests.temp("ca"))
        let node = try node()
        let (port, server) = try await serve(identity: try WireTests.identity(ca, .nc, "n1"), allowing: .cc) { router in
            NodeAPI.addRoutes(to: router, node: node, logger: logger)
        }
        defer { server.cancel() }
        let http = try InternalTLS.client(identity: try WireTests.identity(ca, .cc, "cluster01"))
        defer { Task { try? await http.shutdown() } }
        try await check.run(on: RemoteNode(node: "n1", client: InternalClient(http: http, baseURL: "https://127.0.0.1:\(port)\(NodeAPI.prefix)")))
    }

    func cluster() throws -> ClusterController {
        ClusterController(
            zone: "zone-a", nodes: [try node("n1"), try node("n2")], policy: .roundRobin,
            timings: ClusterTimings(pollInterval: .milliseconds(50)), logger: logger)
    }

    @Test("a cluster controller in process", arguments: InternalAPIContract.clusterCases)
    func clusterInProcess(_ check: InternalAPIContract.Case<any ClusterControllerAPI>) async throws {
        let cluster = try cluster()
        let running = Task { try await cluster.run() }
        defer { running.cancel() }
        try await check.run(on: cluster)
    }

    @Test("a cluster controller over mutual TLS", arguments: InternalAPIContract.clusterCases)
    func clusterOverTheWire(_ check: InternalAPIContract.Case<any ClusterControllerAPI>) async throws {
        let ca = try CloudCA.loadOrCreate(directory: WireTests.temp("ca"))
        let cluster = try cluster()
        let running = Task { try await cluster.run() }
        defer { running.cancel() }
        let (port, server) = try await serve(identity: try WireTests.identity(ca, .cc, "zone-a"), allowing: .clc) { router in
            ClusterAPI.addRoutes(to: router, cluster: cluster, configureNodes: { _ in }, endpoints: { [] }, logger: logger)
        }
        defer { server.cancel() }
        let http = try InternalTLS.client(identity: try WireTests.identity(ca, .clc, "clc"))
        defer { Task { try? await http.shutdown() } }
        try await check.run(
            on: RemoteCluster(zone: "zone-a", client: InternalClient(http: http, baseURL: "https://127.0.0.1:\(port)\(ClusterAPI.prefix)")))
    }

    /// A node whose daemon is down refuses the connection; the call fails at once (the client does
    /// not retry until its connect timeout), so the cluster notices the node at its next poll.
    @Test func aNodeWhoseDaemonIsDownIsNoticedAtOnce() async throws {
        let ca = try CloudCA.loadOrCreate(directory: WireTests.temp("ca"))
        let http = try InternalTLS.client(identity: try WireTests.identity(ca, .cc, "cluster01"))
        defer { Task { try? await http.shutdown() } }
        // A port nothing listens on: bound once, then closed.
        let (port, server) = try await serve(identity: try WireTests.identity(ca, .nc, "n1"), allowing: .cc) { _ in }
        server.cancel()
        try? await server.value
        let remote = RemoteNode(node: "n1", client: InternalClient(http: http, baseURL: "https://127.0.0.1:\(port)\(NodeAPI.prefix)"))
        let started = ContinuousClock.now
        await #expect {
            try await remote.describeInstances()
        } throws: { ($0 as? EucaError)?.code == .unavailable }
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}
