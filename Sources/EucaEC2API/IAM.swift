import EucaCloud
import EucaCore
import EucaSecurity
import Foundation

/// AWS IAM's Query API, for an account's users and their access keys and passwords: at
/// Eucalyptus' Euare path (`/services/Euare`), and on the EC2 endpoint for requests whose SigV4
/// scope names `iam` (Ansible and other tools send IAM requests to the URL they were given).
///
/// Every user acts with its account's rights: IAM's policies are not offered, and IAM's other
/// actions answer `NotImplemented`, naming the action. Answers and errors are in IAM's XML,
/// with IAM's codes, as botocore's `iam` model describes them.
struct IAMAPI: Sendable {
    static let version = "2010-05-08"
    static let signingService = "iam"
    static let namespace = "https://iam.amazonaws.com/doc/2010-05-08/"
    /// The region IAM's global endpoint signs for, which tools may use whatever region they
    /// were given for EC2; taken beside the cloud's own regions.
    static let globalRegion = "us-east-1"

    let cloud: CloudController
    let authenticator: RequestAuthenticator

    init(cloud: CloudController, ec2 authenticator: RequestAuthenticator) {
        self.cloud = cloud
        var iam = authenticator.forService(Self.signingService, acceptsSigV2: false)
        iam.regions.insert(Self.globalRegion)
        self.authenticator = iam
    }

    /// Whether `request` on the EC2 endpoint is addressed to IAM: its SigV4 scope names `iam`,
    /// or, unsigned, it names IAM's one version.
    static func addresses(_ request: SignableRequest, queryPairs: [(name: String, value: String)], params: QueryParameters) -> Bool {
        QueryService.addresses(request, queryPairs: queryPairs, params: params, service: signingService, version: version)
    }

    /// One request's context: who asks, and what.
    private struct Call {
        let principal: Principal
        let params: QueryParameters
        var account: AccountID { principal.accountId }

        /// The user the request names, or the caller's own.
        func userName() throws -> String {
            guard let name = params["UserName"] else { return principal.userName }
            try IAMAPI.check(name, "userName", max: 128, pattern: "[\\w+=,.@-]+") { IAMAPI.isNameCharacter($0) }
            return name
        }

        func accessKeyId() throws -> String {
            let id = try params.required("AccessKeyId")
            try IAMAPI.check(id, "accessKeyId", min: 16, max: 128, pattern: "[\\w]+") { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            return id
        }
    }

    /// Answers one IAM request. Never throws: every failure becomes an IAM error document.
    func handle(
        _ request: SignableRequest, queryPairs: [(name: String, value: String)], pairs: [(name: String, value: String)],
        params: QueryParameters, requestId: String
    ) async -> EC2Response {
        do {
            let principal = try authenticator.authenticate(request, queryPairs: queryPairs, parameterPairs: pairs)
            let action = try params.required("Action")
            guard params["Version"] == Self.version else {
                throw EC2Error("InvalidParameterValue", "IAM answers version \(Self.version), not \((params["Version"] ?? "none").prefix(40)).")
            }
            var xml = XMLWriter(capacity: 1024)
            xml.appendRaw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(action)Response xmlns=\"\(Self.namespace)\">")
            try await run(action, Call(principal: principal, params: params), &xml)
            xml.element("ResponseMetadata") { $0.leaf("RequestId", requestId) }
            xml.close("\(action)Response")
            return EC2Response(status: 200, body: xml.text, requestId: requestId)
        } catch {
            let iam = IAMError.mapping(error)
            return EC2Response(status: iam.status, body: IAMError.document(iam, requestId: requestId), requestId: requestId)
        }
    }

