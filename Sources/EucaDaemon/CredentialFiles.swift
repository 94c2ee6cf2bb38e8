import EucaCloud
import EucaCore
public import EucaSecurity
import Foundation

/// The administrator's credentials as the aws CLI, boto3 and euca2ools read them.
public enum CredentialFiles {
    /// Writes `credentials`, `config` and `eucarc` (mode 0600) into `directory` (mode 0700).
    public static func write(to directory: String, key: AccessKey, region: String, endpoint: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, text) in CredentialBundle.files(key: key, region: region, endpoint: endpoint, directory: directory) {
            let path = directory + "/" + name
            guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }
}
