import EucaCore
import EucaHypervisor
import EucaNode
import EucaTesting
import Foundation
import Logging
import Testing

@Suite struct NodeRestartTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func launch() -> InstanceLaunch {
        InstanceLaunch(
            instanceId: .generate(), reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"), vmType: .small,
            imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:01", zone: "z")
    }

    /// After a restart whose hypervisor lost its domains, the instances that ran hold no room:
    /// a launch that needs it succeeds at once, before any describe has tidied up.
    @Test func instancesWhoseDomainsVanishedHoldNoRoomAfterARestart() async throws {
        let path = scratchDirectory("node")
        let settings = NodeSettings(node: "n1", instancePath: path, maxCores: 1, maxDiskGiB: 100)
        let store = InMemoryStateStore()
        let before = try await NodeController.open(hypervisor: InMemoryHypervisor(), settings: settings, store: store, logger: logger)
        let ran = launch()
        #expect(try await before.runInstance(ran).state == .running)

        let after = try await NodeController.open(hypervisor: InMemoryHypervisor(), settings: settings, store: store, logger: logger)
        let next = launch()
        #expect(try await after.runInstance(next).state == .running)
        #expect(try await after.describeInstances().map(\.instanceId) == [next.instanceId])
    }

    @Test func aStoppedInstanceKeepsItsRoomAcrossARestart() async throws {
        let path = scratchDirectory("node")
        let settings = NodeSettings(node: "n1", instancePath: path, maxCores: 1, maxDiskGiB: 100)
        let store = InMemoryStateStore()
        let before = try await NodeController.open(hypervisor: InMemoryHypervisor(), settings: settings, store: store, logger: logger)
        let kept = launch()
        _ = try await before.runInstance(kept)
        try await before.stopInstance(kept.instanceId)

        let after = try await NodeController.open(hypervisor: InMemoryHypervisor(), settings: settings, store: store, logger: logger)
        await #expect(throws: EucaError.self) { try await after.runInstance(launch()) }
        #expect(try await after.startInstance(kept).state == .running)
    }
}
