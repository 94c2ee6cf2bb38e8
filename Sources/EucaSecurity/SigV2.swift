import Crypto
import EucaCore
public import Foundation

/// AWS Signature Version 2, as euca2ools, libcloud and boto 2 sign EC2 Query requests:
/// `SignatureVersion=2`, `SignatureMethod` HmacSHA256 or HmacSHA1, `Timestamp` or `Expires`, and
/// the base64 `Signature` over `METHOD\nhost\npath\nsorted-query`.
public enum SigV2 {
    /// Whether the parameters claim a Version 2 signature.
    public static func isSigned(_ pairs: [(name: String, value: String)]) -> Bool {
        pairs.contains { $0.name == "SignatureVersion" } && pairs.contains { $0.name == "Signature" }
    }

    /// The string a Version 2 signature covers.
    public static func stringToSign(method: String, host: String, path: String, pairs: [(name: String, value: String)]) -> String {
        var encoded: [(String, String)] = []
        for pair in pairs where pair.name != "Signature" {
            encoded.append((Encoding.uriEncode(pair.name), Encoding.uriEncode(pair.value)))
        }
        encoded.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        let query = encoded.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return "\(method.uppercased())\n\(host)\n\(path.isEmpty ? "/" : path)\n\(query)"
    }

    /// The base64 signature of `text` with `secret`, for `method` (`HmacSHA256` or `HmacSHA1`).
    public static func signature(_ text: String, secret: String, method: String) -> String? {
        let key = SymmetricKey(data: Array(secret.utf8))
        switch method {
        case "HmacSHA256": return Data(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)).base64EncodedString()
        case "HmacSHA1": return Data(HMAC<Insecure.SHA1>.authenticationCode(for: Array(text.utf8), using: key)).base64EncodedString()
        default: return nil
        }
    }

    /// Adds `AWSAccessKeyId`, `SignatureVersion`, `SignatureMethod`, `Timestamp` and `Signature`
    /// to `pairs` (for clients and tests).
    public static func sign(
        _ pairs: [(name: String, value: String)], method: String, host: String, path: String, accessKeyId: String, secret: String,
        signatureMethod: String = "HmacSHA256", timestamp: Date = Date()
    ) -> [(name: String, value: String)] {
        let time = UTCTime(timestamp)
        let stamp = "\(UTCTime.pad(time.year, 4))-\(UTCTime.pad(time.month, 2))-\(UTCTime.pad(time.day, 2))T"
            + "\(UTCTime.pad(time.hour, 2)):\(UTCTime.pad(time.minute, 2)):\(UTCTime.pad(time.second, 2))Z"
        var signed = pairs
        signed += [("AWSAccessKeyId", accessKeyId), ("SignatureVersion", "2"), ("SignatureMethod", signatureMethod), ("Timestamp", stamp)]
        let text = stringToSign(method: method, host: host, path: path, pairs: signed)
        signed.append(("Signature", signature(text, secret: secret, method: signatureMethod) ?? ""))
        return signed
    }
}

extension RequestAuthenticator {
    /// Verifies a Version 2 signature carried in `pairs` (the query string, or the form body of a
    /// POST).
    func authenticateV2(_ request: SignableRequest, pairs: [(name: String, value: String)]) throws(EucaError) -> Principal {
        func value(_ name: String) -> String? { pairs.first { $0.name == name }?.value }
        guard value("SignatureVersion") == "2" else {
            throw EucaError(.authFailure, nil, "Only signature versions 2 and 4 are accepted.")
        }
        guard let keyId = value("AWSAccessKeyId"), let claimed = value("Signature") else {
            throw EucaError(.incompleteSignature, nil, "A Version 2 signature needs AWSAccessKeyId and Signature.")
        }
        let method = value("SignatureMethod") ?? "HmacSHA256"
        guard method == "HmacSHA256" || method == "HmacSHA1" else {
            throw EucaError(.invalidParameter, .parameter, "SignatureMethod must be HmacSHA256 or HmacSHA1, not \(method).")
        }
        guard let (key, isAdmin) = credentials.accessKey(id: keyId), key.isActive else {
            throw EucaError(.authFailure, .accessKey, "The access key ID '\(keyId.prefix(128))' is not known to this cloud.")
        }
        let current = now()
        if value("Expires") != nil && value("Timestamp") != nil {
            throw EucaError(.invalidParameter, .parameter, "A Version 2 signature carries a Timestamp or an Expires parameter, not both.")
        }
        if let expires = value("Expires") {
            guard let time = Encoding.parseISO8601(expires) else {
                throw EucaError(.invalidParameter, .parameter, "Expires \"\(expires)\" is not an ISO 8601 time.")
            }
            if current > time { throw EucaError(.requestExpired, nil, "Request has expired (Expires \(expires)).") }
            if time.timeIntervalSince(current) > Self.maxValidity {
                throw EucaError(
                    .requestExpired, nil,
                    "Expires \(expires) is more than 7 days ahead; a signed request is valid for 7 days at most.")
            }
        } else if let stamp = value("Timestamp") {
            guard let time = Encoding.parseISO8601(stamp) else {
                throw EucaError(.invalidParameter, .parameter, "Timestamp \"\(stamp)\" is not an ISO 8601 time.")
            }
            if abs(current.timeIntervalSince(time)) > maxClockSkew {
                throw EucaError(
                    .requestExpired, nil,
                    "Request has expired: its Timestamp \(stamp) is more than \(Int(maxClockSkew / 60)) minutes from the server's time.")
            }
        } else {
            throw EucaError(.missingParameter, .parameter, "A Version 2 signature needs a Timestamp or an Expires parameter.")
        }
        let host = request.header("Host") ?? ""
        let expected = Array(claimed.utf8)
        // Clients disagree on the host's case (requestbuilder lowercases it, libcloud sends it as given).
        for candidate in Set([host, host.lowercased()]) {
            let text = SigV2.stringToSign(method: request.method, host: candidate, path: request.path, pairs: pairs)
            if let computed = SigV2.signature(text, secret: key.secretAccessKey, method: method),
                Encoding.constantTimeEqual(Array(computed.utf8), expected)
            {
                return Principal(accountId: key.accountId, userName: key.userName, accessKeyId: key.accessKeyId, isCloudAdmin: isAdmin)
            }
        }
        throw EucaError(
            .authFailure, nil, "The request signature does not match the one computed with the secret key of '\(key.accessKeyId)'.")
    }
}
