import EucaCore
import EucaSecurity
import Foundation
import Testing

/// Every vector of AWS's published SigV4 test suite, both editions, through this verifier: the
/// canonical request and the string to sign must be the published ones byte for byte, the
/// published signature must verify, and a changed one must not.
@Suite struct SigV4SuiteTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    /// Vectors this verifier does not follow, with the reason: the ones whose request file does
    /// not hold what was signed, and the 2011 edition's rules that the 2015 edition (and every
    /// AWS SDK, botocore among them) replaced.
    static let notCheckable: [String: String] = [
        "2015/get-vanilla-with-session-token": "the request file lacks the x-amz-security-token header its canonical request signs",
        "2011/get-header-key-duplicate": "2011 sorted repeated header values; 2015/get-header-key-duplicate keeps their order",
        "2011/get-header-value-order": "2011 sorted repeated header values; 2015/get-header-value-order keeps their order",
        "2011/get-space": "2011 encoded the path once; AWS encodes it twice for every service but S3 (botocore rewrote this vector to /%2520/foo)",
        "2011/get-utf8": "2011 encoded the path once; AWS encodes it twice for every service but S3 (botocore rewrote this vector)",
    ]

    static var checkable: [SigV4Suite.Vector] { SigV4Suite.vectors.filter { notCheckable[$0.description] == nil } }

    struct Keys: CredentialStore {
        func accessKey(id: String) -> (key: AccessKey, isCloudAdmin: Bool)? {
            id == "AKIDEXAMPLE"
                ? (AccessKey(accessKeyId: id, secretAccessKey: SigV4SuiteTests.secret, accountId: AccountID(rawValue: "123456789012"), userName: "u"), false)
                : nil
        }
    }

    /// A raw request as the suite writes it: request line, headers (continuation lines folded
    /// into one value, as HTTP/1.1 says), a blank line, and the body.
    static func parse(_ text: String) -> SignableRequest {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        // The target runs to the last space: get-space's holds a raw one.
        let afterMethod = requestLine.dropFirst(method.count + 1)
        let target = String(afterMethod[..<afterMethod.lastIndex(of: " ")!])
        var headers: [(name: String, value: String)] = []
        var bodyLines: [String] = []
        var inBody = false
        for line in lines {
            if inBody {
                bodyLines.append(line)
            } else if line.isEmpty {
                inBody = true
            } else if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                let colon = line.firstIndex(of: ":")!
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let query = target.contains("?") ? String(target[target.index(after: target.firstIndex(of: "?")!)...]) : ""
        return SignableRequest(method: method, path: path, query: query, headers: headers, body: Array(bodyLines.joined(separator: "\n").utf8))
    }

    static func verifier(_ vector: SigV4Suite.Vector) -> RequestAuthenticator {
        let time = Date(timeIntervalSince1970: vector.edition == 2015 ? 1_440_938_160 : 1_315_611_360)
        return RequestAuthenticator(
            credentials: Keys(), service: vector.edition == 2015 ? "service" : "host", regions: ["us-east-1"], now: { time })
    }

    static func signed(_ vector: SigV4Suite.Vector, signature: String? = nil) -> SignableRequest {
        var request = parse(vector.request)
        var authorization = vector.authorization
        if let signature, let range = authorization.range(of: "Signature=") {
            authorization = String(authorization[..<range.upperBound]) + signature
        }
        request.headers.append(("Authorization", authorization))
        return request
    }

    @Test("the canonical request and string to sign are the published ones", arguments: checkable)
    func canonicalForms(_ vector: SigV4Suite.Vector) throws {
        let request = Self.signed(vector)
        let pairs = try #require(Encoding.formPairs(Substring(request.query)))
        let claim = try SigV4.claim(of: request, queryPairs: pairs)
        let canonical = SigV4.canonicalRequest(
            method: request.method, path: request.path, queryPairs: pairs, request: request,
            signedHeaders: claim.signedHeaders, payloadHash: try SigV4.payloadHash(of: request))
        #expect(canonical == vector.canonicalRequest)
        #expect(SigV4.stringToSign(amzDate: claim.amzDate, scope: claim.scope, canonicalRequest: canonical) == vector.stringToSign)
    }

    @Test("the published signature verifies", arguments: checkable)
    func verifies(_ vector: SigV4Suite.Vector) throws {
        let request = Self.signed(vector)
        let pairs = try #require(Encoding.formPairs(Substring(request.query)))
        #expect(try Self.verifier(vector).authenticate(request, queryPairs: pairs).accessKeyId == "AKIDEXAMPLE")
    }

    @Test("a changed signature does not", arguments: checkable)
    func changedSignatureFails(_ vector: SigV4Suite.Vector) throws {
        let published = try #require(vector.authorization.split(separator: "Signature=").last.map(String.init))
        let changed = String(published.prefix(10)) + (published.dropFirst(10).first == "0" ? "1" : "0") + published.dropFirst(11)
        let request = Self.signed(vector, signature: changed)
        let pairs = try #require(Encoding.formPairs(Substring(request.query)))
        #expect {
            try Self.verifier(vector).authenticate(request, queryPairs: pairs)
        } throws: { ($0 as? EucaError)?.code == .authFailure }
    }

    @Test func bothEditionsAreThere() {
        #expect(SigV4Suite.vectors.filter { $0.edition == 2015 }.count == 34)
        #expect(SigV4Suite.vectors.filter { $0.edition == 2011 }.count == 28)
        #expect(Self.checkable.count == SigV4Suite.vectors.count - Self.notCheckable.count)
    }
}
