import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaTesting
import EucaWire
import Crypto
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import Testing
import X509

/// The internal APIs over real HTTPS with mutual TLS on 127.0.0.1.
@Suite(.serialized) struct WireTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func temp(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("euca-\(label)-\(UUID())").path
    }

    static func identity(_ ca: CloudCA, _ role: ComponentRole, _ name: String, validity: TimeInterval = 86400, notBefore: Date = Date().addingTimeInterval(-60)) throws -> ComponentIdentity {
        let (keyPEM, csrPEM) = try ComponentIdentity.newKey(name: name)
        let csr = try CertificateSigningRequest(pemEncoded: csrPEM)
        let certificate = try ca.issue(publicKey: csr.publicKey, role: role, name: name, hosts: ["127.0.0.1", "localhost"], validity: validity, notBefore: notBefore)
        return ComponentIdentity(keyPEM: keyPEM, certificatePEM: try certificate.serializeAsPEM().pemString, caPEM: ca.certificatePEM)
    }

    /// Serves the node API for `node` with `identity`, admitting `allowed`; returns the port and the task.
    func serve(_ node: any NodeControllerAPI, identity: ComponentIdentity, allowing allowed: ComponentRole) async throws -> (Int, Task<Void, any Error>) {
        let router = Router()
        NodeAPI.addRoutes(to: router, node: node, logger: logger)
        return try await InternalTLS.serveOnLoopback(router, identity: identity, allowing: allowed, logger: logger)
    }

    @Test func aClusterDrivesANodeOverMutualTLS() async throws {
        let ca = try CloudCA.loadOrCreate(directory: Self.temp("ca"))
        let node = try NodeController(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: "n1", instancePath: Self.temp("nc"), maxDiskGiB: 100), logger: logger)
        let (port, server) = try await serve(node, identity: try Self.identity(ca, .nc, "n1"), allowing: .cc)
        defer { server.cancel() }
        let http = try InternalTLS.client(identity: try Self.identity(ca, .cc, "cluster01"))
        let remote = RemoteNode(node: "n1", client: InternalClient(http: http, baseURL: "https://127.0.0.1:\(port)\(NodeAPI.prefix)"))
        defer { Task { try? await http.shutdown() } }
        let launch = InstanceLaunch(
            instanceId: .generate(), reservationId: .generate(), accountId: AccountID(rawValue: "123456789012"), vmType: .small,
            imageId: .generate(.machine), boot: BootSpec(), macAddress: "d0:0d:00:00:00:01", zone: "z")
        #expect(try await remote.runInstance(launch).state == .running)
        #expect(try await remote.describeInstances().map(\.instanceId) == [launch.instanceId])
        #expect(try await remote.describeResource().instances == 1)
        await #expect {
            try await remote.getConsoleOutput(InstanceID.generate())
        } throws: { ($0 as? EucaError)?.code == .notFound }
        try await remote.terminateInstance(launch.instanceId)
        #expect(try await remote.describeInstances().isEmpty)
    }

    @Test("refused peers", arguments: ["wrong role", "another CA", "expired", "a user's certificate"])
    func refused(_ case: String) async throws {
        let ca = try CloudCA.loadOrCreate(directory: Self.temp("ca"))
        let node = try NodeController(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: "n1", instancePath: Self.temp("nc")), logger: logger)
        let (port, server) = try await serve(node, identity: try Self.identity(ca, .nc, "n1"), allowing: .cc)
        defer { server.cancel() }
        let client: ComponentIdentity
        switch `case` {
        case "wrong role": client = try Self.identity(ca, .nc, "n2")
        case "a user's certificate":
            // Signed by the same CA, for a user named like a cluster: still no component.
            let (keyPEM, certificate) = try ca.issueUser(account: AccountID(rawValue: "123456789012"), user: "cluster01")
            client = ComponentIdentity(keyPEM: keyPEM, certificatePEM: try certificate.serializeAsPEM().pemString, caPEM: ca.certificatePEM)
        case "another CA":
            let other = try CloudCA.loadOrCreate(directory: Self.temp("other-ca"))
            var foreign = try Self.identity(other, .cc, "cluster01")
            foreign.caPEM = ca.certificatePEM  // trusts the right server, but its own certificate is foreign
            client = foreign
        default: client = try Self.identity(ca, .cc, "cluster01", validity: 60, notBefore: Date().addingTimeInterval(-7200))
        }
        let http = try InternalTLS.client(identity: client)
        defer { Task { try? await http.shutdown() } }
        let remote = RemoteNode(node: "n1", client: InternalClient(http: http, baseURL: "https://127.0.0.1:\(port)\(NodeAPI.prefix)"))
        await #expect {
            try await remote.describeInstances()
        } throws: { ($0 as? EucaError)?.code == .unavailable }
    }

    @Test func nodesDownloadImagesFromTheCloudOverMutualTLSAndNobodyElseDoes() async throws {
        let ca = try CloudCA.loadOrCreate(directory: Self.temp("ca"))
        let root = Self.temp("store")
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        let data = Data((0..<300_000).map { UInt8($0 % 253) })
        try data.write(to: URL(fileURLWithPath: root + "/images/disk+1.img"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: Self.temp("outside")))
        let router = Router()
        ImageFileService.addRoutes(to: router, root: root, logger: logger)
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            server: try .tls(configuration: InternalTLS.serverConfiguration(identity: try Self.identity(ca, .clc, "clc"), allowing: .nc, logger: logger)),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        var ports = stream.makeAsyncIterator()
        let port = await ports.next() ?? 0
        let base = "https://127.0.0.1:\(port)"

        let nodeHTTP = try InternalTLS.client(identity: try Self.identity(ca, .nc, "n1"))
        defer { Task { try? await nodeHTTP.shutdown() } }
        let cache = try ImageCache(
            directory: Self.temp("cache"), limitBytes: 1 << 30, source: RemoteImageSource(http: nodeHTTP, baseURL: base), logger: logger)
        let sha = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        // By location in the store, and by the absolute path older records hold.
        let path = try await cache.acquire(ImageArtifact(imageId: .generate(.machine), location: "images/disk+1.img", sha256: sha))
        #expect(FileManager.default.contents(atPath: path) == data)
        let source = RemoteImageSource(http: nodeHTTP, baseURL: base)
        let copy = Self.temp("copy")
        try await source.download(ImageArtifact(imageId: .generate(.machine), location: root + "/images/disk+1.img"), to: copy)
        #expect(FileManager.default.contents(atPath: copy) == data)
        // Nothing outside the store, nothing that is not there.
        for location in ["../../etc/passwd", "/etc/passwd", "images/missing"] {
            await #expect(throws: EucaError.self) {
                try await source.download(ImageArtifact(imageId: .generate(.machine), location: location), to: Self.temp("x"))
            }
        }
        // A cluster's certificate is not a node's: refused at the handshake.
        let clusterHTTP = try InternalTLS.client(identity: try Self.identity(ca, .cc, "cluster01"))
        defer { Task { try? await clusterHTTP.shutdown() } }
        await #expect {
            try await RemoteImageSource(http: clusterHTTP, baseURL: base)
                .download(ImageArtifact(imageId: .generate(.machine), location: "images/disk+1.img"), to: Self.temp("y"))
        } throws: { ($0 as? EucaError)?.code == .unavailable }
    }

    @Test func certificatesNameTheirRoleAndAreIssuedOnlyForValidRequests() throws {
        let ca = try CloudCA.loadOrCreate(directory: Self.temp("ca"))
        let identity = try Self.identity(ca, .cc, "cluster01")
        #expect(identity.component?.role == .cc && identity.component?.name == "cluster01")
        let reloaded = try CloudCA.loadOrCreate(directory: ca.certificatePEM.isEmpty ? "" : Self.temp("ca2"))
        #expect(reloaded.fingerprint != ca.fingerprint)
        #expect(throws: (any Error).self) { try ca.issue(csrPEM: "not a request", role: .nc, name: "x", hosts: []) }
    }
}
