public import EucaCore
import Foundation
import Crypto
import CryptoExtras

/// The two key types EC2 offers.
public enum KeyType: String, Sendable, Codable, Hashable, CaseIterable {
    case rsa
    case ed25519
}

/// A key pair made by the cloud: the private key, handed to the user once, and what the cloud
/// keeps (public key and fingerprint).
public struct GeneratedKeyPair: Sendable {
    public var type: KeyType
    /// For RSA, PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`); for ed25519, OpenSSH's own format.
    public var privateKeyMaterial: String
    /// The public key as an OpenSSH `authorized_keys` line (type and base64, no comment).
    public var openSSHPublicKey: String
    /// EC2's fingerprint for a created key: SHA-1 of the PKCS#8 DER private key (RSA), or the
    /// base64 SHA-256 of the public key blob (ed25519).
    public var fingerprint: String
}

/// A public key a user imported.
public struct ImportedPublicKey: Sendable, Hashable {
    public var type: KeyType
    public var openSSHPublicKey: String
    /// EC2's fingerprint for an imported key: MD5 of the DER public key (RSA), or the base64
    /// SHA-256 of the public key blob (ed25519).
    public var fingerprint: String
    public var bits: Int
}

/// Creates key pairs and parses imported public keys, with EC2's fingerprints.
public enum KeyPairs {
    /// RSA key sizes ImportKeyPair accepts, as EC2 does.
    public static let importableRSABits: Set<Int> = [1024, 2048, 3072, 4096]

    /// A new key pair of `type`: RSA-2048 or ed25519.
    public static func generate(_ type: KeyType) throws -> GeneratedKeyPair {
        switch type {
        case .rsa:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let primitives = try key.publicKey.getKeyPrimitives()
            let blob = SSHWire.rsaPublicBlob(exponent: [UInt8](primitives.publicExponent), modulus: [UInt8](primitives.modulus))
            return GeneratedKeyPair(
                type: .rsa,
                privateKeyMaterial: key.pemRepresentation,
                openSSHPublicKey: "ssh-rsa " + Data(blob).base64EncodedString(),
                fingerprint: Encoding.colonHex(Insecure.SHA1.hash(data: key.pkcs8DERRepresentation)))
        case .ed25519:
            let key = Curve25519.Signing.PrivateKey()
            let publicBytes = [UInt8](key.publicKey.rawRepresentation)
            let blob = SSHWire.ed25519PublicBlob(publicBytes)
            return GeneratedKeyPair(
                type: .ed25519,
                privateKeyMaterial: SSHWire.openSSHPrivateKey(
                    ed25519Seed: [UInt8](key.rawRepresentation), publicKey: publicBytes, comment: ""),
                openSSHPublicKey: "ssh-ed25519 " + Data(blob).base64EncodedString(),
                fingerprint: ed25519Fingerprint(blob))
        }
    }

