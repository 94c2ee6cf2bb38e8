public import EucaCloud
public import EucaConsole
public import EucaCore
import EucaHTTP
public import EucaSecurity
import EucaWire
import Foundation
import Hummingbird
import HummingbirdTLS
public import Logging
public import ServiceLifecycle
import X509

/// The web console on its own HTTPS server (`CONSOLE_PORT`, 8443 by default), with a certificate
/// the cloud's CA issues it at each start for the names users reach it at.
public enum ConsoleServer {
    /// The console's service, or nil when `CONSOLE_PORT` is `off`. `onRunning` is told its URL.
    public static func make(
        cloud: CloudController, authority: CloudCA, settings: ConsoleSettings, hosts: [String], limits: HTTPLimits, logger: Logger,
        onRunning: @escaping @Sendable (_ url: String) async -> Void = { _ in }
    ) throws -> (any Service)? {
        guard let port = settings.port else { return nil }
        let console = try WebConsole(cloud: cloud, authority: authority, logger: logger)
        let router = Router(context: ConsoleRequestContext.self)
        console.addRoutes(to: router)
        let names = Array(Set(hosts + ["localhost", "127.0.0.1"])).sorted()
        let (keyPEM, csrPEM) = try ComponentIdentity.newKey(name: "console")
        let request = try CertificateSigningRequest(pemEncoded: csrPEM)
        let certificate = try authority.issueConsole(publicKey: request.publicKey, hosts: names)
        let identity = ComponentIdentity(keyPEM: keyPEM, certificatePEM: try certificate.serializeAsPEM().pemString, caPEM: authority.certificatePEM)
        let shown = hosts.first ?? settings.host
        return Application(
            router: router,
            server: try .tls(GuardedHTTP.http1(limits, name: "console"), configuration: InternalTLS.publicServerConfiguration(identity: identity)),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: port), serverName: "Euca console"),
            onServerRunning: { channel in
                let url = "https://\(shown.contains(":") ? "[\(shown)]" : shown):\(channel.localAddress?.port ?? port)/"
                logger.info("web console listening", metadata: ["url": "\(url)"])
                await onRunning(url)
            },
            logger: logger)
    }
}
