"""Each account's default VPC and its default subnet per zone, as tools that launch "by name,
without a subnet" look them up (Ansible's ec2_instance, Terraform's data sources)."""

import botocore.exceptions
import pytest

from conftest import states, wait_for


def test_the_default_vpc_and_its_subnets(cloud):
    ec2 = cloud.client()
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1
    vpc = vpcs[0]
    assert vpc["IsDefault"] is True and vpc["State"] == "available" and vpc["CidrBlock"] == "172.31.0.0/16"
    assert vpc["VpcId"].startswith("vpc-") and len(vpc["VpcId"]) == 21
    assert vpc["CidrBlockAssociationSet"][0]["CidrBlockState"]["State"] == "associated"
    assert ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"] == vpcs
    assert ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"] == []

    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    subnets = ec2.describe_subnets(Filters=[
        {"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "default-for-az", "Values": ["true"]},
        {"Name": "state", "Values": ["available"]}])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == sorted(zones)
    subnet = subnets[0]
    assert subnet["CidrBlock"] == "172.31.0.0/20" and subnet["MapPublicIpOnLaunch"] is True
    assert subnet["AvailableIpAddressCount"] == 4096 - 5
    assert subnet["SubnetArn"].endswith(":subnet/" + subnet["SubnetId"])
    by_zone = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": [subnet["AvailabilityZone"]]}])["Subnets"]
    assert [s["SubnetId"] for s in by_zone] == [subnet["SubnetId"]]
    # Zones and subnets name the same zone id, and zones can be asked for by it.
    zone = ec2.describe_availability_zones(ZoneIds=[subnet["AvailabilityZoneId"]])["AvailabilityZones"]
    assert [z["ZoneName"] for z in zone] == [subnet["AvailabilityZone"]]
    assert ec2.describe_availability_zones(
        Filters=[{"Name": "zone-id", "Values": [subnet["AvailabilityZoneId"]]}])["AvailabilityZones"] == zone

    attribute = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsSupport")
    assert attribute["EnableDnsSupport"]["Value"] is True
    account = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"][0]
    assert account["AttributeValues"][0]["AttributeValue"] == vpc["VpcId"]

    # The default security group is the VPC's.
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"] and groups[0]["VpcId"] == vpc["VpcId"]

    # The same ids after a restart: nothing about the view is random.
    cloud.stop()
    cloud.restart()
    again = cloud.client()
    assert again.describe_vpcs()["Vpcs"][0]["VpcId"] == vpc["VpcId"]
    assert {s["SubnetId"] for s in again.describe_subnets()["Subnets"]} == {s["SubnetId"] for s in subnets}


def test_instances_are_in_their_zones_default_subnet(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="m1.small")["Instances"]]
    wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="instances running")
    instances = [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    assert {(i["VpcId"], i["SubnetId"]) for i in instances} == {(subnet["VpcId"], subnet["SubnetId"])}
    found = ec2.describe_instances(Filters=[{"Name": "subnet-id", "Values": [subnet["SubnetId"]]}])["Reservations"]
    assert sorted(i["InstanceId"] for r in found for i in r["Instances"]) == sorted(ids)
    # The subnet's free addresses count the instances that hold one.
    assert ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]["AvailableIpAddressCount"] == 4096 - 5 - 2
    ec2.terminate_instances(InstanceIds=ids)
    wait_for(lambda: set(states(ec2, ids).values()) == {"terminated"}, what="instances terminated")
    assert ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]["AvailableIpAddressCount"] == 4096 - 5


