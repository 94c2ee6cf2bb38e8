import EucaCloud
import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaTesting
import Foundation
import Logging
import Synchronization
import Testing

/// A cloud of one cluster and `nodes` in-memory nodes, with its controller's service running.
struct TestCloud {
    let store: any StateStore
    let hypervisors: [InMemoryHypervisor]
    let cluster: ClusterController
    let cloud: CloudController
    let admin: Principal
    let image: ImageID
    let service: Task<Void, Never>

    static func make(
        nodes: Int = 2, cores: Int = 4, store: any StateStore = InMemoryStateStore(), secrets: SecretSealer = .ephemeral(),
        capacityCacheTime: Duration = .seconds(1),
        hypervisors existing: [InMemoryHypervisor]? = nil, instancePath: String? = nil,
        slaPolicies: [any SLAPolicy] = CloudController.builtInSLAPolicies, clock: any EucaClock = SystemClock(),
        interpose: (any NodeControllerAPI) -> any NodeControllerAPI = { $0 }
    ) async throws -> TestCloud {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let base = instancePath ?? FileManager.default.temporaryDirectory.appendingPathComponent("euca-cloud-\(UUID())").path
        let hypervisors = existing ?? (0..<nodes).map { _ in InMemoryHypervisor(host: HostInfo(cores: cores, memoryMiB: 8192)) }
        var controllers: [any NodeControllerAPI] = []
        for (index, hypervisor) in hypervisors.enumerated() {
            let settings = NodeSettings(node: NodeID("node\(index)"), instancePath: "\(base)/node\(index)", maxDiskGiB: 1000)
            controllers.append(interpose(try NodeController(hypervisor: hypervisor, settings: settings, logger: logger)))
        }
        let cluster = ClusterController(
            zone: "zone-a", nodes: controllers, policy: .roundRobin, timings: ClusterTimings(pollInterval: .milliseconds(50)), logger: logger)
        let cloud = CloudController(
            store: store, secrets: secrets, clusters: [cluster], slaPolicies: slaPolicies, settings: CloudSettings(reconcileInterval: .milliseconds(100), capacityCacheTime: capacityCacheTime),
            clock: clock, logger: logger)
        let image = ImageRecord(
            id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "empty", location: "builtin:empty",
            isPublic: true, boot: BootSpec())
        let started = try await cloud.bootstrap(defaultImage: image)
        let admin = Principal(
            accountId: started.adminAccount.id, userName: "admin", accessKeyId: started.adminKey.accessKeyId, isCloudAdmin: true)
        let service = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = try? await cluster.run() }
                group.addTask { _ = try? await cloud.run() }
            }
        }
        return TestCloud(
            store: store, hypervisors: hypervisors, cluster: cluster, cloud: cloud, admin: admin, image: started.defaultImageId ?? image.id,
            service: service)
    }

    func states(_ ids: [InstanceID]) -> [InstanceState] {
        (try? cloud.instances.owned(ids, for: admin).map(\.state)) ?? []
    }

    /// Waits, commit by commit, until every one of `ids` is in `state` (each must exist).
    func waitFor(_ ids: [InstanceID], _ state: InstanceState, timeout: Duration = .seconds(10)) async throws {
        let mirror = cloud.state
        do {
            try await withTimeout(timeout) {
                try await mirror.wait { tables in ids.allSatisfy { tables.instances[$0]?.state == state } }
            }
        } catch {
            Issue.record("no \(state) within \(timeout); states are \(states(ids))")
        }
    }

    func run(_ count: Int = 1, type: String = "m1.small", token: String? = nil) async throws -> [InstanceID] {
        let (_, instances) = try await cloud.instances.run(
            admin, .init(imageId: image.rawValue, instanceType: type, minCount: count, maxCount: count, clientToken: token))
        return instances.map(\.id)
    }
}

@Suite struct CloudControllerTests {
    @Test func instancesGoFromPendingToRunningAndAreSpreadRoundRobin() async throws {
        let test = try await TestCloud.make()
        defer { test.service.cancel() }
        let ids = try await test.run(4)
        try await test.waitFor(ids, .running)
        let nodes = try test.cloud.instances.owned(ids, for: test.admin).compactMap(\.node)
        #expect(Set(nodes) == ["node0", "node1"])
        #expect(nodes.filter { $0 == "node0" }.count == 2)
    }

