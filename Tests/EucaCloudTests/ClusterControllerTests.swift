import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaTesting
import Foundation
import Logging
import Testing

@Suite struct ClusterControllerTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func cluster(nodes: Int, cores: Int, policy: PlacementPolicy = .greedy) throws -> ClusterController {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-cc-\(UUID())").path
        let controllers: [any NodeControllerAPI] = try (0..<nodes).map { index in
            try NodeController(
                hypervisor: InMemoryHypervisor(host: HostInfo(cores: cores, memoryMiB: 65536), bootTime: .milliseconds(20)),
                settings: NodeSettings(node: NodeID("n\(index)"), instancePath: "\(base)/n\(index)", maxDiskGiB: 1000),
                logger: logger)
        }
        return ClusterController(zone: "z", nodes: controllers, policy: policy, logger: logger)
    }

    func launches(_ count: Int, _ type: VMType = .small) -> [InstanceLaunch] {
        (0..<count).map { _ in
            InstanceLaunch(
                instanceId: .generate(), reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"),
                vmType: type, imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:01", zone: "z")
        }
    }

    @Test func concurrentLaunchesNeverOvercommitANode() async throws {
        let cluster = try cluster(nodes: 2, cores: 3)
        // Six cores in all; three batches of three race for them while the nodes are still booting.
        let outcomes = await withTaskGroup(of: [InstanceOutcome].self) { group in
            for _ in 0..<3 { group.addTask { (try? await cluster.runInstances(launches(3))) ?? [] } }
            var all: [InstanceOutcome] = []
            for await batch in group { all += batch }
            return all
        }
        #expect(outcomes.count == 9)
        #expect(outcomes.filter { $0.failure == nil }.count == 6)
        #expect(outcomes.filter { $0.failure == .insufficientCapacity }.count == 3)
        let resources = try await cluster.describeResources()
        #expect(resources.nodes.map(\.freeCores) == [0, 0])
    }

    @Test func operationsReachTheNodeThatHoldsTheInstance() async throws {
        let cluster = try cluster(nodes: 3, cores: 4, policy: .roundRobin)
        let batch = launches(3)
        let outcomes = try await cluster.runInstances(batch)
        #expect(Set(outcomes.compactMap(\.node)) == ["n0", "n1", "n2"])
        let stopped = try await cluster.stopInstances([batch[1].instanceId])
        #expect(stopped.first?.failure == nil && stopped.first?.node == outcomes[1].node)
        let reports = try await cluster.describeInstances().reports
        #expect(reports.first { $0.instanceId == batch[1].instanceId }?.state == .shutoff)
        let terminated = try await cluster.terminateInstances([batch[0].instanceId, InstanceID.generate()])
        #expect(terminated.map(\.failure) == [nil, .notFound])
    }
}