    /// Parses public key material as ImportKeyPair receives it (already base64-decoded from the
    /// request): an OpenSSH line, an RFC 4716 block, a PEM public key (SPKI or PKCS#1), or DER.
    ///
    /// Throws `invalidKeyFormat` for anything else, for key types other than RSA and ed25519, and
    /// for RSA sizes EC2 does not import.
    public static func importPublicKey(_ material: [UInt8]) throws(EucaError) -> ImportedPublicKey {
        let bad = { (why: String) in EucaError(.invalidKeyFormat, .keyPair, "Key is not in valid OpenSSH public key format: \(why)") }
        if let text = String(validating: material, as: UTF8.self) {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.hasPrefix("---- BEGIN SSH2 PUBLIC KEY ----") {
                guard let blob = parseRFC4716(trimmed) else { throw bad("malformed RFC 4716 block") }
                return try fromBlob(blob, bad: bad)
            }
            if trimmed.hasPrefix("-----BEGIN") {
                return try fromPEM(trimmed, bad: bad)
            }
            if let line = trimmed.split(whereSeparator: \.isNewline).first, line.hasPrefix("ssh-") || line.hasPrefix("ecdsa-") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])) else {
                    throw bad("expected '<type> <base64 key> [comment]'")
                }
                let imported = try fromBlob([UInt8](blob), bad: bad)
                guard imported.openSSHPublicKey.hasPrefix(String(fields[0]) + " ") else {
                    throw bad("the key type \(fields[0]) does not match the key data")
                }
                return imported
            }
        }
        return try fromDER(material, bad: bad)
    }

    private static func fromBlob(_ blob: [UInt8], bad: (String) -> EucaError) throws(EucaError) -> ImportedPublicKey {
        var reader = SSHWire.Reader(blob)
        guard let type = reader.string().flatMap({ String(validating: $0, as: UTF8.self) }) else {
            throw bad("no key type in the key data")
        }
        switch type {
        case "ssh-rsa":
            guard let exponent = reader.string(), let modulus = reader.string(), reader.isAtEnd else {
                throw bad("truncated ssh-rsa key")
            }
            let der = DERBuilder.rsaSubjectPublicKeyInfo(modulus: modulus, exponent: exponent)
            return try rsa(der: der, bad: bad)
        case "ssh-ed25519":
            guard let key = reader.string(), key.count == 32, reader.isAtEnd else { throw bad("truncated ssh-ed25519 key") }
            return ed25519(key)
        default:
            throw bad("key type \(type) is not supported; use ssh-rsa or ssh-ed25519")
        }
    }

    private static func fromPEM(_ text: String, bad: (String) -> EucaError) throws(EucaError) -> ImportedPublicKey {
        if text.hasPrefix("-----BEGIN RSA PUBLIC KEY-----") || text.hasPrefix("-----BEGIN PUBLIC KEY-----") {
            if let key = try? _RSA.Signing.PublicKey(unsafePEMRepresentation: text) {
                return try rsa(der: [UInt8](key.derRepresentation), bad: bad)
            }
            if let key = try? Curve25519.Signing.PublicKey(pemRepresentation: text) {
                return ed25519([UInt8](key.rawRepresentation))
            }
            throw bad("the PEM block is not an RSA or ed25519 public key")
        }
        throw bad("a PEM block must be a PUBLIC KEY or RSA PUBLIC KEY")
    }

    private static func fromDER(_ bytes: [UInt8], bad: (String) -> EucaError) throws(EucaError) -> ImportedPublicKey {
        if let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: bytes) {
            return try rsa(der: [UInt8](key.derRepresentation), bad: bad)
        }
        if let key = try? Curve25519.Signing.PublicKey(derRepresentation: bytes) {
            return ed25519([UInt8](key.rawRepresentation))
        }
        throw bad("not an OpenSSH, RFC 4716, PEM or DER public key")
    }

    private static func rsa(der: [UInt8], bad: (String) -> EucaError) throws(EucaError) -> ImportedPublicKey {
        guard let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: der) else {
            throw bad("the RSA key could not be read")
        }
        guard importableRSABits.contains(key.keySizeInBits) else {
            throw bad("RSA keys must be 1024, 2048, 3072 or 4096 bits, not \(key.keySizeInBits)")
        }
        guard let primitives = try? key.getKeyPrimitives() else { throw bad("the RSA key could not be read") }
        let blob = SSHWire.rsaPublicBlob(exponent: [UInt8](primitives.publicExponent), modulus: [UInt8](primitives.modulus))
        return ImportedPublicKey(
            type: .rsa, openSSHPublicKey: "ssh-rsa " + Data(blob).base64EncodedString(),
            fingerprint: Encoding.colonHex(Insecure.MD5.hash(data: key.derRepresentation)), bits: key.keySizeInBits)
    }

    private static func ed25519(_ key: [UInt8]) -> ImportedPublicKey {
        let blob = SSHWire.ed25519PublicBlob(key)
        return ImportedPublicKey(
            type: .ed25519, openSSHPublicKey: "ssh-ed25519 " + Data(blob).base64EncodedString(),
            fingerprint: ed25519Fingerprint(blob), bits: 256)
    }

    /// Base64 (with padding) of the SHA-256 of the key blob, as EC2 shows ed25519 fingerprints.
    static func ed25519Fingerprint(_ blob: [UInt8]) -> String {
        Data(SHA256.hash(data: blob)).base64EncodedString()
    }

    /// The key blob of an RFC 4716 block: header lines (with `\` continuations) skipped, base64 joined.
    static func parseRFC4716(_ text: String) -> [UInt8]? {
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard lines.first == "---- BEGIN SSH2 PUBLIC KEY ----", lines.last == "---- END SSH2 PUBLIC KEY ----" else { return nil }
        lines = Array(lines.dropFirst().dropLast())
        var body = ""
        var continuing = false
        for line in lines {
            if continuing {
                continuing = line.hasSuffix("\\")
                continue
            }
            if line.contains(":") {
                continuing = line.hasSuffix("\\")
                continue
            }
            body += line
        }
        return Data(base64Encoded: body).map { [UInt8]($0) }
    }
}