def test_the_default_vpcs_gateway_route_table_acl_and_dhcp_options(cloud):
    ec2 = cloud.client()
    vpc = ec2.describe_vpcs()["Vpcs"][0]
    subnets = ec2.describe_subnets()["Subnets"]
    [gateway] = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    assert gateway["Attachments"] == [{"VpcId": vpc["VpcId"], "State": "available"}]
    [table] = ec2.describe_route_tables(Filters=[{"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    assert table["VpcId"] == vpc["VpcId"]
    assert {(r["DestinationCidrBlock"], r["GatewayId"]) for r in table["Routes"]} == {
        (vpc["CidrBlock"], "local"), ("0.0.0.0/0", gateway["InternetGatewayId"])}
    [acl] = ec2.describe_network_acls(Filters=[{"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    assert {a["SubnetId"] for a in acl["Associations"]} == {s["SubnetId"] for s in subnets}
    assert {(e["RuleNumber"], e["RuleAction"], e["Egress"]) for e in acl["Entries"]} == {
        (100, "allow", False), (32767, "deny", False), (100, "allow", True), (32767, "deny", True)}
    [options] = ec2.describe_dhcp_options(DhcpOptionsIds=[vpc["DhcpOptionsId"]])["DhcpOptions"]
    assert {c["Key"] for c in options["DhcpConfigurations"]} == {"domain-name", "domain-name-servers"}
    for call, code in [
        (lambda: ec2.describe_route_tables(RouteTableIds=["rtb-0123456789abcdef0"]), "InvalidRouteTableID.NotFound"),
        (lambda: ec2.create_route_table(VpcId=vpc["VpcId"]), "Unsupported"),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == code
    # Derived from the VPC: the same after a restart.
    cloud.stop()
    cloud.restart()
    again = cloud.client().describe_internet_gateways()["InternetGateways"]
    assert [g["InternetGatewayId"] for g in again] == [gateway["InternetGatewayId"]]


def test_each_instance_has_its_primary_network_interface(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    ident = instance["InstanceId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    association = ec2.associate_address(AllocationId=allocation, InstanceId=ident)["AssociationId"]
    [interface] = ec2.describe_network_interfaces()["NetworkInterfaces"]
    assert interface["Attachment"]["InstanceId"] == ident and interface["Attachment"]["DeviceIndex"] == 0
    assert (interface["SubnetId"], interface["VpcId"]) == (instance["SubnetId"], instance["VpcId"])
    assert interface.get("PrivateIpAddress") == instance.get("PrivateIpAddress") and interface["Status"] == "in-use"
    assert (interface["Association"]["AllocationId"], interface["Association"]["AssociationId"]) == (allocation, association)
    shown = ec2.describe_instances(InstanceIds=[ident])["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
    assert [i["NetworkInterfaceId"] for i in shown] == [interface["NetworkInterfaceId"]]
    by_id = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface["NetworkInterfaceId"]])["NetworkInterfaces"]
    by_filter = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [ident]}])["NetworkInterfaces"]
    assert by_id == by_filter == [interface]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        ec2.describe_network_interfaces(NetworkInterfaceIds=["eni-0123456789abcdef0"])
    assert raised.value.response["Error"]["Code"] == "InvalidNetworkInterfaceID.NotFound"
    ec2.terminate_instances(InstanceIds=[ident])
    wait_for(lambda: states(ec2, [ident])[ident] == "terminated", what="terminated")
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []


@pytest.mark.parametrize("call, code", [
    (lambda ec2: ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"]), "InvalidVpcID.NotFound"),
    (lambda ec2: ec2.describe_subnets(SubnetIds=["subnet-0123456789abcdef0"]), "InvalidSubnetID.NotFound"),
    (lambda ec2: ec2.describe_vpc_attribute(VpcId="vpc-0123456789abcdef0", Attribute="enableDnsSupport"), "InvalidVpcID.NotFound"),
    (lambda ec2: ec2.describe_vpcs(Filters=[{"Name": "no-such-filter", "Values": ["x"]}]), "InvalidParameterValue"),
    (lambda ec2: ec2.create_vpc(CidrBlock="10.0.0.0/16"), "Unsupported"),
    (lambda ec2: ec2.create_subnet(VpcId="vpc-0123456789abcdef0", CidrBlock="10.0.0.0/24"), "Unsupported"),
])
def test_what_is_not_there_is_refused(cloud, call, code):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(cloud.client())
    assert raised.value.response["Error"]["Code"] == code


def test_a_launch_into_a_default_subnet_lands_in_its_zone(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"])["Instances"][0]
    assert instance["Placement"]["AvailabilityZone"] == subnet["AvailabilityZone"]
    assert instance["SubnetId"] == subnet["SubnetId"]
    for kwargs, code in [
        ({"SubnetId": "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"),
        ({"SubnetId": subnet["SubnetId"], "Placement": {"AvailabilityZone": "elsewhere"}}, "InvalidParameterCombination"),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, **kwargs)
        assert raised.value.response["Error"]["Code"] == code


def test_the_primary_network_interface_is_taken_and_nothing_else_is(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]
    group = ec2.create_security_group(GroupName="nic", Description="nic")["GroupId"]
    interface = {"DeviceIndex": 0, "SubnetId": subnet["SubnetId"], "Groups": [group], "AssociatePublicIpAddress": True}
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, NetworkInterfaces=[interface],
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "root"}]}])["Instances"][0]
    assert instance["SubnetId"] == subnet["SubnetId"]
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [group]
    for kwargs, code in [
        ({"NetworkInterfaces": [dict(interface, DeviceIndex=1)]}, "Unsupported"),
        ({"NetworkInterfaces": [interface, dict(interface, DeviceIndex=1)]}, "Unsupported"),
        ({"NetworkInterfaces": [dict(interface, PrivateIpAddress="172.31.0.9")]}, "Unsupported"),
        ({"NetworkInterfaces": [interface], "SubnetId": subnet["SubnetId"]}, "InvalidParameterCombination"),
        ({"NetworkInterfaces": [interface], "SecurityGroupIds": [group]}, "InvalidParameterCombination"),
        ({"TagSpecifications": [{"ResourceType": "network-interface", "Tags": [{"Key": "a", "Value": "b"}]}]}, "InvalidParameterValue"),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, **kwargs)
        assert raised.value.response["Error"]["Code"] == code, kwargs


def test_two_interfaces_numbered_from_zero_and_one_are_refused(cloud):
    from test_errors import signed
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    status, code, _ = signed(cloud, {
        "Action": "RunInstances", "ImageId": image, "MinCount": "1", "MaxCount": "1",
        "NetworkInterface.0.DeviceIndex": "0", "NetworkInterface.0.SubnetId": subnet,
        "NetworkInterface.1.DeviceIndex": "0", "NetworkInterface.1.SubnetId": subnet})
    assert (status, code) == (400, "Unsupported")
    assert ec2.describe_instances()["Reservations"] == []


def test_addresses_for_the_vpc(cloud):
    ec2 = cloud.client()
    address = ec2.allocate_address(Domain="vpc")
    assert address["Domain"] == "vpc" and address["AllocationId"].startswith("eipalloc-")
    classic = ec2.allocate_address()
    assert classic["Domain"] == "standard"
    shown = ec2.describe_addresses(Filters=[{"Name": "domain", "Values": ["vpc"]}])["Addresses"]
    assert [a["PublicIp"] for a in shown] == [address["PublicIp"]]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        ec2.allocate_address(Domain="bogus")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
