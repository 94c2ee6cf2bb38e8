public import EucaCloud
import EucaCore
import EucaScheduler
import EucaEC2API
import EucaHTTP
public import EucaSecurity
public import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore

/// The cloud controller's admin API: `POST /admin/v1/<operation>` with a JSON body, signed with
/// SigV4 by the cloud administrator's access key. `euca-admin` is its client.
public enum AdminAPI {
    public struct RegisterCluster: Codable, Sendable {
        public var name: String
        public var host: String
        public var port: Int
        public init(name: String, host: String, port: Int) { (self.name, self.host, self.port) = (name, host, port) }
    }

    public struct RegisterNode: Codable, Sendable {
        public var cluster: String
        public var host: String
        public var port: Int
        public var name: String?
        public init(cluster: String, host: String, port: Int, name: String?) {
            (self.cluster, self.host, self.port, self.name) = (cluster, host, port, name)
        }
    }

    public struct Deregister: Codable, Sendable {
        public var name: String
        public var cluster: String?
        public init(name: String, cluster: String?) { (self.name, self.cluster) = (name, cluster) }
    }

    public struct Registered: Codable, Sendable {
        public var name: String
        public var token: String
    }

    public struct CreateAccount: Codable, Sendable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    public struct AccountCreated: Codable, Sendable {
        public var accountId: String
        public var name: String
        public var accessKeyId: String
        public var secretAccessKey: String
    }

    /// Changes to an account's terms: each field absent leaves it, `none` clears it, a number
    /// sets it.
    public struct SetAccountTerms: Codable, Sendable {
        public var account: String
        public var maxInstances: String?
        public var maxCores: String?
        public var maxMemoryMiB: String?
        public var leaseSeconds: String?
        public var priority: String?
        public init(account: String, maxInstances: String? = nil, maxCores: String? = nil, maxMemoryMiB: String? = nil,
                    leaseSeconds: String? = nil, priority: String? = nil) {
            self.account = account
            self.maxInstances = maxInstances
            self.maxCores = maxCores
            self.maxMemoryMiB = maxMemoryMiB
            self.leaseSeconds = leaseSeconds
            self.priority = priority
        }

        /// `terms` with these changes applied.
        func applied(to terms: AccountTerms) throws(EucaError) -> AccountTerms {
            func limit(_ text: String?, _ name: String, current: Int?) throws(EucaError) -> Int? {
                guard let text else { return current }
                if text == "none" { return nil }
                guard let value = Int(text), value >= 0 else {
                    throw EucaError(.invalidParameter, .parameter, "\(name) takes a number of 0 or more, or 'none'; got '\(text)'.")
                }
                return value
            }
            var terms = terms
            terms.maxInstances = try limit(maxInstances, "max-instances", current: terms.maxInstances)
            terms.maxCores = try limit(maxCores, "max-cores", current: terms.maxCores)
            terms.maxMemoryMiB = try limit(maxMemoryMiB, "max-memory", current: terms.maxMemoryMiB)
            terms.leaseSeconds = try limit(leaseSeconds, "lease", current: terms.leaseSeconds)
            if let priority {
                guard let value = Int(priority) else {
                    throw EucaError(.invalidParameter, .parameter, "priority takes a whole number; got '\(priority)'.")
                }
                terms.priority = value
            }
            return terms
        }
    }

    /// One account as `describe-accounts` shows it.
    public struct AccountRow: Codable, Sendable {
        public var accountId: String
        public var name: String
        public var isCloudAdmin: Bool
        public var maxInstances: Int?
        public var maxCores: Int?
        public var maxMemoryMiB: Int?
        public var leaseSeconds: Int?
        public var priority: Int
        public var instances: Int
        public var cores: Int
        public var memoryMiB: Int
    }

    public struct Done: Codable, Sendable { public init() {} }

    /// `create-user`: a user of an account (by name or id), with an IAM path.
    public struct CreateUser: Codable, Sendable {
        public var account: String
        public var user: String
        public var path: String?
        public init(account: String, user: String, path: String? = nil) { (self.account, self.user, self.path) = (account, user, path) }
    }

    public struct UserRow: Codable, Sendable {
        public var accountId: String
        public var userName: String
        public var userId: String
        public var arn: String
        public var hasPassword: Bool
        /// Its access keys, each `id` and `Active` or `Inactive`.
        public var accessKeys: [AccessKeyRow]
    }

    public struct AccessKeyRow: Codable, Sendable {
        public var accessKeyId: String
        public var status: String
    }

