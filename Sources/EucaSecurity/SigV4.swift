public import Crypto
public import EucaCore
public import Foundation

/// An HTTP request as it arrived, with everything a signature can cover.
public struct SignableRequest: Sendable {
    public var method: String
    /// The path as sent, still percent-encoded.
    public var path: String
    /// The query string as sent, without `?`.
    public var query: String
    /// Header names in any case, values as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, query: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The values of header `name` (any case) joined by commas, as SigV4 canonicalizes repeats.
    public func header(_ name: String) -> String? {
        var values: [String] = []
        for header in headers where header.name.caseInsensitiveCompare(name) == .orderedSame {
            values.append(header.value)
        }
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}

/// The credential scope of a SigV4 signature.
public struct SigV4Scope: Sendable, Hashable {
    public var accessKeyId: String
    public var date: String
    public var region: String
    public var service: String

    public init(accessKeyId: String, date: String, region: String, service: String) {
        self.accessKeyId = accessKeyId
        self.date = date
        self.region = region
        self.service = service
    }

    public var path: String { "\(date)/\(region)/\(service)/aws4_request" }
}

/// AWS Signature Version 4: canonicalization, signing (for clients and tests) and verification.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// What a request says about its own signature.
    public struct Claim: Sendable {
        public var scope: SigV4Scope
        /// The signing time in ISO 8601 basic form (`20150830T123600Z`), as the string to sign
        /// carries it, whichever header or parameter gave it.
        public var amzDate: String
        public var time: Date
        public var signedHeaders: [String]
        public var signature: String
        /// Seconds the signature stays valid, for the presigned (query) form.
        public var expires: Int?
        public var isPresigned: Bool
        /// The header the time came from (`x-amz-date` or `date`) in the header form, which the
        /// signature must cover; nil in the presigned form, where it is a query parameter.
        public var dateHeader: String?
    }

    /// Whether the request claims to be SigV4-signed at all.
    public static func isSigned(_ request: SignableRequest, queryPairs: [(name: String, value: String)]) -> Bool {
        if let auth = request.header("Authorization"), auth.hasPrefix(algorithm) { return true }
        return queryPairs.contains { $0.name == "X-Amz-Algorithm" }
    }

    /// Reads the signature claim from the Authorization header or the query parameters.
    public static func claim(
        of request: SignableRequest, queryPairs: [(name: String, value: String)]
    ) throws(EucaError) -> Claim {
        if let auth = request.header("Authorization"), auth.hasPrefix(algorithm) {
            return try headerClaim(auth, request: request)
        }
        return try queryClaim(queryPairs)
    }

