import AsyncHTTPClient
import EucaCore
import EucaSecurity
public import Foundation
import NIOCore
import NIOHTTP1

/// `euca-admin`'s side of the admin API: SigV4-signed JSON calls with the administrator's key.
public struct AdminClient: Sendable {
    public var endpoint: String
    public var accessKeyId: String
    public var secret: String
    public var region: String

    public init(endpoint: String, accessKeyId: String, secret: String, region: String) {
        self.endpoint = endpoint
        self.accessKeyId = accessKeyId
        self.secret = secret
        self.region = region
    }

    /// Reads the endpoint and key from the files euca-cloud/euca-clc wrote under
    /// `STATE_DIR/credentials`, overridden by `EUCA_URL`, `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`.
    public static func from(state: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AdminClient {
        func values(_ file: String) -> [String: String] {
            guard let text = try? String(contentsOfFile: "\(state)/credentials/\(file)", encoding: .utf8) else { return [:] }
            var result: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2 { result[parts[0]] = parts[1] }
            }
            return result
        }
        let credentials = values("credentials"), config = values("config")
        guard let endpoint = environment["EUCA_URL"] ?? config["endpoint_url"],
            let key = environment["AWS_ACCESS_KEY_ID"] ?? credentials["aws_access_key_id"],
            let secret = environment["AWS_SECRET_ACCESS_KEY"] ?? credentials["aws_secret_access_key"]
        else {
            throw EucaError(
                .missingAuthentication, nil,
                "No administrator credentials: give --state with the cloud's STATE_DIR, or set EUCA_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
        }
        return AdminClient(endpoint: endpoint, accessKeyId: key, secret: secret, region: config["region"] ?? "eucalyptus")
    }

    public func call<Input: Encodable, Output: Decodable>(_ operation: String, _ input: Input, as _: Output.Type = Output.self) async throws -> Output {
        guard let url = URL(string: endpoint + "/admin/v1/\(operation)"), let host = url.host else {
            throw EucaError(.invalidParameter, .parameter, "Bad endpoint \(endpoint)")
        }
        let body = Array(try JSONEncoder().encode(input))
        var signable = SignableRequest(
            method: "POST", path: url.path, query: "", headers: [("Content-Type", "application/json")], body: body)
        SigV4.sign(&signable, host: url.port.map { "\(host):\($0)" } ?? host, accessKeyId: accessKeyId, secret: secret, region: region, service: AdminAPI.signingService)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for header in signable.headers where header.name.lowercased() != "host" { request.headers.add(name: header.name, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        } catch {
            throw EucaError(.unavailable, nil, "The cloud controller at \(endpoint) did not answer: \(error)")
        }
        let data = Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
        guard response.status == .ok else {
            let message = (try? JSONDecoder().decode([String: String].self, from: data))?["error"] ?? "status \(response.status.code)"
            throw EucaError(.invalidParameter, nil, message)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(Output.self, from: data)
    }
}
