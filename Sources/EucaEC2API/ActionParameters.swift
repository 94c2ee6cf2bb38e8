import EucaCore

/// What each action does with the parameters a request carries.
///
/// Every name a request sends is read as a pattern (each list index written `N`:
/// `NetworkInterface.1.SubnetId` is `NetworkInterface.N.SubnetId`), and a list's bare name stands
/// for its members (`KeyName` for `KeyName.N`, as libcloud sends it). A pattern the action acts on
/// goes to its handler; one that EC2's model documents for the action but this cloud does not act
/// on is refused with `Unsupported` naming it; any other is `UnknownParameter`. Nothing a client
/// sends is dropped without a word.
enum ActionParameters {
    /// The names that sign or address a request rather than being an action's parameters.
    static let envelope: Set<String> = [
        "Action", "Version", "DryRun", "AWSAccessKeyId", "SignatureMethod", "SignatureVersion", "Signature", "Timestamp",
        "Expires", "SecurityToken",
    ]

    /// Refuses a parameter `action` does not act on; `handled` is what it acts on.
    static func check(_ params: QueryParameters, action: String, handled: Set<String>) throws {
        guard let documented = documentedParameters[action] else { return }
        var refused: String?
        for name in params.values.keys where !envelope.contains(name) && !name.hasPrefix("X-Amz-") {
            let pattern = QueryParameters.pattern(of: name)
            if handled.contains(pattern) || handled.contains(pattern + ".N") { continue }
            // The first in name order, so that a request with several is always refused for the same one.
            if refused.map({ name < $0 }) ?? true { refused = name }
        }
        guard let name = refused else { return }
        let pattern = QueryParameters.pattern(of: name)
        if documented.contains(pattern) || documented.contains(pattern + ".N") {
            throw EC2Error("Unsupported", "The parameter \(name.prefix(100)) is not supported by this cloud.")
        }
        throw EC2Error("UnknownParameter", "The parameter \(name.prefix(100)) is not recognized")
    }

    static let filters: Set<String> = ["Filter.N.Name", "Filter.N.Value.N"]
    static let paging: Set<String> = ["MaxResults", "NextToken"]
    static let tagSpecifications: Set<String> = [
        "TagSpecification.N.ResourceType", "TagSpecification.N.Tag.N.Key", "TagSpecification.N.Tag.N.Value",
    ]
    static let tags: Set<String> = ["Tag.N.Key", "Tag.N.Value"]
    static let permissions: Set<String> = [
        "GroupId", "GroupName", "IpProtocol", "FromPort", "ToPort", "CidrIp", "SourceSecurityGroupName", "SourceSecurityGroupOwnerId",
        "IpPermissions.N.IpProtocol", "IpPermissions.N.FromPort", "IpPermissions.N.ToPort",
        "IpPermissions.N.IpRanges.N.CidrIp", "IpPermissions.N.IpRanges.N.Description",
        "IpPermissions.N.Ipv6Ranges.N.CidrIpv6", "IpPermissions.N.Ipv6Ranges.N.Description",
        "IpPermissions.N.Groups.N.GroupId", "IpPermissions.N.Groups.N.GroupName", "IpPermissions.N.Groups.N.UserId",
        "IpPermissions.N.Groups.N.Description",
    ]
    static let metadataOptions: Set<String> = [
        "HttpEndpoint", "HttpProtocolIpv6", "HttpPutResponseHopLimit", "HttpTokens", "InstanceMetadataTags",
    ]