    private func run(_ action: String, _ call: Call, _ xml: inout XMLWriter) async throws {
        let users = cloud.users
        switch action {
        case "CreateUser":
            let name = try call.params.required("UserName")
            try Self.check(name, "userName", max: 64, pattern: "[\\w+=,.@-]+") { Self.isNameCharacter($0) }
            if call.params["PermissionsBoundary"] != nil || !call.params.indices("Tags.member").isEmpty {
                throw EC2Error("NotImplemented", "CreateUser takes no PermissionsBoundary or Tags on this cloud: IAM policies and tags are not offered.")
            }
            let user = try await users.create(name, path: call.params["Path"] ?? "/", in: call.account)
            xml.element("CreateUserResult") { Self.write(user, "User", &$0) }
        case "GetUser":
            let name = try call.userName()
            guard let user = users.user(name, of: call.account) else { throw UserService.noSuchUser(name) }
            xml.element("GetUserResult") { Self.write(user, "User", &$0) }
        case "ListUsers":
            let prefix = call.params["PathPrefix"] ?? "/"
            let page = try Self.page(users.users(of: call.account, pathPrefix: prefix), call.params) { $0.name.lowercased() }
            xml.element("ListUsersResult") { xml in
                xml.element("Users") { xml in for user in page.items { Self.write(user, "member", &xml) } }
                Self.writeTruncation(page, &xml)
            }
        case "DeleteUser":
            let name = try call.params.required("UserName")
            try Self.check(name, "userName", max: 128, pattern: "[\\w+=,.@-]+") { Self.isNameCharacter($0) }
            try await users.delete(name, of: call.account)
        case "CreateAccessKey":
            let key = try await users.createAccessKey(for: try call.userName(), in: call.account)
            xml.element("CreateAccessKeyResult") { xml in
                xml.element("AccessKey") { xml in
                    xml.leaf("UserName", key.userName)
                    xml.leaf("AccessKeyId", key.accessKeyId)
                    xml.leaf("Status", key.isActive ? "Active" : "Inactive")
                    xml.leaf("SecretAccessKey", key.secretAccessKey)
                    xml.leaf("CreateDate", Self.time(key.createdAt))
                }
            }
        case "ListAccessKeys":
            let page = try Self.page(try users.accessKeys(of: try call.userName(), in: call.account), call.params) { $0.accessKeyId }
            xml.element("ListAccessKeysResult") { xml in
                xml.element("AccessKeyMetadata") { xml in
                    for key in page.items {
                        xml.element("member") { xml in
                            xml.leaf("UserName", key.userName)
                            xml.leaf("AccessKeyId", key.accessKeyId)
                            xml.leaf("Status", key.isActive ? "Active" : "Inactive")
                            xml.leaf("CreateDate", Self.time(key.createdAt))
                        }
                    }
                }
                Self.writeTruncation(page, &xml)
            }
        case "UpdateAccessKey":
            let status = try call.params.required("Status")
            guard status == "Active" || status == "Inactive" else {
                throw IAMError.validation("status", status, "Member must satisfy enum value set: [Active, Inactive]")
            }
            try await users.setAccessKey(try call.accessKeyId(), of: try call.userName(), in: call.account, active: status == "Active")
        case "DeleteAccessKey":
            try await users.deleteAccessKey(try call.accessKeyId(), of: try call.userName(), in: call.account)
        case "CreateLoginProfile", "UpdateLoginProfile":
            let creating = action == "CreateLoginProfile"
            let name = creating ? try call.userName() : try call.params.required("UserName")
            let password = creating ? try call.params.required("Password") : call.params["Password"]
            try await users.setPassword(
                password, for: name, in: call.account, resetRequired: try call.params.boolean("PasswordResetRequired"), creating: creating)
            if creating, let user = users.user(name, of: call.account), let login = user.login {
                xml.element("CreateLoginProfileResult") { Self.write(login, of: user, &$0) }
            }
        case "GetLoginProfile":
            let name = try call.userName()
            guard let user = users.user(name, of: call.account) else { throw UserService.noSuchUser(name) }
            guard let login = user.login else {
                throw EucaError(.notFound, .loginProfile, "Login Profile for User \(user.name) cannot be found.")
            }
            xml.element("GetLoginProfileResult") { Self.write(login, of: user, &$0) }
        case "DeleteLoginProfile":
            try await users.deletePassword(of: try call.userName(), in: call.account)
        case "ListSigningCertificates":
            let name = try call.userName()
            guard let user = users.user(name, of: call.account) else { throw UserService.noSuchUser(name) }
            let page = try Self.page(user.certificates ?? [], call.params) { $0.id }
            xml.element("ListSigningCertificatesResult") { xml in
                xml.element("Certificates") { xml in
                    for certificate in page.items {
                        xml.element("member") { xml in
                            xml.leaf("UserName", user.name)
                            xml.leaf("CertificateId", certificate.id)
                            xml.leaf("CertificateBody", certificate.pem)
                            xml.leaf("Status", certificate.isActive ? "Active" : "Inactive")
                            xml.leaf("UploadDate", Self.time(certificate.uploadedAt))
                        }
                    }
                }
                Self.writeTruncation(page, &xml)
            }
        case "ListUserTags", "ListGroupsForUser", "ListAttachedUserPolicies", "ListUserPolicies", "ListMFADevices", "ListSSHPublicKeys",
            "ListServiceSpecificCredentials":
            // What a user can have of these here is nothing: tags, groups, policies, MFA
            // devices and SSH keys are not offered, so each list is empty, as IAM answers for a
            // user without them.
            let name = try call.userName()
            guard users.user(name, of: call.account) != nil else { throw UserService.noSuchUser(name) }
            let list = Self.emptyLists[action]!
            xml.element("\(action)Result") { xml in
                xml.element(list) { _ in }
                xml.leaf("IsTruncated", false)
            }
        case "GetAccountSummary":
            let all = users.users(of: call.account)
            let keys = users.accessKeyCount(of: call.account)
            let summary: [(String, Int)] = [
                ("Users", all.count), ("UsersQuota", UserService.maxUsersPerAccount),
                ("AccessKeysPerUserQuota", UserService.maxAccessKeysPerUser),
                ("AccountAccessKeysPresent", keys > 0 ? 1 : 0), ("AccountMFAEnabled", 0), ("MFADevices", 0), ("MFADevicesInUse", 0),
                ("Groups", 0), ("Policies", 0), ("Roles", 0), ("InstanceProfiles", 0), ("ServerCertificates", 0),
            ]
            xml.element("GetAccountSummaryResult") { xml in
                xml.element("SummaryMap") { xml in
                    for (key, value) in summary {
                        xml.element("entry") { xml in
                            xml.leaf("key", key)
                            xml.leaf("value", value)
                        }
                    }
                }
            }
        case "ListAccountAliases":
            // An account's alias is its name, as in Eucalyptus.
            let aliases = cloud.accounts.all().filter { $0.id == call.account }.map(\.name)
            xml.element("ListAccountAliasesResult") { xml in
                xml.element("AccountAliases") { xml in for alias in aliases { xml.leaf("member", alias) } }
                xml.leaf("IsTruncated", false)
            }
        default:
            guard Self.knownActions.contains(action) else {
                throw EC2Error("InvalidAction", "Could not find operation \(action.prefix(64)) for version \(Self.version).")
            }
            throw EC2Error("NotImplemented", "The IAM action \(action) is not offered by this cloud.")
        }
    }

