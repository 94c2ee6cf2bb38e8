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
import Testing

/// The cloud chooses a launch's zone with a placement policy over its clusters' room.
@Suite struct CloudZoneChoiceTests {
    /// A cloud over zone-a (one node of `coresA` cores) and zone-b (one node of `coresB`).
    func cloud(coresA: Int, coresB: Int, zonePolicy: PlacementPolicy) async throws -> (CloudController, Principal, ImageID) {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("euca-zones-\(UUID())").path
        var clusters: [any ClusterControllerAPI] = []
        for (zone, cores) in [("zone-a", coresA), ("zone-b", coresB)] {
            let node = try NodeController(
                hypervisor: InMemoryHypervisor(host: HostInfo(cores: cores, memoryMiB: 8192)),
                settings: NodeSettings(node: NodeID("\(zone)-node"), instancePath: "\(base)/\(zone)", maxDiskGiB: 1000), logger: logger)
            clusters.append(ClusterController(zone: zone, nodes: [node], policy: .greedy, logger: logger))
        }
        let cloud = CloudController(
            store: InMemoryStateStore(), secrets: .ephemeral(), clusters: clusters, settings: CloudSettings(zonePolicy: zonePolicy), logger: logger)
        let image = ImageRecord(
            id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "empty", location: "builtin:empty",
            isPublic: true, boot: BootSpec())
        let started = try await cloud.bootstrap(defaultImage: image)
        let admin = Principal(accountId: started.adminAccount.id, userName: "admin", accessKeyId: started.adminKey.accessKeyId, isCloudAdmin: true)
        return (cloud, admin, started.defaultImageId ?? image.id)
    }

    func zones(of count: Int, in cloud: CloudController, as admin: Principal, image: ImageID) async throws -> [String] {
        var zones: [String] = []
        for _ in 0..<count {
            let (_, instances) = try await cloud.instances.run(admin, .init(imageId: image.rawValue, instanceType: "m1.small", minCount: 1, maxCount: 1))
            zones += instances.map(\.zone)
        }
        return zones
    }

    @Test func byDefaultTheZoneWithTheMostRoomTakesEachLaunch() async throws {
        let (cloud, admin, image) = try await cloud(coresA: 1, coresB: 3, zonePolicy: .mostRoom)
        // zone-b has room for 3, zone-a for 1: b, b (2 left against 1), then a tie that goes to a.
        #expect(try await zones(of: 4, in: cloud, as: admin, image: image) == ["zone-b", "zone-b", "zone-a", "zone-b"])
    }

    @Test func aZonePolicyOfOnesOwnChoosesInstead() async throws {
        let (cloud, admin, image) = try await cloud(coresA: 1, coresB: 3, zonePolicy: .greedy)
        // The first zone with room, until it is full.
        #expect(try await zones(of: 3, in: cloud, as: admin, image: image) == ["zone-a", "zone-b", "zone-b"])
    }

    @Test func zonePolicyIsReadFromTheConfigurationAndABadNameIsRefusedNamingTheKey() throws {
        let settings = try CloudSettings(EucaConfig(environment: ["ZONE_POLICY": "greedy"]), endpoint: "")
        #expect(settings.zonePolicy.name == "GREEDY")
        #expect(throws: ConfigError.self) { try CloudSettings(EucaConfig(environment: ["ZONE_POLICY": "nearest"]), endpoint: "") }
        do {
            _ = try CloudSettings(EucaConfig(environment: ["ZONE_POLICY": "nearest"]), endpoint: "")
        } catch {
            #expect("\(error)".contains("ZONE_POLICY"))
        }
    }
}
