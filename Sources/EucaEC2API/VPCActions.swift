import EucaCloud
import EucaCore

/// The default VPC's API: each account's default VPC and its default subnets, as
/// ``VPCService`` derives them. Creating or changing VPCs and subnets stays `Unsupported`.
extension EC2Actions {
    static let vpcActions: [String: EC2Action] = [
        "DescribeVpcs": EC2Action(run: describeVpcs, limits: "the default VPC only; no tags on it"),
        "DescribeSubnets": EC2Action(run: describeSubnets, limits: "the default subnets only; no tags on them"),
        "DescribeVpcAttribute": EC2Action(run: describeVpcAttribute),
    ]

    static let vpcFilters = FilterSet<VPCView>("DescribeVpcs", fields: [
        "cidr": { [$0.cidrBlock] },
        "cidr-block-association.cidr-block": { [$0.cidrBlock] },
        "cidr-block-association.association-id": { [cidrAssociationId(of: $0)] },
        "cidr-block-association.state": { _ in ["associated"] },
        "dhcp-options-id": { [DefaultVPCParts.id("dopt", $0)] },
        "ipv6-cidr-block-association.ipv6-cidr-block": { _ in [] },
        "ipv6-cidr-block-association.ipv6-pool": { _ in [] },
        "ipv6-cidr-block-association.association-id": { _ in [] },
        "ipv6-cidr-block-association.state": { _ in [] },
        "is-default": { [String($0.isDefault)] },
        "isDefault": { [String($0.isDefault)] },
        "owner-id": { [$0.accountId.rawValue] },
        "state": { [$0.state] },
        "vpc-id": { [$0.id] },
    ], id: \.id)

    static let subnetFilters = FilterSet<SubnetView>("DescribeSubnets", fields: [
        "availability-zone": { [$0.zone] },
        "availabilityZone": { [$0.zone] },
        "availability-zone-id": { [$0.zoneId] },
        "available-ip-address-count": { [String($0.availableAddresses)] },
        "cidr-block": { [$0.cidrBlock] },
        "cidr": { [$0.cidrBlock] },
        "cidrBlock": { [$0.cidrBlock] },
        "customer-owned-ipv4-pool": { _ in [] },
        "default-for-az": { [String($0.defaultForAz)] },
        "defaultForAz": { [String($0.defaultForAz)] },
        "enable-dns64": { _ in ["false"] },
        "enable-lni-at-device-index": { _ in [] },
        "ipv6-cidr-block-association.ipv6-cidr-block": { _ in [] },
        "ipv6-cidr-block-association.association-id": { _ in [] },
        "ipv6-cidr-block-association.state": { _ in [] },
        "ipv6-native": { _ in ["false"] },
        "map-customer-owned-ip-on-launch": { _ in ["false"] },
        "map-public-ip-on-launch": { [String($0.mapPublicIpOnLaunch)] },
        "outpost-arn": { _ in [] },
        "owner-id": { [$0.accountId.rawValue] },
        "private-dns-name-options-on-launch.hostname-type": { _ in ["ip-name"] },
        "private-dns-name-options-on-launch.enable-resource-name-dns-a-record": { _ in ["false"] },
        "private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record": { _ in ["false"] },
        "state": { [$0.state] },
        "subnet-arn": { [$0.arn] },
        "subnet-id": { [$0.id] },
        "vpc-id": { [$0.vpcId] },
    ], id: \.id)

    static func cidrAssociationId(of vpc: VPCView) -> String {
        "vpc-cidr-assoc-" + StableDigest.hex("cidr/\(vpc.id)", count: 17)
    }

    /// The page of `all` a Describe request asks for: the ids it names (each must be there), the
    /// filters it sends, `MaxResults` and `NextToken`, in id order.
    static func requested<Resource>(
        _ all: [Resource], _ context: ActionContext, idParameter: String, id: (Resource) -> String, _ filters: FilterSet<Resource>,
        missing: (String) -> EC2Error
    ) throws -> (items: ArraySlice<Resource>, nextToken: String?) {
        let ids = context.params.list(idParameter)
        for wanted in ids where !all.contains(where: { id($0) == wanted }) { throw missing(wanted) }
        let filter = try filters.compile(try context.params.filters(), tags: context.cloud.tags.all())
        let paging = try Paging(context.params, range: 5...1000)
        let shown = all.filter { (ids.isEmpty || ids.contains(id($0))) && filter.matches($0) }.sorted { id($0) < id($1) }
        return paging.page(shown, key: id)
    }

