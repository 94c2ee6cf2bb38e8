public import EucaCloud
public import EucaCore
import EucaHTTP
public import EucaSecurity
public import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import Mustache
import NIOCore

/// The web console's settings (`CONSOLE_BIND`, `CONSOLE_PORT`).
public struct ConsoleSettings: Sendable, Hashable {
    public var host: String
    /// 8443 as in Eucalyptus; 0 picks a free one; nil turns the console off.
    public var port: Int?

    public init(host: String = "127.0.0.1", port: Int? = 8443) {
        self.host = host
        self.port = port
    }

    public static let keys: [ConfigKey] = [
        ConfigKey("CONSOLE_BIND", type: "address", default: "EC2_BIND", "The address the web console (HTTPS) listens on."),
        ConfigKey("CONSOLE_PORT", type: "port or off", default: "8443", "The web console's port; 0 picks a free one; off turns it off."),
    ]

    public init(_ config: EucaConfig, defaultHost: String) throws(ConfigError) {
        let host = try config.nonEmptyString("CONSOLE_BIND", default: defaultHost)
        if config.entry("CONSOLE_PORT")?.value.lowercased() == "off" {
            self.init(host: host, port: nil)
        } else {
            self.init(host: host, port: try config.port("CONSOLE_PORT", default: 8443))
        }
    }
}

/// What a console request knows of its connection: the client's address, for the sign-in limits.
public struct ConsoleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// The web console: sign-up, sign-in, a user's resources with launch and terminate, the
/// credentials bundle, and the administrator's pages (requests, accounts, instances, nodes).
///
/// It calls the same services the EC2 API does, as the signed-in user. Pages are plain HTML
/// forms rendered with Mustache; sessions are cookies (`Secure`, `HttpOnly`, `SameSite=Strict`)
/// naming an in-memory session, every form carries the session's CSRF token, and failed
/// sign-ins are limited per user and per client address. Served over HTTPS by the daemons.
public struct WebConsole: Sendable {
    public let cloud: CloudController
    let authority: CloudCA
    let logger: Logger
    let now: @Sendable () -> Date
    let sessions: ConsoleSessions
    let limiter: LoginLimiter
    /// Sign-up requests per client address.
    let signupLimiter: LoginLimiter
    let library: MustacheLibrary

    /// The session cookie's name.
    static let cookie = "euca-session"
    /// The largest form body taken.
    static let maxForm = 64 * 1024

    public init(cloud: CloudController, authority: CloudCA, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) throws {
        self.cloud = cloud
        self.authority = authority
        self.logger = logger
        self.now = now
        self.sessions = ConsoleSessions()
        self.limiter = LoginLimiter()
        self.signupLimiter = LoginLimiter(limits: .init(perUser: .max, perAddress: 20, window: 15 * 60))
        self.library = try ConsoleTemplates.library()
    }