    /// `create-access-key`: a new key for a user of an account (by name or id).
    public struct CreateAccessKey: Codable, Sendable {
        public var account: String
        public var user: String
        public init(account: String, user: String) { (self.account, self.user) = (account, user) }
    }

    public struct AccessKeyCreated: Codable, Sendable {
        public var accountId: String
        public var userName: String
        public var accessKeyId: String
        public var secretAccessKey: String
    }

    /// `deactivate-access-key`, `activate-access-key`, `delete-access-key`: one key, by its id.
    public struct AccessKeyChange: Codable, Sendable {
        public var accessKeyId: String
        public init(accessKeyId: String) { self.accessKeyId = accessKeyId }
    }

    /// `set-password`: gives a user a password for the web console, or changes it.
    public struct SetPassword: Codable, Sendable {
        public var account: String
        public var user: String
        public var password: String
        public init(account: String, user: String, password: String) { (self.account, self.user, self.password) = (account, user, password) }
    }

    /// `get-credentials`: a user's credentials bundle.
    public struct GetCredentials: Codable, Sendable {
        public var account: String
        public var user: String
        public init(account: String, user: String) { (self.account, self.user) = (account, user) }
    }

    public struct Credentials: Codable, Sendable {
        /// The name to save it under: `<account>-<user>.zip`.
        public var fileName: String
        /// The zip file, in base64.
        public var zip: String
    }

    /// A sign-up request, as `list-requests` shows it.
    public struct RequestRow: Codable, Sendable {
        public var id: String
        public var accountName: String
        public var userName: String
        public var email: String
        public var state: String
        public var createdAt: Date
    }

    /// `list-requests`: every request, or only those waiting.
    public struct ListRequests: Codable, Sendable {
        public var all: Bool?
        public init(all: Bool) { self.all = all }
    }

    public struct Approved: Codable, Sendable {
        public var accountId: String
        public var accountName: String
        public var userName: String
    }

    /// `approve-user`, `reject-user`: one request, by id.
    public struct Decide: Codable, Sendable {
        public var id: String
        public init(id: String) { self.id = id }
    }

    /// `describe-users`: the users of one account (by name or id).
    public struct DescribeUsers: Codable, Sendable {
        public var account: String
        public init(account: String) { self.account = account }
    }

    /// The service name SigV4 signatures for the admin API are scoped to (`euca-admin` signs so).
    public static let signingService = "euca-admin"

    /// The node name `register-node` gives a node at `host:port` when none is chosen.
    public static func defaultNodeName(host: String, port: Int) -> String {
        let base = host.replacingOccurrences(of: ":", with: "-")
        return port == 8775 ? base : "\(base)_\(port)"
    }

    /// `describe-network-plan`: the plans of one node, or of every node.
    public struct DescribeNetworkPlan: Codable, Sendable {
        public var node: String?
        public init(node: String?) { self.node = node }
    }

    /// One network's plan on one node, as text: a VPC's, the cloud's one network's (STATIC,
    /// MANAGED), or the bridge's (SYSTEM; VNI 0).
    public struct NetworkPlanRow: Codable, Sendable {
        public var node: String
        public var vni: Int
        public var plan: String
    }

    /// Adds every admin operation: the components' (registering clusters and nodes, `euca-clc`
    /// only) and the accounts'.
    public static func addRoutes(
        to router: Router<BasicRequestContext>, components: CloudComponents, cloud: CloudController, authority: CloudCA,
        authenticator: RequestAuthenticator, logger: Logger
    ) {
        let route = Routes(router: router, authenticator: authenticator, logger: logger)
        route("registerCluster") { (input: RegisterCluster) in
            let (record, token) = try await components.register(.cc, name: input.name, cluster: nil, host: input.host, port: input.port)
            return Registered(name: record.name, token: token)
        }
        route("registerNode") { (input: RegisterNode) in
            let name = input.name ?? defaultNodeName(host: input.host, port: input.port)
            let (record, token) = try await components.register(.nc, name: name, cluster: input.cluster, host: input.host, port: input.port)
            return Registered(name: record.name, token: token)
        }
        route("deregisterCluster") { (input: Deregister) in
            try await components.deregister(.cc, name: input.name, cluster: nil)
            return Done()
        }
        route("deregisterNode") { (input: Deregister) in
            try await components.deregister(.nc, name: input.name, cluster: input.cluster)
            return Done()
        }
        route("describeServices") { (_: Done) in try await components.services() }
        route("describeNodes") { (_: Done) in try await components.nodes() }
        addAccountRoutes(to: router, cloud: cloud, authority: authority, authenticator: authenticator, logger: logger)
    }

    /// The operations on clusters and nodes, which only `euca-clc` has.
    static let componentOperations = ["registerCluster", "registerNode", "deregisterCluster", "deregisterNode", "describeServices", "describeNodes"]