    /// The list element of each listing that is always empty here.
    static let emptyLists: [String: String] = [
        "ListUserTags": "Tags", "ListGroupsForUser": "Groups", "ListAttachedUserPolicies": "AttachedPolicies",
        "ListUserPolicies": "PolicyNames", "ListMFADevices": "MFADevices", "ListSSHPublicKeys": "SSHPublicKeys",
        "ListServiceSpecificCredentials": "ServiceSpecificCredentials",
    ]

    // MARK: - Writing

    private static func write(_ user: UserRecord, _ element: String, _ xml: inout XMLWriter) {
        xml.element(element) { xml in
            xml.leaf("Path", user.path)
            xml.leaf("UserName", user.name)
            xml.leaf("UserId", user.id)
            xml.leaf("Arn", user.arn)
            xml.leaf("CreateDate", time(user.createdAt))
        }
    }

    private static func write(_ login: LoginProfile, of user: UserRecord, _ xml: inout XMLWriter) {
        xml.element("LoginProfile") { xml in
            xml.leaf("UserName", user.name)
            xml.leaf("CreateDate", time(login.createdAt))
            xml.leaf("PasswordResetRequired", login.resetRequired)
        }
    }

    /// IAM's time stamps: ISO 8601 in UTC, to the second.
    static func time(_ date: Date) -> String { EC2Time.format(date, milliseconds: false) }

    // MARK: - Pages

    struct Page<Item> {
        var items: [Item]
        var marker: String?
    }

    /// One page of `items`, in the order of `key`, after the request's `Marker`, of at most its
    /// `MaxItems` (100 unless given); the marker is the last item's key.
    static func page<Item>(_ items: [Item], _ params: QueryParameters, key: (Item) -> String) throws -> Page<Item> {
        let limit = try params.integer("MaxItems") ?? 100
        guard (1...1000).contains(limit) else {
            throw IAMError.validation("maxItems", String(limit), "Member must have value between 1 and 1000")
        }
        if let marker = params["Marker"], !(1...320).contains(marker.count) {
            throw IAMError.validation("marker", marker, "Member must have length between 1 and 320")
        }
        var rest = items.sorted { key($0) < key($1) }
        if let marker = params["Marker"] { rest = rest.filter { key($0) > marker } }
        guard rest.count > limit else { return Page(items: rest, marker: nil) }
        let shown = Array(rest.prefix(limit))
        return Page(items: shown, marker: shown.last.map(key))
    }

