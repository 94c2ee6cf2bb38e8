public import EucaCore
import Foundation
import Synchronization

/// Who a console session belongs to, once its user has signed in.
public struct ConsoleUser: Sendable, Hashable {
    public var accountId: AccountID
    public var accountName: String
    public var userName: String
    /// Whether the account administers the cloud (its users see the administrator's pages).
    public var isCloudAdmin: Bool
    /// The password hash the user signed in with: a session ends when it changes or goes.
    var password: String
}

/// One browser's session: a random id (its cookie) and a random CSRF token every form carries.
/// A session starts signed out, when a page with a form is first shown, and gets a new id when
/// its user signs in, so that an id seen before sign-in is worth nothing after it.
struct ConsoleSession: Sendable {
    var id: String
    var csrf: String
    var user: ConsoleUser?
    var created: Date
    var lastSeen: Date
    /// A line for the next page shown (what the last form did), shown once.
    var notice: String?
}

/// The console's sessions, in memory: a restart signs everyone out.
final class ConsoleSessions: Sendable {
    private let sessions = Mutex<[String: ConsoleSession]>([:])
    let idleTimeout: TimeInterval
    let maxAge: TimeInterval
    /// The most sessions held; past it the least recently seen go first.
    let capacity: Int

    init(idleTimeout: TimeInterval = 30 * 60, maxAge: TimeInterval = 8 * 3600, capacity: Int = 10_000) {
        self.idleTimeout = idleTimeout
        self.maxAge = maxAge
        self.capacity = capacity
    }

    /// The live session with this id, seen now.
    func session(_ id: String?, now: Date) -> ConsoleSession? {
        guard let id, !id.isEmpty else { return nil }
        return sessions.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            guard now.timeIntervalSince(session.lastSeen) < idleTimeout, now.timeIntervalSince(session.created) < maxAge else {
                sessions[id] = nil
                return nil
            }
            session.lastSeen = now
            sessions[id] = session
            return session
        }
    }

    /// A new session, signed in as `user` or signed out.
    func start(_ user: ConsoleUser?, now: Date) -> ConsoleSession {
        let session = ConsoleSession(id: Self.token(), csrf: Self.token(), user: user, created: now, lastSeen: now)
        sessions.withLock { sessions in
            // Signed-out sessions, which anyone can make, only ever make room among themselves:
            // a flood of them never signs a user out.
            let signedIn = user != nil
            let kind = sessions.values.filter { ($0.user != nil) == signedIn }
            if kind.count >= capacity {
                let stale = kind.filter { now.timeIntervalSince($0.lastSeen) >= idleTimeout }.map(\.id)
                for id in stale { sessions[id] = nil }
                if stale.isEmpty, let oldest = kind.min(by: { $0.lastSeen < $1.lastSeen }) { sessions[oldest.id] = nil }
            }
            sessions[session.id] = session
        }
        return session
    }

    /// Keeps `text` for the session's next page.
    func note(_ text: String, for id: String) {
        sessions.withLock { $0[id]?.notice = text }
    }

    /// The session's notice, taken: the next page shows it, and no page after.
    func takeNotice(_ id: String) -> String? {
        sessions.withLock { sessions in
            defer { sessions[id]?.notice = nil }
            return sessions[id]?.notice
        }
    }

    func end(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// 32 random bytes, URL-safe base64.
    static func token() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Failed sign-ins, counted per user and per client address over a sliding window: past either
/// limit, sign-ins are refused (with the right password too) until the oldest failure ages out.
final class LoginLimiter: Sendable {
    struct Limits: Sendable {
        var perUser = 5
        var perAddress = 50
        var window: TimeInterval = 15 * 60
    }

    let limits: Limits
    private let failures = Mutex<[String: [Date]]>([:])

    init(limits: Limits = Limits()) { self.limits = limits }

    /// Nil when a sign-in may be tried; otherwise how long until it may.
    func wait(user: String, address: String, now: Date) -> TimeInterval? {
        failures.withLock { failures in
            var longest: TimeInterval?
            for (key, limit) in [("user:" + user, limits.perUser), ("address:" + address, limits.perAddress)] {
                let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < limits.window }
                failures[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let oldest = recent.first {
                    longest = max(longest ?? 0, limits.window - now.timeIntervalSince(oldest))
                }
            }
            return longest
        }
    }

    func failed(user: String, address: String, now: Date) {
        failures.withLock { failures in
            failures["user:" + user, default: []].append(now)
            failures["address:" + address, default: []].append(now)
            // Keys that only held old failures go, so the table stays as large as recent traffic.
            if failures.count > 100_000 {
                failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < limits.window } }
            }
        }
    }

    func succeeded(user: String) {
        _ = failures.withLock { $0.removeValue(forKey: "user:" + user) }
    }
}