    /// Answers the operations on clusters and nodes with why there are none to change: for
    /// `euca-cloud`, which runs its one cluster and node itself.
    public static func addComponentRefusals(to router: Router<BasicRequestContext>, authenticator: RequestAuthenticator, logger: Logger) {
        let route = Routes(router: router, authenticator: authenticator, logger: logger)
        for operation in componentOperations {
            route(operation) { (_: Done) -> Done in
                throw EucaError(
                    .unsupported, nil,
                    "euca-cloud runs its one cluster and node itself: there are none to register or describe. Run euca-clc, euca-cc and euca-nc for more.")
            }
        }
    }

    /// Adds the operations on accounts, users and keys, and the network plans: all that
    /// `euca-cloud`, which has no components to register, answers.
    public static func addAccountRoutes(
        to router: Router<BasicRequestContext>, cloud: CloudController, authority: CloudCA, authenticator: RequestAuthenticator,
        logger: Logger
    ) {
        let route = Routes(router: router, authenticator: authenticator, logger: logger)
        @Sendable func account(_ text: String) throws(EucaError) -> AccountRecord {
            guard let account = cloud.accounts.named(text) else {
                throw EucaError(.notFound, .account, "The account '\(text.prefix(64))' does not exist.")
            }
            return account
        }
        /// The key and its owner, wherever it is.
        @Sendable func owner(of id: String) throws(EucaError) -> AccessKey {
            guard let (key, _) = cloud.state.accessKey(id: id) else {
                throw EucaError(.notFound, .accessKey, "The access key '\(id.prefix(128))' does not exist.")
            }
            return key
        }
        route("createAccount") { (input: CreateAccount) in
            let (account, key) = try await cloud.accounts.create(name: input.name)
            return AccountCreated(accountId: account.id.rawValue, name: account.name, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey)
        }
        route("setAccountTerms") { (input: SetAccountTerms) in
            let found = try account(input.account)
            let record = try await cloud.accounts.setTerms(try input.applied(to: cloud.accounts.terms(of: found.id)), forAccount: found.id.rawValue)
            return row(record, cloud: cloud)
        }
        route("describeAccounts") { (_: Done) in cloud.accounts.all().map { row($0, cloud: cloud) } }
        route("createUser") { (input: CreateUser) in
            let user = try await cloud.users.create(input.user, path: input.path ?? "/", in: try account(input.account).id)
            return try userRow(user, cloud: cloud)
        }
        route("describeUsers") { (input: DescribeUsers) in
            try cloud.users.users(of: try account(input.account).id).map { try userRow($0, cloud: cloud) }
        }
        route("createAccessKey") { (input: CreateAccessKey) in
            let key = try await cloud.users.createAccessKey(for: input.user, in: try account(input.account).id)
            return AccessKeyCreated(
                accountId: key.accountId.rawValue, userName: key.userName, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey)
        }
        route("setPassword") { (input: SetPassword) in
            let found = try account(input.account)
            let creating = cloud.users.user(input.user, of: found.id)?.login == nil
            try await cloud.users.setPassword(input.password, for: input.user, in: found.id, creating: creating)
            return Done()
        }
        route("listRequests") { (input: ListRequests) in
            (input.all == true ? cloud.signups.all() : cloud.signups.pending()).map {
                RequestRow(id: $0.id, accountName: $0.accountName, userName: $0.userName, email: $0.email, state: $0.state.rawValue, createdAt: $0.createdAt)
            }
        }
        route("approveUser") { (input: Decide) in
            let (account, user) = try await cloud.signups.approve(input.id)
            return Approved(accountId: account.id.rawValue, accountName: account.name, userName: user.name)
        }
        route("rejectUser") { (input: Decide) in
            try await cloud.signups.reject(input.id)
            return Done()
        }
        route("getCredentials") { (input: GetCredentials) in
            let found = try account(input.account)
            var endpoint = cloud.currentEndpoint
            if endpoint.hasSuffix("/") { endpoint.removeLast() }
            let zip = try await CredentialBundle.make(
                cloud: cloud, authority: authority, account: found.id, user: input.user, endpoint: endpoint, region: cloud.settings.regionName)
            return Credentials(fileName: "\(found.name)-\(input.user).zip", zip: Data(zip).base64EncodedString())
        }
        route("deactivateAccessKey") { (input: AccessKeyChange) in
            let key = try owner(of: input.accessKeyId)
            try await cloud.users.setAccessKey(key.accessKeyId, of: key.userName, in: key.accountId, active: false)
            return Done()
        }
        route("activateAccessKey") { (input: AccessKeyChange) in
            let key = try owner(of: input.accessKeyId)
            try await cloud.users.setAccessKey(key.accessKeyId, of: key.userName, in: key.accountId, active: true)
            return Done()
        }
        route("deleteAccessKey") { (input: AccessKeyChange) in
            let key = try owner(of: input.accessKeyId)
            try await cloud.users.deleteAccessKey(key.accessKeyId, of: key.userName, in: key.accountId)
            return Done()
        }
        route("describeNetworkPlan") { (input: DescribeNetworkPlan) in
            try cloud.securityGroups.hostPlans(node: input.node).map { NetworkPlanRow(node: $0.node, vni: $0.plan.vpc.vni, plan: $0.plan.text) }
                + cloud.securityGroups.bridgedPlans(node: input.node).map { NetworkPlanRow(node: $0.node, vni: 0, plan: $0.plan.text) }
        }
    }

