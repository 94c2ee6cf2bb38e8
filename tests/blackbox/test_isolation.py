"""Tenant isolation over the wire, one case per EC2 action the cloud offers.

Account B tries every supported action on account A's resources: an instance, a key pair, a
security group with a rule, an elastic IP, a private image, and the parts of A's default VPC. For
an action that names a resource, B's answer on A's resource must be the very error a made-up id
of the same form gets (so nothing tells B that A's exists), and A's view of its resources must be
unchanged afterwards. An action that names none (B's own creations, the region's descriptions)
must leave A's view unchanged too.

The list of actions is read from the running code (`euca-admin api-coverage`): an action added to
the cloud without a case here fails `test_every_supported_action_has_a_case`."""

import pathlib
import secrets
import subprocess

import boto3
import botocore.config
import botocore.exceptions
import pytest

from conftest import ROOT, Cloud, states, wait_for

ADMIN = ROOT / ".build" / "debug" / "euca-admin"


def admin(cloud, *args) -> str:
    result = subprocess.run([str(ADMIN), *args, "--state", str(cloud.state)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ec2_for(cloud, key, secret):
    return boto3.client(
        "ec2", endpoint_url=cloud.endpoint + "/", region_name=cloud.credentials["region"], aws_access_key_id=key,
        aws_secret_access_key=secret, config=botocore.config.Config(retries={"max_attempts": 1}))


def account(cloud, name):
    lines = admin(cloud, "create-account", name).splitlines()
    account_id = lines[0].split("\t")[2]
    _, key, secret = lines[1].split("\t")
    return account_id, ec2_for(cloud, key, secret)


def hex_id(prefix, length=17):
    return prefix + secrets.token_hex(16)[:length]


class World:
    """Two tenants, A with one of each resource, and the ids B will try."""

    def __init__(self, cloud, tmp):
        self.cloud = cloud
        self.a_id, self.a = account(cloud, "tenant-a")
        self.b_id, self.b = account(cloud, "tenant-b")
        image = cloud.client().describe_images(Owners=["self"])["Images"][0]["ImageId"]
        self.b_image = image
        a, b = self.a, self.b
        self.key_name = "a-key"
        self.key_id = a.create_key_pair(KeyName=self.key_name)["KeyPairId"]
        self.group_name = "a-group"
        self.group = a.create_security_group(GroupName=self.group_name, Description="A's")["GroupId"]
        a.authorize_security_group_ingress(GroupId=self.group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        self.rule = a.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [self.group]}])["SecurityGroupRules"][0][
            "SecurityGroupRuleId"]
        run = a.run_instances(ImageId=image, MinCount=1, MaxCount=1, KeyName=self.key_name, SecurityGroupIds=[self.group])
        self.instance = run["Instances"][0]["InstanceId"]
        wait_for(lambda: states(a, [self.instance]) == {self.instance: "running"}, what="A's instance running")
        a.create_tags(Resources=[self.instance], Tags=[{"Key": "owner", "Value": "a"}])
        allocation = a.allocate_address(Domain="vpc")
        self.public_ip, self.allocation = allocation["PublicIp"], allocation["AllocationId"]
        self.association = a.associate_address(AllocationId=self.allocation, InstanceId=self.instance)["AssociationId"]
        disk = tmp / "a-disk.img"
        disk.write_bytes(b"\0" * 4096)
        self.location = admin(cloud, "upload-image", "--kind", "machine", "--name", "a-disk.img", "--account", self.a_id, str(disk)).split()[0]
        self.image = a.register_image(Name="a's image", ImageLocation=self.location)["ImageId"]
        self.vpc = a.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.subnet = a.describe_subnets()["Subnets"][0]["SubnetId"]
        self.dhcp = a.describe_dhcp_options()["DhcpOptions"][0]["DhcpOptionsId"]
        self.gateway = a.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"]
        self.acl = a.describe_network_acls()["NetworkAcls"][0]["NetworkAclId"]
        self.route_table = a.describe_route_tables()["RouteTables"][0]["RouteTableId"]
        self.interface = a.describe_network_interfaces()["NetworkInterfaces"][0]["NetworkInterfaceId"]
        # B has an instance and an address of its own, to aim at A's.
        self.b_instance = b.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        wait_for(lambda: states(b, [self.b_instance]) == {self.b_instance: "running"}, what="B's instance running")
        self.b_allocation = b.allocate_address(Domain="vpc")["AllocationId"]

    def view_of_a(self):
        """What A sees of its own resources: any change B makes shows here."""
        a = self.a
        return {
            "instances": a.describe_instances()["Reservations"],
            "attribute": a.describe_instance_attribute(InstanceId=self.instance, Attribute="instanceType")["InstanceType"],
            "metadata": a.describe_instances(InstanceIds=[self.instance])["Reservations"][0]["Instances"][0].get("MetadataOptions"),
            "groups": a.describe_security_groups()["SecurityGroups"],
            "keys": a.describe_key_pairs()["KeyPairs"],
            "addresses": a.describe_addresses()["Addresses"],
            "images": a.describe_images(Owners=["self"])["Images"],
            "launch": a.describe_image_attribute(ImageId=self.image, Attribute="launchPermission")["LaunchPermissions"],
            "description": a.describe_image_attribute(ImageId=self.image, Attribute="description").get("Description"),
            "tags": a.describe_tags()["Tags"],
            # And what the cloud's administrator sees of every account's instances.
            "everyone": sorted((i["InstanceId"], i["State"]["Name"], i.get("PublicIpAddress"))
                               for r in self.cloud.client().describe_instances(InstanceIds=["verbose"])["Reservations"]
                               for i in r["Instances"]),
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("isolation")
    cloud = Cloud(tmp / "var", env={"VNET_PUBLICIPS": "10.99.0.10-10.99.0.20"}).start()
    try:
        yield World(cloud, tmp)
    finally:
        if cloud.process.poll() is None:
            cloud.stop()


def error(call):
    try:
        call()
    except botocore.exceptions.ClientError as caught:
        return caught.response["ResponseMetadata"]["HTTPStatusCode"], caught.response["Error"]["Code"]
    return None


def NAMES(w, fake):
    """Per action, B's attempts on A's resources: each a pair of calls, on A's id and on a made-up
    one of the same form (`fake` makes it), which must fail alike. None marks an action that
    names no resource of another account; its call is made and must leave A unchanged."""
    b = w.b
    i = lambda ids: {"InstanceIds": ids}
    return {
        "AssociateAddress": [
            lambda x: b.associate_address(AllocationId=w.b_allocation, InstanceId=x(w.instance, "i-")),
            lambda x: b.associate_address(AllocationId=x(w.allocation, "eipalloc-"), InstanceId=w.b_instance),
            lambda x: b.associate_address(PublicIp=x(w.public_ip, "ip"), InstanceId=w.b_instance)],
        "AuthorizeSecurityGroupEgress": [lambda x: b.authorize_security_group_egress(GroupId=x(w.group, "sg-"), IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])],
        "AuthorizeSecurityGroupIngress": [
            lambda x: b.authorize_security_group_ingress(GroupId=x(w.group, "sg-"), IpProtocol="tcp", FromPort=1, ToPort=1, CidrIp="0.0.0.0/0")],
        "CreateTags": [lambda x: b.create_tags(Resources=[x(w.instance, "i-")], Tags=[{"Key": "owner", "Value": "b"}]),
                       lambda x: b.create_tags(Resources=[x(w.image, "ami-")], Tags=[{"Key": "owner", "Value": "b"}]),
                       lambda x: b.create_tags(Resources=[x(w.group, "sg-")], Tags=[{"Key": "owner", "Value": "b"}])],
        "DeleteKeyPair": [lambda x: b.delete_key_pair(KeyPairId=x(w.key_id, "key-")),
                          lambda x: b.delete_key_pair(KeyName=x(w.key_name, "name"))],
        "DeleteSecurityGroup": [lambda x: b.delete_security_group(GroupId=x(w.group, "sg-"))],
        "DeleteTags": [lambda x: b.delete_tags(Resources=[x(w.instance, "i-")], Tags=[{"Key": "owner"}])],
        "DeregisterImage": [lambda x: b.deregister_image(ImageId=x(w.image, "ami-"))],
        "DescribeAddresses": [lambda x: b.describe_addresses(PublicIps=[x(w.public_ip, "ip")]),
                              lambda x: b.describe_addresses(AllocationIds=[x(w.allocation, "eipalloc-")])],
        "DescribeDhcpOptions": [lambda x: b.describe_dhcp_options(DhcpOptionsIds=[x(w.dhcp, "dopt-")])],
        "DescribeImageAttribute": [lambda x: b.describe_image_attribute(ImageId=x(w.image, "ami-"), Attribute="launchPermission")],
        "DescribeImages": [lambda x: b.describe_images(ImageIds=[x(w.image, "ami-")])],
        "DescribeInstanceAttribute": [lambda x: b.describe_instance_attribute(InstanceId=x(w.instance, "i-"), Attribute="userData")],
        "DescribeInstanceStatus": [lambda x: b.describe_instance_status(**i([x(w.instance, "i-")]))],
        "DescribeInstances": [lambda x: b.describe_instances(**i([x(w.instance, "i-")]))],
        "DescribeInternetGateways": [lambda x: b.describe_internet_gateways(InternetGatewayIds=[x(w.gateway, "igw-")])],
        "DescribeKeyPairs": [lambda x: b.describe_key_pairs(KeyPairIds=[x(w.key_id, "key-")]),
                             lambda x: b.describe_key_pairs(KeyNames=[x(w.key_name, "name")])],
        "DescribeNetworkAcls": [lambda x: b.describe_network_acls(NetworkAclIds=[x(w.acl, "acl-")])],
        "DescribeNetworkInterfaces": [lambda x: b.describe_network_interfaces(NetworkInterfaceIds=[x(w.interface, "eni-")])],
        "DescribeRouteTables": [lambda x: b.describe_route_tables(RouteTableIds=[x(w.route_table, "rtb-")])],
        "DescribeSecurityGroupRules": [lambda x: b.describe_security_group_rules(SecurityGroupRuleIds=[x(w.rule, "sgr-")])],
        "DescribeSecurityGroups": [lambda x: b.describe_security_groups(GroupIds=[x(w.group, "sg-")]),
                                   lambda x: b.describe_security_groups(GroupNames=[x(w.group_name, "name")])],
        "DescribeSubnets": [lambda x: b.describe_subnets(SubnetIds=[x(w.subnet, "subnet-")])],
        "DescribeVpcAttribute": [lambda x: b.describe_vpc_attribute(VpcId=x(w.vpc, "vpc-"), Attribute="enableDnsSupport")],
        "DescribeVpcs": [lambda x: b.describe_vpcs(VpcIds=[x(w.vpc, "vpc-")])],
        "DisassociateAddress": [lambda x: b.disassociate_address(AssociationId=x(w.association, "eipassoc-")),
                                lambda x: b.disassociate_address(PublicIp=x(w.public_ip, "ip"))],
        "GetConsoleOutput": [lambda x: b.get_console_output(InstanceId=x(w.instance, "i-"))],
        "ModifyImageAttribute": [
            lambda x: b.modify_image_attribute(ImageId=x(w.image, "ami-"), LaunchPermission={"Add": [{"UserId": w.b_id}]}),
            lambda x: b.modify_image_attribute(ImageId=x(w.image, "ami-"), Description={"Value": "B's now"})],
        "ModifyInstanceAttribute": [lambda x: b.modify_instance_attribute(InstanceId=x(w.instance, "i-"), DisableApiTermination={"Value": True})],
        "ModifyInstanceMetadataOptions": [lambda x: b.modify_instance_metadata_options(InstanceId=x(w.instance, "i-"), HttpTokens="required")],
        "RebootInstances": [lambda x: b.reboot_instances(**i([x(w.instance, "i-")]))],
        "RegisterImage": [lambda x: b.register_image(Name="stolen", ImageLocation=x(w.location, "location"))],
        "ReleaseAddress": [lambda x: b.release_address(AllocationId=x(w.allocation, "eipalloc-")),
                           lambda x: b.release_address(PublicIp=x(w.public_ip, "ip"))],
        "ResetImageAttribute": [lambda x: b.reset_image_attribute(ImageId=x(w.image, "ami-"), Attribute="launchPermission")],
        "RevokeSecurityGroupEgress": [lambda x: b.revoke_security_group_egress(GroupId=x(w.group, "sg-"), IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])],
        "RevokeSecurityGroupIngress": [
            lambda x: b.revoke_security_group_ingress(GroupId=x(w.group, "sg-"), IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.0.0.0/8"),
            lambda x: b.revoke_security_group_ingress(SecurityGroupRuleIds=[x(w.rule, "sgr-")], GroupId=x(w.group, "sg-"))],
        "RunInstances": [lambda x: b.run_instances(ImageId=x(w.image, "ami-"), MinCount=1, MaxCount=1),
                         lambda x: b.run_instances(ImageId=w.b_image, MinCount=1, MaxCount=1, KeyName=x(w.key_name, "name")),
                         lambda x: b.run_instances(ImageId=w.b_image, MinCount=1, MaxCount=1, SecurityGroupIds=[x(w.group, "sg-")])],
        "StartInstances": [lambda x: b.start_instances(**i([x(w.instance, "i-")]))],
        "StopInstances": [lambda x: b.stop_instances(**i([x(w.instance, "i-")]))],
        "TerminateInstances": [lambda x: b.terminate_instances(**i([x(w.instance, "i-")]))],
        # Actions that name no other account's resource: B's own creations, and descriptions of
        # the region or of B's own.
        "AllocateAddress": None, "CreateKeyPair": None, "CreateSecurityGroup": None, "DescribeAccountAttributes": None,
        "DescribeAvailabilityZones": None, "DescribeInstanceTypes": None, "DescribeRegions": None, "DescribeTags": None,
        "ImportKeyPair": None,
    }


