import Foundation
import Synchronization

/// A command the controllers run (qemu-img, QEMU for the KVM probe, the operator's power
/// commands): started without a shell unless the caller names one, its standard error kept for
/// the error message, ended with SIGKILL when the waiting task is cancelled or its time is up.
public final class ChildProcess: @unchecked Sendable {
    // `Process` is safe for these calls from any thread, but is not marked Sendable.
    private let process: Process
    /// What the command wrote to standard error so far, read as it comes (so a chatty command
    /// never blocks on a full pipe), and whether the pipe has ended.
    private let errorOutput = Mutex<(data: Data, ended: Bool)>((Data(), false))
    /// What it wrote to standard output, when the caller asked to keep it.
    private let standardOutput = Mutex<(data: Data, ended: Bool)>((Data(), true))
    /// The exit status once the command has ended, and the tasks waiting for it until then.
    private let exit = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    private init(process: Process) {
        self.process = process
    }

    private func ended(_ status: Int32) {
        let waiters = exit.withLock { exit in
            exit.status = status
            defer { exit.waiters = [] }
            return exit.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// Starts `executable` with `arguments` (and `environment`, or the controller's own);
    /// `keepOutput` keeps what it writes to standard output (``output``), which is otherwise dropped.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, keepOutput: Bool = false
    ) throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let errors = Pipe()
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let child = ChildProcess(process: process)
        child.drain(errors, output: false)
        if keepOutput {
            let output = Pipe()
            process.standardOutput = output
            child.standardOutput.withLock { $0.ended = false }
            child.drain(output, output: true)
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        process.terminationHandler = { finished in child.ended(finished.terminationStatus) }
        do {
            try process.run()
        } catch {
            throw EucaError(.internalFailure, nil, "cannot run \(executable): \(error)")
        }
        return child
    }

    /// Reads `pipe` on a thread of its own with plain read(2): a child the command leaves behind
    /// may hold the pipe open long after the command ended.
    private func drain(_ pipe: Pipe, output: Bool) {
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        Thread.detachNewThread {
            var bytes = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(descriptor, &bytes, bytes.count)
                if count < 0 && errno == EINTR { continue }
                let chunk = count > 0 ? Data(bytes[0..<count]) : Data()
                if output {
                    self.standardOutput.withLock { kept in if count <= 0 { kept.ended = true } else { kept.data.append(chunk) } }
                } else {
                    self.errorOutput.withLock { kept in if count <= 0 { kept.ended = true } else { kept.data.append(chunk) } }
                }
                if count <= 0 { break }
            }
        }
    }

    /// What the command wrote to standard output so far (empty unless started with `keepOutput`).
    public var output: String { String(decoding: standardOutput.withLock { $0.data }, as: UTF8.self) }

    public var isRunning: Bool { process.isRunning }

    /// Ends the command at once, with whatever it started: Foundation starts each child as the
    /// leader of a process group of its own, and the whole group is killed.
    public func kill() {
        let pid = process.processIdentifier
        if pid > 0, process.isRunning { Foundation.kill(-pid, SIGKILL) }
    }

    /// Waits for the command to end; returns its exit status and what it wrote to standard error.
    /// Cancelling the waiting task ends the command.
    public func wait() async -> (status: Int32, errors: String) {
        let status = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
                let status = exit.withLock { exit -> Int32? in
                    if exit.status == nil { exit.waiters.append(continuation) }
                    return exit.status
                }
                if let status { continuation.resume(returning: status) }
            }
        } onCancel: {
            kill()
        }
        // What the command wrote just before it ended may still be on its way; a child it left
        // behind may hold the pipe open, so wait for the end only briefly.
        for _ in 0..<20 where !errorOutput.withLock({ $0.ended }) || !standardOutput.withLock({ $0.ended }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let output = errorOutput.withLock { $0.data }
        return (status, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs a command to its end, or kills it after `timeout`.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration? = nil
    ) async throws -> (status: Int32, errors: String) {
        let result = try await runKeepingOutput(executable, arguments, environment: environment, timeout: timeout, keepOutput: false)
        return (result.status, result.errors)
    }

    /// ``run(_:_:environment:timeout:)``, also returning what the command wrote to standard output.
    public static func runKeepingOutput(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration? = nil,
        keepOutput: Bool = true
    ) async throws -> (status: Int32, errors: String, output: String) {
        let child = try start(executable, arguments, environment: environment, keepOutput: keepOutput)
        guard let timeout else {
            let finished = await child.wait()
            return (finished.status, finished.errors, child.output)
        }
        return try await withThrowingTaskGroup(of: (status: Int32, errors: String)?.self) { group in
            group.addTask { await child.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let finished = first else {
                child.kill()
                _ = await child.wait()
                throw EucaError(.unavailable, nil, "\(executable) did not finish within \(timeout)")
            }
            return (finished.status, finished.errors, child.output)
        }
    }
}