    public func addRoutes(to router: Router<ConsoleRequestContext>) {
        router.get("/console.css") { _, _ in
            var headers = Self.securityHeaders()
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "max-age=3600"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        }
        router.get("/") { request, _ in
            signedIn(request) != nil ? redirect("/home") : loginPage(request)
        }
        router.get("/login") { request, _ in loginPage(request) }
        router.post("/login") { request, context in await login(request, from: context.remoteAddress) }
        router.post("/logout") { request, _ in
            await form(request) { session, _ in
                sessions.end(session.id)
                return redirect("/login", clearing: true)
            }
        }
        router.get("/signup") { request, _ in
            let session = anonymousSession(request)
            return page("signup", ["title": "Ask for an account"], session: session)
        }
        router.post("/signup") { request, context in await signup(request, from: context.remoteAddress) }
        router.get("/home") { request, _ in
            guard let (session, user) = signedIn(request) else { return redirect(elsewhere(request)) }
            return await home(session, user, notice: sessions.takeNotice(session.id))
        }
        router.post("/credentials") { request, _ in
            await userForm(request) { _, user, _ in
                let zip = try await CredentialBundle.make(
                    cloud: cloud, authority: authority, account: user.accountId, user: user.userName,
                    endpoint: Self.trimmed(cloud.currentEndpoint), region: cloud.settings.regionName)
                logger.info("credentials downloaded", metadata: ["euca.account": "\(user.accountId)", "euca.user": "\(user.userName)"])
                var headers = Self.securityHeaders()
                headers[.contentType] = "application/zip"
                headers[.contentDisposition] = "attachment; filename=\"\(user.accountName)-\(user.userName).zip\""
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: zip)))
            }
        }
        router.post("/instances/run") { request, _ in
            await userForm(request) { session, user, fields in
                let image = fields["image"] ?? ""
                var run = InstanceService.RunRequest(imageId: image, instanceType: fields["type"] ?? "m1.small")
                if let key = fields["key"], !key.isEmpty { run.keyName = key }
                let (_, instances) = try await cloud.instances.run(principal(user), run)
                sessions.note(instances.first.map { "Launched \($0.id)." } ?? "Launched.", for: session.id)
                return redirect("/home")
            }
        }
        router.post("/instances/terminate") { request, _ in
            await userForm(request) { session, user, fields in
                guard let id = fields["instance"], !id.isEmpty else { throw EucaError(.missingParameter, .instance, "Which instance?") }
                _ = try await cloud.instances.terminate(principal(user), [InstanceID(rawValue: id)])
                sessions.note("Terminating \(id).", for: session.id)
                return redirect("/home")
            }
        }
        router.get("/password") { request, _ in
            guard let (session, _) = signedIn(request, allowingReset: true) else { return redirect("/login") }
            var values: [String: Any] = ["title": "Change your password"]
            if let notice = sessions.takeNotice(session.id) { values["notice"] = notice }
            return page("password", values, session: session)
        }
        router.post("/password") { request, _ in
            await form(request) { session, fields in
                guard let user = session.user else { return redirect("/login") }
                guard fields["password"] == fields["password2"] else {
                    return page("password", ["title": "Change your password", "error": "The two new passwords differ."], session: session, status: .badRequest)
                }
                do {
                    guard try await cloud.users.checkPassword(fields["current"] ?? "", user: user.userName, account: user.accountId.rawValue) != nil else {
                        return page("password", ["title": "Change your password", "error": "The current password is wrong."], session: session, status: .badRequest)
                    }
                    try await cloud.users.setPassword(fields["password"], for: user.userName, in: user.accountId, resetRequired: false, creating: false)
                } catch let error as EucaError {
                    return page("password", ["title": "Change your password", "error": error.message], session: session, status: .badRequest)
                } catch {
                    return message(.internalServerError, "The request failed; it may be retried.", session: session)
                }
                // The old session ended with the old password; the user signs in with the new one.
                sessions.end(session.id)
                let fresh = sessions.start(nil, now: now())
                sessions.note("Your password was changed; sign in with the new one.", for: fresh.id)
                return redirect("/login", session: fresh)
            }
        }
        router.get("/admin") { request, _ in
            guard let (session, user) = signedIn(request) else { return redirect(elsewhere(request)) }
            guard user.isCloudAdmin else { return message(.notFound, "There is no such page.", session: session) }
            return await admin(session, user, notice: sessions.takeNotice(session.id))
        }
        for (path, approve) in [("/admin/approve", true), ("/admin/reject", false)] {
            router.post(RouterPath(path)) { request, _ in
                await userForm(request) { session, user, fields in
                    guard user.isCloudAdmin else { return message(.notFound, "There is no such page.", session: session) }
                    let id = fields["request"] ?? ""
                    if approve { try await cloud.signups.approve(id) } else { try await cloud.signups.reject(id) }
                    sessions.note("\(approve ? "Approved" : "Rejected") \(id).", for: session.id)
                    return redirect("/admin")
                }
            }
        }
    }

    // MARK: - Pages

    private func loginPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok, account: String = "", user: String = "") -> Response {
        let session = anonymousSession(request)
        var values: [String: Any] = ["title": "Sign in", "formAccount": account, "formUser": user]
        if let error { values["error"] = error }
        if let notice = sessions.takeNotice(session.id) { values["notice"] = notice }
        return page("login", values, session: session, status: status)
    }

    private func login(_ request: Request, from address: String) async -> Response {
        guard case .complete(let body) = await RequestBodyRead.read(request, limit: Self.maxForm),
            let fields = Self.fields(body), let session = session(of: request), Self.sameToken(fields["csrf"], session.csrf)
        else { return message(.forbidden, Self.staleForm, session: nil) }
        let account = fields["account"] ?? "", user = fields["user"] ?? "", password = fields["password"] ?? ""
        // Names no account or user can have are wrong at once, and never enter the limiter's table.
        guard account.utf8.count <= 63, user.utf8.count <= 64 else {
            return loginPage(request, error: "Wrong account, user or password.", status: .unauthorized)
        }
        // One user counts once, whether its account is named by name or by id.
        let who = "\(cloud.accounts.named(account)?.id.rawValue ?? account)/\(user.lowercased())"
        let at = now()
        if let wait = limiter.wait(user: who, address: address, now: at) {
            logger.notice("console sign-in refused: too many failures", metadata: ["euca.user": "\(who.prefix(130))", "address": "\(address)"])
            return loginPage(
                request, error: "Too many failed sign-ins; try again in \(Int(wait.rounded(.up)) / 60 + 1) minutes.", status: .tooManyRequests,
                account: account, user: user)
        }
        let checked: UserRecord?
        do {
            checked = try await cloud.users.checkPassword(password, user: user, account: account)
        } catch {
            return loginPage(request, error: "The console is busy; try again in a moment.", status: .serviceUnavailable, account: account, user: user)
        }
        guard let found = checked, let login = found.login, let record = cloud.accounts.named(found.accountId.rawValue) else {
            limiter.failed(user: who, address: address, now: at)
            logger.info("console sign-in failed", metadata: ["euca.user": "\(who.prefix(130))", "address": "\(address)"])
            return loginPage(request, error: "Wrong account, user or password.", status: .unauthorized, account: account, user: user)
        }
        limiter.succeeded(user: who)
        sessions.end(session.id)
        let signedIn = sessions.start(
            ConsoleUser(
                accountId: record.id, accountName: record.name, userName: found.name, isCloudAdmin: record.isCloudAdmin,
                password: login.password.hash),
            now: at)
        logger.info("console sign-in", metadata: ["euca.account": "\(record.id)", "euca.user": "\(found.name)"])
        if login.resetRequired {
            sessions.note("Your password must be changed before you go on.", for: signedIn.id)
            return redirect("/password", session: signedIn)
        }
        return redirect(record.isCloudAdmin ? "/admin" : "/home", session: signedIn)
    }

    private func signup(_ request: Request, from address: String) async -> Response {
        await form(request) { session, fields in
            let account = fields["account"] ?? "", user = fields["user"] ?? "", email = fields["email"] ?? ""
            let values: [String: Any] = ["title": "Ask for an account", "formAccount": account, "formUser": user, "formEmail": email]
            // Each request costs a password hash and a record: a few per address at a time.
            let at = now()
            if let wait = signupLimiter.wait(user: "-", address: address, now: at) {
                let error = "Too many requests from your address; try again in \(Int(wait.rounded(.up)) / 60 + 1) minutes."
                return page("signup", values.merging(["error": error]) { $1 }, session: session, status: .tooManyRequests)
            }
            signupLimiter.failed(user: "-", address: address, now: at)
            guard fields["password"] == fields["password2"] else {
                return page("signup", values.merging(["error": "The two passwords differ."]) { $1 }, session: session, status: .badRequest)
            }
            do {
                let record = try await cloud.signups.request(account: account, user: user, email: email, password: fields["password"] ?? "")
                return page(
                    "signup-done", ["title": "Request received", "requestId": record.id, "accountName": record.accountName, "userName": record.userName],
                    session: session)
            } catch let error as EucaError {
                let status: HTTPResponse.Status = error.code == .unavailable ? .serviceUnavailable : .badRequest
                return page("signup", values.merging(["error": error.message]) { $1 }, session: session, status: status)
            } catch {
                logger.error("sign-up failed", metadata: ["error": "\(error)"])
                return message(.internalServerError, "The request failed; it may be retried.", session: session)
            }
        }
    }

    private func home(_ session: ConsoleSession, _ user: ConsoleUser, notice: String?) async -> Response {
        let principal = principal(user)
        let instances = cloud.instances.reservations(for: principal).flatMap(\.1).sorted { $0.launchTime > $1.launchTime }
        let groups = (try? await cloud.securityGroups.list(for: principal)) ?? []
        var values: [String: Any] = [
            "title": "Resources of \(user.accountName)",
            "instances": instances.map { instance -> [String: Any] in
                [
                    "id": instance.id.rawValue, "state": instance.state.rawValue, "type": instance.vmType.name, "image": instance.imageId.rawValue,
                    "privateIp": instance.privateIp ?? "", "publicIp": instance.publicIp ?? "", "key": instance.keyName ?? "",
                    "launched": Self.time(instance.launchTime),
                    "canTerminate": instance.state != .terminated && instance.state != .shuttingDown,
                ]
            },
            "images": cloud.images.list(for: principal).sorted { $0.id.rawValue < $1.id.rawValue }.map { image -> [String: Any] in
                [
                    "id": image.id.rawValue, "name": image.name, "kind": Self.kind(of: image.id), "owner": image.ownerId.rawValue,
                    "public": image.isPublic ? "yes" : "no", "isMachine": image.id.rawValue.hasPrefix("ami-"),
                ]
            },
            "types": cloud.instanceTypes().map { ["name": $0.name, "cores": $0.cores, "memory": $0.memoryMiB] as [String: Any] },
            "keys": cloud.keyPairs.list(for: principal).map { ["name": $0.name, "id": $0.id.rawValue, "fingerprint": $0.fingerprint] },
            "groups": groups.map { ["name": $0.name, "id": $0.id.rawValue, "description": $0.description, "rules": $0.ingress.count] as [String: Any] },
            "addresses": cloud.addresses.list(for: principal).map {
                ["ip": $0.publicIp, "allocation": $0.allocationId, "instance": $0.instanceId?.rawValue ?? ""]
            },
        ]
        if let notice { values["notice"] = notice }
        return page("home", values, session: session)
    }

    private func admin(_ session: ConsoleSession, _ user: ConsoleUser, notice: String?) async -> Response {
        let accounts = cloud.accounts.all()
        let names = Dictionary(accounts.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let all = cloud.instances.reservations(for: principal(user), allAccounts: true).flatMap(\.1).sorted { $0.launchTime > $1.launchTime }
        var values: [String: Any] = [
            "title": "Administration",
            "requests": cloud.signups.pending().map {
                ["id": $0.id, "accountName": $0.accountName, "userName": $0.userName, "email": $0.email, "asked": Self.time($0.createdAt)]
            },
            "accounts": accounts.map { account -> [String: Any] in
                let terms = account.terms ?? .none
                let usage = cloud.instances.usage(of: account.id)
                func limit(_ value: Int?) -> String { value.map(String.init) ?? "none" }
                return [
                    "name": account.name, "id": account.id.rawValue,
                    "instances": "\(usage.instances)/\(limit(terms.maxInstances))", "cores": "\(usage.cores)/\(limit(terms.maxCores))",
                    "memory": "\(usage.memoryMiB)/\(limit(terms.maxMemoryMiB))",
                    "users": cloud.users.users(of: account.id).map { user -> [String: Any] in
                        let keys = (try? cloud.users.accessKeys(of: user.name, in: account.id)) ?? []
                        return [
                            "name": user.name, "hasPassword": user.login != nil,
                            "keys": keys.map { ["id": $0.accessKeyId, "status": $0.isActive ? "Active" : "Inactive"] },
                        ]
                    },
                ]
            },
            "instances": all.map { instance -> [String: Any] in
                [
                    "id": instance.id.rawValue, "account": names[instance.accountId] ?? instance.accountId.rawValue, "state": instance.state.rawValue,
                    "type": instance.vmType.name, "zone": instance.zone, "node": instance.node?.rawValue ?? "",
                ]
            },
            "nodes": await cloud.resources().flatMap { cluster in
                cluster.nodes.map { node -> [String: Any] in
                    [
                        "zone": cluster.zone, "node": node.node.rawValue, "cores": "\(node.freeCores)/\(node.totalCores)",
                        "memory": "\(node.freeMemoryMiB)/\(node.totalMemoryMiB)", "disk": "\(node.freeDiskGiB)/\(node.totalDiskGiB)",
                        "instances": node.instances,
                    ]
                }
            },
        ]
        if let notice { values["notice"] = notice }
        return page("admin", values, session: session)
    }

    // MARK: - Forms and sessions

    static let staleForm = "This form has expired or did not come from this console. Reload the page and try again."

    /// Runs `body` for a POSTed form whose CSRF token is its session's; anything else is refused
    /// with 403 and changes nothing.
    private func form(_ request: Request, _ body: (ConsoleSession, [String: String]) async -> Response) async -> Response {
        switch await RequestBodyRead.read(request, limit: Self.maxForm) {
        case .complete(let bytes):
            guard let fields = Self.fields(bytes), let session = session(of: request), Self.sameToken(fields["csrf"], session.csrf) else {
                logger.notice("console form refused: no session or a wrong CSRF token", metadata: ["path": "\(request.uri.path)"])
                return message(.forbidden, Self.staleForm, session: nil)
            }
            return await body(session, fields)
        case .tooLarge: return message(.contentTooLarge, "The form is larger than \(Self.maxForm / 1024) KiB.", session: nil)
        case .incomplete: return message(.badRequest, "The form ended before its length.", session: nil)
        }
    }

    /// `form` for a signed-in user; a failure the cloud reports is shown as its message.
    private func userForm(
        _ request: Request, _ body: @escaping (ConsoleSession, ConsoleUser, [String: String]) async throws -> Response
    ) async -> Response {
        await form(request) { session, fields in
            guard let user = session.user else { return redirect("/login") }
            if cloud.users.user(user.userName, of: user.accountId)?.login?.resetRequired == true { return redirect("/password") }
            do {
                return try await body(session, user, fields)
            } catch let error as EucaError {
                return message(.badRequest, error.message, session: session)
            } catch {
                logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return message(.internalServerError, "The request failed; it may be retried.", session: session)
            }
        }
    }

    /// The request's session; a signed-in one ends here if its user is gone or its password
    /// changed or was taken away since it signed in.
    private func session(of request: Request) -> ConsoleSession? {
        guard let session = sessions.session(Self.cookieValue(request.headers[.cookie]), now: now()) else { return nil }
        if let user = session.user, cloud.users.user(user.userName, of: user.accountId)?.login?.password.hash != user.password {
            sessions.end(session.id)
            return nil
        }
        return session
    }

    /// The signed-in session and its user; one whose password must be changed first reaches
    /// only the password page.
    private func signedIn(_ request: Request, allowingReset: Bool = false) -> (ConsoleSession, ConsoleUser)? {
        guard let session = session(of: request), let user = session.user else { return nil }
        if !allowingReset, cloud.users.user(user.userName, of: user.accountId)?.login?.resetRequired == true { return nil }
        return (session, user)
    }

    /// The request's session, or a new signed-out one for the form about to be shown.
    private func anonymousSession(_ request: Request) -> ConsoleSession {
        session(of: request) ?? sessions.start(nil, now: now())
    }

    /// Where a request that is not let in goes: the password page for a user who must change
    /// it, the sign-in page for anyone else.
    private func elsewhere(_ request: Request) -> String {
        signedIn(request, allowingReset: true) != nil ? "/password" : "/login"
    }

    private func principal(_ user: ConsoleUser) -> Principal {
        Principal(accountId: user.accountId, userName: user.userName, accessKeyId: "console", isCloudAdmin: user.isCloudAdmin)
    }

    // MARK: - Responses

    private func page(_ name: String, _ values: [String: Any], session: ConsoleSession?, status: HTTPResponse.Status = .ok) -> Response {
        var context = values
        context["version"] = EucaVersion.current
        if let session {
            context["csrf"] = session.csrf
            if let user = session.user {
                context["user"] = ["userName": user.userName, "accountName": user.accountName, "isCloudAdmin": user.isCloudAdmin] as [String: Any]
            }
        }
        let html = library.render(context, withTemplate: name) ?? "<!doctype html><p>Missing page.</p>"
        var headers = Self.securityHeaders()
        headers[.contentType] = "text/html; charset=utf-8"
        if let session { headers[.setCookie] = Self.setCookie(session.id) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private func message(_ status: HTTPResponse.Status, _ text: String, session: ConsoleSession?) -> Response {
        page("message", ["title": status.code >= 400 ? "Not done" : "Done", "message": text], session: session, status: status)
    }

    private func redirect(_ location: String, session: ConsoleSession? = nil, clearing: Bool = false) -> Response {
        var headers = Self.securityHeaders()
        headers[.location] = location
        if let session { headers[.setCookie] = Self.setCookie(session.id) }
        if clearing { headers[.setCookie] = "\(Self.cookie)=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0" }
        return Response(status: .seeOther, headers: headers)
    }

    static func setCookie(_ id: String) -> String {
        "\(cookie)=\(id); Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=28800"
    }

    /// Headers on every answer: no scripts, no framing, no sniffing, no caching, no referrer.
    static func securityHeaders() -> HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[.cacheControl] = "no-store"
        return headers
    }

    // MARK: - Parsing

    /// The form's fields (the first value of each name), or nil if it is not valid form encoding.
    static func fields(_ body: [UInt8]) -> [String: String]? {
        guard let text = String(validating: body, as: UTF8.self), let pairs = Encoding.formPairs(Substring(text)) else { return nil }
        var fields: [String: String] = [:]
        for (name, value) in pairs where fields[name] == nil { fields[name] = value }
        return fields
    }

    static func cookieValue(_ header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == cookie { return String(pair[1]) }
        }
        return nil
    }

    /// Compares tokens in time that depends only on their lengths.
    static func sameToken(_ given: String?, _ expected: String) -> Bool {
        guard let given else { return false }
        let a = Array(given.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func trimmed(_ endpoint: String) -> String {
        endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
    }

    static func kind(of id: ImageID) -> String {
        switch id.rawValue.prefix(4) {
        case "aki-": "kernel"
        case "ari-": "ramdisk"
        default: "machine"
        }
    }

    static func time(_ date: Date) -> String {
        let t = UTCTime(date)
        return "\(UTCTime.pad(t.year, 4))-\(UTCTime.pad(t.month, 2))-\(UTCTime.pad(t.day, 2)) "
            + "\(UTCTime.pad(t.hour, 2)):\(UTCTime.pad(t.minute, 2)):\(UTCTime.pad(t.second, 2)) UTC"
    }
}