def own_calls(w):
    """The calls for actions that name no other account's resource; those that make something
    take the names A's resources have, and are undone."""
    b = w.b
    public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl b"
    return {
        "AllocateAddress": lambda: b.release_address(AllocationId=b.allocate_address(Domain="vpc")["AllocationId"]),
        "CreateKeyPair": lambda: (b.create_key_pair(KeyName=w.key_name), b.delete_key_pair(KeyName=w.key_name)),
        "CreateSecurityGroup": lambda: b.delete_security_group(
            GroupId=b.create_security_group(GroupName=w.group_name, Description="B's")["GroupId"]),
        "DescribeAccountAttributes": b.describe_account_attributes,
        "DescribeAvailabilityZones": b.describe_availability_zones,
        "DescribeInstanceTypes": b.describe_instance_types,
        "DescribeRegions": b.describe_regions,
        "DescribeTags": lambda: b.describe_tags(Filters=[{"Name": "resource-id", "Values": [w.instance]}]),
        "ImportKeyPair": lambda: (b.import_key_pair(KeyName=w.key_name, PublicKeyMaterial=public_key.encode()),
                                  b.delete_key_pair(KeyName=w.key_name)),
    }


def fake_of(kind, real):
    if kind == "ip":
        return "192.0.2.77"
    if kind == "name":
        return "no-such-" + secrets.token_hex(4)
    if kind == "location":
        return "images/no-such-" + secrets.token_hex(4)
    return kind + secrets.token_hex(16)[:len(real) - len(kind)]


