import ArgumentParser
import EucaCloud
import EucaCluster
import EucaCore
import EucaEC2API
import EucaHTTP
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaStoreLMDB
import EucaTesting
import Foundation
import Hummingbird
import Logging

extension ControlBench {
    /// Resident memory of the whole control plane (cloud, cluster and node controllers, in
    /// process) holding `instances` running instances on in-memory hypervisors, so libvirt's own
    /// share is out of the figure; and the time of one unpaginated DescribeInstances of them all
    /// through `EC2API.handle` (signature check, query, XML), as a client's request takes it.
    struct Memory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resident memory and DescribeInstances time at a number of running instances.")

        @Option(help: "Running instances to hold.") var instances = 10_000
        @Option(help: "Simulated nodes they run on (euca-cloud has one).") var nodes = 1
        @Option(help: "DescribeInstances calls to time (the median is reported).") var describes = 5
        @Option(help: "The nodes' room, as a multiple of what the instances need (the bench measures memory, not admission at the brim).")
        var room = 3.0
        @Option(help: "After measuring, serve the EC2 API over HTTP on 127.0.0.1 this long (seconds), for a client to time; 0 to skip.")
        var serve = 0.0

        /// `VmRSS` and `VmHWM` of this process, in KiB.
        static func residentKiB() -> (now: Int, peak: Int, anonymous: Int, file: Int) {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            func field(_ name: String) -> Int {
                guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
                return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            }
            return (field("VmRSS"), field("VmHWM"), field("RssAnon"), field("RssFile"))
        }

        func run() async throws {
            // As every daemon does at start.
            ProcessMemory.tune(environment: ProcessInfo.processInfo.environment)
            let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("euca-memory-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: root) }
            try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
            let store = try LMDBStateStore(directory: root + "/state")
            defer { store.close() }
            let perNode = Int(room * Double((instances + nodes - 1) / nodes + 1))
            // Each node keeps its records in LMDB, as euca-nc and euca-cloud do.
            let nodeStores = try (0..<nodes).map { index in
                let nodeState = "\(root)/nodes/nc-\(index)-state"
                try FileManager.default.createDirectory(atPath: nodeState, withIntermediateDirectories: true)
                return try LMDBStateStore(directory: nodeState)
            }
            let controllers: [any NodeControllerAPI] = try (0..<nodes).map { index in
                try NodeController(
                    hypervisor: InMemoryHypervisor(host: HostInfo(cores: perNode, memoryMiB: perNode * 256)),
                    settings: NodeSettings(node: NodeID("nc-\(index)"), instancePath: "\(root)/nodes/nc-\(index)", maxDiskGiB: perNode * 10),
                    store: nodeStores[index], logger: logger)
            }
            let cluster = ClusterController(zone: "zone-0", nodes: controllers, policy: .roundRobin, logger: logger)
            let cloud = CloudController(
                store: store, secrets: .ephemeral(), clusters: [cluster], settings: CloudSettings(maxInstancesPerRequest: 1000), logger: logger)
            let image = ImageRecord(
                id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "bench", location: "builtin:empty",
                isPublic: true, boot: BootSpec())
            let started = try await cloud.bootstrap(defaultImage: image)
            let admin = Principal(
                accountId: started.adminAccount.id, userName: "admin", accessKeyId: started.adminKey.accessKeyId, isCloudAdmin: true)
            let services = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { _ = try? await cluster.run() }
                    group.addTask { _ = try? await cloud.run() }
                }
            }
            defer { services.cancel() }
            let api = EC2API(cloud: cloud, settings: EC2APISettings(), logger: logger)
            let before = Self.residentKiB()

            var launched = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            while launched < instances {
                let count = min(1000, instances - launched)
                _ = try await cloud.instances.run(
                    admin, .init(imageId: started.defaultImageId!.rawValue, instanceType: "m1.small", minCount: count, maxCount: count))
                launched += count
            }
            try await cloud.state.wait { tables in
                tables.instances.count >= instances && tables.instances.values.allSatisfy { $0.state == .running || $0.state == .terminated }
            }
            let running = cloud.state.read { $0.instances.values.filter { $0.state == .running }.count }
            let reasons = cloud.state.read { tables in
                Dictionary(grouping: tables.instances.values.filter { $0.state != .running }, by: { $0.stateReason?.message ?? "?" }).mapValues(\.count)
            }
            let settled = DispatchTime.now().uptimeNanoseconds

