import EucaCore
import Foundation
import Logging

/// Each instance's life, appended to a file as a JSON line when it ends: when it was launched
/// (Unix seconds), how long it lived, and its size. `euca-sim run --trace FILE --sort` replays
/// the file: a real day of the cloud, run again with another policy.
///
/// Lines come in the order instances end, so a replay sorts them. Written once a second, and
/// at a clean stop; an instance that ends in the second before a crash may be missing.
struct InstanceEventLog: Sendable {
    let path: String
    let state: CloudState
    let logger: Logger

    /// One line: `{"time":…,"lifetime":…,"cores":…,"memoryMiB":…,"diskGiB":…,"name":"m1.small","instance":"i-…","zone":"…","account":"…"}`.
    static func line(_ instance: InstanceRecord) -> String {
        let launched = instance.launchTime.timeIntervalSince1970
        let lifetime = max(0, instance.stateChangedAt.timeIntervalSince(instance.launchTime))
        return "{\"time\":\(launched),\"lifetime\":\(lifetime),\"cores\":\(instance.vmType.cores),\"memoryMiB\":\(instance.vmType.memoryMiB),"
            + "\"diskGiB\":\(instance.vmType.diskGiB),\"name\":\"\(TextEscaping.json(instance.vmType.name))\","
            + "\"instance\":\"\(instance.id.rawValue)\",\"zone\":\"\(TextEscaping.json(instance.zone))\","
            + "\"account\":\"\(TextEscaping.json(instance.accountId.rawValue))\"}\n"
    }

    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            flush()
        }
    }

    /// Appends what ended since the last flush.
    func flush() {
        let ended = state.takeEnded()
        guard !ended.isEmpty else { return }
        let text = ended.map(Self.line).joined()
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]) else {
                logger.error("cannot create the event log", metadata: ["path": "\(path)"])
                return
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            logger.error("cannot open the event log", metadata: ["path": "\(path)"])
            return
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            logger.error("cannot write the event log", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
