import EucaCloud
import EucaCore

/// The parts EC2 gives every default VPC, as views of it: an internet gateway attached to it, a
/// main route table (the VPC's block local, everything else through the gateway), a default
/// network ACL that allows all traffic and is associated with every default subnet, and a DHCP
/// options set naming the provided DNS. Their ids are derived from the VPC's, so they are the
/// same on every call and after a restart. Creating, changing or deleting any of them stays
/// `Unsupported`.
struct DefaultVPCParts: Sendable {
    let vpc: VPCView
    let subnets: [SubnetView]
    let region: String

    var internetGatewayId: String { Self.id("igw", vpc) }
    var routeTableId: String { Self.id("rtb", vpc) }
    var routeTableAssociationId: String { Self.id("rtbassoc", vpc) }
    var networkAclId: String { Self.id("acl", vpc) }
    var dhcpOptionsId: String { Self.id("dopt", vpc) }

    func aclAssociationId(_ subnet: SubnetView) -> String { "aclassoc-" + StableDigest.hex("aclassoc/\(subnet.id)", count: 17) }

    static func id(_ prefix: String, _ vpc: VPCView) -> String { "\(prefix)-" + StableDigest.hex("\(prefix)/\(vpc.id)", count: 17) }

    /// The main route table's routes: (destination, gateway, origin).
    var routes: [(destination: String, gateway: String, origin: String)] {
        [(vpc.cidrBlock, "local", "CreateRouteTable"), ("0.0.0.0/0", internetGatewayId, "CreateRoute")]
    }

    /// The default ACL's entries: allow everything, then the deny that ends every ACL, each way.
    struct ACLEntry: Sendable {
        var number: Int
        var egress: Bool
        var action: String
    }

    var aclEntries: [ACLEntry] {
        [false, true].flatMap { egress in [ACLEntry(number: 100, egress: egress, action: "allow"), ACLEntry(number: 32767, egress: egress, action: "deny")] }
    }

    /// The DHCP options: (key, values).
    var dhcpConfiguration: [(key: String, values: [String])] {
        [("domain-name", ["\(region).compute.internal"]), ("domain-name-servers", ["AmazonProvidedDNS"])]
    }
}

extension EC2Actions {
    static let defaultVPCPartActions: [String: EC2Action] = [
        "DescribeInternetGateways": EC2Action(run: describeInternetGateways, limits: "the default VPC's gateway only"),
        "DescribeRouteTables": EC2Action(run: describeRouteTables, limits: "the default VPC's main route table only"),
        "DescribeNetworkAcls": EC2Action(run: describeNetworkAcls, limits: "the default VPC's default ACL only"),
        "DescribeDhcpOptions": EC2Action(run: describeDhcpOptions, limits: "the default VPC's options only"),
    ]

    static func defaultVPCParts(_ context: ActionContext) -> DefaultVPCParts {
        let account = context.principal.accountId
        return DefaultVPCParts(
            vpc: context.cloud.vpcs.defaultVPC(of: account), subnets: context.cloud.vpcs.defaultSubnets(of: account),
            region: context.cloud.settings.regionName)
    }

    static let internetGatewayFilters = FilterSet<DefaultVPCParts>("DescribeInternetGateways", fields: [
        "internet-gateway-id": { [$0.internetGatewayId] },
        "attachment.vpc-id": { [$0.vpc.id] },
        "attachment.state": { _ in ["available"] },
        "owner-id": { [$0.vpc.accountId.rawValue] },
    ], id: \.internetGatewayId)

