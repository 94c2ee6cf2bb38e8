@testable import EucaEC2API
import EucaCloud
import EucaCluster
import EucaCore
import EucaHypervisor
import EucaNode
import EucaScheduler
import EucaSecurity
import EucaTesting
import Foundation
import FoundationXML
import Logging
import Testing

/// An EC2 API over an in-memory cloud, called without sockets.
struct APIFixture {
    let api: EC2API
    let key: AccessKey
    let image: ImageID

    static func make() async throws -> APIFixture {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("euca-api-\(UUID())").path
        let node = try NodeController(
            hypervisor: InMemoryHypervisor(), settings: NodeSettings(node: "n", instancePath: path, maxDiskGiB: 100), logger: logger)
        let cluster = ClusterController(zone: "zone-a", nodes: [node], policy: .greedy, logger: logger)
        let cloud = CloudController(store: InMemoryStateStore(), secrets: .ephemeral(), clusters: [cluster], settings: CloudSettings(), logger: logger)
        let image = ImageRecord(
            id: .generate(.machine), ownerId: AccountID(rawValue: "000000000000"), name: "empty", location: "builtin:empty",
            isPublic: true, boot: BootSpec())
        let started = try await cloud.bootstrap(defaultImage: image)
        return APIFixture(api: EC2API(cloud: cloud, settings: EC2APISettings(), logger: logger), key: started.adminKey, image: image.id)
    }

    func call(
        _ parameters: [(String, String)], method: String = "POST", path: String = "/", secret: String? = nil, as caller: AccessKey? = nil,
        service: String = "ec2"
    ) async -> EC2Response {
        let key = caller ?? key
        let form = parameters.map { "\(Encoding.uriEncode($0.0))=\(Encoding.uriEncode($0.1))" }.joined(separator: "&")
        var request = SignableRequest(
            method: method, path: path, query: method == "GET" ? form : "",
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: method == "POST" ? Array(form.utf8) : [])
        SigV4.sign(
            &request, host: "127.0.0.1:8773", accessKeyId: key.accessKeyId, secret: secret ?? key.secretAccessKey, region: "eucalyptus",
            service: service)
        return await api.handle(request)
    }
}

func xml(_ text: String) throws -> XMLDocument { try XMLDocument(xmlString: text) }

func values(_ document: XMLDocument, _ xpath: String) throws -> [String] {
    try document.nodes(forXPath: xpath).compactMap(\.stringValue)
}

@Suite struct EC2APITests {
    @Test func responsesAreInTheNamespaceOfTheVersionSent() async throws {
        let fixture = try await APIFixture.make()
        for version in ["2009-11-30", "2016-11-15"] {
            let response = await fixture.call([("Action", "DescribeRegions"), ("Version", version)])
            #expect(response.status == 200)
            let document = try xml(response.body)
            #expect(document.rootElement()?.name == "DescribeRegionsResponse")
            #expect(document.rootElement()?.uri == "http://ec2.amazonaws.com/doc/\(version)/")
            #expect(try values(document, "//*[local-name()='requestId']") == [response.requestId])
        }
    }

    @Test func errorsAreEC2ErrorDocuments() async throws {
        let fixture = try await APIFixture.make()
        let response = await fixture.call([("Action", "TerminateInstances"), ("InstanceId.1", "i-nope")])
        #expect(response.status == 400)
        let document = try xml(response.body)
        #expect(document.rootElement()?.name == "Response")
        #expect(try values(document, "/Response/Errors/Error/Code") == ["InvalidInstanceID.Malformed"])
        #expect(try values(document, "/Response/RequestID") == [response.requestId])
    }

    @Test func unknownAndUnofferedActionsAreToldApart() async throws {
        let fixture = try await APIFixture.make()
        let unknown = await fixture.call([("Action", "FlyToTheMoon")])
        #expect(unknown.body.contains("<Code>InvalidAction</Code>"))
        let unoffered = await fixture.call([("Action", "CreateVolume")])
        #expect(unoffered.body.contains("<Code>Unsupported</Code>"))
        #expect(unoffered.body.contains("CreateVolume"))
    }

    @Test func aWrongSecretIsA401AuthFailure() async throws {
        let fixture = try await APIFixture.make()
        let response = await fixture.call([("Action", "DescribeRegions")], secret: "wrong")
        #expect(response.status == 401)
        #expect(response.body.contains("<Code>AuthFailure</Code>"))
    }

