import Crypto
import CryptoExtras
public import EucaCore
public import Foundation
import SwiftASN1
public import X509

/// The part a component plays, carried in its certificate (as `OU=euca-<role>`).
public enum ComponentRole: String, Sendable, Codable, Hashable, CaseIterable {
    /// The cloud controller.
    case clc
    /// A cluster controller.
    case cc
    /// A node controller.
    case nc

    var organizationalUnit: String { "euca-\(rawValue)" }
}

/// What a certificate says about the component holding it.
public struct ComponentName: Sendable, Hashable {
    public var role: ComponentRole
    public var name: String
}

/// The cloud's certificate authority: created by the cloud controller on its first start, it
/// signs the certificate of every component when it joins. Its key never leaves the cloud
/// controller's disk (mode 0600).
public struct CloudCA: Sendable {
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    /// Loads the CA from `directory` (`ca.crt`, `ca.key`), creating it on the first start.
    public static func loadOrCreate(directory: String) throws -> CloudCA {
        let certificatePath = directory + "/ca.crt", keyPath = directory + "/ca.key"
        if let pem = try? String(contentsOfFile: certificatePath, encoding: .utf8),
            let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8)
        {
            return CloudCA(certificate: try Certificate(pemEncoded: pem), key: try P256.Signing.PrivateKey(pemRepresentation: keyPEM))
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Euca cloud")
            CommonName("Euca cloud CA \(Encoding.hex(SHA256.hash(data: key.publicKey.derRepresentation).prefix(4)))")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(20 * 365 * 86400),
            issuer: name, subject: name,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try writePrivate(key.pemRepresentation, to: keyPath)
        try writePrivate(try certificate.serializeAsPEM().pemString, to: certificatePath)
        return CloudCA(certificate: certificate, key: key)
    }

    init(certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// The CA certificate in PEM.
    public var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    /// Lowercase hex SHA-256 of the CA certificate's DER: what a join token pins.
    public var fingerprint: String { Self.fingerprint(of: certificate) }

    public static func fingerprint(of certificate: Certificate) -> String {
        var serializer = DER.Serializer()
        try? serializer.serialize(certificate)
        return Encoding.hex(SHA256.hash(data: serializer.serializedBytes))
    }

    /// Issues a certificate for a component's public key, for `validity` from now, naming `hosts`
    /// (DNS names or IP addresses) as its subject alternative names.
    public func issue(
        publicKey: Certificate.PublicKey, role: ComponentRole, name: String, hosts: [String],
        validity: TimeInterval = 5 * 365 * 86400, notBefore: Date = Date().addingTimeInterval(-300)
    ) throws -> Certificate {
        try issue(
            publicKey: publicKey, unit: role.organizationalUnit, name: name, hosts: hosts, usages: [.serverAuth, .clientAuth],
            validity: validity, notBefore: notBefore)
    }

    /// The organizational unit of the web console's certificate: no component role.
    public static let consoleUnit = "euca-console"

    /// Issues the web console's certificate: a server's only (no client authentication, no
    /// component role), for `hosts`.
    public func issueConsole(publicKey: Certificate.PublicKey, hosts: [String]) throws -> Certificate {
        try issue(publicKey: publicKey, unit: Self.consoleUnit, name: "console", hosts: hosts, usages: [.serverAuth])
    }

    private func issue(
        publicKey: Certificate.PublicKey, unit: String, name: String, hosts: [String], usages: [ExtendedKeyUsage.Usage],
        validity: TimeInterval = 5 * 365 * 86400, notBefore: Date = Date().addingTimeInterval(-300)
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            OrganizationName("Euca cloud")
            OrganizationalUnitName(unit)
            CommonName(name)
        }
        let names = hosts.map { host -> GeneralName in
            if let bytes = Self.ipBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
            return .dnsName(host)
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: notBefore, notValidAfter: notBefore.addingTimeInterval(validity + 300),
            issuer: certificate.subject, subject: subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(usages)
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(key))
    }

    /// The organizational unit of users' certificates: no component role, so the internal API
    /// never takes one (``component(of:)`` names no component for it).
    public static let userUnit = "euca-user"

