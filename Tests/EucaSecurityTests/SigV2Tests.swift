import EucaCore
import EucaSecurity
import Foundation
import Testing

@Suite struct SigV2Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    struct Keys: CredentialStore {
        func accessKey(id: String) -> (key: AccessKey, isCloudAdmin: Bool)? {
            id == "AKIAIOSFODNN7EXAMPLE"
                ? (AccessKey(accessKeyId: id, secretAccessKey: SigV2Tests.secret, accountId: AccountID(rawValue: "123456789012"), userName: "u"), false)
                : nil
        }
    }

    /// AWS's published Signature Version 2 example (DescribeJobFlows, 2011-10-03T15:19:30).
    @Test func thePublishedExample() {
        let pairs: [(name: String, value: String)] = [
            ("Action", "DescribeJobFlows"), ("Version", "2009-03-31"), ("AWSAccessKeyId", "AKIAIOSFODNN7EXAMPLE"),
            ("SignatureVersion", "2"), ("SignatureMethod", "HmacSHA256"), ("Timestamp", "2011-10-03T15:19:30"),
        ]
        let text = SigV2.stringToSign(method: "GET", host: "elasticmapreduce.amazonaws.com", path: "/", pairs: pairs)
        #expect(text == "GET\nelasticmapreduce.amazonaws.com\n/\nAWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Action=DescribeJobFlows&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2011-10-03T15%3A19%3A30&Version=2009-03-31")
        #expect(SigV2.signature(text, secret: Self.secret, method: "HmacSHA256") == "i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf/Mj6vPxyYIs=")

        let request = SignableRequest(method: "GET", path: "/", query: "", headers: [("Host", "elasticmapreduce.amazonaws.com")], body: [])
        let signedAt = Encoding.parseISO8601("2011-10-03T15:19:30")!
        let authenticator = RequestAuthenticator(credentials: Keys(), service: "ec2", regions: ["eucalyptus"], now: { signedAt.addingTimeInterval(60) })
        let principal = try? authenticator.authenticate(request, queryPairs: [], parameterPairs: pairs + [("Signature", "i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf/Mj6vPxyYIs=")])
        #expect(principal?.accessKeyId == "AKIAIOSFODNN7EXAMPLE")
    }

    @Test("both methods, GET and POST, with Timestamp or Expires", arguments: ["HmacSHA256", "HmacSHA1"])
    func roundTrip(_ method: String) throws {
        let now = Date()
        let authenticator = RequestAuthenticator(credentials: Keys(), service: "ec2", regions: ["eucalyptus"], now: { now })
        for httpMethod in ["GET", "POST"] {
            let pairs = SigV2.sign(
                [("Action", "DescribeInstances"), ("Filter.1.Name", "tag:a b"), ("Filter.1.Value.1", "x/y~z")],
                method: httpMethod, host: "127.0.0.1:8773", path: "/services/Eucalyptus", accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                secret: Self.secret, signatureMethod: method, timestamp: now)
            let request = SignableRequest(method: httpMethod, path: "/services/Eucalyptus", query: "", headers: [("Host", "127.0.0.1:8773")], body: [])
            #expect(try authenticator.authenticate(request, queryPairs: [], parameterPairs: pairs).accessKeyId == "AKIAIOSFODNN7EXAMPLE")
            var tampered = pairs
            tampered[0].value = "RunInstances"
            #expect(throws: EucaError.self) { try authenticator.authenticate(request, queryPairs: [], parameterPairs: tampered) }
        }
    }

    @Test func oldOrExpiredRequestsAreRefused() {
        let now = Date()
        let authenticator = RequestAuthenticator(credentials: Keys(), service: "ec2", regions: ["eucalyptus"], now: { now })
        let request = SignableRequest(method: "GET", path: "/", query: "", headers: [("Host", "h")], body: [])
        let old = SigV2.sign([("Action", "DescribeRegions")], method: "GET", host: "h", path: "/", accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                             secret: Self.secret, timestamp: now.addingTimeInterval(-20 * 60))
        #expect {
            try authenticator.authenticate(request, queryPairs: [], parameterPairs: old)
        } throws: { ($0 as? EucaError)?.code == .requestExpired }
        var expired: [(name: String, value: String)] = [
            ("Action", "DescribeRegions"), ("AWSAccessKeyId", "AKIAIOSFODNN7EXAMPLE"), ("SignatureVersion", "2"),
            ("SignatureMethod", "HmacSHA256"), ("Expires", "2001-01-01T00:00:00Z"),
        ]
        let text = SigV2.stringToSign(method: "GET", host: "h", path: "/", pairs: expired)
        expired.append(("Signature", SigV2.signature(text, secret: Self.secret, method: "HmacSHA256")!))
        #expect {
            try authenticator.authenticate(request, queryPairs: [], parameterPairs: expired)
        } throws: { ($0 as? EucaError)?.code == .requestExpired }
    }

    /// A request signed to stay valid for decades could be replayed for decades: seven days is
    /// the most any signature may claim.
    @Test func expiresMoreThanSevenDaysAheadIsRefused() throws {
        let now = Date()
        let authenticator = RequestAuthenticator(credentials: Keys(), service: "ec2", regions: ["eucalyptus"], now: { now })
        let request = SignableRequest(method: "GET", path: "/", query: "", headers: [("Host", "h")], body: [])
        func signed(expires: String) -> [(name: String, value: String)] {
            var pairs: [(name: String, value: String)] = [
                ("Action", "DescribeRegions"), ("AWSAccessKeyId", "AKIAIOSFODNN7EXAMPLE"), ("SignatureVersion", "2"),
                ("SignatureMethod", "HmacSHA256"), ("Expires", expires),
            ]
            let text = SigV2.stringToSign(method: "GET", host: "h", path: "/", pairs: pairs)
            pairs.append(("Signature", SigV2.signature(text, secret: Self.secret, method: "HmacSHA256")!))
            return pairs
        }
        #expect {
            try authenticator.authenticate(request, queryPairs: [], parameterPairs: signed(expires: "2099-01-01T00:00:00Z"))
        } throws: { ($0 as? EucaError)?.code == .requestExpired }
        func stamp(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: date)
        }
        #expect {
            try authenticator.authenticate(
                request, queryPairs: [], parameterPairs: signed(expires: stamp(now.addingTimeInterval(7 * 86400 + 60))))
        } throws: { ($0 as? EucaError)?.code == .requestExpired }
        let principal = try authenticator.authenticate(
            request, queryPairs: [], parameterPairs: signed(expires: stamp(now.addingTimeInterval(7 * 86400 - 60))))
        #expect(principal.accessKeyId == "AKIAIOSFODNN7EXAMPLE")
    }
}