/// SSH's wire encoding (RFC 4251) and OpenSSH's private key container.
enum SSHWire {
    static func string(_ bytes: [UInt8]) -> [UInt8] {
        let count = UInt32(bytes.count)
        return [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)] + bytes
    }

    static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }

    /// A non-negative integer from big-endian bytes as an mpint.
    static func mpint(_ bytes: [UInt8]) -> [UInt8] {
        var value = Array(bytes.drop { $0 == 0 })
        if let first = value.first, first & 0x80 != 0 { value.insert(0, at: 0) }
        return string(value)
    }

    static func rsaPublicBlob(exponent: [UInt8], modulus: [UInt8]) -> [UInt8] {
        string("ssh-rsa") + mpint(exponent) + mpint(modulus)
    }

    static func ed25519PublicBlob(_ key: [UInt8]) -> [UInt8] {
        string("ssh-ed25519") + string(key)
    }

    /// An unencrypted `openssh-key-v1` private key holding one ed25519 key, PEM-armoured.
    static func openSSHPrivateKey(ed25519Seed seed: [UInt8], publicKey: [UInt8], comment: String) -> String {
        let check = UInt32.random(in: 0...UInt32.max)
        let checkBytes = [UInt8(check >> 24), UInt8(check >> 16 & 0xFF), UInt8(check >> 8 & 0xFF), UInt8(check & 0xFF)]
        var secret = checkBytes + checkBytes
        secret += string("ssh-ed25519") + string(publicKey) + string(seed + publicKey) + string(comment)
        var pad: UInt8 = 1
        while secret.count % 8 != 0 {
            secret.append(pad)
            pad += 1
        }
        var blob = Array("openssh-key-v1".utf8) + [0]
        blob += string("none") + string("none") + string([UInt8]()) + [0, 0, 0, 1]
        blob += string(ed25519PublicBlob(publicKey)) + string(secret)
        let base64 = Data(blob).base64EncodedString()
        var lines: [String] = []
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 70, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + lines.joined(separator: "\n") + "\n-----END OPENSSH PRIVATE KEY-----\n"
    }

    struct Reader {
        private let bytes: [UInt8]
        private var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var isAtEnd: Bool { offset == bytes.count }

        mutating func string() -> [UInt8]? {
            guard bytes.count - offset >= 4 else { return nil }
            let count = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
    }
}

/// Just enough DER to wrap an RSA modulus and exponent as a SubjectPublicKeyInfo.
enum DERBuilder {
    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var value = count
        while value > 0 {
            bytes.insert(UInt8(value & 0xFF), at: 0)
            value >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }

    static func integer(_ bytes: [UInt8]) -> [UInt8] {
        var value = Array(bytes.drop { $0 == 0 })
        if value.isEmpty { value = [0] }
        if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
        return tlv(0x02, value)
    }

    static func rsaSubjectPublicKeyInfo(modulus: [UInt8], exponent: [UInt8]) -> [UInt8] {
        let rsaEncryption: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
        let algorithm = tlv(0x30, rsaEncryption + [0x05, 0x00])
        let pkcs1 = tlv(0x30, integer(modulus) + integer(exponent))
        return tlv(0x30, algorithm + tlv(0x03, [0x00] + pkcs1))
    }
}
