import EucaCloud
import EucaCore
import EucaSecurity

/// AWS STS on the EC2 endpoint, for the question today's tools ask before anything else: who is
/// calling (`GetCallerIdentity`). Ansible's `amazon.aws` modules and Terraform's AWS provider send
/// it to the endpoint they were given for EC2.
///
/// A request is STS' when its SigV4 scope names `sts`, or, unsigned or signed without a scope
/// (SigV2), when it names STS' one version, 2011-06-15. STS takes SigV4 only. Answers and errors
/// are in STS' own XML. STS' other actions are refused by name (`NotImplemented`).
struct STSAPI: Sendable {
    static let version = "2011-06-15"
    static let signingService = "sts"
    static let namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
    /// STS' actions, as botocore's `sts` model lists them.
    static let knownActions: Set<String> = [
        "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "AssumeRoot", "DecodeAuthorizationMessage",
        "GetAccessKeyInfo", "GetCallerIdentity", "GetDelegatedAccessToken", "GetFederationToken", "GetSessionToken",
        "GetWebIdentityToken",
    ]

    let authenticator: RequestAuthenticator
    let users: UserService

    init(ec2 authenticator: RequestAuthenticator, users: UserService) {
        self.authenticator = authenticator.forService(Self.signingService, acceptsSigV2: false)
        self.users = users
    }

    /// Whether `request` is addressed to STS rather than EC2.
    static func addresses(_ request: SignableRequest, queryPairs: [(name: String, value: String)], params: QueryParameters) -> Bool {
        QueryService.addresses(request, queryPairs: queryPairs, params: params, service: signingService, version: version)
    }

    /// Answers one STS request. Never throws: every failure becomes an STS error document.
    func handle(
        _ request: SignableRequest, queryPairs: [(name: String, value: String)], pairs: [(name: String, value: String)],
        params: QueryParameters, requestId: String
    ) -> EC2Response {
        do {
            let principal = try authenticator.authenticate(request, queryPairs: queryPairs, parameterPairs: pairs)
            let action = try params.required("Action")
            guard params["Version"] == Self.version else {
                throw EC2Error(
                    "InvalidParameterValue", "STS answers version \(Self.version), not \((params["Version"] ?? "none").prefix(40)).")
            }
            guard action == "GetCallerIdentity" else {
                guard Self.knownActions.contains(action) else {
                    throw EC2Error("InvalidAction", "Could not find operation \(action.prefix(64)) for version \(Self.version).")
                }
                throw EC2Error("NotImplemented", "The STS action \(action) is not supported by this cloud.")
            }
            var xml = XMLWriter(capacity: 512)
            xml.appendRaw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<GetCallerIdentityResponse xmlns=\"\(Self.namespace)\">")
            xml.element("GetCallerIdentityResult") { xml in
                let user = users.user(principal.userName, of: principal.accountId)
                xml.leaf("Arn", user?.arn ?? Self.arn(of: principal))
                xml.leaf("UserId", user?.id ?? Self.userId(of: principal))
                xml.leaf("Account", principal.accountId.rawValue)
            }
            xml.element("ResponseMetadata") { $0.leaf("RequestId", requestId) }
            xml.close("GetCallerIdentityResponse")
            return EC2Response(status: 200, body: xml.text, requestId: requestId)
        } catch let error as EC2Error {
            return EC2Response(status: error.status, body: STSError.document(error, requestId: requestId), requestId: requestId)
        } catch {
            let sts = STSError.mapping(error)
            return EC2Response(status: sts.status, body: STSError.document(sts, requestId: requestId), requestId: requestId)
        }
    }

    /// The caller as IAM names it: every key belongs to a user of an account (the account's
    /// `admin` user for the keys `euca-admin` makes).
    static func arn(of principal: Principal) -> String {
        "arn:aws:iam::\(principal.accountId.rawValue):user/\(principal.userName)"
    }

    /// A stable IAM-style unique id for the caller's user (`AIDA` and 17 characters), derived
    /// from its account and name: the same user has the same id on every call and restart.
    static func userId(of principal: Principal) -> String { UserService.derivedUserId(principal.accountId, principal.userName) }
}

/// Errors as STS reports them: the codes STS uses, in STS' own document.
enum STSError {
    /// The STS error for any error a request can end in.
    static func mapping(_ error: any Error) -> EC2Error {
        guard let error = error as? EucaError else { return EC2Error(error) }
        if let refused = QueryService.signatureError(error) { return refused }
        switch error.code {
        case .missingParameter: return EC2Error("MissingParameter", error.message)
        default: return EC2Error("InvalidParameterValue", error.message)
        }
    }

    /// STS' error document for `error`.
    static func document(_ error: EC2Error, requestId: String) -> String {
        QueryService.errorDocument(error, namespace: STSAPI.namespace, requestId: requestId)
    }
}

/// What the AWS Query services answered on the EC2 endpoint (STS, IAM) have in common.
enum QueryService {
    /// Whether `request` is addressed to `service`: its SigV4 scope names it, or, unsigned or
    /// signed without a scope (SigV2), it names the service's one `version`.
    ///
    /// Asked of every request on the endpoint, so it looks for the scope's text rather than
    /// parsing the signature (the verifier parses it once, for the service it belongs to).
    static func addresses(
        _ request: SignableRequest, queryPairs: [(name: String, value: String)], params: QueryParameters, service: String, version: String
    ) -> Bool {
        if SigV4.isSigned(request, queryPairs: queryPairs) {
            let scope = "/\(service)/aws4_request"
            if let authorization = request.header("Authorization") { return authorization.contains(scope + ",") }
            return queryPairs.contains { $0.name == "X-Amz-Credential" && $0.value.hasSuffix(scope) }
        }
        return params["Version"] == version
    }

    /// The error AWS' Query services (STS, IAM) answer for a request whose signature or time is
    /// refused, or nil for any other error.
    static func signatureError(_ error: EucaError) -> EC2Error? {
        switch error.code {
        case .authFailure where error.resource == .accessKey:
            EC2Error("InvalidClientTokenId", "The security token included in the request is invalid.", status: 403)
        case .authFailure, .signatureDoesNotMatch: EC2Error("SignatureDoesNotMatch", error.message, status: 403)
        case .missingAuthentication: EC2Error("MissingAuthenticationToken", error.message, status: 403)
        case .incompleteSignature: EC2Error("IncompleteSignature", error.message)
        case .requestExpired: EC2Error("RequestExpired", error.message)
        default: nil
        }
    }

    /// The service's error document (`ErrorResponse` in its `namespace`) for `error`.
    static func errorDocument(_ error: EC2Error, namespace: String, requestId: String) -> String {
        var xml = XMLWriter(capacity: 256)
        xml.appendRaw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"\(namespace)\">")
        xml.element("Error") { xml in
            xml.leaf("Type", error.status >= 500 ? "Receiver" : "Sender")
            xml.leaf("Code", error.code)
            xml.leaf("Message", error.message)
        }
        xml.leaf("RequestId", requestId)
        xml.close("ErrorResponse")
        return xml.text
    }
}
