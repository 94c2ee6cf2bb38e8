import EucaCore
import EucaHypervisor
import EucaNode
import EucaTesting
import Foundation
import Logging
import Synchronization
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

/// A store whose next write, once `holding` is set, waits until the test advances `gate`.
final class HeldWrites: StateStore {
    let inner = InMemoryStateStore()
    let gate = ManualClock()
    let holding = Mutex(false)
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T { try await inner.read(body) }
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let held = holding.withLock { holding in
            defer { holding = false }
            return holding
        }
        if held { try await gate.sleep(for: .seconds(1)) }
        return try await inner.write(body)
    }
}

@Suite struct NodeLaunchRaceTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A describe while a launch is being recorded (its domain not made yet) sees it launching,
    /// and does not take it for an instance whose domain is gone.
    @Test func aDescribeDuringALaunchDoesNotForgetIt() async throws {
        let store = HeldWrites()
        let node = try NodeController(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: "n1", instancePath: scratchDirectory("node"), maxCores: 2, maxDiskGiB: 100),
            store: store, logger: logger)
        _ = try await node.describeInstances()
        let launch = InstanceLaunch(
            instanceId: .generate(), reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"), vmType: .small,
            imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:02", zone: "z")
        store.holding.withLock { $0 = true }
        let running = Task { try await node.runInstance(launch) }
        await store.gate.waitForSleepers(1)
        let during = try await node.describeInstances()
        #expect(during.map(\.instanceId) == [launch.instanceId] && during.first?.state == .launching)
        store.gate.advance(by: .seconds(1))
        #expect(try await running.value.state == .running)
        #expect(try await node.describeInstances().map(\.state) == [.running])
        #expect(try await node.describeResource().freeCores == 1)
    }
}
