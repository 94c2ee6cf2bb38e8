import EucaCore
import Foundation
import Testing

/// The one way the controllers run commands: exit status and standard error kept, and a command
/// that runs too long ended with whatever it started.
@Suite struct ChildProcessTests {
    @Test func theStatusAndStandardErrorComeBack() async throws {
        let (status, errors) = try await ChildProcess.run("/bin/sh", ["-c", "echo to stdout; echo 'went wrong' >&2; exit 3"])
        #expect(status == 3)
        #expect(errors == "went wrong")
        let large = try await ChildProcess.run("/bin/sh", ["-c", "head -c 300000 /dev/zero | tr '\\\\0' x >&2"])
        #expect(large.status == 0 && large.errors.utf8.count == 300_000)
    }

    @Test func aCommandAndWhatItStartedAreKilledAtTheTimeout() async throws {
        let started = ContinuousClock.now
        await #expect(throws: EucaError.self) {
            _ = try await ChildProcess.run("/bin/sh", ["-c", "sleep 30; true"], timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aMissingProgramIsAnError() async {
        await #expect(throws: EucaError.self) { _ = try await ChildProcess.run("/nonexistent/program", []) }
    }
}