    @Test func runAndDescribeInstancesHaveEC2sShape() async throws {
        let fixture = try await APIFixture.make()
        let run = await fixture.call([
            ("Action", "RunInstances"), ("ImageId", fixture.image.rawValue), ("MinCount", "2"), ("MaxCount", "2"),
            ("InstanceType", "c1.medium"),
        ])
        #expect(run.status == 200, "\(run.body)")
        let ran = try xml(run.body)
        #expect(try values(ran, "//*[local-name()='instancesSet']/*[local-name()='item']/*[local-name()='instanceState']/*[local-name()='name']") == ["pending", "pending"])
        let described = await fixture.call([("Action", "DescribeInstances"), ("Filter.1.Name", "instance-type"), ("Filter.1.Value.1", "c1.*")], method: "GET", path: "/services/Eucalyptus")
        let document = try xml(described.body)
        let ids = try values(document, "//*[local-name()='reservationSet']/*[local-name()='item']/*[local-name()='instancesSet']/*[local-name()='item']/*[local-name()='instanceId']")
        #expect(ids.count == 2)
        #expect(try values(document, "//*[local-name()='placement']/*[local-name()='availabilityZone']") == ["zone-a", "zone-a"])
        let none = await fixture.call([("Action", "DescribeInstances"), ("Filter.1.Name", "instance-type"), ("Filter.1.Value.1", "m1.*")])
        #expect(try values(try xml(none.body), "//*[local-name()='instanceId']").isEmpty)
    }

    @Test func listParametersMayStartAtZero() {
        let params = QueryParameters([("InstanceId.0", "i-a"), ("InstanceId.1", "i-b"), ("InstanceId.10", "i-c"), ("Other", "x")])
        #expect(params.list("InstanceId") == ["i-a", "i-b", "i-c"])
    }

    @Test func filtersReadNamesAndValues() throws {
        let params = QueryParameters([
            ("Filter.1.Name", "instance-state-name"), ("Filter.1.Value.1", "running"), ("Filter.1.Value.2", "pending"),
            ("Filter.2.Name", "key-name"), ("Filter.2.Value.1", "k*"),
        ])
        #expect(try params.filters() == [
            EC2Filter(name: "instance-state-name", values: ["running", "pending"]), EC2Filter(name: "key-name", values: ["k*"]),
        ])
        #expect(throws: EucaError.self) { try QueryParameters([("Filter.1.Value.1", "x")]).filters() }
    }

    @Test("wildcards", arguments: [
        ("*", "anything", true), ("m1.*", "m1.small", true), ("m1.*", "c1.small", false), ("?1.small", "m1.small", true),
        ("m?.small", "m10.small", false), ("*a*b*", "xxaxxbxx", true), ("*a*b", "xxaxxbxx", false),
        ("a\\*b", "a*b", true), ("a\\*b", "axb", false), ("exact", "exact", true), ("", "", true), ("", "x", false),
    ])
    func wildcards(_ pattern: String, _ value: String, _ expected: Bool) {
        #expect(WildcardPattern(pattern).matches(value) == expected)
    }

    @Test func xmlEscapesWhatItMust() {
        var writer = XMLWriter()
        writer.leaf("a", "<tag> & \"quotes\" 'x'")
        #expect(writer.text == "<a>&lt;tag&gt; &amp; &quot;quotes&quot; &apos;x&apos;</a>")
        #expect(EC2Time.format(Date(timeIntervalSince1970: 1_440_938_160.5)) == "2015-08-30T12:36:00.500Z")
    }
}

@Suite struct VersionsAndPagingTests {
    @Test func theVersionTableSpansWhatClientsSend() {
        for version in ["2008-12-01", "2009-11-30", "2010-08-31", "2013-02-01", "2014-06-15", "2015-10-01", "2016-11-15"] {
            #expect(EC2Versions.known.contains(version))
        }
        #expect(!EC2Versions.known.contains("2017-01-01"))
        #expect(!EC2Versions.known.contains("yesterday"))
    }

    @Test func oldVersionsGetGroupNamesInGroupSets() async throws {
        let fixture = try await APIFixture.make()
        let run = await fixture.call([("Action", "RunInstances"), ("ImageId", fixture.image.rawValue), ("Version", "2009-11-30")])
        let old = try xml(run.body)
        #expect(try values(old, "/*/*[local-name()='groupSet']/*/*[local-name()='groupId']") == ["default"])
        // 2009-11-30 had no groupSet on an instance: only the reservation's.
        #expect(try values(old, "//*[local-name()='instancesSet']/*/*[local-name()='groupSet']").isEmpty)
        let new = try xml(await fixture.call([("Action", "DescribeInstances"), ("Version", "2016-11-15")]).body)
        let ids = try values(new, "//*[local-name()='instancesSet']/*/*[local-name()='groupSet']/*/*[local-name()='groupId']")
        #expect(ids.count == 1 && ids.allSatisfy { $0.hasPrefix("sg-") }, "the one instance's group by id: \(ids)")
    }

