import EucaCloud
import EucaCore
import Foundation

extension EC2Actions {
    static let securityGroupActions: [String: EC2Action] = [
        "CreateSecurityGroup": EC2Action(run: createSecurityGroup, limits: "VpcId names the default VPC only; rules are stored, enforced only by modes that enforce them"),
        "DeleteSecurityGroup": EC2Action(run: deleteSecurityGroup),
        "DescribeSecurityGroups": EC2Action(run: describeSecurityGroups),
        "AuthorizeSecurityGroupIngress": EC2Action { try await changeRules($0, &$1, .ingress, authorize: true) },
        "AuthorizeSecurityGroupEgress": EC2Action { try await changeRules($0, &$1, .egress, authorize: true) },
        "RevokeSecurityGroupIngress": EC2Action { try await changeRules($0, &$1, .ingress, authorize: false) },
        "RevokeSecurityGroupEgress": EC2Action { try await changeRules($0, &$1, .egress, authorize: false) },
        "DescribeSecurityGroupRules": EC2Action(run: describeSecurityGroupRules, limits: "no tags on rules"),
    ]

    static func groupReference(_ params: QueryParameters) throws(EucaError) -> GroupReference {
        if let id = params["GroupId"], !id.isEmpty { return .id(id) }
        if let name = params["GroupName"], !name.isEmpty { return .name(name) }
        throw EucaError(.missingParameter, .parameter, "The request must contain the parameter GroupName or GroupId")
    }

    static func createSecurityGroup(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let name = try context.params.required("GroupName")
        let description = try context.params.required("GroupDescription")
        // Every group belongs to the account's default VPC, the one VPC there is.
        if let vpc = context.params["VpcId"], !vpc.isEmpty, vpc != VPCService.vpcId(of: context.principal.accountId) {
            throw EC2Error("InvalidVpcID.NotFound", "The vpc ID '\(vpc.prefix(64))' does not exist")
        }
        let tags = try context.params.tagSpecifications(allowed: [.securityGroup])[.securityGroup] ?? []
        let group = try await context.cloud.securityGroups.create(context.principal, name: name, description: description, tags: tags)
        xml.leaf("return", true)
        xml.leaf("groupId", group.id.rawValue)
        xml.tagSet(context.cloud.tags.tags(of: group.id.rawValue))
    }

    static func deleteSecurityGroup(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        try await context.cloud.securityGroups.delete(context.principal, try groupReference(context.params))
        xml.leaf("return", true)
    }

    /// Permissions in the `IpPermissions.N.…` form, or in the flat form older clients send
    /// (`IpProtocol`, `FromPort`, `ToPort`, `CidrIp`, `SourceSecurityGroupName` at the top level).
    static func permissions(_ params: QueryParameters) throws(EucaError) -> [PermissionRequest] {
        var permissions: [PermissionRequest] = []
        for index in params.indices("IpPermissions") {
            let prefix = "IpPermissions.\(index)"
            let ipProtocol = try params.required("\(prefix).IpProtocol")
            let cidrs = params.indices("\(prefix).IpRanges").compactMap { range -> (cidr: String, description: String?)? in
                params["\(prefix).IpRanges.\(range).CidrIp"].map { ($0, params["\(prefix).IpRanges.\(range).Description"]) }
            }
            let cidrs6 = params.indices("\(prefix).Ipv6Ranges").compactMap { range -> (cidr: String, description: String?)? in
                params["\(prefix).Ipv6Ranges.\(range).CidrIpv6"].map { ($0, params["\(prefix).Ipv6Ranges.\(range).Description"]) }
            }
            let groups = params.indices("\(prefix).Groups").map { pair in
                let base = "\(prefix).Groups.\(pair)"
                return (userId: params["\(base).UserId"], groupId: params["\(base).GroupId"],
                        groupName: params["\(base).GroupName"], description: params["\(base).Description"])
            }
            permissions.append(PermissionRequest(
                ipProtocol: ipProtocol, fromPort: try params.integer("\(prefix).FromPort"),
                toPort: try params.integer("\(prefix).ToPort"), cidrs: cidrs, cidrs6: cidrs6, groups: groups))
        }
        let flatKeys = ["IpProtocol", "CidrIp", "SourceSecurityGroupName", "FromPort", "ToPort"]
        if flatKeys.contains(where: { params[$0] != nil }) {
            var groups: [(userId: String?, groupId: String?, groupName: String?, description: String?)] = []
            if let source = params["SourceSecurityGroupName"], !source.isEmpty {
                groups.append((params["SourceSecurityGroupOwnerId"], nil, source, nil))
            }
            let cidrs = params["CidrIp"].map { [(cidr: $0, description: String?.none)] } ?? []
            if params["IpProtocol"] == nil && !groups.isEmpty && cidrs.isEmpty {
                // A bare source group grants it everything, as EC2-Classic did.
                permissions.append(PermissionRequest(ipProtocol: "-1", fromPort: nil, toPort: nil, groups: groups))
            } else {
                permissions.append(PermissionRequest(
                    ipProtocol: try params.required("IpProtocol"), fromPort: try params.integer("FromPort"),
                    toPort: try params.integer("ToPort"), cidrs: cidrs, groups: groups))
            }
        }
        guard !permissions.isEmpty else {
            throw EucaError(.missingParameter, .parameter, "The request must contain the parameter IpPermissions")
        }
        return permissions
    }

