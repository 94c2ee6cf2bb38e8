import EucaCore
import EucaNode
import Foundation
import Synchronization
import Testing

@Suite struct MetadataServiceTests {
    static func launch(_ id: InstanceID, mac: String, options: MetadataOptions? = nil, key: Bool = true, userData: Data? = nil) -> InstanceLaunch {
        InstanceLaunch(
            instanceId: id, reservationId: ReservationID.generate(), accountId: AccountID(rawValue: "000000000001"),
            vmType: VMType(name: "m1.small", cores: 1, memoryMiB: 256, diskGiB: 5), imageId: ImageID.generate(.machine),
            boot: BootSpec(
                kernel: ImageArtifact(imageId: ImageID.generate(.kernel), location: "k/k"),
                ramdisk: ImageArtifact(imageId: ImageID.generate(.ramdisk), location: "r/r")),
            keyName: key ? "k1" : nil, publicKey: key ? "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample k1" : nil, userData: userData,
            macAddress: mac, zone: "zone-a", securityGroups: ["default", "web"], metadataOptions: options)
    }

    let a = InstanceID.generate(), b = InstanceID.generate()
    /// The service's clock, moved by the tests.
    final class TestClock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
    }
    let clock = TestClock()

    func service(_ instances: [String: InstanceLaunch]) -> MetadataService {
        let clock = self.clock
        return MetadataService(now: { clock.now.withLock { $0 } }, lookup: { instances[$0] })
    }

    func get(_ service: MetadataService, _ path: String, from source: String = "10.0.0.5", token: String? = nil) async -> MetadataResponse {
        await service.respond(to: MetadataRequest(method: "GET", path: path, source: source, token: token))
    }

    func text(_ response: MetadataResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func anInstanceReadsItsOwnMetadata() async {
        let instance = Self.launch(a, mac: "52:54:00:AA:00:01", userData: Data("#!/bin/sh\necho hi\n".utf8))
        let service = service(["10.0.0.5": instance, "10.0.0.6": Self.launch(b, mac: "52:54:00:aa:00:02", key: false)])
        #expect(text(await get(service, "/latest/meta-data/instance-id")) == a.rawValue)
        #expect(text(await get(service, "/latest/meta-data/instance-id", from: "10.0.0.6")) == b.rawValue)
        #expect(text(await get(service, "/latest/meta-data/local-ipv4")) == "10.0.0.5")
        #expect(text(await get(service, "/latest/meta-data/mac")) == "52:54:00:aa:00:01")
        #expect(text(await get(service, "/latest/meta-data/ami-id")) == instance.imageId.rawValue)
        #expect(text(await get(service, "/latest/meta-data/kernel-id")) == instance.boot.kernel!.imageId.rawValue)
        #expect(text(await get(service, "/latest/meta-data/ramdisk-id")) == instance.boot.ramdisk!.imageId.rawValue)
        #expect(text(await get(service, "/latest/meta-data/reservation-id")) == instance.reservationId.rawValue)
        #expect(text(await get(service, "/latest/meta-data/instance-type")) == "m1.small")
        #expect(text(await get(service, "/latest/meta-data/security-groups")) == "default\nweb")
        #expect(text(await get(service, "/latest/meta-data/placement/availability-zone")) == "zone-a")
        #expect(text(await get(service, "/latest/meta-data/hostname")) == "euca-10-0-0-5.eucalyptus.internal")
        #expect(text(await get(service, "/latest/meta-data/public-keys/")) == "0=k1")
        #expect(text(await get(service, "/latest/meta-data/public-keys/0/")) == "openssh-key")
        #expect(text(await get(service, "/latest/meta-data/public-keys/0/openssh-key")) == instance.publicKey! + "\n")
        #expect(text(await get(service, "/latest/user-data")) == "#!/bin/sh\necho hi\n")
        let listing = text(await get(service, "/latest/meta-data/")).split(separator: "\n")
        for name in ["ami-id", "hostname", "instance-id", "instance-type", "local-hostname", "local-ipv4", "mac", "placement/",
                     "public-keys/", "reservation-id", "security-groups", "kernel-id", "ramdisk-id"] {
            #expect(listing.contains(Substring(name)), "\(name) missing from the listing")
        }
        #expect(text(await get(service, "/")).split(separator: "\n").contains("latest"))
        #expect(text(await get(service, "/2009-04-04/meta-data/instance-id")) == a.rawValue)
        // Absent things are 404s: no key, no user data, unknown paths, unknown callers.
        #expect(await get(service, "/latest/meta-data/public-keys/", from: "10.0.0.6").status == 404)
        #expect(await get(service, "/latest/user-data", from: "10.0.0.6").status == 404)
        #expect(await get(service, "/latest/meta-data/no-such-thing").status == 404)
        #expect(await get(service, "/latest/meta-data/public-ipv4").status == 404)
        #expect(await get(service, "/latest/meta-data/instance-id", from: "10.0.0.99").status == 404)
    }

    func token(_ service: MetadataService, ttl: String?, from source: String = "10.0.0.5", forwarded: Bool = false) async -> MetadataResponse {
        await service.respond(to: MetadataRequest(method: "PUT", path: "/latest/api/token", source: source, tokenTTL: ttl, forwarded: forwarded))
    }

    @Test func sessionTokensFollowIMDSv2() async {
        let service = service(["10.0.0.5": Self.launch(a, mac: "52:54:00:aa:00:01"), "10.0.0.6": Self.launch(b, mac: "52:54:00:aa:00:02")])
        for bad in [nil, "0", "21601", "-5", "ten", ""] {
            #expect(await token(service, ttl: bad).status == 400, "TTL \(bad ?? "missing")")
        }
        #expect(await token(service, ttl: "60", forwarded: true).status == 403)
        #expect(await get(service, "/latest/api/token").status == 405)
        let issued = await token(service, ttl: "60")
        #expect(issued.status == 200)
        #expect(issued.headers["X-aws-ec2-metadata-token-ttl-seconds"] == "60")
        let value = text(issued)
        #expect(text(await get(service, "/latest/meta-data/instance-id", token: value)) == a.rawValue)
        // Another instance cannot use it, nor can anyone use a forged or altered one.
        #expect(await get(service, "/latest/meta-data/instance-id", from: "10.0.0.6", token: value).status == 401)
        #expect(await get(service, "/latest/meta-data/instance-id", token: value + "x").status == 401)
        #expect(await get(service, "/latest/meta-data/instance-id", token: "\(a.rawValue).9999999999.AAAA").status == 401)
        // Expired after its TTL.
        clock.advance(61)
        #expect(await get(service, "/latest/meta-data/instance-id", token: value).status == 401)
        #expect(await get(service, "/latest/meta-data/instance-id").status == 200)  // IMDSv1 still allowed by default
    }

    @Test func requiredTokensAndADisabledEndpointAreEnforced() async {
        let service = service([
            "10.0.0.5": Self.launch(a, mac: "52:54:00:aa:00:01", options: MetadataOptions(httpTokens: "required")),
            "10.0.0.6": Self.launch(b, mac: "52:54:00:aa:00:02", options: MetadataOptions(httpEndpoint: "disabled")),
        ])
        #expect(await get(service, "/latest/meta-data/instance-id").status == 401)
        let value = text(await token(service, ttl: "21600"))
        #expect(text(await get(service, "/latest/meta-data/instance-id", token: value)) == a.rawValue)
        #expect(await get(service, "/latest/meta-data/instance-id", from: "10.0.0.6").status == 403)
        #expect(await token(service, ttl: "60", from: "10.0.0.6").status == 403)
    }

    @Test func theNeighbourTableNamesTheMACAtAnAddress() {
        let table = NeighbourTable.parse("""
            IP address       HW type     Flags       HW address            Mask     Device
            10.250.0.101     0x1         0x2         52:54:00:FE:A5:01     *        eucabr0
            10.250.0.102     0x1         0x0         00:00:00:00:00:00     *        eucabr0
            192.168.1.1      0x1         0x2         aa:bb:cc:dd:ee:ff     *        eth0
            """)
        #expect(table.mac(at: "10.250.0.101") == "52:54:00:fe:a5:01")
        #expect(table.mac(at: "10.250.0.101", device: "eth0") == nil)
        #expect(table.mac(at: "10.250.0.102") == nil)
        #expect(table.addresses(device: "eucabr0") == ["52:54:00:fe:a5:01": "10.250.0.101"])
    }
}
