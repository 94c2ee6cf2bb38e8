import EucaCore
public import Crypto
import CryptoExtras
import Dispatch
import Foundation
import Synchronization

/// The cloud's master key: it seals the secrets the store keeps (access keys' secrets), so that
/// a copy of the store alone gives none of them away.
///
/// A sealed secret is AES-256-GCM over the secret, bound to a context (the access key's id): a
/// sealed value moved onto another record does not open.
public struct SecretSealer: Sendable {
    private let key: SymmetricKey

    /// The file name `loadOrCreate(directory:)` keeps the key in.
    public static let fileName = "master.key"

    public init(key: SymmetricKey) { self.key = key }

    /// A key that lives only as long as the process: for tests and in-memory clouds, never for a
    /// store that outlives it.
    public static func ephemeral() -> SecretSealer { SecretSealer(key: SymmetricKey(size: .bits256)) }

    /// The key in `directory/master.key`, made (32 random bytes, mode 0600) on the first start.
    /// Throws if the file exists but is not a key, rather than making another: a new key would
    /// leave every sealed secret unreadable.
    public static func loadOrCreate(directory: String) throws -> SecretSealer {
        let path = directory + "/" + fileName
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32
            else {
                throw EucaError(.internalFailure, nil, "\(path) is not a master key (32 bytes in base64); restore it from a backup.")
            }
            return SecretSealer(key: SymmetricKey(data: bytes))
        }
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = SymmetricKey(size: .bits256)
        try writePrivate(key.withUnsafeBytes { Data($0) }.base64EncodedString() + "\n", to: path)
        return SecretSealer(key: key)
    }

    /// `secret` sealed for `context`, as text for the store.
    public func seal(_ secret: String, context: String) -> String {
        // AES-GCM only fails on a key of the wrong size, which this type never holds.
        let box = try! AES.GCM.seal(Data(secret.utf8), using: key, authenticating: Data(context.utf8))
        return box.combined!.base64EncodedString()
    }

    /// The secret `sealed` holds, or nil if it was not sealed by this key for this context.
    public func open(_ sealed: String, context: String) -> String? {
        guard let data = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
        else { return nil }
        return String(data: plain, encoding: .utf8)
    }
}

/// A password as the store keeps it: scrypt's output with its salt and cost, never the password.
public struct PasswordHash: Sendable, Codable, Hashable {
    /// log2 of scrypt's cost N.
    public var logN: Int
    public var blockSize: Int
    public var parallelism: Int
    public var salt: String
    public var hash: String

    /// The cost new hashes are made with: N = 2^15, r = 8, p = 1 (32 MiB, tenths of a second):
    /// the parameters RFC 7914 and OWASP give for interactive logins.
    public static let defaultLogN = 15

    /// Hashes `password` with a fresh 16-byte salt, on the password queue (``PasswordWork``).
    public static func make(_ password: String, logN: Int = defaultLogN) async throws -> PasswordHash {
        try await PasswordWork.run { try makeNow(password, logN: logN) }
    }

    /// Whether `password` is the one hashed, on the password queue; throws `unavailable` when
    /// too many checks are waiting.
    public func matches(_ password: String) async throws -> Bool {
        let hash = self
        return try await PasswordWork.run { hash.matchesNow(password) }
    }

    /// Hashes `password` on the calling thread.
    public static func makeNow(_ password: String, logN: Int = defaultLogN) throws -> PasswordHash {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
        let hash = try derive(password, salt: salt, logN: logN, blockSize: 8, parallelism: 1)
        return PasswordHash(logN: logN, blockSize: 8, parallelism: 1, salt: salt.base64EncodedString(), hash: hash.base64EncodedString())
    }

    /// Whether `password` is the one hashed, compared in constant time, on the calling thread.
    public func matchesNow(_ password: String) -> Bool {
        guard let salt = Data(base64Encoded: salt), let expected = Data(base64Encoded: hash), (10...20).contains(logN),
            (1...16).contains(blockSize), (1...4).contains(parallelism),
            let derived = try? Self.derive(password, salt: salt, logN: logN, blockSize: blockSize, parallelism: parallelism),
            derived.count == expected.count
        else { return false }
        return zip(derived, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func derive(_ password: String, salt: Data, logN: Int, blockSize: Int, parallelism: Int) throws -> Data {
        let key = try KDF.Scrypt.deriveKey(
            from: Data(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: blockSize,
            parallelism: parallelism, maxMemory: 128 * blockSize * (1 << logN) * 2 + (1 << 20))
        return key.withUnsafeBytes { Data($0) }
    }
}

/// Where passwords are hashed: one at a time, on a thread of its own, so that sign-ins (which
/// anyone can send) take at most one core and never the threads the cloud's requests run on.
/// Beyond `maxWaiting` jobs, more are refused with `unavailable` rather than queued.
public enum PasswordWork {
    public static let maxWaiting = 32
    private static let queue = DispatchQueue(label: "euca.passwords")
    private static let waiting = Mutex(0)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let admitted = waiting.withLock { count -> Bool in
            guard count < maxWaiting else { return false }
            count += 1
            return true
        }
        guard admitted else { throw EucaError(.unavailable, nil, "Too many passwords are being checked; try again in a moment.") }
        defer { waiting.withLock { $0 -= 1 } }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