    @Test func terminateStopAndStartFollowEC2sStates() async throws {
        let test = try await TestCloud.make()
        defer { test.service.cancel() }
        let ids = try await test.run(2)
        try await test.waitFor(ids, .running)
        let stopping = try await test.cloud.instances.stop(test.admin, [ids[0]])
        #expect(stopping.map(\.current) == [.stopping])
        try await test.waitFor([ids[0]], .stopped)
        #expect(try await test.hypervisors.asyncContains { try await $0.state(of: ids[0]) == .shutoff })
        let starting = try await test.cloud.instances.start(test.admin, [ids[0]])
        #expect(starting.map(\.current) == [.pending])
        try await test.waitFor([ids[0]], .running)
        let terminating = try await test.cloud.instances.terminate(test.admin, ids)
        #expect(terminating.map(\.current) == [.shuttingDown, .shuttingDown])
        try await test.waitFor(ids, .terminated)
        for hypervisor in test.hypervisors { #expect(try await hypervisor.list().isEmpty) }
        // Terminating again is not an error; stopping a terminated instance is.
        #expect(try await test.cloud.instances.terminate(test.admin, ids).map(\.current) == [.terminated, .terminated])
        await #expect(throws: EucaError.self) { try await test.cloud.instances.stop(test.admin, ids) }
    }

    @Test func aRequestNamingAnUnknownInstanceChangesNothing() async throws {
        let test = try await TestCloud.make()
        defer { test.service.cancel() }
        let ids = try await test.run(1)
        try await test.waitFor(ids, .running)
        await #expect {
            try await test.cloud.instances.terminate(test.admin, ids + [InstanceID.generate()])
        } throws: { ($0 as? EucaError)?.code == .notFound }
        #expect(test.states(ids) == [.running])
    }

