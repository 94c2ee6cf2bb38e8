import EucaCore
import EucaSecurity
import Foundation

/// Sign-up, as Eucalyptus had it: anyone may ask for an account on the web console, with the
/// user name and password they will sign in with; nothing is usable until an administrator
/// approves the request (on the console or with `euca-admin approve-user`). Approval makes the
/// account, its `admin` user and the requester's user with its password, in one commit.
public struct SignupService: CloudService {
    public let context: CloudContext

    init(context: CloudContext) { self.context = context }

    /// The most requests waiting at once: beyond it new ones are refused, so that anonymous
    /// sign-ups cannot fill the store.
    public static let maxPending = 1000

    /// Every request, newest first.
    public func all() -> [SignupRecord] {
        state.read { Array($0.signups.values) }.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }

    /// The requests waiting for a decision, oldest first.
    public func pending() -> [SignupRecord] { all().filter { $0.state == .pending }.reversed() }

    /// Records a request. Its names and password are checked as the account's and user's would
    /// be; an account name taken, or asked for by a request still waiting, is refused.
    public func request(account: String, user: String, email: String, password: String) async throws -> SignupRecord {
        try AccountService.checkName(account)
        try UserService.checkName(user)
        try Self.checkEmail(email)
        try UserService.checkPassword(password)
        // What the commit checks again, checked before the hash is paid for.
        let (waiting, taken) = state.read { tables in
            let waiting = tables.signups.values.filter { $0.state == .pending }
            return (waiting.count, tables.accounts.values.contains { $0.name == account } || waiting.contains { $0.accountName == account })
        }
        guard waiting < Self.maxPending else { throw EucaError(.limitExceeded, nil, "Too many sign-up requests are waiting; try again later.") }
        if taken { throw EucaError(.duplicate, .account, "The account name '\(account)' is taken; choose another.") }
        let record = SignupRecord(
            id: "signup-" + Self.hex(8), accountName: account, userName: user, email: email, password: try await PasswordHash.make(password),
            createdAt: now(), state: .pending)
        try await commit { txn in
            let requests = try txn.all(CloudSchema.signups).map(\.value).filter { $0.state == .pending }
            guard requests.count < Self.maxPending else {
                throw EucaError(.limitExceeded, nil, "Too many sign-up requests are waiting; try again later.")
            }
            if try txn.all(CloudSchema.accounts).contains(where: { $0.value.name == account }) || requests.contains(where: { $0.accountName == account }) {
                throw EucaError(.duplicate, .account, "The account name '\(account)' is taken; choose another.")
            }
            try txn.put(record, at: record.id, in: CloudSchema.signups)
        }
        logger.info("sign-up requested", metadata: ["signup": "\(record.id)", "account-name": "\(account)", "euca.user": "\(user)"])
        return record
    }

    /// Approves a waiting request: makes the account, its `admin` user (with an access key) and
    /// the requester's user with the password chosen.
    @discardableResult
    public func approve(_ id: String) async throws -> (AccountRecord, UserRecord) {
        let sealer = state.sealer
        let at = now()
        let result: (AccountRecord, UserRecord) = try await commit { txn in
            guard var request = try txn.get(id, from: CloudSchema.signups) else { throw Self.noSuchRequest(id) }
            guard request.state == .pending, let password = request.password else {
                throw EucaError(.incorrectState, nil, "The request \(id) was \(request.state.rawValue) already.")
            }
            let account = AccountRecord(id: .generate(), name: request.accountName, isCloudAdmin: false, createdAt: at)
            try AccountService.add(account, key: AccessKey.generate(accountId: account.id, userName: UserService.adminUserName), sealer: sealer, in: txn)
            let key = CloudSchema.userKey(account.id, request.userName)
            var user = try txn.get(key, from: CloudSchema.users)
                ?? UserRecord(accountId: account.id, name: request.userName, id: UserService.newUserId(), path: "/", createdAt: at)
            user.login = LoginProfile(password: password, createdAt: at, resetRequired: false)
            try txn.put(user, at: key, in: CloudSchema.users)
            request.state = .approved
            request.password = nil
            request.decidedAt = at
            try txn.put(request, at: id, in: CloudSchema.signups)
            return (account, user)
        }
        logger.info("sign-up approved", metadata: ["signup": "\(id)", "euca.account": "\(result.0.id)", "euca.user": "\(result.1.name)"])
        return result
    }

    /// Rejects a waiting request; its password hash is dropped.
    public func reject(_ id: String) async throws {
        let at = now()
        try await commit { txn in
            guard var request = try txn.get(id, from: CloudSchema.signups) else { throw Self.noSuchRequest(id) }
            guard request.state == .pending else {
                throw EucaError(.incorrectState, nil, "The request \(id) was \(request.state.rawValue) already.")
            }
            request.state = .rejected
            request.password = nil
            request.decidedAt = at
            try txn.put(request, at: id, in: CloudSchema.signups)
        }
        logger.info("sign-up rejected", metadata: ["signup": "\(id)"])
    }

    static func noSuchRequest(_ id: String) -> EucaError {
        EucaError(.notFound, nil, "There is no sign-up request \(id.prefix(64)).")
    }

    /// A plausible address: one `@`, something either side, a dot in the domain, no spaces or
    /// angle brackets, at most 254 characters.
    static func checkEmail(_ email: String) throws(EucaError) {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), email.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && !"<>\"'`".unicodeScalars.contains($0) })
        else {
            throw EucaError(.invalidParameter, .parameter, "The e-mail address is not one mail can be sent to.")
        }
    }

    static func hex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }
}