    /// Adds one operation: `POST /admin/v1/<name>`, signed by a cloud administrator's key, a JSON
    /// body in and a JSON answer out; errors as `{"error", "code"}` with an HTTP status.
    struct Routes {
        let router: Router<BasicRequestContext>
        let authenticator: RequestAuthenticator
        let logger: Logger

        init(router: Router<BasicRequestContext>, authenticator: RequestAuthenticator, logger: Logger) {
            self.router = router
            self.authenticator = authenticator.forService(signingService, acceptsSigV2: false)
            self.logger = logger
        }

        func callAsFunction<Input: Decodable & Sendable, Output: Encodable & Sendable>(
            _ name: String, _ body: @escaping @Sendable (Input) async throws -> Output
        ) {
            let (authenticator, logger) = (authenticator, logger)
            router.post(RouterPath("/admin/v1/\(name)")) { request, _ -> Response in
                do {
                    let bytes: [UInt8]
                    switch await RequestBodyRead.read(request, limit: 1 << 20) {
                    case .complete(let body): bytes = body
                    case .tooLarge: return json(.contentTooLarge, ["error": "The request body is larger than 1 MiB.", "code": "invalidParameter"])
                    case .incomplete: return json(.badRequest, ["error": "The request body ended before its Content-Length.", "code": "invalidParameter"])
                    }
                    let signable = SignableRequest(
                        method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                        headers: EC2API.headerPairs(of: request), body: bytes)
                    let principal = try authenticator.authenticate(signable, queryPairs: Encoding.formPairs(Substring(signable.query)) ?? [])
                    guard principal.isCloudAdmin else {
                        throw EucaError(.unauthorized, nil, "Only the cloud's administrators use the admin API.")
                    }
                    let input = try JSONDecoder().decode(Input.self, from: Data(bytes.isEmpty ? Array("{}".utf8) : bytes))
                    let output = try await body(input)
                    logger.info("admin operation", metadata: ["operation": "\(name)", "euca.access-key": "\(principal.accessKeyId)"])
                    return json(.ok, output)
                } catch let error as EucaError {
                    let status: HTTPResponse.Status = switch error.code {
                    case .authFailure, .missingAuthentication, .requestExpired, .incompleteSignature, .signatureDoesNotMatch: .unauthorized
                    case .unauthorized: .forbidden
                    case .notFound: .notFound
                    default: .badRequest
                    }
                    return json(status, ["error": error.message, "code": "\(error.code)"])
                } catch {
                    return json(.badRequest, ["error": "\(error)", "code": "invalidParameter"])
                }
            }
        }
    }

    static func userRow(_ user: UserRecord, cloud: CloudController) throws -> UserRow {
        UserRow(
            accountId: user.accountId.rawValue, userName: user.name, userId: user.id, arn: user.arn, hasPassword: user.login != nil,
            accessKeys: try cloud.users.accessKeys(of: user.name, in: user.accountId).map {
                AccessKeyRow(accessKeyId: $0.accessKeyId, status: $0.isActive ? "Active" : "Inactive")
            })
    }

    static func row(_ account: AccountRecord, cloud: CloudController) -> AccountRow {
        let terms = account.terms ?? .none
        let usage = cloud.instances.usage(of: account.id)
        return AccountRow(
            accountId: account.id.rawValue, name: account.name, isCloudAdmin: account.isCloudAdmin, maxInstances: terms.maxInstances,
            maxCores: terms.maxCores, maxMemoryMiB: terms.maxMemoryMiB, leaseSeconds: terms.leaseSeconds, priority: terms.priority,
            instances: usage.instances, cores: usage.cores, memoryMiB: usage.memoryMiB)
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data())))
    }
}