    @Test func pagesResumeAfterTheLastKeyEvenWhenItemsChange() throws {
        var params = QueryParameters([("MaxResults", "2")])
        let items = ["a", "b", "c", "d", "e"]
        let first = try Paging(params, range: 1...10).page(items) { $0 }
        #expect(Array(first.items) == ["a", "b"])
        let token = try #require(first.nextToken)
        params = QueryParameters([("MaxResults", "2"), ("NextToken", token)])
        // "a" is gone and "bb" has arrived since the first page: nothing is skipped or repeated.
        let second = try Paging(params, range: 1...10).page(["b", "bb", "c", "d", "e"]) { $0 }
        #expect(Array(second.items) == ["bb", "c"])
        #expect(throws: EucaError.self) { try Paging(QueryParameters([("MaxResults", "0")]), range: 1...10) }
        #expect(throws: EucaError.self) { try Paging(QueryParameters([("NextToken", "not-a-token")]), range: 1...10) }
    }
}

@Suite struct DefaultVPCAndSTSTests {
    /// Another account's default VPC and subnets answer as if they did not exist, and each
    /// account's instances and groups are in its own VPC.
    @Test func eachAccountSeesOnlyItsOwnDefaultVPC() async throws {
        let fixture = try await APIFixture.make()
        let (_, other) = try await fixture.api.cloud.accounts.create(name: "other")
        let mine = try values(xml(await fixture.call([("Action", "DescribeVpcs"), ("Version", "2016-11-15")]).body), "//*[local-name()='vpcId']")
        let theirs = try values(xml(await fixture.call([("Action", "DescribeVpcs"), ("Version", "2016-11-15")], as: other).body), "//*[local-name()='vpcId']")
        #expect(mine.count == 1 && theirs.count == 1 && mine != theirs)
        let asked = await fixture.call([("Action", "DescribeVpcs"), ("Version", "2016-11-15"), ("VpcId.1", mine[0])], as: other)
        #expect(asked.status == 400 && asked.body.contains("InvalidVpcID.NotFound"))
        let subnets = try values(xml(await fixture.call([("Action", "DescribeSubnets"), ("Version", "2016-11-15")]).body), "//*[local-name()='subnetId']")
        #expect(subnets.count == 1)
        let subnet = await fixture.call([("Action", "DescribeSubnets"), ("Version", "2016-11-15"), ("SubnetId.1", subnets[0])], as: other)
        #expect(subnet.status == 400 && subnet.body.contains("InvalidSubnetID.NotFound"))
        let attribute = await fixture.call(
            [("Action", "DescribeVpcAttribute"), ("Version", "2016-11-15"), ("VpcId", mine[0]), ("Attribute", "enableDnsSupport")], as: other)
        #expect(attribute.status == 400 && attribute.body.contains("InvalidVpcID.NotFound"))
        // Filtering by another account's VPC finds nothing of theirs.
        let groups = try values(
            xml(await fixture.call([("Action", "DescribeSecurityGroups"), ("Version", "2016-11-15"), ("Filter.1.Name", "vpc-id"), ("Filter.1.Value.1", mine[0])], as: other).body),
            "//*[local-name()='groupId']")
        #expect(groups.isEmpty)
    }

