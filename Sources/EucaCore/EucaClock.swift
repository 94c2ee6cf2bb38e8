public import Foundation

/// Where a controller reads the time and waits: the system's clock in the daemons, a manual one
/// (`ManualClock` in `EucaTesting`) in tests, so that time-dependent behaviour (leases,
/// reconciliation, polls, power management, caches) is tested by advancing time, not waiting.
public protocol EucaClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date
    /// Suspends for `duration` of this clock's time. Throws `CancellationError` when the task is
    /// cancelled first.
    func sleep(for duration: Duration) async throws
}

/// The system's clock.
public struct SystemClock: EucaClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

extension EucaClock where Self == SystemClock {
    /// The system's clock.
    public static var system: SystemClock { SystemClock() }
}

extension Date {
    /// This date moved by `duration`.
    public func adding(_ duration: Duration) -> Date {
        addingTimeInterval(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