    @Test func aClientTokenReturnsTheSameReservationAndRefusesOtherParameters() async throws {
        let test = try await TestCloud.make()
        defer { test.service.cancel() }
        let first = try await test.run(2, token: "abc")
        let again = try await test.run(2, token: "abc")
        #expect(first == again)
        await #expect {
            try await test.run(1, token: "abc")
        } throws: { ($0 as? EucaError)?.code == .idempotencyMismatch }
    }

    @Test func capacityIsCheckedAndMaxCountTakesWhatFits() async throws {
        let test = try await TestCloud.make(nodes: 2, cores: 4)
        defer { test.service.cancel() }
        // Two nodes of four cores hold two c1.xlarge (4 cores each).
        await #expect {
            try await test.run(3, type: "c1.xlarge")
        } throws: { ($0 as? EucaError)?.code == .insufficientCapacity }
        let (_, launched) = try await test.cloud.instances.run(
            test.admin, .init(imageId: test.image.rawValue, instanceType: "c1.xlarge", minCount: 1, maxCount: 5))
        #expect(launched.count == 2)
        try await test.waitFor(launched.map(\.id), .running)
    }

    @Test func aLaunchRecordedRunningHoldsItsRoomUntilTheReconcilerHearsOfIt() async throws {
        // The zone's figures are cached from the first launch; each launch since is held against
        // them. The write recording the fourth instance running commits, and its writer (the
        // reconciler) is kept from hearing of it while a fifth launch is asked for.
        let store = AnswerHeldStore(InMemoryStateStore())
        let test = try await TestCloud.make(nodes: 1, cores: 4, store: store, capacityCacheTime: .seconds(600))
        defer { test.service.cancel() }
        for _ in 0..<3 { try await test.waitFor(try await test.run(1), .running) }
        let mirror = test.cloud.state
        store.holdFirstAnswer { mirror.read { $0.instances.values.filter { $0.state == .running }.count } == 4 }
        let fourth = try await test.run(1)
        await store.answerHeld()
        #expect(test.states(fourth) == [.running])
        await #expect {
            try await test.run(1)
        } throws: { ($0 as? EucaError)?.code == .insufficientCapacity }
        store.answer()
        try await test.waitFor(fourth, .running)
    }

    @Test func aFailedLaunchEndsTerminatedWithItsReason() async throws {
        let test = try await TestCloud.make(nodes: 1)
        defer { test.service.cancel() }
        await test.hypervisors[0].failNextLaunch()
        let ids = try await test.run(1)
        try await test.waitFor(ids, .terminated)
        let record = try #require(try test.cloud.instances.owned(ids, for: test.admin).first)
        #expect(record.stateReason?.code == "Server.InternalError")
    }

    @Test func aGuestThatPowersOffIsStopped() async throws {
        let test = try await TestCloud.make(nodes: 1)
        defer { test.service.cancel() }
        let ids = try await test.run(1)
        try await test.waitFor(ids, .running)
        await test.hypervisors[0].powerOffGuest(ids[0])
        try await test.waitFor(ids, .stopped)
        #expect(try test.cloud.instances.owned(ids, for: test.admin).first?.stateReason?.code == "Client.InstanceInitiatedShutdown")
    }

    @Test func aDomainThatVanishesEndsTerminated() async throws {
        let test = try await TestCloud.make(nodes: 1)
        defer { test.service.cancel() }
        let ids = try await test.run(2)
        try await test.waitFor(ids, .running)
        await test.hypervisors[0].loseAllDomains()
        try await test.waitFor(ids, .terminated)
    }

    @Test func aRestartedControllerRebuildsFromItsStoreAndLaunchesWhatWasPending() async throws {
        let store = InMemoryStateStore()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("euca-restart-\(UUID())").path
        let hypervisor = InMemoryHypervisor()
        let secrets = SecretSealer.ephemeral()
        let first = try await TestCloud.make(store: store, secrets: secrets, hypervisors: [hypervisor], instancePath: path)
        let running = try await first.run(1)
        try await first.waitFor(running, .running)
        first.service.cancel()
        // A reservation accepted but never dispatched, as if the process died right after the reply.
        let second = try await TestCloud.make(store: store, secrets: secrets, hypervisors: [hypervisor], instancePath: path)
        defer { second.service.cancel() }
        #expect(second.states(running) == [.running])
        let pendingID = InstanceID.generate()
        try await store.write { txn in
            var record = try txn.get(running[0].rawValue, from: CloudSchema.instances)!
            record.id = pendingID
            record.state = .pending
            record.node = nil
            var reservation = try txn.get(record.reservationId.rawValue, from: CloudSchema.reservations)!
            reservation.instanceIds.append(pendingID)
            try txn.put(record, at: pendingID.rawValue, in: CloudSchema.instances)
            try txn.put(reservation, at: reservation.id.rawValue, in: CloudSchema.reservations)
        }
        let third = try await TestCloud.make(store: store, secrets: secrets, hypervisors: [hypervisor], instancePath: path)
        defer { third.service.cancel() }
        try await third.waitFor([pendingID], .running)
        #expect(try await hypervisor.state(of: pendingID) == .running)
    }

    @Test func keyPairsAreUniquePerAccountAndDeletingIsIdempotent() async throws {
        let test = try await TestCloud.make(nodes: 1)
        defer { test.service.cancel() }
        let (record, material) = try await test.cloud.keyPairs.create(test.admin, name: "k", type: .ed25519)
        #expect(material.contains("OPENSSH PRIVATE KEY"))
        #expect(record.publicKey.hasPrefix("ssh-ed25519 "))
        await #expect {
            try await test.cloud.keyPairs.create(test.admin, name: "k", type: .rsa)
        } throws: { ($0 as? EucaError)?.code == .duplicate }
        #expect(try await test.cloud.keyPairs.delete(test.admin, name: "k", id: nil) == record.id)
        #expect(try await test.cloud.keyPairs.delete(test.admin, name: "k", id: nil) == nil)
        #expect(test.cloud.keyPairs.list(for: test.admin).isEmpty)
    }
}

extension Array {
    func asyncContains(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await predicate(element) { return true }
        return false
    }
}

/// A store that keeps one write's caller from hearing that it committed (the commit and the
/// mirror's update are done) until the test says so: the moment a busy daemon's scheduler can
/// leave between a commit and the code after it.
final class AnswerHeldStore: StateStore {
    private let base: any StateStore
    private let hold = Mutex<(@Sendable () -> Bool)?>(nil)
    private let held = AsyncStream<Void>.makeStream()
    private let opened = AsyncStream<Void>.makeStream()

    init(_ base: any StateStore) { self.base = base }

    /// The first write after which `condition` holds is not answered until ``answer()``.
    func holdFirstAnswer(when condition: @escaping @Sendable () -> Bool) { hold.withLock { $0 = condition } }

    /// Returns once a write's answer is being held.
    func answerHeld() async { for await _ in held.stream { return } }

    /// Lets the held write's caller go on.
    func answer() { opened.continuation.yield() }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await base.read(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let result = try await base.write(body)
        let holding = hold.withLock { condition -> Bool in
            guard let check = condition, check() else { return false }
            condition = nil
            return true
        }
        if holding {
            held.continuation.yield()
            for await _ in opened.stream { break }
        }
        return result
    }
}