    /// An instance's interface, a group's rule and the default VPC's parts, named by another
    /// account, answer as unknown ones do; filtering by them finds nothing.
    @Test func anotherAccountsInterfacesRulesAndGatewaysAnswerAsIfTheyDidNotExist() async throws {
        let fixture = try await APIFixture.make()
        let (_, other) = try await fixture.api.cloud.accounts.create(name: "other")
        let version = ("Version", "2016-11-15")
        let run = await fixture.call([("Action", "RunInstances"), version, ("ImageId", fixture.image.rawValue), ("MinCount", "1"), ("MaxCount", "1")])
        #expect(run.status == 200)
        let interface = try #require(try values(xml(run.body), "//*[local-name()='networkInterfaceId']").first)
        let authorized = await fixture.call([
            ("Action", "AuthorizeSecurityGroupIngress"), version, ("GroupName", "default"), ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "22"), ("IpPermissions.1.ToPort", "22"), ("IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8"),
        ])
        let rule = try #require(try values(xml(authorized.body), "//*[local-name()='securityGroupRuleId']").first)
        let gateway = try #require(
            try values(xml(await fixture.call([("Action", "DescribeInternetGateways"), version]).body), "//*[local-name()='internetGatewayId']").first)
        for (action, parameter, id, code) in [
            ("DescribeNetworkInterfaces", "NetworkInterfaceId.1", interface, "InvalidNetworkInterfaceID.NotFound"),
            ("DescribeSecurityGroupRules", "SecurityGroupRuleId.1", rule, "InvalidSecurityGroupRuleId.NotFound"),
            ("DescribeInternetGateways", "InternetGatewayId.1", gateway, "InvalidInternetGatewayID.NotFound"),
        ] {
            let asked = await fixture.call([("Action", action), version, (parameter, id)], as: other)
            #expect(asked.status == 400 && asked.body.contains(code), "\(action)")
            let mine = await fixture.call([("Action", action), version, (parameter, id)])
            #expect(mine.status == 200, "\(action)")
        }
        let filtered = await fixture.call(
            [("Action", "DescribeNetworkInterfaces"), version, ("Filter.1.Name", "network-interface-id"), ("Filter.1.Value.1", interface)], as: other)
        #expect(try values(xml(filtered.body), "//*[local-name()='networkInterfaceId']").isEmpty)
    }

    @Test func getCallerIdentityNamesTheKeysAccountAndUser() async throws {
        let fixture = try await APIFixture.make()
        let (account, other) = try await fixture.api.cloud.accounts.create(name: "other")
        let sts = [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]
        let answer = await fixture.call(sts, as: other, service: "sts")
        #expect(answer.status == 200)
        let document = try xml(answer.body)
        #expect(document.rootElement()?.uri == "https://sts.amazonaws.com/doc/2011-06-15/")
        #expect(try values(document, "//*[local-name()='Account']") == [account.id.rawValue])
        #expect(try values(document, "//*[local-name()='Arn']") == ["arn:aws:iam::\(account.id.rawValue):user/admin"])
        let ids = try values(document, "//*[local-name()='UserId']")
        let admins = try values(xml(await fixture.call(sts, service: "sts").body), "//*[local-name()='UserId']")
        #expect(ids.count == 1 && ids[0].hasPrefix("AIDA") && ids[0].count == 21 && admins.count == 1 && admins != ids)
        // A wrong secret, for STS, is STS' SignatureDoesNotMatch in STS' error document.
        let wrong = await fixture.call(sts, secret: String(repeating: "x", count: 40), service: "sts")
        #expect(wrong.status == 403)
        #expect(try values(xml(wrong.body), "//*[local-name()='Code']") == ["SignatureDoesNotMatch"])
    }
}

@Suite struct DocumentedModelTests {
    @Test func everyActionSaysWhatItTakesAndTakesOnlyWhatEC2Documents() {
        // Taken beyond EC2's current model: Eucalyptus' own kernel and ramdisk attributes of an
        // image (euca-modify-image-attribute --kernel, --ramdisk).
        let older: [String: Set<String>] = ["ModifyImageAttribute": ["Kernel.Value", "Ramdisk.Value"]]
        for action in EC2Actions.implemented.keys {
            let taken = ActionParameters.handled[action]
            #expect(taken != nil, "\(action) says nothing of its parameters")
            let documented = (documentedParameters[action] ?? []).union(older[action] ?? [])
            #expect(!documented.isEmpty, "\(action) is missing from the generated model")
            for name in taken ?? [] { #expect(documented.contains(name), "\(action) takes \(name), which EC2 does not document") }
        }
    }

    @Test func everyFilterReadIsOneEC2DocumentsOrAnOldSpellingOfOne() {
        // DescribeVpcs and DescribeSubnets also read the camel-case names older clients send,
        // DescribeInstances EC2-Classic's group filters, DescribeKeyPairs the key's type.
        let older: Set<String> = [
            "isDefault", "availabilityZone", "cidr", "cidrBlock", "defaultForAz", "domain", "group-id", "group-name", "key-type",
        ]
        for (action, names) in EC2Actions.filterNames {
            let documented = Set(documentedFilters[action] ?? [])
            #expect(!documented.isEmpty, "\(action) has no documented filters")
            for name in names where !documented.contains(name) && !older.contains(name) {
                Issue.record("\(action) reads the filter \(name), which EC2 does not document")
            }
        }
    }

    @Test("parameter patterns", arguments: [
        ("InstanceId.1", "InstanceId.N"), ("NetworkInterface.0.SecurityGroupId.12", "NetworkInterface.N.SecurityGroupId.N"),
        ("ImageId", "ImageId"), ("Filter.1.Value.1", "Filter.N.Value.N"), ("A..1", "A..N"),
        ("InstanceId.99999999999999999999", "InstanceId.99999999999999999999"),
    ])
    func patterns(name: String, pattern: String) {
        #expect(QueryParameters.pattern(of: name) == pattern)
    }

    @Test func theCoverageTableNamesWhatEachActionRefuses() {
        let text = EC2API.coverageMarkdown()
        #expect(text.contains("### RunInstances"))
        #expect(text.contains("`CpuOptions.CoreCount`"))
        #expect(text.contains("### DescribeInstances"))
    }
}