            let settledMemory = Self.residentKiB()
            var times: [UInt64] = []
            var bytes = 0
            for _ in 0..<describes {
                var request = SignableRequest(
                    method: "POST", path: "/", query: "", headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                    body: Array("Action=DescribeInstances&Version=2016-11-15".utf8))
                SigV4.sign(&request, host: "127.0.0.1:8773", accessKeyId: started.adminKey.accessKeyId, secret: started.adminKey.secretAccessKey, region: "eucalyptus")
                let start = DispatchTime.now().uptimeNanoseconds
                let response = await api.handle(request)
                times.append(DispatchTime.now().uptimeNanoseconds - start)
                guard response.status == 200 else { throw ValidationError("DescribeInstances answered \(response.status)") }
                bytes = response.body.utf8.count
            }
            let after = Self.residentKiB()
            // What stays resident once the allocator has handed back its free pages and the stores'
            // read pages are unmapped, as each daemon's scavenger does every ten seconds.
            ProcessMemory.returnFreePages()
            store.releaseResidentPages()
            for nodeStore in nodeStores { nodeStore.releaseResidentPages() }
            let trimmed = Self.residentKiB()
            let trimmedMiB: Double = (Double(trimmed.now) / 1024).rounded()
            // The stores' files: what the kernel's page cache holds for them, mapped or not.
            let storeBytes = ([root + "/state"] + (0..<nodes).map { "\(root)/nodes/nc-\($0)-state" }).reduce(0) { total, directory in
                total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")[.size] as? Int) ?? 0)
            }
            ControlBench.emit([
                "rss_scavenged_mib": trimmedMiB, "store_files_mib": (Double(storeBytes) / 1048576).rounded(),
                "rss_before_describes_mib": Double(settledMemory.now / 1024),
                "rss_anonymous_mib": Double(trimmed.anonymous / 1024), "rss_file_mib": Double(trimmed.file / 1024),
                "bench": "memory", "instances": instances, "running": running, "nodes": nodes, "not_running": reasons,
                "rss_mib": (Double(after.now) / 1024).rounded(), "peak_rss_mib": (Double(after.peak) / 1024).rounded(),
                "rss_before_launches_mib": (Double(before.now) / 1024).rounded(),
                "bytes_per_instance": instances > 0 ? (after.now - before.now) * 1024 / instances : 0,
                "seconds_to_run_all": (Double(settled - t0) / 1e9 * 100).rounded() / 100,
                "describe_all_ms_median": ControlBench.percentile(times.sorted(), 0.5), "describe_body_mib": (Double(bytes) / 1048576 * 10).rounded() / 10,
            ])
            // Out at once, with everything still held: a heap profiler then reports what the
            // instances hold as live at exit.
            if serve > 0 {
                // The same HTTP server the daemons run, so a client times the whole request.
                let router = Router()
                api.addRoutes(to: router)
                let (ports, port) = AsyncStream.makeStream(of: Int.self)
                let app = Application(
                    router: router, server: GuardedHTTP.http1(HTTPLimits(), name: "ec2"),
                    configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: "Euca"),
                    onServerRunning: { channel in port.yield(channel.localAddress?.port ?? 0) }, logger: logger)
                let server = Task { try await app.runService() }
                var next = ports.makeAsyncIterator()
                let bound = await next.next() ?? 0
                print("serving http://127.0.0.1:\(bound) \(started.adminKey.accessKeyId) \(started.adminKey.secretAccessKey)")
                fflush(nil)
                // Until `serve` seconds have passed, or a signal has stopped the server (the
                // script sends SIGTERM once its client is done).
                let timer = Task {
                    try? await Task.sleep(for: .milliseconds(Int64(serve * 1000)))
                    server.cancel()
                }
                _ = try? await server.value
                timer.cancel()
            }
            fflush(nil)
            try? FileManager.default.removeItem(atPath: root)
            Foundation.exit(0)
        }
    }
}
