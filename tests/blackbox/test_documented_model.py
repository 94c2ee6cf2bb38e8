"""What EC2's model documents, taken from botocore's (the version tests/requirements.txt pins):
every filter of every Describe action this cloud answers is accepted, and every parameter of
RunInstances is either acted on or refused by name; an undocumented one is UnknownParameter."""

import html
import re

import botocore.exceptions
import botocore.session
import pytest
import time

from conftest import Cloud
from test_errors import signed

MODEL = botocore.session.get_session().get_service_model("ec2")


def documented_filters(action: str) -> list[str]:
    member = MODEL.operation_model(action).input_shape.members.get("Filters")
    names = re.findall(r"<li>\s*<p>\s*<code>([^<]+)</code>", member.documentation or "") if member else []
    return sorted({"tag:Name" if n in ("tag", "tag:<key>") else n for n in map(html.unescape, names)})


def wire_parameters(shape, prefix=""):
    """Each leaf parameter of `shape` as EC2's query protocol sends it, list indexes as 1, with its shape."""
    if shape.type_name == "structure":
        for key, member in shape.members.items():
            serialization = member.serialization
            name = serialization.get("queryName") or (
                serialization["name"][0].upper() + serialization["name"][1:] if "name" in serialization else key)
            yield from wire_parameters(member, f"{prefix}.{name}" if prefix else name)
    elif shape.type_name == "list":
        yield from wire_parameters(shape.member, prefix + ".1")
    else:
        yield prefix, shape


def sample(name: str, shape) -> str:
    if getattr(shape, "enum", None):
        return shape.enum[0]
    return {"boolean": "true", "integer": "1", "long": "1", "double": "1", "float": "1", "blob": "eA==",
            "timestamp": "2030-01-01T00:00:00Z"}.get(shape.type_name, "x")


# The Describe actions this cloud answers that take filters.
DESCRIBES = ["DescribeInstances", "DescribeImages", "DescribeInstanceTypes", "DescribeAvailabilityZones", "DescribeRegions",
             "DescribeKeyPairs", "DescribeSecurityGroups", "DescribeAddresses", "DescribeTags", "DescribeInstanceStatus",
             "DescribeVpcs", "DescribeSubnets", "DescribeNetworkInterfaces", "DescribeInternetGateways",
             "DescribeRouteTables", "DescribeNetworkAcls", "DescribeDhcpOptions", "DescribeSecurityGroupRules"]


def test_every_documented_filter_is_accepted_and_an_undocumented_one_is_not(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
    counted = 0
    for action in DESCRIBES:
        names = documented_filters(action)
        assert names, action
        for name in names:
            status, code, body = signed(cloud, {"Action": action, "Filter.1.Name": name, "Filter.1.Value.1": "no-such-value"})
            assert (status, code) == (200, ""), (action, name, body[:300])
            counted += 1
        status, code, _ = signed(cloud, {"Action": action, "Filter.1.Name": "no-such-filter", "Filter.1.Value.1": "x"})
        assert (status, code) == (400, "InvalidParameterValue"), action
    assert counted > 300


def test_documented_filters_match_what_an_instance_shows(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    mine = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Monitoring={"Enabled": True},
                             MetadataOptions={"HttpTokens": "required"})["Instances"][0]
    other = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    interface = mine["NetworkInterfaces"][0]
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]
    for name, value in [
        ("monitoring-state", "enabled"),
        ("metadata-options.http-tokens", "required"),
        ("network-interface.network-interface-id", interface["NetworkInterfaceId"]),
        ("network-interface.mac-address", interface["MacAddress"]),
        ("network-interface.attachment.attachment-id", interface["Attachment"]["AttachmentId"]),
        ("launch-time", mine["LaunchTime"].strftime("%Y-%m-%dT%H:%M:%S.*")),
        ("availability-zone-id", zone["ZoneId"]),
        ("platform-details", "Linux/UNIX"),
        ("root-device-name", mine["RootDeviceName"]),
    ]:
        found = {i["InstanceId"] for r in ec2.describe_instances(Filters=[{"Name": name, "Values": [value]}])["Reservations"]
                 for i in r["Instances"]}
        assert mine["InstanceId"] in found, (name, value)
        if name not in ("launch-time", "availability-zone-id", "platform-details", "root-device-name"):
            assert other["InstanceId"] not in found, (name, value)
    # What no instance here has matches nothing, and is not an error.
    for name in ["spot-instance-request-id", "capacity-reservation-id", "ipv6-address", "platform"]:
        assert ec2.describe_instances(Filters=[{"Name": name, "Values": ["*"]}])["Reservations"] == [], name


@pytest.fixture
def roomy(tmp_path):
    """A cloud whose node has room for every launch the parameter sweep makes."""
    instance = Cloud(tmp_path / "var", env={"MAX_CORES": "4096", "MAX_MEM": str(1 << 22)}).start()
    yield instance
    instance.stop()


