public import AsyncHTTPClient
public import EucaCore
public import EucaNode
import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
import NIOHTTP1

/// The cloud controller's image service for node controllers: `GET /images/v1?location=…`
/// streams a file of the image store, over HTTPS with mutual TLS (node certificates only).
public enum ImageFileService {
    public static let path = "/images/v1"

    /// Adds the route. `root` is the image store's directory; a location outside it is refused.
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>, root: String, logger: Logger) {
        let files = FileIO()
        router.get(RouterPath(path)) { request, context -> Response in
            guard let location = request.uri.queryParameters["location"].map(String.init) else {
                return Response(status: .badRequest)
            }
            let file: String
            do {
                file = try LocalImageSource.resolve(location, root: root)
            } catch {
                logger.warning("image request refused", metadata: ["location": "\(location)"])
                return Response(status: .forbidden)
            }
            guard FileManager.default.isReadableFile(atPath: file) else { return Response(status: .notFound) }
            logger.info("image sent to a node", metadata: ["location": "\(location)"])
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            return Response(status: .ok, headers: headers, body: try await files.loadFile(path: file, context: context))
        }
    }
}

/// An ``ImageSource`` that downloads from the cloud controller's ``ImageFileService`` with the
/// node's certificate.
public struct RemoteImageSource: ImageSource {
    public let http: HTTPClient
    /// `https://host:port` of the cloud controller's image service.
    public let baseURL: String

    public init(http: HTTPClient, baseURL: String) {
        self.http = http
        self.baseURL = baseURL
    }

    public func download(_ artifact: ImageArtifact, to destination: String) async throws {
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "location", value: artifact.location)]
        // `+` is a space to most servers' query parsing: encode it too.
        let query = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        let request = HTTPClientRequest(url: "\(baseURL)\(ImageFileService.path)?\(query)")
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(3600))
        } catch {
            throw EucaError(.unavailable, .image, "the cloud's image service at \(baseURL) did not answer", underlying: error)
        }
        guard response.status == .ok else {
            throw EucaError(
                response.status == .notFound ? .notFound : .unavailable, .image,
                "the cloud's image service answered \(response.status.code) for \(artifact.imageId)")
        }
        guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: destination)
        else {
            throw EucaError(.internalFailure, .image, "cannot write \(destination)")
        }
        defer { try? output.close() }
        for try await buffer in response.body {
            try output.write(contentsOf: buffer.readableBytesView)
        }
    }
}