    private static func writeTruncation<Item>(_ page: Page<Item>, _ xml: inout XMLWriter) {
        xml.leaf("IsTruncated", page.marker != nil)
        if let marker = page.marker { xml.leaf("Marker", marker) }
    }

    // MARK: - Checks

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || "+=,.@_-".contains(c))
    }

    /// IAM's check of one parameter's length and characters, failing as IAM does.
    static func check(
        _ value: String, _ member: String, min: Int = 1, max: Int, pattern: String, _ allowed: (Character) -> Bool
    ) throws(EC2Error) {
        guard (min...max).contains(value.count) else {
            throw IAMError.validation(member, value, "Member must have length between \(min) and \(max)")
        }
        guard value.allSatisfy(allowed) else {
            throw IAMError.validation(member, value, "Member must satisfy regular expression pattern: \(pattern)")
        }
    }

    /// IAM's actions, as botocore's `iam` model lists them.
    static let knownActions: Set<String> = [
        "AcceptDelegationRequest", "AddClientIDToOpenIDConnectProvider", "AddRoleToInstanceProfile", "AddUserToGroup",
        "AssociateDelegationRequest", "AttachGroupPolicy", "AttachRolePolicy", "AttachUserPolicy", "ChangePassword",
        "CreateAccessKey", "CreateAccountAlias", "CreateDelegationRequest", "CreateGroup", "CreateInstanceProfile",
        "CreateLoginProfile", "CreateOpenIDConnectProvider", "CreatePolicy", "CreatePolicyVersion", "CreateRole",
        "CreateSAMLProvider", "CreateServiceLinkedRole", "CreateServiceSpecificCredential", "CreateUser",
        "CreateVirtualMFADevice", "DeactivateMFADevice", "DeleteAccessKey", "DeleteAccountAlias", "DeleteAccountPasswordPolicy",
        "DeleteGroup", "DeleteGroupPolicy", "DeleteInstanceProfile", "DeleteLoginProfile", "DeleteOpenIDConnectProvider",
        "DeletePolicy", "DeletePolicyVersion", "DeleteRole", "DeleteRolePermissionsBoundary", "DeleteRolePolicy",
        "DeleteSAMLProvider", "DeleteSSHPublicKey", "DeleteServerCertificate", "DeleteServiceLinkedRole",
        "DeleteServiceSpecificCredential", "DeleteSigningCertificate", "DeleteUser", "DeleteUserPermissionsBoundary",
        "DeleteUserPolicy", "DeleteVirtualMFADevice", "DetachGroupPolicy", "DetachRolePolicy", "DetachUserPolicy",
        "DisableOrganizationsRootCredentialsManagement", "DisableOrganizationsRootSessions",
        "DisableOutboundWebIdentityFederation", "EnableMFADevice", "EnableOrganizationsRootCredentialsManagement",
        "EnableOrganizationsRootSessions", "EnableOutboundWebIdentityFederation", "GenerateCredentialReport",
        "GenerateOrganizationsAccessReport", "GenerateServiceLastAccessedDetails", "GetAccessKeyLastUsed",
        "GetAccountAuthorizationDetails", "GetAccountPasswordPolicy", "GetAccountSummary", "GetContextKeysForCustomPolicy",
        "GetContextKeysForPrincipalPolicy", "GetCredentialReport", "GetDelegationRequest", "GetGroup", "GetGroupPolicy",
        "GetHumanReadableSummary", "GetInstanceProfile", "GetLoginProfile", "GetMFADevice", "GetOpenIDConnectProvider",
        "GetOrganizationsAccessReport", "GetOutboundWebIdentityFederationInfo", "GetPolicy", "GetPolicyVersion", "GetRole",
        "GetRolePolicy", "GetSAMLProvider", "GetSSHPublicKey", "GetServerCertificate", "GetServiceLastAccessedDetails",
        "GetServiceLastAccessedDetailsWithEntities", "GetServiceLinkedRoleDeletionStatus", "GetUser", "GetUserPolicy",
        "ListAccessKeys", "ListAccountAliases", "ListAttachedGroupPolicies", "ListAttachedRolePolicies",
        "ListAttachedUserPolicies", "ListDelegationRequests", "ListEntitiesForPolicy", "ListGroupPolicies", "ListGroups",
        "ListGroupsForUser", "ListInstanceProfileTags", "ListInstanceProfiles", "ListInstanceProfilesForRole",
        "ListMFADeviceTags", "ListMFADevices", "ListOpenIDConnectProviderTags", "ListOpenIDConnectProviders",
        "ListOrganizationsFeatures", "ListPolicies", "ListPoliciesGrantingServiceAccess", "ListPolicyTags",
        "ListPolicyVersions", "ListRolePolicies", "ListRoleTags", "ListRoles", "ListSAMLProviderTags", "ListSAMLProviders",
        "ListSSHPublicKeys", "ListServerCertificateTags", "ListServerCertificates", "ListServiceSpecificCredentials",
        "ListSigningCertificates", "ListUserPolicies", "ListUserTags", "ListUsers", "ListVirtualMFADevices", "PutGroupPolicy",
        "PutRolePermissionsBoundary", "PutRolePolicy", "PutUserPermissionsBoundary", "PutUserPolicy", "RejectDelegationRequest",
        "RemoveClientIDFromOpenIDConnectProvider", "RemoveRoleFromInstanceProfile", "RemoveUserFromGroup",
        "ResetServiceSpecificCredential", "ResyncMFADevice", "SendDelegationToken", "SetDefaultPolicyVersion",
        "SetSecurityTokenServicePreferences", "SimulateCustomPolicy", "SimulatePrincipalPolicy", "TagInstanceProfile",
        "TagMFADevice", "TagOpenIDConnectProvider", "TagPolicy", "TagRole", "TagSAMLProvider", "TagServerCertificate",
        "TagUser", "UntagInstanceProfile", "UntagMFADevice", "UntagOpenIDConnectProvider", "UntagPolicy", "UntagRole",
        "UntagSAMLProvider", "UntagServerCertificate", "UntagUser", "UpdateAccessKey", "UpdateAccountPasswordPolicy",
        "UpdateAssumeRolePolicy", "UpdateDelegationRequest", "UpdateGroup", "UpdateLoginProfile",
        "UpdateOpenIDConnectProviderThumbprint", "UpdateRole", "UpdateRoleDescription", "UpdateSAMLProvider",
        "UpdateSSHPublicKey", "UpdateServerCertificate", "UpdateServiceSpecificCredential", "UpdateSigningCertificate",
        "UpdateUser", "UploadSSHPublicKey", "UploadServerCertificate", "UploadSigningCertificate",
    ]
}

