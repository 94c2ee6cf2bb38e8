public import AsyncHTTPClient
import EucaCore
public import EucaSecurity
import Foundation
public import Hummingbird
public import HummingbirdTLS
public import Logging
import NIOSSL
import X509

/// TLS for the internal APIs: every daemon presents the certificate the cloud's CA issued it, and
/// every server checks its client's chain against the CA and its role against the one allowed.
public enum InternalTLS {
    /// A server configuration that admits only clients holding a certificate of `allowed` role,
    /// refusing (and logging) every other at the handshake.
    /// A server configuration that asks no certificate of clients: the web console's, for
    /// browsers.
    public static func publicServerConfiguration(identity: ComponentIdentity) throws -> TLSChannelConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.keyPEM.utf8), format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        return TLSChannelConfiguration(tlsConfiguration: tls)
    }

    public static func serverConfiguration(
        identity: ComponentIdentity, allowing allowed: ComponentRole, logger: Logger
    ) throws -> TLSChannelConfiguration {
        let ca = try CloudCA.verifier(caPEM: identity.caPEM)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.keyPEM.utf8), format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.minimumTLSVersion = .tlsv12
        return TLSChannelConfiguration(tlsConfiguration: tls) { certificates in
            let chain = certificates.compactMap { try? $0.toDERBytes() }
            switch await ca.verify(chain: chain) {
            case .success(let component) where component.role == allowed:
                return .certificateVerified
            case .success(let component):
                logger.warning("peer refused: wrong role", metadata: [
                    "peer.role": "\(component.role.rawValue)", "peer.name": "\(component.name)", "allowed": "\(allowed.rawValue)",
                ])
                return .failed
            case .failure(let error):
                logger.warning("peer refused", metadata: ["reason": "\(error.message)"])
                return .failed
            }
        }
    }

    /// An HTTP client that presents `identity` and trusts only the cloud's CA.
    public static func client(identity: ComponentIdentity, timeout: Duration = .seconds(30)) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(identity.caPEM.utf8)))
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.keyPEM.utf8), format: .pem))
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(Int64(timeout.components.seconds)))
        // A refused connection (the peer's daemon is down) fails the call at once rather than
        // being retried until the connect timeout: a node that is down is noticed at once.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

extension CloudCA {
    /// A verifier that holds only the CA certificate (a component has no CA key).
    static func verifier(caPEM: String) throws -> CloudCAVerifier {
        CloudCAVerifier(certificate: try Certificate(pemEncoded: caPEM))
    }
}

extension InternalTLS {
    /// Serves `router` over mutual TLS on a free port of 127.0.0.1, presenting `identity` and
    /// admitting `allowed`; returns the port once it listens, and the task that runs the server
    /// (cancel it to stop). For tests and benchmarks that put internal APIs on the wire.
    public static func serveOnLoopback(
        _ router: Router<BasicRequestContext>, identity: ComponentIdentity, allowing allowed: ComponentRole, logger: Logger
    ) async throws -> (port: Int, server: Task<Void, any Error>) {
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            server: try .tls(configuration: serverConfiguration(identity: identity, allowing: allowed, logger: logger)),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let server = Task { try await app.runService() }
        var next = ports.makeAsyncIterator()
        return (await next.next() ?? 0, server)
    }
}