    private static func headerClaim(_ auth: String, request: SignableRequest) throws(EucaError) -> Claim {
        var fields: [String: String] = [:]
        for part in auth.dropFirst(algorithm.count).split(separator: ",") {
            let item = part.trimmingCharacters(in: .whitespaces)
            guard let equals = item.firstIndex(of: "=") else { continue }
            fields[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        guard let credential = fields["Credential"], let signed = fields["SignedHeaders"], let signature = fields["Signature"]
        else {
            throw EucaError(
                .incompleteSignature, nil,
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
        }
        let scope = try parseScope(credential)
        // X-Amz-Date wins over Date when both are sent; either way the string to sign carries the
        // time in ISO 8601 basic form.
        let time: Date
        let amzDate: String
        let dateHeader: String
        if let value = request.header("X-Amz-Date") {
            guard let parsed = Encoding.parseAmzDate(value) else {
                throw EucaError(.incompleteSignature, nil, "X-Amz-Date \"\(value.prefix(64))\" is not in yyyyMMdd'T'HHmmss'Z' form.")
            }
            (time, amzDate, dateHeader) = (parsed, value, "x-amz-date")
        } else if let value = request.header("Date") {
            guard let parsed = parseHTTPDate(value) else {
                throw EucaError(.incompleteSignature, nil, "Date \"\(value.prefix(64))\" is not an HTTP date (Mon, 09 Sep 2011 23:36:00 GMT).")
            }
            (time, amzDate, dateHeader) = (parsed, Encoding.amzDate(parsed), "date")
        } else {
            throw EucaError(.incompleteSignature, nil, "The request must carry an X-Amz-Date or Date header.")
        }
        return Claim(
            scope: scope, amzDate: amzDate, time: time,
            signedHeaders: signed.split(separator: ";").map { $0.lowercased() },
            signature: signature, expires: nil, isPresigned: false, dateHeader: dateHeader)
    }

    private static func queryClaim(_ pairs: [(name: String, value: String)]) throws(EucaError) -> Claim {
        func value(_ name: String) -> String? { pairs.first { $0.name == name }?.value }
        guard value("X-Amz-Algorithm") == algorithm else {
            throw EucaError(.incompleteSignature, nil, "X-Amz-Algorithm must be \(algorithm).")
        }
        guard let credential = value("X-Amz-Credential"), let date = value("X-Amz-Date"),
            let signed = value("X-Amz-SignedHeaders"), let signature = value("X-Amz-Signature")
        else {
            throw EucaError(
                .incompleteSignature, nil,
                "A presigned request requires X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature.")
        }
        guard let time = Encoding.parseAmzDate(date) else {
            throw EucaError(.incompleteSignature, nil, "X-Amz-Date \"\(date)\" is not in yyyyMMdd'T'HHmmss'Z' form.")
        }
        var expires: Int?
        if let text = value("X-Amz-Expires") {
            guard let seconds = Int(text), (1...Int(RequestAuthenticator.maxValidity)).contains(seconds) else {
                throw EucaError(.incompleteSignature, nil, "X-Amz-Expires must be between 1 and \(Int(RequestAuthenticator.maxValidity)) seconds (7 days).")
            }
            expires = seconds
        }
        return Claim(
            scope: try parseScope(credential), amzDate: date, time: time,
            signedHeaders: signed.split(separator: ";").map { $0.lowercased() },
            signature: signature, expires: expires, isPresigned: true, dateHeader: nil)
    }

    private static func parseScope(_ credential: String) throws(EucaError) -> SigV4Scope {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[4] == "aws4_request", !parts[0].isEmpty, parts[1].count == 8 else {
            throw EucaError(
                .incompleteSignature, nil,
                "Credential \"\(credential)\" is not ACCESSKEY/yyyyMMdd/region/service/aws4_request.")
        }
        return SigV4Scope(
            accessKeyId: String(parts[0]), date: String(parts[1]), region: String(parts[2]), service: String(parts[3]))
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    // MARK: - Canonical form

    /// The canonical path: empty and dot segments removed (`//a/./b/../c` is `/a/c`), each byte
    /// outside RFC 3986's unreserved set percent-encoded (so an already-encoded path is encoded
    /// again, as AWS does for all services but S3).
    public static func canonicalPath(_ rawPath: String) -> String {
        let path = rawPath.isEmpty ? "/" : rawPath
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            switch segment {
            case ".", "": continue
            case "..": if !output.isEmpty { output.removeLast() }
            default: output.append(segment)
            }
        }
        var normalized = "/" + output.joined(separator: "/")
        let endsInDirectory = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        if endsInDirectory && !normalized.hasSuffix("/") { normalized += "/" }
        return Encoding.uriEncode(normalized, keepSlash: true)
    }

    /// The canonical query string of decoded pairs: encoded, sorted by name then value.
    public static func canonicalQuery(_ pairs: [(name: String, value: String)], excluding excluded: String? = nil) -> String {
        var encoded: [(name: String, value: String)] = []
        encoded.reserveCapacity(pairs.count)
        for pair in pairs where pair.name != excluded {
            encoded.append((Encoding.uriEncode(pair.name), Encoding.uriEncode(pair.value)))
        }
        // Encoded text is ASCII, so String order is byte order here.
        encoded.sort { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
        var text = ""
        for (index, pair) in encoded.enumerated() {
            if index > 0 { text += "&" }
            text += pair.name + "=" + pair.value
        }
        return text
    }

    /// A header value as SigV4 canonicalizes it: trimmed, runs of spaces collapsed.
    static func canonicalHeaderValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    public static func canonicalRequest(
        method: String, path: String, queryPairs: [(name: String, value: String)], excludingQuery: String? = nil,
        request: SignableRequest, signedHeaders: [String], payloadHash: String
    ) -> String {
        var text = method + "\n" + canonicalPath(path) + "\n" + canonicalQuery(queryPairs, excluding: excludingQuery) + "\n"
        for name in signedHeaders {
            text += name + ":" + canonicalHeaderValue(request.header(name) ?? "") + "\n"
        }
        text += "\n" + signedHeaders.joined(separator: ";") + "\n" + payloadHash
        return text
    }

    public static func stringToSign(amzDate: String, scope: SigV4Scope, canonicalRequest: String) -> String {
        algorithm + "\n" + amzDate + "\n" + scope.path + "\n"
            + Encoding.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))
    }

    /// The SigV4 signing key for a secret and scope.
    public static func signingKey(secret: String, scope: SigV4Scope) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [scope.date, scope.region, scope.service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    public static func signature(stringToSign: String, key: SymmetricKey) -> String {
        Encoding.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    // MARK: - Verifying

    /// The payload hash a signature must cover: always the SHA-256 of the body received. A
    /// request that declares its hash in `x-amz-content-sha256` must declare exactly that;
    /// `UNSIGNED-PAYLOAD` and streaming forms, which leave the body uncovered, are refused.
    public static func payloadHash(of request: SignableRequest) throws(EucaError) -> String {
        let computed = Encoding.hex(SHA256.hash(data: request.body))
        guard let declared = request.header("x-amz-content-sha256") else { return computed }
        if declared == unsignedPayload || declared.hasPrefix("STREAMING-") {
            throw EucaError(
                .signatureDoesNotMatch, nil,
                "This API signs the whole body: x-amz-content-sha256 \(declared.prefix(64)) is not accepted.")
        }
        guard declared.lowercased() == computed else {
            throw EucaError(.signatureDoesNotMatch, nil, "The provided x-amz-content-sha256 header does not match what was computed.")
        }
        return computed
    }

    /// Whether `claim` is a correct signature of `request`, over `payloadHash`, made with `secret`.
    public static func verify(
        _ request: SignableRequest, queryPairs: [(name: String, value: String)], claim: Claim, payloadHash: String, secret: String
    ) -> Bool {
        let canonical = canonicalRequest(
            method: request.method, path: request.path, queryPairs: queryPairs,
            excludingQuery: claim.isPresigned ? "X-Amz-Signature" : nil,
            request: request, signedHeaders: claim.signedHeaders, payloadHash: payloadHash)
        let computed = signature(
            stringToSign: stringToSign(amzDate: claim.amzDate, scope: claim.scope, canonicalRequest: canonical),
            key: signingKey(secret: secret, scope: claim.scope))
        return Encoding.constantTimeEqual(Array(computed.utf8), Array(claim.signature.lowercased().utf8))
    }

    // MARK: - Signing (clients, tests, load generators)

    /// Signs `request` in place with an Authorization header, adding `X-Amz-Date` and, when
    /// missing, `Host`. Signs `host`, `x-amz-date` and `content-type` when present.
    public static func sign(
        _ request: inout SignableRequest, host: String, accessKeyId: String, secret: String,
        region: String, service: String = "ec2", date: Date = Date()
    ) {
        let amzDate = Encoding.amzDate(date)
        let scope = SigV4Scope(accessKeyId: accessKeyId, date: String(amzDate.prefix(8)), region: region, service: service)
        request.headers.removeAll { ["x-amz-date", "authorization"].contains($0.name.lowercased()) }
        if request.header("Host") == nil { request.headers.append(("Host", host)) }
        request.headers.append(("X-Amz-Date", amzDate))
        var signed = ["host", "x-amz-date"]
        if request.header("Content-Type") != nil { signed.append("content-type") }
        signed.sort()
        let pairs = Encoding.formPairs(Substring(request.query)) ?? []
        let canonical = canonicalRequest(
            method: request.method, path: request.path, queryPairs: pairs, request: request,
            signedHeaders: signed, payloadHash: Encoding.hex(SHA256.hash(data: request.body)))
        let signature = signature(
            stringToSign: stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical),
            key: signingKey(secret: secret, scope: scope))
        request.headers.append((
            "Authorization",
            "\(algorithm) Credential=\(accessKeyId)/\(scope.path), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"
        ))
    }
}