    /// A new RSA key and a certificate for a user of an account, as Eucalyptus gave users in
    /// their credentials (euca2ools sign bundles with them): `CN=<user>`, `OU=euca-user`,
    /// `O=<account id>`, for client authentication and signatures only.
    public func issueUser(
        account: AccountID, user: String, validity: TimeInterval = 5 * 365 * 86400, notBefore: Date = Date().addingTimeInterval(-300)
    ) throws -> (keyPEM: String, certificate: Certificate) {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let subject = try DistinguishedName {
            OrganizationName(account.rawValue)
            OrganizationalUnitName(Self.userUnit)
            CommonName(user)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notBefore.addingTimeInterval(validity + 300),
            issuer: certificate.subject, subject: subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.clientAuth])
            },
            issuerPrivateKey: .init(self.key))
        return (key.pemRepresentation, certificate)
    }

    /// Issues a certificate for the key in a PEM certificate signing request. The subject comes
    /// from the CA (role and name), not from the request.
    public func issue(csrPEM: String, role: ComponentRole, name: String, hosts: [String]) throws -> Certificate {
        let request = try CertificateSigningRequest(pemEncoded: csrPEM)
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw EucaError(.invalidParameter, .parameter, "the certificate request's signature does not verify")
        }
        return try issue(publicKey: request.publicKey, role: role, name: name, hosts: hosts)
    }

    /// The role and name a certificate names, if it is a component certificate.
    public static func component(of certificate: Certificate) -> ComponentName? {
        var unit: String?, common: String?
        for rdn in certificate.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.organizationalUnitName { unit = String(describing: attribute.value) }
                if attribute.type == .RDNAttributeType.commonName { common = String(describing: attribute.value) }
            }
        }
        guard let unit, unit.hasPrefix("euca-"), let role = ComponentRole(rawValue: String(unit.dropFirst(5))), let common else {
            return nil
        }
        return ComponentName(role: role, name: common)
    }

    /// Checks that `chain` (leaf first, DER) leads to this CA and is valid now, and returns what
    /// its leaf names.
    public func verify(chain: [[UInt8]]) async -> Result<ComponentName, EucaError> {
        await CloudCAVerifier(certificate: certificate).verify(chain: chain)
    }

    static func ipBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

/// A component's own key and certificate, as issued by the cloud's CA.
public struct ComponentIdentity: Sendable {
    public var keyPEM: String
    public var certificatePEM: String
    public var caPEM: String

    public init(keyPEM: String, certificatePEM: String, caPEM: String) {
        self.keyPEM = keyPEM
        self.certificatePEM = certificatePEM
        self.caPEM = caPEM
    }

    /// A new key and a certificate signing request for it.
    public static func newKey(name: String) throws -> (keyPEM: String, csrPEM: String) {
        let key = P256.Signing.PrivateKey()
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(name) }, privateKey: .init(key),
            attributes: CertificateSigningRequest.Attributes())
        return (key.pemRepresentation, try request.serializeAsPEM().pemString)
    }

    /// Loads `key.pem`, `cert.pem` and `ca.pem` from `directory`, or nil when it holds none.
    public static func load(directory: String) -> ComponentIdentity? {
        guard let key = try? String(contentsOfFile: directory + "/key.pem", encoding: .utf8),
            let certificate = try? String(contentsOfFile: directory + "/cert.pem", encoding: .utf8),
            let ca = try? String(contentsOfFile: directory + "/ca.pem", encoding: .utf8)
        else { return nil }
        return ComponentIdentity(keyPEM: key, certificatePEM: certificate, caPEM: ca)
    }

    /// Writes the identity into `directory`; the key with mode 0600.
    public func save(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try writePrivate(keyPEM, to: directory + "/key.pem")
        try writePrivate(certificatePEM, to: directory + "/cert.pem")
        try writePrivate(caPEM, to: directory + "/ca.pem")
    }

    /// The role and name the certificate gives this component.
    public var component: ComponentName? {
        (try? Certificate(pemEncoded: certificatePEM)).flatMap(CloudCA.component(of:))
    }
}

/// Writes `text` to `path` readable by the owner only.
func writePrivate(_ text: String, to path: String) throws {
    let manager = FileManager.default
    if manager.fileExists(atPath: path) { try manager.removeItem(atPath: path) }
    guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}

/// Checks component certificates against the cloud's CA certificate (no key needed).
public struct CloudCAVerifier: Sendable {
    public let certificate: Certificate

    public init(certificate: Certificate) { self.certificate = certificate }

    /// Checks that `chain` (leaf first, DER) leads to this CA and is valid now, and returns what
    /// its leaf names.
    public func verify(chain: [[UInt8]]) async -> Result<ComponentName, EucaError> {
        guard let leafBytes = chain.first, let leaf = try? Certificate(derEncoded: leafBytes) else {
            return .failure(EucaError(.authFailure, nil, "no client certificate"))
        }
        let intermediates = chain.dropFirst().compactMap { try? Certificate(derEncoded: $0) }
        var verifier = Verifier(rootCertificates: CertificateStore([certificate])) { RFC5280Policy() }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
        case .validCertificate:
            guard let component = CloudCA.component(of: leaf) else {
                return .failure(EucaError(.authFailure, nil, "the certificate names no Euca component"))
            }
            return .success(component)
        case .couldNotValidate(let failures):
            let reason = failures.first.map { "\($0.policyFailureReason)" } ?? "no chain to the cloud's CA"
            return .failure(EucaError(.authFailure, nil, "certificate refused: \(reason)"))
        }
    }

}
