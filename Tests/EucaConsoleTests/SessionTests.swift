import EucaCore
import Foundation
import Testing

@testable import EucaConsole

/// The console's sessions and sign-in limits, without a server.
@Suite struct SessionTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func user(_ name: String) -> ConsoleUser {
        ConsoleUser(accountId: AccountID(rawValue: "123456789012"), accountName: "lab", userName: name, isCloudAdmin: false, password: "h")
    }

    @Test func aFloodOfSignedOutSessionsNeverSignsAUserOut() {
        let sessions = ConsoleSessions(capacity: 10)
        let alice = sessions.start(user("alice"), now: start)
        for second in 1...100 { _ = sessions.start(nil, now: start.addingTimeInterval(Double(second))) }
        #expect(sessions.session(alice.id, now: start.addingTimeInterval(101))?.user?.userName == "alice")
        // Signed-in sessions make room among themselves, the least recently seen first.
        for index in 0..<10 { _ = sessions.start(user("u\(index)"), now: start.addingTimeInterval(200 + Double(index))) }
        #expect(sessions.session(alice.id, now: start.addingTimeInterval(300)) == nil)
    }

    @Test func sessionsEndWhenIdleOrOldAndNoticesAreShownOnce() {
        let sessions = ConsoleSessions(idleTimeout: 60, maxAge: 300)
        let session = sessions.start(user("bob"), now: start)
        #expect(sessions.session(session.id, now: start.addingTimeInterval(59)) != nil)
        #expect(sessions.session(session.id, now: start.addingTimeInterval(130)) == nil)
        let busy = sessions.start(user("carol"), now: start)
        for minute in 1...4 { #expect(sessions.session(busy.id, now: start.addingTimeInterval(Double(minute) * 50)) != nil) }
        #expect(sessions.session(busy.id, now: start.addingTimeInterval(301)) == nil)
        let noted = sessions.start(nil, now: start)
        sessions.note("Launched.", for: noted.id)
        #expect(sessions.takeNotice(noted.id) == "Launched.")
        #expect(sessions.takeNotice(noted.id) == nil)
        #expect(sessions.session("", now: start) == nil && sessions.session("made-up", now: start) == nil)
    }

    @Test func failedSignInsAreLimitedPerUserAndPerAddressOverAWindow() {
        let limiter = LoginLimiter(limits: .init(perUser: 3, perAddress: 5, window: 100))
        for second in 0..<3 {
            #expect(limiter.wait(user: "lab/alice", address: "10.0.0.1", now: start.addingTimeInterval(Double(second))) == nil)
            limiter.failed(user: "lab/alice", address: "10.0.0.1", now: start.addingTimeInterval(Double(second)))
        }
        #expect(limiter.wait(user: "lab/alice", address: "10.0.0.2", now: start.addingTimeInterval(10)) == 90)
        #expect(limiter.wait(user: "lab/alice", address: "10.0.0.2", now: start.addingTimeInterval(101)) == nil)
        // Other users from the same address, until the address's own limit.
        limiter.failed(user: "lab/bob", address: "10.0.0.1", now: start.addingTimeInterval(20))
        limiter.failed(user: "lab/carol", address: "10.0.0.1", now: start.addingTimeInterval(21))
        #expect(limiter.wait(user: "lab/dave", address: "10.0.0.1", now: start.addingTimeInterval(22)) != nil)
        #expect(limiter.wait(user: "lab/dave", address: "10.0.0.9", now: start.addingTimeInterval(22)) == nil)
        limiter.succeeded(user: "lab/alice")
    }

    @Test func tokensAndCookiesAreReadStrictly() {
        #expect(WebConsole.sameToken("abc", "abc") && !WebConsole.sameToken("abd", "abc") && !WebConsole.sameToken(nil, "abc"))
        #expect(!WebConsole.sameToken("ab", "abc"))
        #expect(WebConsole.cookieValue("a=1; euca-session=xyz; b=2") == "xyz")
        #expect(WebConsole.cookieValue("euca-sessionx=1") == nil)
        #expect(WebConsole.fields(Array("csrf=a&csrf=b&x=%3Cy%3E".utf8)) == ["csrf": "a", "x": "<y>"])
        #expect(WebConsole.fields([0xFF, 0xFE]) == nil)
        #expect(ConsoleSessions.token() != ConsoleSessions.token() && ConsoleSessions.token().count == 43)
    }
}