    static func changeRules(_ context: ActionContext, _ xml: inout XMLWriter, _ direction: RuleDirection, authorize: Bool) async throws {
        let reference = try groupReference(context.params)
        let permissions = try permissions(context.params)
        if authorize {
            let (group, rules) = try await context.cloud.securityGroups.authorize(context.principal, reference, direction, permissions)
            xml.leaf("return", true)
            xml.set("securityGroupRuleSet", rules.map { RuleView(group: group, direction: direction, rule: $0) }) { xml, view in
                writeRule(&xml, view)
            }
        } else {
            try await context.cloud.securityGroups.revoke(context.principal, reference, direction, permissions)
            xml.leaf("return", true)
        }
    }

    /// One rule of one group, as EC2's security group rules show it since they have ids.
    struct RuleView: Sendable {
        let group: SecurityGroupRecord
        let direction: RuleDirection
        let rule: SecurityRule
        /// `sgr-` and a digest of the group, the direction and the permission: the same rule
        /// has the same id on every call and after a restart. Derived once, as a describe sorts
        /// and filters by it.
        let id: String

        init(group: SecurityGroupRecord, direction: RuleDirection, rule: SecurityRule) {
            self.group = group
            self.direction = direction
            self.rule = rule
            let peer = SecurityGroupService.describe(rule.peer)
            let text = "\(group.id)/\(direction)/\(rule.ipProtocol)/\(rule.fromPort.map(String.init) ?? "")/\(rule.toPort.map(String.init) ?? "")/\(peer)"
            id = "sgr-" + StableDigest.hex(text, count: 17)
        }

        var isEgress: Bool { direction == .egress }
    }

    static func writeRule(_ xml: inout XMLWriter, _ view: RuleView) {
        let rule = view.rule
        xml.leaf("securityGroupRuleId", view.id)
        xml.leaf("groupId", view.group.id.rawValue)
        xml.leaf("groupOwnerId", view.group.accountId.rawValue)
        xml.leaf("isEgress", view.isEgress)
        xml.leaf("ipProtocol", rule.ipProtocol)
        xml.leaf("fromPort", rule.fromPort ?? -1)
        xml.leaf("toPort", rule.toPort ?? -1)
        switch rule.peer {
        case .cidr(let cidr): xml.leaf("cidrIpv4", cidr)
        case .cidr6(let cidr): xml.leaf("cidrIpv6", cidr)
        case .group(let account, let id, _):
            xml.element("referencedGroupInfo") { xml in
                xml.leaf("groupId", id.rawValue)
                xml.leaf("userId", account.rawValue)
            }
        }
        xml.leaf("description", ifPresent: rule.description)
        xml.tagSet([:])
        xml.leaf("securityGroupRuleArn", "arn:aws:ec2::\(view.group.accountId.rawValue):security-group-rule/\(view.id)")
    }

