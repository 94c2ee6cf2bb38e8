public import EucaCloud
public import EucaCore
public import EucaSecurity
public import Foundation
public import Hummingbird
import EucaHTTP
public import Logging
import HTTPTypes
import Metrics
import NIOCore
import Synchronization

/// The EC2 API's settings, read from the configuration once at start.
public struct EC2APISettings: Sendable, Hashable {
    /// The address to listen on (`EC2_BIND`).
    public var host: String
    /// The port (`EC2_PORT`), 8773 as in Eucalyptus; 0 picks a free one.
    public var port: Int
    /// The largest request body accepted.
    public var maxBodyBytes: Int
    /// How far a request's signing time may be from the server's clock.
    public var maxClockSkew: TimeInterval

    public init(host: String = "127.0.0.1", port: Int = 8773, maxBodyBytes: Int = 1 << 20, maxClockSkew: TimeInterval = 900) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxClockSkew = maxClockSkew
    }

    public static let keys: [ConfigKey] = [
        ConfigKey("EC2_BIND", type: "address", default: "127.0.0.1", "The address the EC2 API listens on; 0.0.0.0 for every interface."),
        ConfigKey("EC2_PORT", type: "port", default: "8773", "The EC2 API's port; 0 picks a free one and logs it."),
        ConfigKey("EC2_MAX_BODY", type: "bytes", default: "1048576", "The largest request body the EC2 API accepts."),
    ]

    public init(_ config: EucaConfig) throws(ConfigError) {
        self.init(
            host: try config.nonEmptyString("EC2_BIND", default: "127.0.0.1"),
            port: try config.port("EC2_PORT", default: 8773),
            maxBodyBytes: try config.integer("EC2_MAX_BODY", default: 1 << 20, in: 4096...(64 << 20)))
    }
}

/// An HTTP response as the EC2 API produces it.
public struct EC2Response: Sendable {
    public var status: Int
    public var body: String
    public var requestId: String
}

/// The EC2 Query API: decodes a request, checks its signature, runs the action, and answers in
/// EC2's XML (in the namespace of the `Version` the client sent) or with an EC2 error document.
public struct EC2API: Sendable {
    public let cloud: CloudController
    public let authenticator: RequestAuthenticator
    public let settings: EC2APISettings
    private let logger: Logger
    private let metrics = RequestMetrics()
    private let sts: STSAPI
    private let iam: IAMAPI

    /// The service name SigV4 signatures for this API are scoped to.
    public static let signingService = "ec2"

    /// The API version answered when a request names none.
    public static let defaultVersion = "2016-11-15"

    public init(cloud: CloudController, settings: EC2APISettings, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.cloud = cloud
        self.settings = settings
        self.logger = logger
        self.authenticator = RequestAuthenticator(
            credentials: cloud.state, service: Self.signingService, regions: cloud.settings.signingRegions,
            maxClockSkew: settings.maxClockSkew, now: now)
        self.sts = STSAPI(ec2: authenticator, users: cloud.users)
        self.iam = IAMAPI(cloud: cloud, ec2: authenticator)
    }

    /// IAM's path, as Eucalyptus named its IAM-compatible service.
    public static let iamPath = ServicePaths.iam

