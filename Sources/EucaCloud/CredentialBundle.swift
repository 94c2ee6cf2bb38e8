public import EucaCore
public import EucaSecurity
import Crypto
public import Foundation
import X509

/// A user's credentials as one zip file, as Eucalyptus handed them out: `eucarc` for euca2ools
/// and the shell, an aws CLI `credentials` and `config` pair, the user's certificate and key
/// (issued afresh by the cloud's CA for each bundle), and the CA's certificate.
public enum CredentialBundle {
    /// The bundle for `user` of `account`: its first active access key (one is made if it has
    /// none) and a new certificate, which the user's record keeps (never its key).
    public static func make(
        cloud: CloudController, authority: CloudCA, account: AccountID, user: String, endpoint: String, region: String,
        now: Date = Date()
    ) async throws -> [UInt8] {
        guard let record = cloud.users.user(user, of: account) else { throw UserService.noSuchUser(user) }
        let key = try await cloud.users.activeKey(of: record.name, in: account)
        let (keyPEM, certificate) = try authority.issueUser(account: account, user: record.name)
        let certificatePEM = try certificate.serializeAsPEM().pemString
        let id = CloudCA.fingerprint(of: certificate).uppercased()
        try await cloud.users.addCertificate(certificatePEM, id: id, for: record.name, in: account)
        let prefix = "euca2-\(record.name)-\(id.prefix(8).lowercased())"
        var files = Self.files(key: key, region: region, endpoint: endpoint, directory: "${EUCA_KEY_DIR}")
        files["eucarc"] = """
            EUCA_KEY_DIR=$(cd "$(dirname "${BASH_SOURCE:-$0}")" && pwd -P)
            \(files["eucarc"] ?? "")export EUARE_URL=\(endpoint)\(ServicePaths.iam)
            # The image store's S3 path, as Eucalyptus named it; its S3 API is not offered yet.
            export S3_URL=\(endpoint)\(ServicePaths.s3)
            export EC2_USER_ID=\(account.rawValue)
            export EC2_CERT=${EUCA_KEY_DIR}/\(prefix)-cert.pem
            export EC2_PRIVATE_KEY=${EUCA_KEY_DIR}/\(prefix)-pk.pem
            export EUCALYPTUS_CERT=${EUCA_KEY_DIR}/cloud-cert.pem

            """
        files["\(prefix)-cert.pem"] = certificatePEM
        files["\(prefix)-pk.pem"] = keyPEM
        files["cloud-cert.pem"] = authority.certificatePEM
        return ZipArchive.stored(files.sorted { $0.key < $1.key }.map { ($0.key, Array($0.value.utf8)) }, modified: now)
    }

    /// The text of `credentials`, `config` and `eucarc` for `key`, naming `directory` as where
    /// they are: what the daemons write for the administrator and each bundle holds.
    public static func files(key: AccessKey, region: String, endpoint: String, directory: String) -> [String: String] {
        [
            "credentials": """
                [default]
                aws_access_key_id = \(key.accessKeyId)
                aws_secret_access_key = \(key.secretAccessKey)

                """,
            "config": """
                [default]
                region = \(region)
                output = json
                endpoint_url = \(endpoint)

                """,
            "eucarc": """
                # Euca credentials for the account \(key.accountId) (user \(key.userName)).
                export EC2_URL=\(endpoint)\(ServicePaths.ec2)
                export EC2_ACCESS_KEY=\(key.accessKeyId)
                export EC2_SECRET_KEY=\(key.secretAccessKey)
                export AWS_ACCESS_KEY_ID=\(key.accessKeyId)
                export AWS_SECRET_ACCESS_KEY=\(key.secretAccessKey)
                export AWS_DEFAULT_REGION=\(region)
                export AWS_ENDPOINT_URL=\(endpoint)
                export AWS_SHARED_CREDENTIALS_FILE=\(directory)/credentials
                export AWS_CONFIG_FILE=\(directory)/config

                """,
        ]
    }
}

/// Where the cloud's Query services are on its endpoint, as Eucalyptus placed them.
public enum ServicePaths {
    public static let ec2 = "/services/Eucalyptus"
    /// IAM's, as Eucalyptus named its IAM-compatible service (Euare).
    public static let iam = "/services/Euare"
    /// The image store's S3 path (Walrus).
    public static let s3 = "/services/Walrus"
}

/// A zip archive of files stored as they are (no compression): what `unzip`, Python's
/// `zipfile` and browsers read. Each file is readable by its owner only once unpacked.
enum ZipArchive {
    static func stored(_ entries: [(name: String, data: [UInt8])], modified: Date) -> [UInt8] {
        let t = UTCTime(modified)
        let time = UInt16(t.hour << 11 | t.minute << 5 | t.second / 2)
        let date = UInt16(max(t.year - 1980, 0) << 9 | t.month << 5 | t.day)
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ value: UInt16, _ into: inout [UInt8]) { into += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        func u32(_ value: UInt32, _ into: inout [UInt8]) { for shift in stride(from: 0, to: 32, by: 8) { into.append(UInt8((value >> UInt32(shift)) & 0xFF)) } }
        for (name, data) in entries {
            let offset = UInt32(out.count), crc = crc32(data), nameBytes = Array(name.utf8)
            u32(0x0403_4B50, &out)
            u16(20, &out); u16(0x0800, &out); u16(0, &out); u16(time, &out); u16(date, &out)
            u32(crc, &out); u32(UInt32(data.count), &out); u32(UInt32(data.count), &out)
            u16(UInt16(nameBytes.count), &out); u16(0, &out)
            out += nameBytes + data
            u32(0x0201_4B50, &central)
            u16(0x031E, &central); u16(20, &central); u16(0x0800, &central); u16(0, &central); u16(time, &central); u16(date, &central)
            u32(crc, &central); u32(UInt32(data.count), &central); u32(UInt32(data.count), &central)
            u16(UInt16(nameBytes.count), &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(UInt32(0o100600) << 16, &central); u32(offset, &central)
            central += nameBytes
        }
        let centralOffset = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out)
        u16(0, &out); u16(0, &out); u16(UInt16(entries.count), &out); u16(UInt16(entries.count), &out)
        u32(UInt32(central.count), &out); u32(centralOffset, &out); u16(0, &out)
        return out
    }

    private static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    /// CRC-32 as zip takes it (ISO 3309).
    static func crc32(_ data: [UInt8]) -> UInt32 {
        ~data.reduce(~UInt32(0)) { table[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) }
    }
}