    static let securityGroupRuleFilters = FilterSet<RuleView>("DescribeSecurityGroupRules", fields: [
        "group-id": { [$0.group.id.rawValue] },
        "security-group-rule-id": { [$0.id] },
    ], id: \.id)

    static func describeSecurityGroupRules(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let groups = try await context.cloud.securityGroups.list(for: context.principal)
        let views = groups.flatMap { group in
            group.ingress.map { RuleView(group: group, direction: .ingress, rule: $0) }
                + group.egress.map { RuleView(group: group, direction: .egress, rule: $0) }
        }
        let page = try requested(views, context, idParameter: "SecurityGroupRuleId", id: \.id, securityGroupRuleFilters) {
            EC2Error("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '\($0.prefix(64))' does not exist")
        }
        xml.set("securityGroupRuleSet", page.items) { xml, view in writeRule(&xml, view) }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    static func ruleValues(_ rules: [SecurityRule], _ value: (SecurityRule) -> String?) -> [String] {
        rules.compactMap(value)
    }

    static let securityGroupFilters: FilterSet<SecurityGroupRecord> = {
        var fields: [String: @Sendable (SecurityGroupRecord) -> [String]] = [
            "description": { [$0.description] },
            "group-id": { [$0.id.rawValue] },
            "group-name": { [$0.name] },
            "owner-id": { [$0.accountId.rawValue] },
            // Every group belongs to its account's default VPC.
            "vpc-id": { [VPCService.vpcId(of: $0.accountId)] },
        ]
        let directions: [(String, @Sendable (SecurityGroupRecord) -> [SecurityRule])] = [
            ("ip-permission", { $0.ingress }), ("egress.ip-permission", { $0.egress }),
        ]
        for (prefix, rules) in directions {
            fields["\(prefix).protocol"] = { rules($0).map(\.ipProtocol) }
            fields["\(prefix).from-port"] = { rules($0).compactMap { $0.fromPort.map(String.init) } }
            fields["\(prefix).to-port"] = { rules($0).compactMap { $0.toPort.map(String.init) } }
            fields["\(prefix).cidr"] = { rules($0).compactMap { if case .cidr(let c) = $0.peer { c } else { nil } } }
            fields["\(prefix).ipv6-cidr"] = { rules($0).compactMap { if case .cidr6(let c) = $0.peer { c } else { nil } } }
            fields["\(prefix).group-id"] = { rules($0).compactMap { if case .group(_, let id, _) = $0.peer { id.rawValue } else { nil } } }
            fields["\(prefix).group-name"] = { rules($0).compactMap { if case .group(_, _, let name) = $0.peer { name } else { nil } } }
            fields["\(prefix).user-id"] = { rules($0).compactMap { if case .group(let a, _, _) = $0.peer { a.rawValue } else { nil } } }
        }
        return FilterSet("DescribeSecurityGroups", fields: fields, id: { $0.id.rawValue })
    }()

    static func describeSecurityGroups(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let names = context.params.list("GroupName")
        let ids = context.params.list("GroupId")
        let paging = try Paging(context.params, range: 5...1000)
        if paging.maxResults != nil && !(names.isEmpty && ids.isEmpty) {
            throw EC2Error("InvalidParameterCombination", "The parameter GroupId or GroupName cannot be used with the parameter MaxResults.")
        }
        let all = try await context.cloud.securityGroups.list(for: context.principal)
        for id in ids where !all.contains(where: { $0.id.rawValue == id }) {
            if SecurityGroupID(parsing: id) == nil { throw EucaError(.malformedID, .securityGroup, "Invalid id: \"\(id)\" (expecting \"sg-...\")") }
            throw EucaError(.notFound, .securityGroup, "The security group '\(id)' does not exist")
        }
        for name in names where !all.contains(where: { $0.name == name }) {
            throw EucaError(.notFound, .securityGroup, "The security group '\(name)' does not exist")
        }
        let tags = context.cloud.tags.all()
        let filter = try securityGroupFilters.compile(try context.params.filters(), tags: tags)
        let shown = all.filter {
            (names.isEmpty || names.contains($0.name)) && (ids.isEmpty || ids.contains($0.id.rawValue)) && filter.matches($0)
        }
        let page = paging.page(shown) { $0.id.rawValue }
        let classic = !context.supportsGroupIds
        xml.set("securityGroupInfo", page.items) { xml, group in
            xml.leaf("ownerId", group.accountId.rawValue)
            xml.leaf("groupId", group.id.rawValue)
            xml.leaf("groupName", group.name)
            xml.leaf("groupDescription", group.description)
            writePermissions(&xml, "ipPermissions", group.ingress, classic: classic)
            writePermissions(&xml, "ipPermissionsEgress", group.egress, classic: classic)
            xml.leaf("vpcId", VPCService.vpcId(of: group.accountId))
            xml.tagSet(tags[group.id.rawValue]?.tags ?? [:])
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    /// Writes rules as EC2's `IpPermission`s: one per protocol and port range, in first-seen order.
    /// Before API version 2011-01-01 a rule named TCP, UDP or ICMP and always its ports: `classic`
    /// writes a rule for every protocol as the three, and a rule without ports with -1 for them.
    static func writePermissions(_ xml: inout XMLWriter, _ name: String, _ rules: [SecurityRule], classic: Bool) {
        let rules = classic ? rules.flatMap(classicRules) : rules
        var order: [String] = []
        var grouped: [String: [SecurityRule]] = [:]
        for rule in rules {
            let key = "\(rule.ipProtocol)/\(rule.fromPort.map(String.init) ?? "")/\(rule.toPort.map(String.init) ?? "")"
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(rule)
        }
        xml.set(name, order.compactMap { grouped[$0] }) { xml, rules in
            let first = rules[0]
            xml.leaf("ipProtocol", first.ipProtocol)
            if let from = first.fromPort { xml.leaf("fromPort", from) }
            if let to = first.toPort { xml.leaf("toPort", to) }
            xml.open("groups")
            for rule in rules {
                guard case .group(let account, let id, let groupName) = rule.peer else { continue }
                xml.open("item")
                xml.leaf("userId", account.rawValue)
                xml.leaf("groupId", id.rawValue)
                xml.leaf("groupName", groupName)
                xml.leaf("description", ifPresent: rule.description)
                xml.close("item")
            }
            xml.close("groups")
            // The IPv4 and IPv6 blocks, each list with its own element name.
            for (list, field, ipv6) in [("ipRanges", "cidrIp", false), ("ipv6Ranges", "cidrIpv6", true)] {
                xml.open(list)
                for rule in rules {
                    let block: String
                    switch rule.peer {
                    case .cidr(let cidr) where !ipv6: block = cidr
                    case .cidr6(let cidr) where ipv6: block = cidr
                    default: continue
                    }
                    xml.open("item")
                    xml.leaf(field, block)
                    xml.leaf("description", ifPresent: rule.description)
                    xml.close("item")
                }
                xml.close(list)
            }
            xml.open("prefixListIds")
            xml.close("prefixListIds")
        }
    }

    /// A rule as EC2-Classic showed it.
    private static func classicRules(_ rule: SecurityRule) -> [SecurityRule] {
        guard rule.ipProtocol != "-1" else {
            return [("tcp", 0, 65535), ("udp", 0, 65535), ("icmp", -1, -1)].map { named, from, to in
                var one = rule
                one.ipProtocol = named
                one.fromPort = from
                one.toPort = to
                return one
            }
        }
        var one = rule
        one.fromPort = rule.fromPort ?? -1
        one.toPort = rule.toPort ?? -1
        return [one]
    }

    /// A `groupSet`: before API version 2011-01-01, `groupId` held the group's name.
    static func writeGroupSet(_ xml: inout XMLWriter, _ groups: [GroupIdentifier], modern: Bool) {
        xml.set("groupSet", groups) { xml, group in
            if modern {
                xml.leaf("groupId", group.id.rawValue)
                xml.leaf("groupName", group.name)
            } else {
                xml.leaf("groupId", group.name)
            }
        }
    }
}
