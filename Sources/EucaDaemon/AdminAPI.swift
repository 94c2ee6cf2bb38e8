public import EucaCloud
import EucaCore
import EucaEC2API
public import EucaSecurity
import Foundation
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

    public struct Done: Codable, Sendable { public init() {} }

    /// The node name `register-node` gives a node at `host:port` when none is chosen.
    public static func defaultNodeName(host: String, port: Int) -> String {
        let base = host.replacingOccurrences(of: ":", with: "-")
        return port == 8775 ? base : "\(base)_\(port)"
    }

    public static func addRoutes(
        to router: Router<BasicRequestContext>, components: CloudComponents, cloud: CloudController,
        authenticator: RequestAuthenticator, logger: Logger
    ) {
        func route<Input: Decodable & Sendable, Output: Encodable & Sendable>(
            _ name: String, _ body: @escaping @Sendable (Input) async throws -> Output
        ) {
            router.post(RouterPath("/admin/v1/\(name)")) { request, _ -> Response in
                do {
                    let buffer = try await request.body.collect(upTo: 1 << 20)
                    let bytes = Array(buffer.readableBytesView)
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
                    case .authFailure, .missingAuthentication, .requestExpired, .incompleteSignature: .unauthorized
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
        route("createAccount") { (input: CreateAccount) in
            let (account, key) = try await cloud.createAccount(name: input.name)
            return AccountCreated(accountId: account.id.rawValue, name: account.name, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey)
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data())))
    }
}
