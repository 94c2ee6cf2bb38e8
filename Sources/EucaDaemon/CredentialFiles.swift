import EucaCore
public import EucaSecurity
import Foundation

/// The administrator's credentials as the aws CLI, boto3 and euca2ools read them.
public enum CredentialFiles {
    /// Writes `credentials`, `config` and `eucarc` (mode 0600) into `directory` (mode 0700).
    public static func write(to directory: String, key: AccessKey, region: String, endpoint: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, text) in texts(key: key, region: region, endpoint: endpoint, directory: directory) {
            let path = directory + "/" + name
            guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }

    /// The three files' text, for `key`, naming `directory` as where they are.
    static func texts(key: AccessKey, region: String, endpoint: String, directory: String) -> [String: String] {
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
                export EC2_URL=\(endpoint)/services/Eucalyptus
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
