import Crypto
import EucaCore
import EucaSecurity
import Foundation
import Testing

/// What a signature must cover, tried as an attacker would: another body under a captured
/// signature, a scope of another service or region, an unsigned `host` or date, a validity of
/// years. Each is refused with EC2's code; the honest form of each is accepted.
@Suite struct SignatureCoverageTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let now = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let describeRegions = Array("Action=DescribeRegions&Version=2016-11-15".utf8)
    static let createKeyPair = Array("Action=CreateKeyPair&Version=2016-11-15&KeyName=stolen".utf8)

    struct Keys: CredentialStore {
        func accessKey(id: String) -> (key: AccessKey, isCloudAdmin: Bool)? {
            id == "AKIDEXAMPLE"
                ? (AccessKey(accessKeyId: id, secretAccessKey: SignatureCoverageTests.secret, accountId: AccountID(rawValue: "123456789012"), userName: "admin"), true)
                : nil
        }
    }

    let verifier = RequestAuthenticator(
        credentials: Keys(), service: "ec2", regions: ["eucalyptus", "cloud.example.com"], now: { SignatureCoverageTests.now })

    /// How a test client signs: every choice an attacker or an odd client could make.
    struct Signing {
        var region = "eucalyptus"
        var service = "ec2"
        /// The header the time goes in: `X-Amz-Date` or `Date`.
        var dateHeader = "X-Amz-Date"
        var signHost = true
        var signDate = true
        /// `x-amz-content-sha256` to send (and sign); nil sends none.
        var declaredHash: String?
        /// The payload hash the signature is computed over; nil is the body's.
        var signedHash: String?

        func sign(body: [UInt8]) -> SignableRequest {
            let amzDate = Encoding.amzDate(SignatureCoverageTests.now)
            var headers: [(name: String, value: String)] = [
                ("Host", "127.0.0.1:8773"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ]
            headers.append(dateHeader == "Date" ? ("Date", "Sun, 30 Aug 2015 12:36:00 GMT") : ("X-Amz-Date", amzDate))
            var signed = ["content-type"]
            if signHost { signed.append("host") }
            if signDate { signed.append(dateHeader.lowercased()) }
            if let declaredHash {
                headers.append(("x-amz-content-sha256", declaredHash))
                signed.append("x-amz-content-sha256")
            }
            signed.sort()
            let scope = SigV4Scope(accessKeyId: "AKIDEXAMPLE", date: String(amzDate.prefix(8)), region: region, service: service)
            var request = SignableRequest(method: "POST", path: "/", query: "", headers: headers, body: body)
            let canonical = SigV4.canonicalRequest(
                method: "POST", path: "/", queryPairs: [], request: request, signedHeaders: signed,
                payloadHash: signedHash ?? Encoding.hex(SHA256.hash(data: body)))
            let signature = SigV4.signature(
                stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical),
                key: SigV4.signingKey(secret: SignatureCoverageTests.secret, scope: scope))
            request.headers.append((
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(scope.path), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"))
            return request
        }

        /// The presigned (query) form of a GET with no body.
        func presign(expires: Int = 300) -> (SignableRequest, [(name: String, value: String)]) {
            let amzDate = Encoding.amzDate(SignatureCoverageTests.now)
            let scope = SigV4Scope(accessKeyId: "AKIDEXAMPLE", date: String(amzDate.prefix(8)), region: region, service: service)
            let signed = signHost ? "host" : "x-amz-date"
            var pairs: [(name: String, value: String)] = [
                ("Action", "DescribeRegions"), ("Version", "2016-11-15"), ("X-Amz-Algorithm", SigV4.algorithm),
                ("X-Amz-Credential", "AKIDEXAMPLE/\(scope.path)"), ("X-Amz-Date", amzDate), ("X-Amz-Expires", String(expires)),
                ("X-Amz-SignedHeaders", signed),
            ]
            let request = SignableRequest(method: "GET", path: "/", query: "", headers: [("Host", "127.0.0.1:8773")], body: [])
            let canonical = SigV4.canonicalRequest(
                method: "GET", path: "/", queryPairs: pairs, request: request, signedHeaders: [signed],
                payloadHash: signedHash ?? SigV4.emptyPayloadHash)
            let signature = SigV4.signature(
                stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical),
                key: SigV4.signingKey(secret: SignatureCoverageTests.secret, scope: scope))
            pairs.append(("X-Amz-Signature", signature))
            return (request, pairs)
        }
    }

    func code(_ request: SignableRequest, _ pairs: [(name: String, value: String)] = []) -> String {
        do {
            _ = try verifier.authenticate(request, queryPairs: pairs)
            return "accepted"
        } catch {
            return "\(error.code)"
        }
    }

    @Test func theHonestFormsAreAccepted() {
        #expect(code(Signing().sign(body: Self.describeRegions)) == "accepted")
        #expect(code(Signing(declaredHash: Encoding.hex(SHA256.hash(data: Self.describeRegions))).sign(body: Self.describeRegions)) == "accepted")
        #expect(code(Signing(declaredHash: Encoding.hex(SHA256.hash(data: Self.describeRegions)).uppercased()).sign(body: Self.describeRegions)) == "accepted")
        #expect(code(Signing(region: "cloud.example.com").sign(body: Self.describeRegions)) == "accepted")
        let (request, pairs) = Signing().presign()
        #expect(code(request, pairs) == "accepted")
    }

    /// A captured signature with its declared hash, replayed over another body.
    @Test func anotherBodyUnderACapturedSignatureIsRefused() {
        let captured = Signing(declaredHash: Encoding.hex(SHA256.hash(data: Self.describeRegions))).sign(body: Self.describeRegions)
        var swapped = captured
        swapped.body = Self.createKeyPair
        #expect(code(swapped) == "signatureDoesNotMatch")
        // Without the header, the body's own hash is what the signature must cover.
        var bare = Signing().sign(body: Self.describeRegions)
        bare.body = Self.createKeyPair
        #expect(code(bare) == "authFailure")
    }

    @Test func aDeclaredHashThatIsNotTheBodysIsRefused() {
        // Signed honestly over the body, but declaring another hash.
        let request = Signing(declaredHash: String(repeating: "0", count: 64), signedHash: nil).sign(body: Self.describeRegions)
        #expect(code(request) == "signatureDoesNotMatch")
    }

    @Test func anUnsignedPayloadIsRefused() {
        let header = Signing(declaredHash: SigV4.unsignedPayload, signedHash: SigV4.unsignedPayload).sign(body: Self.createKeyPair)
        #expect(code(header) == "signatureDoesNotMatch")
        let streaming = Signing(declaredHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", signedHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
            .sign(body: Self.createKeyPair)
        #expect(code(streaming) == "signatureDoesNotMatch")
        let (request, pairs) = Signing(signedHash: SigV4.unsignedPayload).presign()
        #expect(code(request, pairs) == "authFailure")
    }

    @Test("a scope of another region or service is refused", arguments: [
        ("us-east-1", "ec2"), ("", "ec2"), ("eucalyptus", "s3"), ("eucalyptus", "iam"), ("eucalyptus", "sts"),
        ("eucalyptus", "euca-admin"), ("EUCALYPTUS", "ec2"),
    ])
    func aForeignScopeIsRefused(_ scope: (String, String)) {
        let signing = Signing(region: scope.0, service: scope.1)
        #expect(code(signing.sign(body: Self.describeRegions)) == "signatureDoesNotMatch")
        let (request, pairs) = signing.presign()
        #expect(code(request, pairs) == "signatureDoesNotMatch")
    }

    @Test func anUnsignedHostIsRefused() {
        #expect(code(Signing(signHost: false).sign(body: Self.describeRegions)) == "incompleteSignature")
        let (request, pairs) = Signing(signHost: false).presign()
        #expect(code(request, pairs) == "incompleteSignature")
    }

    @Test func theDateHeaderSignsAsWellAsXAmzDate() {
        #expect(code(Signing(dateHeader: "Date").sign(body: Self.describeRegions)) == "accepted")
        #expect(code(Signing(dateHeader: "Date", signDate: false).sign(body: Self.describeRegions)) == "incompleteSignature")
        #expect(code(Signing(signDate: false).sign(body: Self.describeRegions)) == "incompleteSignature")
        var tampered = Signing(dateHeader: "Date").sign(body: Self.describeRegions)
        tampered.headers = tampered.headers.map { $0.name == "Date" ? ("Date", "Sun, 30 Aug 2015 12:37:00 GMT") : $0 }
        #expect(code(tampered) == "authFailure")
    }

    @Test func aPresignedValidityOverSevenDaysIsRefused() {
        let (long, longPairs) = Signing().presign(expires: 604_801)
        #expect(code(long, longPairs) == "incompleteSignature")
        let (week, weekPairs) = Signing().presign(expires: 604_800)
        #expect(code(week, weekPairs) == "accepted")
    }
}
