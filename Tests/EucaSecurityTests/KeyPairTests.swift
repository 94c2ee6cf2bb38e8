import EucaCore
import EucaSecurity
import Foundation
import Testing

/// Runs a shell command and returns its standard output; a failure fails the test.
func shell(_ command: String, input: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let output = Pipe()
    let stdin = Pipe()
    process.standardOutput = output
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ShellFailure(command: command, status: process.terminationStatus)
    }
    return String(decoding: data, as: UTF8.self)
}

struct ShellFailure: Error { var command: String; var status: Int32 }

func scratchDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("euca-keys-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let toolsAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

@Suite(.enabled(if: toolsAvailable, "needs ssh-keygen and openssl (Debian: openssh-client, openssl)"))
struct KeyPairTests {
    @Test func createdRSAKeysMatchOpenSSL() throws {
        let pair = try KeyPairs.generate(.rsa)
        #expect(pair.privateKeyMaterial.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try pair.privateKeyMaterial.write(toFile: "\(dir)/k.pem", atomically: true, encoding: .utf8)
        _ = try shell("chmod 600 \(dir)/k.pem")
        #expect(try shell("openssl rsa -check -noout -in \(dir)/k.pem").contains("RSA key ok"))
        let sha1 = try shell("openssl pkcs8 -topk8 -nocrypt -outform DER -in \(dir)/k.pem | openssl sha1 -c")
        #expect(sha1.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(pair.fingerprint))
        let line = try shell("ssh-keygen -y -f \(dir)/k.pem").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix(pair.openSSHPublicKey))
    }

    @Test func createdEd25519KeysMatchOpenSSH() throws {
        let pair = try KeyPairs.generate(.ed25519)
        #expect(pair.privateKeyMaterial.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----"))
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try pair.privateKeyMaterial.write(toFile: "\(dir)/k", atomically: true, encoding: .utf8)
        _ = try shell("chmod 600 \(dir)/k")
        let line = try shell("ssh-keygen -y -f \(dir)/k").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix(pair.openSSHPublicKey))
        let listed = try shell("ssh-keygen -l -E sha256 -f \(dir)/k")
        let expected = "SHA256:" + pair.fingerprint.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        #expect(listed.contains(expected), "\(listed) lacks \(expected)")
    }

    @Test func importedRSAKeysGetTheSameMD5FingerprintInEveryFormat() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try shell("ssh-keygen -q -t rsa -b 2048 -N '' -C me@example -f \(dir)/k")
        let openssh = try String(contentsOfFile: "\(dir)/k.pub", encoding: .utf8)
        let rfc4716 = try shell("ssh-keygen -e -f \(dir)/k.pub")
        let spki = try shell("ssh-keygen -e -m PKCS8 -f \(dir)/k.pub")
        let pkcs1 = try shell("ssh-keygen -e -m PEM -f \(dir)/k.pub")
        try spki.write(toFile: "\(dir)/spki.pem", atomically: true, encoding: .utf8)
        _ = try shell("openssl pkey -pubin -in \(dir)/spki.pem -outform DER -out \(dir)/spki.der")
        let md5 = try shell("openssl md5 -c < \(dir)/spki.der").split(separator: " ").last.map(String.init)?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let derBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/spki.der")))
        let forms: [(String, [UInt8])] = [
            ("OpenSSH", Array(openssh.utf8)), ("RFC 4716", Array(rfc4716.utf8)),
            ("PEM SPKI", Array(spki.utf8)), ("PEM PKCS#1", Array(pkcs1.utf8)), ("DER", derBytes),
        ]
        for (name, material) in forms {
            let imported = try KeyPairs.importPublicKey(material)
            #expect(imported.type == .rsa, "\(name)")
            #expect(imported.fingerprint == md5, "\(name): \(imported.fingerprint) != \(md5 ?? "")")
            #expect(openssh.hasPrefix(imported.openSSHPublicKey), "\(name)")
            #expect(imported.bits == 2048)
        }
    }

    @Test func importedEd25519KeysGetOpenSSHsSHA256() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try shell("ssh-keygen -q -t ed25519 -N '' -C me -f \(dir)/k")
        let openssh = try String(contentsOfFile: "\(dir)/k.pub", encoding: .utf8)
        let listed = try shell("ssh-keygen -l -E sha256 -f \(dir)/k.pub")
        for material in [openssh, try shell("ssh-keygen -e -f \(dir)/k.pub")] {
            let imported = try KeyPairs.importPublicKey(Array(material.utf8))
            #expect(imported.type == .ed25519)
            #expect(listed.contains("SHA256:" + imported.fingerprint.trimmingCharacters(in: CharacterSet(charactersIn: "="))))
        }
    }

    @Test func keysEC2DoesNotImportAreInvalidKeyFormat() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try shell("ssh-keygen -q -t ecdsa -N '' -f \(dir)/ec")
        _ = try shell("ssh-keygen -q -t rsa -b 1536 -N '' -f \(dir)/odd")
        let bad: [[UInt8]] = [
            Array("not a key at all".utf8),
            Array(try String(contentsOfFile: "\(dir)/ec.pub", encoding: .utf8).utf8),
            Array(try String(contentsOfFile: "\(dir)/odd.pub", encoding: .utf8).utf8),
            Array("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== truncated".utf8),
            Array("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ==".utf8),
            [0x30, 0x03, 0x02, 0x01, 0x00],
        ]
        for material in bad {
            #expect {
                try KeyPairs.importPublicKey(material)
            } throws: { ($0 as? EucaError)?.code == .invalidKeyFormat }
        }
    }

    @Test func a1024BitRSAKeyIsImported() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try shell("ssh-keygen -q -t rsa -b 1024 -N '' -f \(dir)/k")
        let imported = try KeyPairs.importPublicKey(Array(try String(contentsOfFile: "\(dir)/k.pub", encoding: .utf8).utf8))
        #expect(imported.bits == 1024)
    }
}