    /// Adds the API's routes (`/` and `/services/Eucalyptus`, GET and POST) to `router`, and
    /// IAM's (`/services/Euare`).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        for path in ["/", "/services/Eucalyptus", Self.iamPath] {
            router.get(RouterPath(path)) { request, _ in await respond(to: request) }
            router.post(RouterPath(path)) { request, _ in await respond(to: request) }
        }
    }

    /// The request's headers as a signature covers them (with `Host`, which HTTP types keep apart).
    public static func headerPairs(of request: Request) -> [(name: String, value: String)] {
        var headerPairs: [(name: String, value: String)] = []
        // HTTP types keep the Host header as the request's authority, not among the fields.
        if let authority = request.head.authority { headerPairs.append(("host", authority)) }
        for field in request.headers { headerPairs.append((field.name.rawName, field.value)) }
        return headerPairs
    }

    private func respond(to request: Request) async -> Response {
        let started = ContinuousClock.now
        let result: EC2Response
        var closing = false
        switch await RequestBodyRead.read(request, limit: settings.maxBodyBytes) {
        case .complete(let body):
            result = await handle(
                SignableRequest(
                    method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                    headers: Self.headerPairs(of: request), body: body))
        case .tooLarge:
            closing = true
            result = refusal(
                EC2Error(
                    "RequestEntityTooLarge", "The request body is larger than this cloud's limit of \(settings.maxBodyBytes) bytes.",
                    status: 413), reason: "body too large")
        case .incomplete:
            closing = true
            result = refusal(
                EC2Error("MalformedQueryString", "The request body ended before its Content-Length, or could not be read."),
                reason: "body incomplete")
        }
        metrics.record(status: result.status, since: started)
        var headers = HTTPFields()
        headers[.contentType] = "text/xml;charset=UTF-8"
        headers[HTTPField.Name("x-amzn-RequestId")!] = result.requestId
        // The rest of the body is not read: the connection is closed once this answer is written.
        if closing { headers[.connection] = "close" }
        return Response(
            status: HTTPResponse.Status(code: result.status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: result.body)))
    }

    /// An answer to a request refused before it was read whole.
    private func refusal(_ error: EC2Error, reason: String) -> EC2Response {
        let requestId = UUID().uuidString.lowercased()
        logger.notice("request refused: \(reason)", metadata: ["euca.request": "\(requestId)"])
        return EC2Response(status: error.status, body: error.document(requestId: requestId), requestId: requestId)
    }

    /// Handles one request end to end. Never throws: every failure becomes an EC2 error document.
    public func handle(_ request: SignableRequest) async -> EC2Response {
        let requestId = UUID().uuidString.lowercased()
        var action = "-"
        do {
            guard let queryPairs = Encoding.formPairs(Substring(request.query)) else {
                throw EC2Error("InvalidParameterValue", "The query string is not valid percent-encoded UTF-8.")
            }
            var pairs = queryPairs
            if request.method == "POST", !request.body.isEmpty {
                guard let text = String(validating: request.body, as: UTF8.self), let bodyPairs = Encoding.formPairs(Substring(text)) else {
                    throw EC2Error("InvalidParameterValue", "The request body is not valid form-encoded UTF-8.")
                }
                pairs += bodyPairs
            }
            let params = QueryParameters(pairs)
            if request.path == Self.iamPath || IAMAPI.addresses(request, queryPairs: queryPairs, params: params) {
                let response = await iam.handle(request, queryPairs: queryPairs, pairs: pairs, params: params, requestId: requestId)
                logger.debug("iam request", metadata: [
                    "euca.request": "\(requestId)", "euca.action": "\(params["Action"]?.prefix(64) ?? "-")", "status": "\(response.status)",
                ])
                return response
            }
            if STSAPI.addresses(request, queryPairs: queryPairs, params: params) {
                let response = sts.handle(request, queryPairs: queryPairs, pairs: pairs, params: params, requestId: requestId)
                logger.debug("sts request", metadata: [
                    "euca.request": "\(requestId)", "euca.action": "\(params["Action"]?.prefix(64) ?? "-")", "status": "\(response.status)",
                ])
                return response
            }
            let principal = try authenticator.authenticate(request, queryPairs: queryPairs, parameterPairs: pairs)
            try params.checkShape()
            guard let named = params["Action"], !named.isEmpty else {
                throw EC2Error("MissingAction", "The request must contain the parameter Action.")
            }
            action = named
            let version = params["Version"] ?? Self.defaultVersion
            guard EC2Versions.known.contains(version) else {
                throw EC2Error("NoSuchVersion", "The requested version (\(version.prefix(40))) of service AmazonEC2 does not exist.")
            }
            guard let handler = EC2Actions.implemented[action] else {
                if knownEC2Actions.contains(action) {
                    throw EC2Error("Unsupported", "The action \(action) is not supported by this cloud yet.")
                }
                throw EC2Error("InvalidAction", "The action \(action) is not valid for this web service.")
            }
            try ActionParameters.check(params, action: action, handled: ActionParameters.handled[action] ?? [])
            let context = ActionContext(principal: principal, params: params, cloud: cloud, version: version)
            try handler.authorize?(context)
            if try params.boolean("DryRun") == true {
                throw EC2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", status: 412)
            }
            var xml = XMLWriter(capacity: 2048)
            xml.appendRaw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(action)Response xmlns=\"http://ec2.amazonaws.com/doc/\(version)/\">")
            xml.leaf("requestId", requestId)
            try await RequestID.$current.withValue(requestId) { try await handler.run(context, &xml) }
            xml.close("\(action)Response")
            logger.debug("request", metadata: [
                "euca.request": "\(requestId)", "euca.action": "\(action)", "euca.account": "\(principal.accountId)",
            ])
            guard VersionShapes.shapes(version) else { return EC2Response(status: 200, body: xml.text, requestId: requestId) }
            let shaped = VersionShapes.shape(xml.bytes, version: version)
            return EC2Response(status: 200, body: String(decoding: shaped, as: UTF8.self), requestId: requestId)
        } catch {
            let ec2 = EC2Error(error)
            var metadata: Logger.Metadata = [
                "euca.request": "\(requestId)", "euca.action": "\(action)", "code": "\(ec2.code)",
            ]
            if ec2.status >= 500 {
                metadata["error"] = "\(error)"
                logger.error("request failed", metadata: metadata)
            } else {
                logger.info("request refused", metadata: metadata)
            }
            return EC2Response(status: ec2.status, body: ec2.document(requestId: requestId), requestId: requestId)
        }
    }
}

