public import EucaCluster
public import EucaCore
import EucaHTTP
import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
import Metrics

/// Routes of one internal API: each operation decodes a JSON request, runs with the caller's
/// request id, and answers JSON or a ``WireError``.
struct InternalRoutes<Context: RequestContext> {
    let router: Router<Context>
    let prefix: String
    let logger: Logger

    func add<Request: Decodable & Sendable, Reply: Encodable & Sendable>(
        _ operation: String, _ body: @escaping @Sendable (Request) async throws -> Reply
    ) {
        let logger = logger
        let api = prefix.split(separator: "/").first.map(String.init) ?? prefix
        let latency = Metrics.Timer(label: "euca_internal_request_duration", dimensions: [("api", api), ("operation", operation)])
        let succeeded = Counter(label: "euca_internal_requests_total", dimensions: [("api", api), ("operation", operation), ("outcome", "ok")])
        let failed = Counter(label: "euca_internal_requests_total", dimensions: [("api", api), ("operation", operation), ("outcome", "error")])
        router.post(RouterPath("\(prefix)/\(operation)")) { request, _ -> Response in
            let requestID = request.headers[HTTPField.Name(Wire.requestIDHeader)!] ?? UUID().uuidString.lowercased()
            let started = ContinuousClock.now
            defer { latency.record(duration: started.duration(to: .now)) }
            do {
                let bytes: [UInt8]
                switch await RequestBodyRead.read(request, limit: 64 << 20) {
                case .complete(let body): bytes = body
                case .tooLarge: throw EucaError(.invalidParameter, .parameter, "The request body is larger than 64 MiB.")
                case .incomplete: throw EucaError(.invalidParameter, .parameter, "The request body ended before its Content-Length.")
                }
                let input = try Wire.decode(Request.self, Data(bytes))
                let output = try await RequestID.$current.withValue(requestID) { try await body(input) }
                succeeded.increment()
                return Self.json(.ok, try Wire.encode(output))
            } catch {
                failed.increment()
                let wire = WireError(error)
                logger.notice("internal call failed", metadata: [
                    "euca.request": "\(requestID)", "operation": "\(operation)", "code": "\(wire.code)", "error": "\(wire.message)",
                ])
                return Self.json(Self.status(for: wire), (try? Wire.encode(wire)) ?? Data())
            }
        }
    }

    static func json(_ status: HTTPResponse.Status, _ data: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func status(for error: WireError) -> HTTPResponse.Status {
        switch EucaError.Code(named: error.code) {
        case .notFound?: .notFound
        case .unavailable?: .serviceUnavailable
        case .internalFailure?: .internalServerError
        case .unsupported?: .notImplemented
        default: .badRequest
        }
    }
}

/// The node controller's API, `POST /nc/v1/<operation>`, as Eucalyptus named the operations.
public enum NodeAPI {
    public static let prefix = "/nc/v1"

    public static func addRoutes<Context: RequestContext>(to router: Router<Context>, node: any NodeControllerAPI, logger: Logger) {
        let routes = InternalRoutes(router: router, prefix: prefix, logger: logger)
        for operation in NodeOperations.all { operation.addRoute(to: routes, serving: node) }
        routes.add("startNetwork") { (_: Empty) -> Empty in throw networkNotAvailable }
    }
}

/// The cluster controller's API, `POST /cc/v1/<operation>`.
public enum ClusterAPI {
    public static let prefix = "/cc/v1"

    /// - Parameter configureNodes: makes the cluster use the nodes the cloud controller names.
    public static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, cluster: ClusterController, configureNodes: @escaping @Sendable ([NodeEndpoint]) async throws -> Void,
        endpoints: @escaping @Sendable () async -> [NodeEndpoint], logger: Logger
    ) {
        let routes = InternalRoutes(router: router, prefix: prefix, logger: logger)
        for operation in ClusterOperations.all { operation.addRoute(to: routes, serving: cluster) }
        routes.add("configureNodes") { (nodes: [NodeEndpoint]) in try await configureNodes(nodes); return Empty() }
        routes.add("describeNodes") { (_: Empty) -> [NodeStatus] in
            let known = Dictionary(await endpoints().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            return await cluster.nodeStates().map { node, state in
                NodeStatus(
                    endpoint: known[node], node: node, reachable: state.reachable, lastContact: state.lastContact,
                    lastError: state.lastError, resources: state.resources, instances: state.reports.count,
                    asleep: state.asleep)
            }
        }
        for operation in ["startNetwork", "stopNetwork", "assignAddress", "unassignAddress"] {
            routes.add(operation) { (_: Empty) -> Empty in throw networkNotAvailable }
        }
    }
}

let networkNotAvailable = EucaError(
    .unsupported, nil, "This release has no separate network operations: configureNetwork carries groups, members and elastic IPs to every host, which makes its networks as its instances need them.")