    /// The parameters each implemented action acts on (besides the envelope). `AdditionalInfo`
    /// is reserved in EC2's own model: taken and, as there, without effect.
    static let handled: [String: Set<String>] = [
        "DescribeRegions": filters.union(["RegionName.N", "AllRegions"]),
        "DescribeAvailabilityZones": filters.union(["ZoneName.N", "ZoneId.N", "AllAvailabilityZones"]),
        "DescribeInstanceTypes": filters.union(paging).union(["InstanceType.N"]),
        "DescribeImages": filters.union(paging).union(["ImageId.N", "Owner.N", "ExecutableBy.N", "IncludeDeprecated", "IncludeDisabled"]),
        "CreateKeyPair": tagSpecifications.union(["KeyName", "KeyType", "KeyFormat"]),
        "ImportKeyPair": tagSpecifications.union(["KeyName", "PublicKeyMaterial"]),
        "DescribeKeyPairs": filters.union(["KeyName.N", "KeyPairId.N", "IncludePublicKey"]),
        "DeleteKeyPair": ["KeyName", "KeyPairId"],
        "RunInstances": tagSpecifications.union(metadataOptions.map { "MetadataOptions." + $0 }).union([
            "ImageId", "InstanceType", "MinCount", "MaxCount", "KeyName", "UserData", "KernelId", "RamdiskId", "ClientToken",
            "SecurityGroup.N", "SecurityGroupId.N", "SubnetId", "DisableApiTermination", "DisableApiStop",
            "InstanceInitiatedShutdownBehavior", "Placement.AvailabilityZone", "Placement.Tenancy", "Monitoring.Enabled",
            "EbsOptimized", "HibernationOptions.Configured", "EnclaveOptions.Enabled", "AdditionalInfo",
            "NetworkInterface.N.DeviceIndex", "NetworkInterface.N.SubnetId", "NetworkInterface.N.SecurityGroupId.N",
            "NetworkInterface.N.AssociatePublicIpAddress", "NetworkInterface.N.DeleteOnTermination",
            "PrivateIpAddress", "NetworkInterface.N.PrivateIpAddress",
        ]),
        "DescribeInstances": filters.union(paging).union(["InstanceId.N"]),
        "TerminateInstances": ["InstanceId.N"],
        "StopInstances": ["InstanceId.N", "Hibernate", "Force"],
        "StartInstances": ["InstanceId.N", "AdditionalInfo"],
        "RebootInstances": ["InstanceId.N"],
        "GetConsoleOutput": ["InstanceId", "Latest"],
        "CreateTags": tags.union(["ResourceId.N"]),
        "DeleteTags": tags.union(["ResourceId.N"]),
        "DescribeTags": filters.union(paging),
        "CreateSecurityGroup": tagSpecifications.union(["GroupName", "GroupDescription", "VpcId"]),
        "DeleteSecurityGroup": ["GroupId", "GroupName"],
        "DescribeSecurityGroups": filters.union(paging).union(["GroupName.N", "GroupId.N"]),
        // Egress rules are a VPC group's, named by id only.
        "AuthorizeSecurityGroupIngress": permissions,
        "AuthorizeSecurityGroupEgress": permissions.subtracting(["GroupName"]),
        "RevokeSecurityGroupIngress": permissions,
        "RevokeSecurityGroupEgress": permissions.subtracting(["GroupName"]),
        "AllocateAddress": tagSpecifications.union(["Domain", "Address"]),
        "AssociateAddress": ["InstanceId", "PublicIp", "AllocationId", "AllowReassociation"],
        "DisassociateAddress": ["PublicIp", "AssociationId"],
        "ReleaseAddress": ["PublicIp", "AllocationId"],
        "DescribeAddresses": filters.union(["PublicIp.N", "AllocationId.N"]),
        "RegisterImage": tagSpecifications.union(["ImageLocation", "Name", "Description", "Architecture", "KernelId", "RamdiskId"]),
        "DeregisterImage": ["ImageId"],
        "DescribeImageAttribute": ["ImageId", "Attribute"],
        "ModifyImageAttribute": [
            "ImageId", "Attribute", "Value", "OperationType", "UserId.N", "UserGroup.N", "Description.Value", "Kernel.Value",
            "Ramdisk.Value", "LaunchPermission.Add.N.UserId", "LaunchPermission.Add.N.Group", "LaunchPermission.Remove.N.UserId",
            "LaunchPermission.Remove.N.Group",
        ],
        "ResetImageAttribute": ["ImageId", "Attribute"],
        "DescribeInstanceAttribute": ["InstanceId", "Attribute"],
        "ModifyInstanceAttribute": [
            "InstanceId", "Attribute", "Value", "InstanceType.Value", "UserData.Value", "DisableApiTermination.Value",
            "DisableApiStop.Value", "InstanceInitiatedShutdownBehavior.Value", "GroupId.N",
        ],
        "ModifyInstanceMetadataOptions": metadataOptions.union(["InstanceId"]),
        "DescribeInstanceStatus": filters.union(paging).union(["InstanceId.N", "IncludeAllInstances"]),
        "DescribeAccountAttributes": ["AttributeName.N"],
        "DescribeVpcs": filters.union(paging).union(["VpcId.N"]),
        "DescribeSubnets": filters.union(paging).union(["SubnetId.N"]),
        "DescribeVpcAttribute": ["VpcId", "Attribute"],
        "DescribeNetworkInterfaces": filters.union(paging).union(["NetworkInterfaceId.N"]),
        "DescribeInternetGateways": filters.union(paging).union(["InternetGatewayId.N"]),
        "DescribeRouteTables": filters.union(paging).union(["RouteTableId.N"]),
        "DescribeNetworkAcls": filters.union(paging).union(["NetworkAclId.N"]),
        "DescribeDhcpOptions": filters.union(paging).union(["DhcpOptionsId.N"]),
        "DescribeSecurityGroupRules": filters.union(paging).union(["SecurityGroupRuleId.N"]),
    ]
}