def test_every_run_instances_parameter_is_acted_on_or_refused_by_name(roomy):
    ec2 = roomy.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    base = {"Action": "RunInstances", "ImageId": image, "MinCount": "1", "MaxCount": "1"}
    acted, refused = [], []
    for name, shape in wire_parameters(MODEL.operation_model("RunInstances").input_shape):
        if name in base or name == "DryRun":
            continue
        status, code, body = signed(roomy, {**base, name: sample(name, shape)})
        assert code != "UnknownParameter", (name, body[:300])
        if code == "Unsupported":
            message = re.search(r"<Message>(.*)</Message>", body).group(1)
            assert name.split(".")[-1] in message or name in message, (name, message)
            refused.append(name)
        else:
            # Taken: the launch went ahead, or the value was judged (a key pair or subnet that
            # does not exist, a value out of range).
            assert status == 200 or code not in ("", "InternalError"), (name, code, body[:300])
            acted.append(name)
    assert {"DisableApiStop", "Monitoring.Enabled", "Placement.Tenancy", "SubnetId", "KeyName",
            "NetworkInterface.1.SubnetId", "TagSpecification.1.ResourceType"} <= set(acted)
    assert {"CpuOptions.CoreCount", "CreditSpecification.CpuCredits", "Placement.GroupName", "Ipv6AddressCount",
            "BlockDeviceMapping.1.DeviceName", "LaunchTemplate.LaunchTemplateId", "EbsOptimized"} <= set(refused)


@pytest.mark.parametrize("action,params", [
    ("RunInstances", {"MinCount": "1", "MaxCount": "1", "Bogus": "x"}),
    ("DescribeInstances", {"Bogus": "x"}),
    ("DescribeImages", {"Owner.1": "self", "Bogus.1.Thing": "x"}),
    ("CreateKeyPair", {"KeyName": "k", "KeyNme": "typo"}),
])
def test_an_undocumented_parameter_is_unknown_and_changes_nothing(cloud, action, params):
    ec2 = cloud.client()
    if action == "RunInstances":
        params = {"ImageId": ec2.describe_images()["Images"][0]["ImageId"], **params}
    status, code, body = signed(cloud, {"Action": action, **params})
    assert (status, code) == (400, "UnknownParameter"), body[:300]
    assert ec2.describe_instances()["Reservations"] == []
    assert ec2.describe_key_pairs()["KeyPairs"] == []


def test_a_list_named_without_an_index_is_its_first_member(cloud):
    # libcloud's get_key_pair sends KeyName bare.
    cloud.client().create_key_pair(KeyName="bare")
    status, code, body = signed(cloud, {"Action": "DescribeKeyPairs", "KeyName": "bare"})
    assert (status, code) == (200, "") and "<keyName>bare</keyName>" in body


def test_stop_protection_monitoring_and_tenancy(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, DisableApiStop=True, Monitoring={"Enabled": True},
                                 Placement={"Tenancy": "default"})["Instances"][0]
    ident = instance["InstanceId"]
    assert instance["Monitoring"]["State"] == "enabled" and instance["Placement"]["Tenancy"] == "default"
    assert ec2.describe_instance_attribute(InstanceId=ident, Attribute="disableApiStop")["DisableApiStop"]["Value"] is True
    # Running first, as a client stopping it would see it: a pending instance cannot be stopped at all.
    for _ in range(300):
        if ec2.describe_instances(InstanceIds=[ident])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running":
            break
        time.sleep(0.1)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        ec2.stop_instances(InstanceIds=[ident])
    assert raised.value.response["Error"]["Code"] == "OperationNotPermitted"
    assert "disableApiStop" in raised.value.response["Error"]["Message"]
    ec2.modify_instance_attribute(InstanceId=ident, DisableApiStop={"Value": False})
    assert ec2.stop_instances(InstanceIds=[ident])["StoppingInstances"][0]["CurrentState"]["Name"] == "stopping"
    for placement, code in [({"Tenancy": "dedicated"}, "Unsupported"), ({"Tenancy": "bogus"}, "InvalidParameterValue")]:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement=placement)
        assert raised.value.response["Error"]["Code"] == code


def test_an_address_is_not_taken_from_another_instance_when_reassociation_is_refused(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    first, second = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=first, AllowReassociation=False)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        ec2.associate_address(AllocationId=allocation, InstanceId=second, AllowReassociation=False)
    assert raised.value.response["Error"]["Code"] == "Resource.AlreadyAssociated"
    assert ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]["InstanceId"] == first
    ec2.associate_address(AllocationId=allocation, InstanceId=second)
    assert ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]["InstanceId"] == second


def test_instance_status_details_are_ec2_status_types(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)
    allowed = set(MODEL.shape_for("StatusType").enum)
    assert "insufficient-data" in allowed
    statuses = [detail["Status"] for status in ec2.describe_instance_status(IncludeAllInstances=True)["InstanceStatuses"]
                for part in ("InstanceStatus", "SystemStatus") for detail in status[part]["Details"]]
    assert statuses and set(statuses) <= allowed