extension EC2API {
    /// How far one EC2 action is offered.
    public enum Coverage: Sendable, Hashable {
        case supported
        case partly(String)
        case notYet
    }

    /// Every action in EC2's API with how far this cloud offers it, sorted by name.
    public static func coverage() -> [(action: String, coverage: Coverage)] {
        knownEC2Actions.union(EC2Actions.implemented.keys).sorted().map { name in
            guard let action = EC2Actions.implemented[name] else { return (name, .notYet) }
            return (name, action.limits.map(Coverage.partly) ?? .supported)
        }
    }

    /// The coverage table in Markdown, as docs/ec2-api-coverage.md holds it.
    public static func coverageMarkdown() -> String {
        let rows = coverage()
        let supported = rows.filter { $0.coverage == .supported }.count
        let partly = rows.filter { if case .partly = $0.coverage { true } else { false } }.count
        var text = "# EC2 API coverage\n\n"
        text += "Generated from the API's action registry by `euca-admin api-coverage` (`make docs`); a test checks it is current.\n"
        text += "Of EC2's \(rows.count) actions, \(supported) are supported, \(partly) partly, and the rest answer `Unsupported`.\n\n"
        text += "| action | status | not yet |\n|---|---|---|\n"
        for (name, coverage) in rows where coverage != .notYet {
            switch coverage {
            case .supported: text += "| \(name) | supported | |\n"
            case .partly(let limits): text += "| \(name) | partly | \(limits.replacingOccurrences(of: "|", with: "\\|")) |\n"
            case .notYet: break
            }
        }
        text += "\n## Not offered yet\n\n"
        text += rows.filter { $0.coverage == .notYet }.map(\.action).joined(separator: ", ") + "\n"
        text += "\n## Parameters and filters of each supported action\n\n"
        text += "Names as they travel (`N` for a list index). A parameter EC2 documents that is not taken is refused with "
        text += "`Unsupported` naming it; one EC2 does not document is `UnknownParameter`. A documented filter that is not read "
        text += "names something this cloud's resources do not have, and matches nothing.\n"
        for action in EC2Actions.implemented.keys.sorted() {
            let documented = documentedParameters[action] ?? []
            let taken = ActionParameters.handled[action] ?? []
            text += "\n### \(action)\n\n"
            text += "- taken: " + list(taken.subtracting(["DryRun"])) + "\n"
            let refused = documented.subtracting(taken).subtracting(["DryRun"])
            if !refused.isEmpty { text += "- refused: " + list(refused) + "\n" }
            if let filters = documentedFilters[action] {
                let read = EC2Actions.filterNames[action] ?? []
                let tags = filters.contains("tag:<key>") ? ["tag:<key>"] : []
                let matched = Set(filters).intersection(read.union(tags))
                text += "- filters read: " + list(matched) + "\n"
                let none = Set(filters).subtracting(matched)
                if !none.isEmpty { text += "- filters that match nothing here: " + list(none) + "\n" }
            }
        }
        return text
    }

    private static func list(_ names: Set<String>) -> String {
        names.isEmpty ? "none" : names.sorted().map { "`\($0)`" }.joined(separator: ", ")
    }
}

/// Request counts and latency, by HTTP status, through swift-metrics.
final class RequestMetrics: Sendable {
    private let counters = Mutex<[Int: Counter]>([:])
    private let latency = Metrics.Timer(label: "euca_ec2_request_duration")

    func record(status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        latency.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        let counter = counters.withLock { counters in
            if let counter = counters[status] { return counter }
            let counter = Counter(label: "euca_ec2_requests_total", dimensions: [("status", String(status))])
            counters[status] = counter
            return counter
        }
        counter.increment()
    }
}
