import EucaCore
import EucaHypervisor
import EucaHypervisorLibvirt
import EucaNode
import EucaStoreLMDB
import EucaTesting
import Foundation
import Logging
import Testing

/// The node controller on libvirt's test driver.
@Suite struct NodeControllerTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func launch(_ type: VMType = .small) -> InstanceLaunch {
        let id = InstanceID.generate()
        return InstanceLaunch(
            instanceId: id, reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"), vmType: type,
            imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:01", zone: "z")
    }

    func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("euca-nc-\(UUID())").path
    }

    @Test func launchDescribeAndTerminateOnTheTestDriver() async throws {
        let hypervisor = try LibvirtHypervisor(uri: "test:///default", logger: logger)
        let directory = path()
        let settings = NodeSettings(node: "n1", instancePath: directory, maxCores: 2, maxDiskGiB: 50)
        let store = try LMDBStateStore(directory: directory + "-state")
        let node = try await NodeController.open(hypervisor: hypervisor, settings: settings, store: store, logger: logger)
        let first = launch()
        #expect(try await node.runInstance(first).state == .running)
        #expect(try await node.runInstance(first).state == .running)  // idempotent
        let resources = try await node.describeResource()
        #expect(resources.totalCores == 2 && resources.freeCores == 1 && resources.instances == 1)
        // The record is in the node's store on disk: a node opened over it again knows the instance.
        store.close()
        let reopened = try LMDBStateStore(directory: directory + "-state")
        let again = try await NodeController.open(hypervisor: hypervisor, settings: settings, store: reopened, logger: logger)
        #expect(try await again.describeResource().instances == 1)
        let node2 = again

        _ = try await node2.runInstance(launch())
        await #expect {
            try await node2.runInstance(launch())
        } throws: { ($0 as? EucaError)?.code == .insufficientCapacity }

        try await node2.stopInstance(first.instanceId)
        #expect(try await node2.describeInstances().first { $0.instanceId == first.instanceId }?.state == .shutoff)
        try await node2.terminateInstance(first.instanceId)
        #expect(try await node2.describeInstances().contains { $0.instanceId == first.instanceId } == false)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(first.instanceId)"))
        try await node2.terminateInstance(first.instanceId)
    }

    @Test func aRestartedNodeKnowsItsStoppedInstancesAndForgetsLostOnes() async throws {
        let directory = path()
        let hypervisor = InMemoryHypervisor()
        let store = try LMDBStateStore(directory: directory + "-state")
        let node = try await NodeController.open(hypervisor: hypervisor, settings: NodeSettings(node: "n", instancePath: directory), store: store, logger: logger)
        let stopped = launch()
        let running = launch()
        _ = try await node.runInstance(stopped)
        _ = try await node.runInstance(running)
        try await node.stopInstance(stopped.instanceId)
        await hypervisor.loseAllDomains()

        let restarted = try await NodeController.open(
            hypervisor: hypervisor, settings: NodeSettings(node: "n", instancePath: directory), store: store, logger: logger)
        let reports = try await restarted.describeInstances()
        #expect(reports.map(\.instanceId) == [stopped.instanceId])
        #expect(reports.first?.state == .shutoff)
        #expect(try await restarted.startInstance(stopped).state == .running)
        #expect(try await restarted.describeResource().instances == 1)
    }

    /// A node upgraded from a release that kept `instance.json` files finds its instances in its
    /// store, and the files are gone.
    @Test func recordsInInstanceFilesMoveIntoTheStore() async throws {
        let directory = path()
        let kept = launch()
        try FileManager.default.createDirectory(atPath: "\(directory)/\(kept.instanceId)", withIntermediateDirectories: true)
        struct Legacy: Encodable { var launch: InstanceLaunch; var stopped: Bool }
        try JSONEncoder().encode(Legacy(launch: kept, stopped: true))
            .write(to: URL(fileURLWithPath: "\(directory)/\(kept.instanceId)/instance.json"))
        let node = try await NodeController.open(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: "n", instancePath: directory), store: InMemoryStateStore(),
            logger: logger)
        #expect(try await node.describeResource().instances == 1)
        #expect(try await node.startInstance(kept).state == .running)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/\(kept.instanceId)/instance.json"))
    }

    @Test func consoleOutputIsTheLast64KiB() async throws {
        let directory = path()
        let node = try NodeController(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: "n", instancePath: directory), logger: logger)
        let instance = launch()
        _ = try await node.runInstance(instance)
        #expect(try await node.getConsoleOutput(instance.instanceId).output.isEmpty)
        var log = Data(repeating: UInt8(ascii: "a"), count: 70_000)
        log.append(contentsOf: Array("THE END\n".utf8))
        try log.write(to: URL(fileURLWithPath: "\(directory)/\(instance.instanceId)/console.log"))
        let console = try await node.getConsoleOutput(instance.instanceId)
        #expect(console.output.count == ConsoleOutput.maxBytes)
        #expect(String(decoding: console.output.suffix(8), as: UTF8.self) == "THE END\n")
        await #expect {
            try await node.getConsoleOutput(InstanceID.generate())
        } throws: { ($0 as? EucaError)?.code == .notFound }
    }
}