    static func describeInternetGateways(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let page = try requested([defaultVPCParts(context)], context, idParameter: "InternetGatewayId", id: \.internetGatewayId, internetGatewayFilters) {
            EC2Error("InvalidInternetGatewayID.NotFound", "The internetGateway ID '\($0.prefix(64))' does not exist")
        }
        xml.set("internetGatewaySet", page.items) { xml, parts in
            xml.leaf("internetGatewayId", parts.internetGatewayId)
            xml.leaf("ownerId", parts.vpc.accountId.rawValue)
            xml.set("attachmentSet", [parts.vpc]) { xml, vpc in
                xml.leaf("vpcId", vpc.id)
                xml.leaf("state", "available")
            }
            xml.tagSet([:])
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    static let routeTableFilters = FilterSet<DefaultVPCParts>("DescribeRouteTables", fields: [
        "route-table-id": { [$0.routeTableId] },
        "vpc-id": { [$0.vpc.id] },
        "owner-id": { [$0.vpc.accountId.rawValue] },
        "association.main": { _ in ["true"] },
        "association.route-table-association-id": { [$0.routeTableAssociationId] },
        "association.route-table-id": { [$0.routeTableId] },
        "route.destination-cidr-block": { $0.routes.map(\.destination) },
        "route.gateway-id": { $0.routes.map(\.gateway) },
        "route.origin": { $0.routes.map(\.origin) },
        "route.state": { _ in ["active"] },
    ], id: \.routeTableId)

    static func describeRouteTables(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let page = try requested([defaultVPCParts(context)], context, idParameter: "RouteTableId", id: \.routeTableId, routeTableFilters) {
            EC2Error("InvalidRouteTableID.NotFound", "The routeTable ID '\($0.prefix(64))' does not exist")
        }
        xml.set("routeTableSet", page.items) { xml, parts in
            xml.leaf("routeTableId", parts.routeTableId)
            xml.leaf("vpcId", parts.vpc.id)
            xml.leaf("ownerId", parts.vpc.accountId.rawValue)
            xml.set("routeSet", parts.routes) { xml, route in
                xml.leaf("destinationCidrBlock", route.destination)
                xml.leaf("gatewayId", route.gateway)
                xml.leaf("state", "active")
                xml.leaf("origin", route.origin)
            }
            // The main table: subnets without a table of their own use it, without an association each.
            xml.set("associationSet", [parts]) { xml, parts in
                xml.leaf("routeTableAssociationId", parts.routeTableAssociationId)
                xml.leaf("routeTableId", parts.routeTableId)
                xml.leaf("main", true)
                xml.element("associationState") { $0.leaf("state", "associated") }
            }
            xml.open("propagatingVgwSet")
            xml.close("propagatingVgwSet")
            xml.tagSet([:])
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    static let networkAclFilters = FilterSet<DefaultVPCParts>("DescribeNetworkAcls", fields: [
        "network-acl-id": { [$0.networkAclId] },
        "vpc-id": { [$0.vpc.id] },
        "owner-id": { [$0.vpc.accountId.rawValue] },
        "default": { _ in ["true"] },
        "association.network-acl-id": { [$0.networkAclId] },
        "association.subnet-id": { $0.subnets.map(\.id) },
        "association.association-id": { parts in parts.subnets.map { parts.aclAssociationId($0) } },
        "entry.cidr": { _ in ["0.0.0.0/0"] },
        "entry.protocol": { _ in ["-1"] },
        "entry.rule-action": { $0.aclEntries.map(\.action) },
        "entry.egress": { $0.aclEntries.map { String($0.egress) } },
        "entry.rule-number": { $0.aclEntries.map { String($0.number) } },
    ], id: \.networkAclId)

    static func describeNetworkAcls(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let page = try requested([defaultVPCParts(context)], context, idParameter: "NetworkAclId", id: \.networkAclId, networkAclFilters) {
            EC2Error("InvalidNetworkAclID.NotFound", "The networkAcl ID '\($0.prefix(64))' does not exist")
        }
        xml.set("networkAclSet", page.items) { xml, parts in
            xml.leaf("networkAclId", parts.networkAclId)
            xml.leaf("vpcId", parts.vpc.id)
            xml.leaf("default", true)
            xml.set("entrySet", parts.aclEntries) { xml, entry in
                xml.leaf("ruleNumber", entry.number)
                xml.leaf("protocol", "-1")
                xml.leaf("ruleAction", entry.action)
                xml.leaf("egress", entry.egress)
                xml.leaf("cidrBlock", "0.0.0.0/0")
            }
            xml.set("associationSet", parts.subnets) { xml, subnet in
                xml.leaf("networkAclAssociationId", parts.aclAssociationId(subnet))
                xml.leaf("networkAclId", parts.networkAclId)
                xml.leaf("subnetId", subnet.id)
            }
            xml.tagSet([:])
            xml.leaf("ownerId", parts.vpc.accountId.rawValue)
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    static let dhcpOptionsFilters = FilterSet<DefaultVPCParts>("DescribeDhcpOptions", fields: [
        "dhcp-options-id": { [$0.dhcpOptionsId] },
        "key": { $0.dhcpConfiguration.map(\.key) },
        "value": { $0.dhcpConfiguration.flatMap(\.values) },
        "owner-id": { [$0.vpc.accountId.rawValue] },
    ], id: \.dhcpOptionsId)

    static func describeDhcpOptions(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let page = try requested([defaultVPCParts(context)], context, idParameter: "DhcpOptionsId", id: \.dhcpOptionsId, dhcpOptionsFilters) {
            EC2Error("InvalidDhcpOptionID.NotFound", "The dhcpOption ID '\($0.prefix(64))' does not exist")
        }
        xml.set("dhcpOptionsSet", page.items) { xml, parts in
            xml.leaf("dhcpOptionsId", parts.dhcpOptionsId)
            xml.leaf("ownerId", parts.vpc.accountId.rawValue)
            xml.set("dhcpConfigurationSet", parts.dhcpConfiguration) { xml, option in
                xml.leaf("key", option.key)
                xml.set("valueSet", option.values) { xml, value in xml.leaf("value", value) }
            }
            xml.tagSet([:])
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }
}