def supported_actions():
    out = subprocess.run([str(ADMIN), "api-coverage"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split("|")[1].strip() for line in out.splitlines()
                  if line.startswith("| ") and line.split("|")[2].strip() in ("supported", "partly"))


ACTIONS = supported_actions()
# EC2 answers success for deleting a key pair it does not have: B's call on A's key must answer
# just that, and leave A's key.
QUIET = {"DeleteKeyPair"}


def test_every_supported_action_has_a_case(world):
    assert sorted(NAMES(world, None)) == ACTIONS


@pytest.mark.parametrize("action", ACTIONS)
def test_b_cannot_reach_a_through(world, action):
    before = world.view_of_a()
    cases = NAMES(world, None)[action]
    if cases is None:
        own_calls(world)[action]()
    else:
        for case in cases:
            on_a = error(lambda: case(lambda real, kind: real))
            on_fake = error(lambda: case(lambda real, kind: fake_of(kind, real)))
            assert on_a is not None or action in QUIET, f"{action} on A's resource succeeded for B"
            assert on_a == on_fake, f"{action}: A's resource answers {on_a}, a made-up one {on_fake}"
    assert world.view_of_a() == before, f"{action} by B changed what A has"


def test_listings_show_b_none_of_a(world):
    b = world.b
    ids = {i["InstanceId"] for r in b.describe_instances()["Reservations"] for i in r["Instances"]}
    assert world.instance not in ids and world.b_instance in ids
    assert world.group not in {g["GroupId"] for g in b.describe_security_groups()["SecurityGroups"]}
    assert world.key_name not in {k["KeyName"] for k in b.describe_key_pairs()["KeyPairs"]}
    assert world.public_ip not in {x["PublicIp"] for x in b.describe_addresses()["Addresses"]}
    assert world.image not in {i["ImageId"] for i in b.describe_images()["Images"]}
    assert b.describe_tags(Filters=[{"Name": "resource-id", "Values": [world.instance]}])["Tags"] == []
    assert b.describe_instances(Filters=[{"Name": "instance-id", "Values": [world.instance]}])["Reservations"] == []
    assert world.vpc not in {v["VpcId"] for v in b.describe_vpcs()["Vpcs"]}


def test_a_shared_image_is_seen_and_run_but_stays_its_owners(world):
    a, b = world.a, world.b
    a.modify_image_attribute(ImageId=world.image, LaunchPermission={"Add": [{"UserId": world.b_id}]})
    try:
        assert [i["ImageId"] for i in b.describe_images(ImageIds=[world.image])["Images"]] == [world.image]
        assert error(lambda: b.deregister_image(ImageId=world.image)) is not None
        assert error(lambda: b.modify_image_attribute(ImageId=world.image, Description={"Value": "B's"})) is not None
        assert a.describe_images(ImageIds=[world.image])["Images"][0]["Name"] == "a's image"
    finally:
        a.modify_image_attribute(ImageId=world.image, LaunchPermission={"Remove": [{"UserId": world.b_id}]})
    assert error(lambda: b.describe_images(ImageIds=[world.image]))[1] == "InvalidAMIID.NotFound"


def test_users_of_one_account_share_its_resources(world):
    iam = boto3.client(
        "iam", endpoint_url=world.cloud.endpoint + "/services/Euare", region_name=world.cloud.credentials["region"],
        aws_access_key_id=world.a._request_signer._credentials.access_key,
        aws_secret_access_key=world.a._request_signer._credentials.secret_key)
    iam.create_user(UserName="colleague")
    key = iam.create_access_key(UserName="colleague")["AccessKey"]
    colleague = ec2_for(world.cloud, key["AccessKeyId"], key["SecretAccessKey"])
    seen = colleague.describe_instances(InstanceIds=[world.instance])["Reservations"][0]["Instances"][0]
    assert seen["InstanceId"] == world.instance and seen["KeyName"] == world.key_name
    colleague.create_tags(Resources=[world.instance], Tags=[{"Key": "seen-by", "Value": "colleague"}])
    tags = world.a.describe_tags(Filters=[{"Name": "resource-id", "Values": [world.instance]}])["Tags"]
    assert ("seen-by", "colleague") in {(t["Key"], t["Value"]) for t in tags}
    colleague.delete_tags(Resources=[world.instance], Tags=[{"Key": "seen-by"}])