    static func describeVpcs(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let page = try requested(
            [context.cloud.vpcs.defaultVPC(of: context.principal.accountId)], context, idParameter: "VpcId", id: \.id, vpcFilters
        ) { EC2Error("InvalidVpcID.NotFound", "The vpc ID '\($0.prefix(64))' does not exist") }
        xml.set("vpcSet", page.items) { xml, vpc in
            xml.leaf("vpcId", vpc.id)
            xml.leaf("ownerId", vpc.accountId.rawValue)
            xml.leaf("state", vpc.state)
            xml.leaf("cidrBlock", vpc.cidrBlock)
            xml.set("cidrBlockAssociationSet", [vpc]) { xml, vpc in
                xml.leaf("cidrBlock", vpc.cidrBlock)
                xml.leaf("associationId", cidrAssociationId(of: vpc))
                xml.element("cidrBlockState") { $0.leaf("state", "associated") }
            }
            xml.leaf("dhcpOptionsId", DefaultVPCParts.id("dopt", vpc))
            xml.leaf("instanceTenancy", "default")
            xml.leaf("isDefault", vpc.isDefault)
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    static func describeSubnets(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let page = try requested(
            context.cloud.vpcs.defaultSubnets(of: context.principal.accountId), context, idParameter: "SubnetId", id: \.id, subnetFilters
        ) { EC2Error("InvalidSubnetID.NotFound", "The subnet ID '\($0.prefix(64))' does not exist") }
        xml.set("subnetSet", page.items) { xml, subnet in
            xml.leaf("subnetId", subnet.id)
            xml.leaf("subnetArn", subnet.arn)
            xml.leaf("state", subnet.state)
            xml.leaf("ownerId", subnet.accountId.rawValue)
            xml.leaf("vpcId", subnet.vpcId)
            xml.leaf("cidrBlock", subnet.cidrBlock)
            xml.leaf("availableIpAddressCount", subnet.availableAddresses)
            xml.leaf("availabilityZone", subnet.zone)
            xml.leaf("availabilityZoneId", subnet.zoneId)
            xml.leaf("defaultForAz", subnet.defaultForAz)
            xml.leaf("mapPublicIpOnLaunch", subnet.mapPublicIpOnLaunch)
            xml.leaf("mapCustomerOwnedIpOnLaunch", false)
            xml.leaf("assignIpv6AddressOnCreation", false)
            xml.leaf("enableDns64", false)
            xml.leaf("ipv6Native", false)
            xml.element("privateDnsNameOptionsOnLaunch") { xml in
                xml.leaf("hostnameType", "ip-name")
                xml.leaf("enableResourceNameDnsARecord", false)
                xml.leaf("enableResourceNameDnsAAAARecord", false)
            }
        }
        xml.leaf("nextToken", ifPresent: page.nextToken)
    }

    /// The default VPC resolves names through the site's DNS, and its instances have DNS names.
    static func describeVpcAttribute(_ context: ActionContext, _ xml: inout XMLWriter) async throws {
        let id = try context.params.required("VpcId")
        let attribute = try context.params.required("Attribute")
        guard id == VPCService.vpcId(of: context.principal.accountId) else {
            throw EC2Error("InvalidVpcID.NotFound", "The vpc ID '\(id.prefix(64))' does not exist")
        }
        let element: String
        let value: Bool
        switch attribute {
        case "enableDnsSupport": (element, value) = ("enableDnsSupport", true)
        case "enableDnsHostnames": (element, value) = ("enableDnsHostnames", true)
        case "enableNetworkAddressUsageMetrics": (element, value) = ("enableNetworkAddressUsageMetrics", false)
        default:
            throw EC2Error("InvalidParameterValue", "Value (\(attribute.prefix(64))) for parameter attribute is invalid. Unknown attribute.")
        }
        xml.leaf("vpcId", id)
        xml.element(element) { $0.leaf("value", value) }
    }
}
