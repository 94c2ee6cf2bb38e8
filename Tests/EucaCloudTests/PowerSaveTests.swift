import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaTesting
import Foundation
import Logging
import Testing

@Suite struct PowerSaveClusterTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func nodes(_ count: Int, cores: Int, power: FakeNodePower) throws -> [any NodeControllerAPI] {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-power-\(UUID())").path
        return try (0..<count).map { index in
            power.wrap(try NodeController(
                hypervisor: InMemoryHypervisor(host: HostInfo(cores: cores, memoryMiB: 65536)),
                settings: NodeSettings(node: NodeID("n\(index)"), instancePath: "\(base)/n\(index)", maxDiskGiB: 1000),
                logger: logger))
        }
    }

    /// The clusters' clock: idle thresholds and wake timeouts pass when a test advances it.
    let clock = ManualClock()
    let idle = Duration.seconds(300)
    let wakeTimeout = Duration.seconds(120)

    func cluster(
        nodes: Int, cores: Int, power: FakeNodePower, controllers: [any NodeControllerAPI]? = nil,
        store: any StateStore = InMemoryStateStore()
    ) async throws -> ClusterController {
        try await ClusterController.open(
            zone: "z", nodes: try controllers ?? self.nodes(nodes, cores: cores, power: power), policy: .powerSave,
            timings: ClusterTimings(pollInterval: .seconds(1)), power: power,
            powerTimings: PowerTimings(idleThreshold: idle, wakeTimeout: wakeTimeout), store: store, clock: clock, logger: logger)
    }

    /// Polls, lets the idle threshold pass, and polls again: what is idle all along goes down.
    func passIdleThreshold(_ cluster: ClusterController) async {
        await cluster.poll()
        clock.advance(by: idle)
        await cluster.poll()
    }

    @Test func aRestartedClusterRemembersTheNodesItPoweredDownAndWakesThem() async throws {
        let power = FakeNodePower()
        let controllers = try nodes(2, cores: 1, power: power)
        let store = InMemoryStateStore()
        let first = try await cluster(nodes: 2, cores: 1, power: power, controllers: controllers, store: store)
        await passIdleThreshold(first)
        #expect(await asleep(first).count == 1)
        let sleeping = try #require(await asleep(first).first)

        // A new cluster controller over the same nodes (a restart): the node is still down.
        let second = try await cluster(nodes: 2, cores: 1, power: power, controllers: controllers, store: store)
        #expect(await asleep(second) == [sleeping])
        #expect(!(await power.isOn(sleeping)))
        #expect(try await second.describeResources().available(.small) == 2)
        let outcomes = try await second.runInstances(launches(2))
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.failure == nil })
        #expect(await power.isOn(sleeping))
        #expect(await asleep(second).isEmpty)
        // And the store says so for the next restart.
        let third = try await cluster(nodes: 2, cores: 1, power: power, controllers: controllers, store: store)
        #expect(await asleep(third).isEmpty)
    }

    func launches(_ count: Int) -> [InstanceLaunch] {
        (0..<count).map { _ in
            InstanceLaunch(
                instanceId: .generate(), reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"),
                vmType: .small, imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:01", zone: "z")
        }
    }

    func asleep(_ cluster: ClusterController) async -> Set<NodeID> {
        Set(await cluster.nodeStates().filter(\.state.asleep).map(\.node))
    }

    @Test func idleNodesArePoweredDownKeepingOneAndWokenWhenPlacementNeedsThem() async throws {
        let power = FakeNodePower()
        let cluster = try await cluster(nodes: 3, cores: 2, power: power)
        // Just short of the threshold nothing goes down.
        await cluster.poll()
        clock.advance(by: idle - .seconds(1))
        await cluster.poll()
        #expect(await asleep(cluster).isEmpty)
        // Nothing runs: at the idle threshold two of the three nodes go down, one stays up.
        clock.advance(by: .seconds(1))
        await cluster.poll()
        let sleeping = await asleep(cluster)
        #expect(sleeping.count == 2)
        let everyNode: Set<NodeID> = ["n0", "n1", "n2"]
        let awake = try #require(everyNode.subtracting(sleeping).first)
        #expect(await power.isOn(awake))
        // Sleeping nodes are not unreachable: their (no) instances are known.
        #expect(try await cluster.describeInstances().unreachableNodes.isEmpty)
        // Their room still counts, so the cloud can admit launches that need them.
        #expect(try await cluster.describeResources().available(.small) == 6)

        // Two fit on the awake node; the third wakes a sleeping one.
        let outcomes = try await cluster.runInstances(launches(3))
        #expect(outcomes.count == 3 && outcomes.allSatisfy { $0.failure == nil })
        #expect(Set(outcomes.compactMap(\.node)).count == 2)
        let woken = try #require(await power.calls.last { $0.operation == "wake" }?.node)
        #expect(await power.isOn(woken))
        #expect(await asleep(cluster).count == 1)
    }

    @Test func aNodeThatDoesNotWakeFailsTheLaunchesPlacedOnIt() async throws {
        let power = FakeNodePower()
        let cluster = try await cluster(nodes: 2, cores: 1, power: power)
        await passIdleThreshold(cluster)
        let sleeping = try #require(await asleep(cluster).first)
        await power.ignoreWakes(of: sleeping)
        let launch = Task { try await cluster.runInstances(launches(2)) }
        // The cluster waits for the woken node to answer; the wake timeout passes.
        await clock.waitForSleepers(1)
        clock.advance(by: wakeTimeout)
        let outcomes = try await launch.value
        let failed = outcomes.filter { $0.failure != nil }
        #expect(failed.count == 1 && failed.first?.node == sleeping)
        #expect(outcomes.count == 2)
    }

    @Test func busyNodesAreNeverPoweredDown() async throws {
        let power = FakeNodePower()
        let cluster = try await cluster(nodes: 2, cores: 4, power: power)
        let outcomes = try await cluster.runInstances(launches(5))
        #expect(Set(outcomes.compactMap(\.node)).count == 2)
        // Ten thresholds pass, polled all along: both nodes run something, neither goes down.
        for _ in 0..<10 { await passIdleThreshold(cluster) }
        #expect(await asleep(cluster).isEmpty)
        #expect(await power.calls.isEmpty)
    }
}