/// Errors as IAM reports them: IAM's codes and statuses, in IAM's own document.
enum IAMError {
    /// IAM's `ValidationError` for a parameter that breaks its model's constraints.
    static func validation(_ member: String, _ value: String, _ constraint: String) -> EC2Error {
        EC2Error(
            "ValidationError",
            "1 validation error detected: Value '\(value.prefix(64))' at '\(member)' failed to satisfy constraint: \(constraint)")
    }

    /// The IAM error for any error a request can end in.
    static func mapping(_ error: any Error) -> EC2Error {
        if let error = error as? EC2Error { return error }
        guard let error = error as? EucaError else { return EC2Error(error) }
        if let refused = QueryService.signatureError(error) { return refused }
        switch error.code {
        case .missingParameter where error.resource == .parameter: return EC2Error("MissingParameter", error.message)
        case .missingParameter: return EC2Error("InvalidInput", error.message)
        case .notFound: return EC2Error("NoSuchEntity", error.message, status: 404)
        case .duplicate: return EC2Error("EntityAlreadyExists", error.message, status: 409)
        case .limitExceeded: return EC2Error("LimitExceeded", error.message, status: 409)
        case .operationNotPermitted: return EC2Error("DeleteConflict", error.message, status: 409)
        case .invalidParameter where error.resource == .loginProfile: return EC2Error("PasswordPolicyViolation", error.message)
        case .invalidParameter: return EC2Error("InvalidInput", error.message)
        case .internalFailure: return EC2Error("ServiceFailure", "The request processing has failed because of an unknown error.", status: 500)
        default: return EC2Error(error)
        }
    }

    /// IAM's error document for `error`.
    static func document(_ error: EC2Error, requestId: String) -> String {
        QueryService.errorDocument(error, namespace: IAMAPI.namespace, requestId: requestId)
    }
}
