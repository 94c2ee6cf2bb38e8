public import EucaCore
import EucaHTTP
public import EucaNode
import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import Metrics
import NIOCore

/// The HTTP side of a node's instance metadata service (plain HTTP, as on EC2), answering from
/// a ``MetadataService``.
public enum MetadataServer {
    /// A request context that keeps the caller's address, which names the instance.
    public struct Context: RequestContext {
        public var coreContext: CoreRequestContextStorage
        public let remoteAddress: SocketAddress?

        public init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            remoteAddress = source.channel.remoteAddress
        }
    }

    struct Responder: HTTPResponder {
        let service: MetadataService
        let logger: Logger
        /// Counters by status, made once: a lookup per request would cost more than the answer.
        let counters: [Int: Counter] = Dictionary(uniqueKeysWithValues: [200, 400, 401, 403, 404, 405].map { status in
            (status, Counter(label: "euca_metadata_requests_total", dimensions: [("status", String(status))]))
        })

        func respond(to request: Request, context: Context) async throws -> Response {
            guard let source = context.remoteAddress?.ipAddress else { return Response(status: .badRequest) }
            let answer = await service.respond(to: MetadataRequest(
                method: request.method.rawValue, path: request.uri.path, source: source,
                token: request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!],
                tokenTTL: request.headers[HTTPField.Name("X-aws-ec2-metadata-token-ttl-seconds")!],
                forwarded: request.headers[HTTPField.Name("X-Forwarded-For")!] != nil))
            (counters[answer.status] ?? Counter(label: "euca_metadata_requests_total", dimensions: [("status", String(answer.status))]))
                .increment()
            if logger.logLevel <= .debug || answer.status >= 500 {
                logger.debug("metadata request", metadata: [
                    "source": "\(source)", "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(answer.status)",
                ])
            }
            var headers = HTTPFields()
            headers[.contentType] = answer.contentType
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { headers[field] = value }
            }
            let body = request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
            return Response(status: HTTPResponse.Status(code: answer.status), headers: headers, body: body)
        }
    }

    /// The server, as a service to run beside the node controller.
    public static func application(
        service: MetadataService, address: String, port: Int, limits: HTTPLimits, logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            responder: Responder(service: service, logger: logger),
            server: GuardedHTTP.http1(limits, name: "metadata"),
            configuration: ApplicationConfiguration(address: .hostname(address, port: port), serverName: "EC2ws"),
            onServerRunning: { channel in
                logger.info("instance metadata service listening", metadata: [
                    "address": "\(address)", "port": "\(channel.localAddress?.port ?? port)",
                ])
            },
            logger: logger)
    }

    /// Why a TCP listener cannot bind `address:port` now (another process holds it, or this one
    /// may not), or nil when it can. The probe socket is closed at once.
    public static func bindProblem(address: String, port: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { return "\(address) is not an IPv4 address" }
        let bound = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return String(cString: strerror(errno)) }
        return nil
    }

    /// Whether `address` is assigned to an interface of this host, so the service can bind it.
    public static func isLocalAddress(_ address: String) -> Bool {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return false }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let socket = entry.pointee.ifa_addr, socket.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let found = socket.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet -> Bool in
                var raw = inet.pointee.sin_addr
                guard inet_ntop(AF_INET, &raw, &text, socklen_t(INET_ADDRSTRLEN)) != nil else { return false }
                return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == address
            }
            if found { return true }
        }
        return false
    }
}
