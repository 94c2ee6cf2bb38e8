import ArgumentParser
import AsyncHTTPClient
import EucaCloud
import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaStoreLMDB
import EucaTesting
import EucaWire
import Foundation
import Hummingbird
import Logging
import Synchronization
import X509

/// Control-plane benchmarks, in process: placement decisions at thousands of nodes, and launches
/// through the cloud, cluster and node controllers with simulated nodes. Prints one JSON line per
/// result.
@main
struct ControlBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "euca-control-bench", abstract: "Placement and launch-rate benchmarks, in process.",
        subcommands: [Placement.self, Launches.self, Memory.self, Network.self, Datapath.self])

    static func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
    }

    static func emit(_ fields: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// A reproducible random source (SplitMix64), so every run places on the same cluster.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Placement: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decisions per second and latency of each built-in placement policy on one cluster of many nodes.")
        @Option(help: "Nodes in the cluster.") var nodes = 5000
        @Option(help: "Decisions to time per policy.") var decisions = 20000
        @Option(help: "Policies to run.") var policies = ["GREEDY", "ROUNDROBIN", "POWERSAVE"]

        func run() throws {
            var random = Seeded(state: 42)
            let types = VMTypeCatalog.eucalyptusDefaults.types
            // Uneven nodes, a third already busy and a tenth asleep, as a real cluster would be.
            let snapshots: [NodeSnapshot] = (0..<nodes).map { index in
                let cores = [8, 16, 32, 64].randomElement(using: &random)!
                let memory = cores * 2048
                let disk = cores * 50
                let used = Int.random(in: 0...(cores / 3), using: &random)
                return NodeSnapshot(
                    id: NodeID("node-\(index)"), totalCores: cores, freeCores: cores - used, totalMemoryMiB: memory,
                    freeMemoryMiB: memory - used * 1024, totalDiskGiB: disk, freeDiskGiB: disk - used * 10, instances: used,
                    isAwake: Int.random(in: 0..<10, using: &random) != 0)
            }
            let initial = ClusterSnapshot(nodes: snapshots)
            let requests = (0..<decisions).map { _ in PlacementRequest(vmType: types.randomElement(using: &random)!) }
            let registry = PlacementRegistry.builtIn
            for name in policies {
                guard let policy = registry.policy(named: name) else { throw ValidationError("no policy named \(name)") }
                var cluster = initial
                var latencies: [UInt64] = []
                latencies.reserveCapacity(decisions)
                var placed = 0, refills = 0
                // Warm up (not counted).
                for request in requests.prefix(200) { _ = policy.place(request, in: cluster) }
                let start = DispatchTime.now().uptimeNanoseconds
                for request in requests {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let decision = policy.place(request, in: cluster)
                    if let node = decision.node { cluster.place(request.vmType, on: node) }
                    latencies.append(DispatchTime.now().uptimeNanoseconds - t0)
                    if decision.node != nil {
                        placed += 1
                    } else {
                        cluster = initial
                        refills += 1
                    }
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                latencies.sort()
                ControlBench.emit([
                    "bench": "placement", "policy": name, "nodes": nodes, "decisions": decisions, "placed": placed,
                    "refills": refills, "decisions_per_s": (Double(decisions) / elapsed).rounded(),
                    "p50_ms": ControlBench.percentile(latencies, 0.50), "p99_ms": ControlBench.percentile(latencies, 0.99),
                    "max_ms": ControlBench.percentile(latencies, 1.0),
                ])
            }
        }
    }

    struct Launches: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Launches per second through CloudController → ClusterController → NodeController, every state change committed to LMDB.")
        @Option(help: "Simulated node controllers.") var nodes = 1000
        @Option(help: "Clusters (availability zones) they are split into.") var clusters = 4
        @Option(help: "Instances to launch.") var instances = 4000
        @Option(help: "Concurrent RunInstances callers.") var concurrency = 16
        @Option(help: "Instances per RunInstances call.") var batch = 1
        @Option(help: "LMDB syncs every commit (true) or not (false).") var durable = true
        @Flag(help: "Put every hop on the wire: each cluster and node controller serves its API over HTTPS with mutual TLS.")
        var wire = false
        @Option(help: "Seconds between a cluster's polls of its nodes.") var poll = 1.0
        @Flag(help: "Print progress to stderr.") var verbose = false

        static func identity(_ ca: CloudCA, _ role: ComponentRole, _ name: String) throws -> ComponentIdentity {
            let (keyPEM, csrPEM) = try ComponentIdentity.newKey(name: name)
            let csr = try CertificateSigningRequest(pemEncoded: csrPEM)
            let certificate = try ca.issue(publicKey: csr.publicKey, role: role, name: name, hosts: ["127.0.0.1"])
            return ComponentIdentity(keyPEM: keyPEM, certificatePEM: try certificate.serializeAsPEM().pemString, caPEM: ca.certificatePEM)
        }

        /// Serves `router` on a free port of 127.0.0.1 with mutual TLS admitting `allowed`.
        static func serve(
            _ router: Router<BasicRequestContext>, identity: ComponentIdentity, allowing allowed: ComponentRole, logger: Logger
        ) async throws -> (Int, Task<Void, any Error>) {
            try await InternalTLS.serveOnLoopback(router, identity: identity, allowing: allowed, logger: logger)
        }

        func run() async throws {
            let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("euca-bench-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: root) }
            try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
            let store = try LMDBStateStore(directory: root + "/state", durable: durable)
            defer { store.close() }
            var clusterControllers: [ClusterController] = []
            var clusterAPIs: [any ClusterControllerAPI] = []
            var servers: [Task<Void, any Error>] = []
            var clients: [HTTPClient] = []
            let ca = wire ? try CloudCA.loadOrCreate(directory: root + "/ca") : nil
            let perCluster = (nodes + clusters - 1) / clusters
            let timings = ClusterTimings(pollInterval: .milliseconds(Int64(poll * 1000)))
            for zone in 0..<clusters {
                let range = (zone * perCluster)..<min(nodes, (zone + 1) * perCluster)
                let clusterClient = try ca.map { try InternalTLS.client(identity: try Self.identity($0, .cc, "zone-\(zone)")) }
                clients += clusterClient.map { [$0] } ?? []
                var controllers: [any NodeControllerAPI] = []
                for index in range {
                    let name = NodeID("nc-\(index)")
                    let node = try NodeController(
                        hypervisor: InMemoryHypervisor(host: HostInfo(cores: 8, memoryMiB: 16384)),
                        settings: NodeSettings(node: name, instancePath: "\(root)/nodes/nc-\(index)", maxDiskGiB: 1000),
                        logger: logger)
                    guard let ca, let clusterClient else {
                        controllers.append(node)
                        continue
                    }
                    let router = Router()
                    NodeAPI.addRoutes(to: router, node: node, logger: logger)
                    let (port, server) = try await Self.serve(router, identity: try Self.identity(ca, .nc, name.rawValue), allowing: .cc, logger: logger)
                    servers.append(server)
                    controllers.append(RemoteNode(node: name, client: InternalClient(http: clusterClient, baseURL: "https://127.0.0.1:\(port)\(NodeAPI.prefix)")))
                }
                let cluster = ClusterController(zone: "zone-\(zone)", nodes: controllers, policy: .roundRobin, timings: timings, logger: logger)
                clusterControllers.append(cluster)
                guard let ca else {
                    clusterAPIs.append(cluster)
                    continue
                }
                let router = Router()
                ClusterAPI.addRoutes(to: router, cluster: cluster, configureNodes: { _ in }, endpoints: { [] }, logger: logger)
                let (port, server) = try await Self.serve(router, identity: try Self.identity(ca, .cc, "zone-\(zone)"), allowing: .clc, logger: logger)
                servers.append(server)
                let cloudClient = try InternalTLS.client(identity: try Self.identity(ca, .clc, "clc"))
                clients.append(cloudClient)
                clusterAPIs.append(RemoteCluster(zone: "zone-\(zone)", client: InternalClient(http: cloudClient, baseURL: "https://127.0.0.1:\(port)\(ClusterAPI.prefix)")))
            }
            defer {
                for server in servers { server.cancel() }
            }
            let cloud = CloudController(store: store, secrets: .ephemeral(), clusters: clusterAPIs, settings: CloudSettings(), logger: logger)
            let image = ImageRecord(
                id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "bench", location: "builtin:empty",
                isPublic: true, boot: BootSpec())
            let started = try await cloud.bootstrap(defaultImage: image)
            let admin = Principal(
                accountId: started.adminAccount.id, userName: "admin", accessKeyId: started.adminKey.accessKeyId, isCloudAdmin: true)
            let imageId = started.defaultImageId!.rawValue

            let zones = clusterControllers
            let services = Task {
                await withTaskGroup(of: Void.self) { group in
                    for cluster in zones { group.addTask { _ = try? await cluster.run() } }
                    group.addTask { _ = try? await cloud.run() }
                }
            }
            defer { services.cancel() }
            // Every node polled once before the clock starts.
            for cluster in clusterControllers { await cluster.poll() }

            let next = Counter()
            let batch = self.batch
            let calls = instances / batch
            let start = DispatchTime.now().uptimeNanoseconds
            let (latencies, ids, failures) = await withTaskGroup(of: ([UInt64], [InstanceID], Int).self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var latencies: [UInt64] = [], ids: [InstanceID] = [], failures = 0
                        while next.take() < calls {
                            let t0 = DispatchTime.now().uptimeNanoseconds
                            do {
                                let (_, launched) = try await cloud.instances.run(
                                    admin, .init(imageId: imageId, instanceType: "m1.small", minCount: batch, maxCount: batch))
                                ids += launched.map(\.id)
                            } catch {
                                failures += 1
                                if failures == 1 { FileHandle.standardError.write(Data("RunInstances failed: \(error)\n".utf8)) }
                            }
                            latencies.append(DispatchTime.now().uptimeNanoseconds - t0)
                        }
                        return (latencies, ids, failures)
                    }
                }
                var all: ([UInt64], [InstanceID], Int) = ([], [], 0)
                for await part in group { all.0 += part.0; all.1 += part.1; all.2 += part.2 }
                return all
            }
            let accepted = DispatchTime.now().uptimeNanoseconds
            // Until every accepted instance runs (or the run gives up after two minutes).
            var running = 0
            var failed: [InstanceID] = []
            let deadline = accepted + 120_000_000_000
            var lastReport = accepted
            while DispatchTime.now().uptimeNanoseconds < deadline {
                let table = cloud.instances.tables().instances
                running = ids.reduce(0) { $0 + (table[$1]?.state == .running ? 1 : 0) }
                failed = ids.filter { table[$0]?.state == .terminated }
                if running + failed.count == ids.count { break }
                if verbose, DispatchTime.now().uptimeNanoseconds - lastReport > 1_000_000_000 {
                    lastReport = DispatchTime.now().uptimeNanoseconds
                    var states: [String: Int] = [:]
                    for id in ids { states[table[id]?.state.name ?? "missing", default: 0] += 1 }
                    FileHandle.standardError.write(Data("\(Double(lastReport - start) / 1e9)s \(states)\n".utf8))
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            let done = DispatchTime.now().uptimeNanoseconds
            let sorted = latencies.sorted()
            let reasons = Dictionary(grouping: failed.compactMap { cloud.instances.tables().instances[$0]?.stateReason?.message }, by: { $0 })
                .mapValues(\.count)
            for client in clients { try? await client.shutdown() }
            ControlBench.emit([
                "bench": "launches", "wire": wire, "poll_s": poll, "nodes": nodes, "clusters": clusters, "instances": ids.count, "running": running,
                "launch_failures": failed.count, "failure_reasons": reasons,
                "failed_calls": failures, "concurrency": concurrency, "batch": batch, "durable": durable,
                "accepted_per_s": (Double(ids.count) / (Double(accepted - start) / 1e9)).rounded(),
                "launches_per_s": (Double(running) / (Double(done - start) / 1e9)).rounded(),
                "seconds_to_settle": (Double(done - start) / 1e9 * 100).rounded() / 100,
                "run_p50_ms": ControlBench.percentile(sorted, 0.5), "run_p99_ms": ControlBench.percentile(sorted, 0.99),
            ])
        }
    }
}

/// The next call's number, shared by the callers.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}