@Suite struct CommandNodePowerTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("euca-power-cmd-\(UUID())")

    @Test func theCommandsRunWithTheNodeInTheirEnvironment() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("log").path
        let power = CommandNodePower(
            powerDownCommand: "echo \"down $EUCA_NODE $EUCA_NODE_HOST\" >> '\(log)'",
            wakeCommand: "echo \"wake $EUCA_NODE $EUCA_NODE_HOST\" >> '\(log)'") { node in node == "n1" ? "10.0.0.7" : nil }
        try await power.powerDown("n1")
        try await power.wake("n1")
        try await power.wake("n2")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "down n1 10.0.0.7\nwake n1 10.0.0.7\nwake n2 \n")
    }

    @Test func aFailingCommandIsAnErrorWithItsMessage() async throws {
        let power = CommandNodePower(powerDownCommand: "echo 'no route to host' >&2; exit 3", wakeCommand: "true") { _ in nil }
        await #expect {
            try await power.powerDown("n1")
        } throws: { error in
            let text = "\(error)"
            return text.contains("exited with 3") && text.contains("no route to host")
        }
    }

    @Test func aCommandThatHangsIsKilledAtTheTimeout() async throws {
        let power = CommandNodePower(powerDownCommand: "true", wakeCommand: "sleep 30", timeout: .milliseconds(300)) { _ in nil }
        let started = ContinuousClock.now
        await #expect(throws: EucaError.self) { try await power.wake("n1") }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}

@Suite struct PowerSettingsTests {
    @Test func powerCommandsComeInPairsAndTheErrorNamesTheLine() throws {
        let config = try EucaConfig.parse("SCHEDPOLICY=\"POWERSAVE\"\nPOWER_DOWN_COMMAND=\"systemctl suspend\"\n", path: "/etc/eucalyptus.conf")
        #expect {
            try ClusterSettings(config)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == "POWER_DOWN_COMMAND" && error.source == .file(path: "/etc/eucalyptus.conf", line: 2)
        }
        let both = try EucaConfig.parse(
            "SCHEDPOLICY=POWERSAVE\nPOWER_DOWN_COMMAND=a\nPOWER_WAKE_COMMAND=b\nPOWER_IDLETHRESH=60\n", path: "/etc/eucalyptus.conf")
        let settings = try ClusterSettings(both)
        #expect(settings.powerCommands?.down == "a" && settings.powerCommands?.wake == "b")
        #expect(settings.powerTimings.idleThreshold == .seconds(60))
        #expect(settings.policy.name == "POWERSAVE")
    }
}
