import AsyncHTTPClient
public import EucaCloud
public import EucaCore
public import EucaSecurity
import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
import SwiftASN1
import X509

/// What a joining component sends the cloud controller, and what it gets back.
public struct JoinRequest: Codable, Sendable {
    public var secret: String
    public var csrPEM: String
}

public struct JoinReply: Codable, Sendable {
    public var certificatePEM: String
    public var caPEM: String
    public var role: ComponentRole
    public var name: String
    /// Where node controllers download images from (the cloud controller's `IMAGE_PORT` on its
    /// host); nil when it serves none.
    public var imageServiceURL: String?
}

/// What a component keeps of the cloud it joined, in its own store.
public struct JoinedCloud: Codable, Sendable, Hashable {
    /// The URL the join token named.
    public var cloudURL: String
    /// The image service the cloud controller named when the component joined.
    public var imageServiceURL: String?

    /// The component's record of its cloud, under the key `cloud`.
    public static let collection = StoreCollection<JoinedCloud>("component-joined-cloud")
}

/// Joining the cloud: a component redeems its one-time token for a certificate.
public enum Join {
    /// The cloud controller's side: `POST /join/v1` (plain HTTP; the token pins the CA, and the
    /// secret is good for one use).
    public static func addRoute(
        to router: Router<BasicRequestContext>, registry: ComponentRegistry, imageServiceURL: String?, logger: Logger
    ) {
        router.post("/join/v1") { request, _ -> Response in
            do {
                let body = try await request.body.collect(upTo: 1 << 20)
                let input = try JSONDecoder().decode(JoinRequest.self, from: Data(body.readableBytesView))
                let (certificate, ca, record) = try await registry.join(secret: input.secret, csrPEM: input.csrPEM)
                logger.info("component joined", metadata: ["role": "\(record.role.rawValue)", "name": "\(record.name)", "host": "\(record.host)"])
                return json(.ok, JoinReply(
                    certificatePEM: certificate, caPEM: ca, role: record.role, name: record.name, imageServiceURL: imageServiceURL))
            } catch {
                let message = (error as? EucaError)?.message ?? "the join request could not be read"
                logger.warning("join refused", metadata: ["reason": "\(message)"])
                return json(.forbidden, ["error": message])
            }
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The component's side: redeems `token` with a new key, checks that the CA that answered is
    /// the one the token names and that the certificate is for that key, and returns the identity.
    public static func redeem(_ tokenText: String, expecting role: ComponentRole) async throws -> (ComponentIdentity, JoinedCloud) {
        guard let token = JoinToken(encoded: tokenText) else {
            throw EucaError(.invalidParameter, .parameter, "That is not a join token (they start with 'euca1.').")
        }
        let (keyPEM, csrPEM) = try ComponentIdentity.newKey(name: role.rawValue)
        var request = HTTPClientRequest(url: token.cloud + "/join/v1")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(JoinRequest(secret: token.secret, csrPEM: csrPEM))))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        guard response.status == .ok, let reply = try? JSONDecoder().decode(JoinReply.self, from: body) else {
            let reason = (try? JSONDecoder().decode([String: String].self, from: body))?["error"] ?? "status \(response.status.code)"
            throw EucaError(.authFailure, nil, "The cloud controller refused the join: \(reason)")
        }
        let ca = try Certificate(pemEncoded: reply.caPEM)
        guard CloudCA.fingerprint(of: ca) == token.caFingerprint else {
            throw EucaError(.authFailure, nil, "The CA that answered is not the one the token names; not joining.")
        }
        guard reply.role == role else {
            throw EucaError(.invalidParameter, .parameter, "That token is for a \(reply.role.rawValue), not a \(role.rawValue).")
        }
        let identity = ComponentIdentity(keyPEM: keyPEM, certificatePEM: reply.certificatePEM, caPEM: reply.caPEM)
        let issued = try Certificate(pemEncoded: reply.certificatePEM)
        let key = try Certificate.PrivateKey(pemEncoded: keyPEM)
        guard issued.publicKey == key.publicKey, case .success = await CloudCAVerifier(certificate: ca).verify(chain: [try issued.serializeAsDER()]) else {
            throw EucaError(.authFailure, nil, "The certificate the cloud controller returned does not verify.")
        }
        return (identity, JoinedCloud(cloudURL: token.cloud, imageServiceURL: reply.imageServiceURL))
    }
}

extension Certificate {
    func serializeAsDER() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }
}

