"""Answers shaped to the API version the request names: a response for 2009-11-30 or 2012-12-01
holds only the elements that version's WSDL defines, and every element it requires; one for
2016-11-15 holds only what botocore's model (the shape current clients read) defines.

The element lists of the two old versions are in tests/blackbox/data, written from EC2's published
WSDLs by scripts/gen-ec2-version-shapes.py; the 2016-11-15 one is read from the installed botocore."""

import pathlib
from xml.etree import ElementTree

import botocore.session
import pytest

from conftest import states, wait_for
from test_old_clients import sigv2

DATA = pathlib.Path(__file__).parent / "data"


def wsdl_lists(version: str) -> dict:
    """{path: {child: required}} from the data file of `version`."""
    lists = {}
    for line in (DATA / f"ec2-elements-{version}.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        path, *children = line.split(" ")
        lists[path] = {child.rstrip("!"): child.endswith("!") for child in children}
    return lists


def botocore_lists(actions) -> dict:
    """The same from botocore's model: the shape 2016-11-15 answers take."""
    model = botocore.session.get_session().get_service_model("ec2")
    lists = {}

    def walk(path, shape, depth=0):
        if depth > 12:
            return
        if shape.type_name == "structure":
            listed = lists.setdefault(path, {})
            for key, member in shape.members.items():
                name = member.serialization.get("name", key)
                listed[name] = False
                walk(f"{path}/{name}", member, depth + 1)
        elif shape.type_name == "list":
            name = shape.member.serialization.get("name", "item")
            lists.setdefault(path, {})[name] = False
            walk(f"{path}/{name}", shape.member, depth + 1)

    for action in actions:
        operation = model.operation_model(action)
        # An action the model gives no output (RebootInstances) answers `<return>true</return>`
        # in EC2's own reference examples.
        lists[action + "Response"] = {"requestId": False, "return": False}
        if operation.output_shape is not None:
            lists[action + "Response"] = {}
            walk(action + "Response", operation.output_shape)
            lists[action + "Response"]["requestId"] = False
    return lists


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def misfits(root: ElementTree.Element, lists: dict) -> list[str]:
    """Every element of `root` the lists do not define, and every required one missing."""
    found = []

    def check(element, path):
        listed = lists.get(path)
        children = list(element)
        if listed is None:
            found.extend(f"{path}/{local(child.tag)} (inside a text element)" for child in children)
            return
        names = {local(child.tag) for child in children}
        found.extend(f"{path}/{name} (not defined)" for name in sorted(names - listed.keys()))
        found.extend(f"{path}/{name} (required, missing)" for name, required in sorted(listed.items()) if required and name not in names)
        for child in children:
            if local(child.tag) in listed:
                check(child, f"{path}/{local(child.tag)}")

    check(root, local(root.tag))
    return found


@pytest.fixture
def busy(cloud):
    """A cloud with one of everything the actions below describe: a tagged running instance in a
    group with rules, a key pair, an address associated to it."""
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_key_pair(KeyName="k")
    ec2.create_security_group(GroupName="web", Description="web")
    ec2.authorize_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.0.0.0/8")
    run = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, KeyName="k", SecurityGroups=["web"],
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "shaped"}]}])
    instance = run["Instances"][0]["InstanceId"]
    wait_for(lambda: states(ec2, [instance])[instance] == "running", what="running")
    address = ec2.allocate_address(Domain="standard")["PublicIp"]
    ec2.associate_address(InstanceId=instance, PublicIp=address)
    return cloud, image, instance


def requests(image, instance):
    return [
        {"Action": "DescribeInstances"},
        {"Action": "DescribeImages", "ImageId.1": image},
        {"Action": "DescribeImageAttribute", "ImageId": image, "Attribute": "launchPermission"},
        {"Action": "DescribeInstanceAttribute", "InstanceId": instance, "Attribute": "instanceType"},
        {"Action": "DescribeKeyPairs"},
        {"Action": "DescribeSecurityGroups"},
        {"Action": "DescribeAddresses"},
        {"Action": "DescribeAvailabilityZones"},
        {"Action": "DescribeRegions"},
        {"Action": "DescribeVpcs"},
        {"Action": "DescribeSubnets"},
        {"Action": "DescribeTags"},
        {"Action": "DescribeInstanceStatus"},
        {"Action": "GetConsoleOutput", "InstanceId": instance},
        {"Action": "CreateKeyPair", "KeyName": "another"},
        {"Action": "RebootInstances", "InstanceId.1": instance},
        {"Action": "StopInstances", "InstanceId.1": instance},
    ]


@pytest.mark.parametrize("version", ["2009-11-30", "2012-12-01", "2016-11-15"])
def test_answers_hold_only_what_the_version_defines(busy, version):
    cloud, image, instance = busy
    asked = requests(image, instance)
    lists = botocore_lists([r["Action"] for r in asked]) if version == "2016-11-15" else wsdl_lists(version)
    checked = 0
    problems = {}
    for params in asked:
        status, root = sigv2(cloud, dict(params, Version=version))
        assert status == 200, (params, ElementTree.tostring(root)[:300])
        if local(root.tag) not in lists:
            continue  # an action this version does not have is answered whole
        checked += 1
        if found := misfits(root, lists):
            problems[params["Action"]] = found
    assert problems == {}
    assert checked >= (12 if version == "2009-11-30" else 15)


def test_a_members_version_decides_whether_it_is_sent(busy):
    cloud, _, _ = busy

    def instance_children(version):
        status, root = sigv2(cloud, {"Action": "DescribeInstances", "Version": version})
        assert status == 200
        n = "{http://ec2.amazonaws.com/doc/" + version + "/}"
        return {local(child.tag) for child in root.find(f"{n}reservationSet/{n}item/{n}instancesSet/{n}item")}

    old, middle, new = instance_children("2009-11-30"), instance_children("2012-12-01"), instance_children("2016-11-15")
    assert {"tagSet", "networkInterfaceSet", "sourceDestCheck", "metadataOptions", "hypervisor"}.isdisjoint(old)
    assert {"instanceId", "privateDnsName", "launchTime", "rootDeviceType", "blockDeviceMapping"} <= old
    assert {"tagSet", "networkInterfaceSet", "sourceDestCheck", "hypervisor"} <= middle
    assert {"metadataOptions", "platformDetails", "enclaveOptions"}.isdisjoint(middle)
    assert {"tagSet", "networkInterfaceSet", "metadataOptions", "platformDetails"} <= new
    # A version without element lists of its own (2013-10-01) is shaped by the nearest earlier one.
    assert instance_children("2013-10-01") == instance_children("2013-08-15")


def test_an_action_the_version_lacks_is_answered_whole(busy):
    cloud, _, _ = busy
    status, root = sigv2(cloud, {"Action": "DescribeInstanceTypes", "Version": "2009-11-30"})
    assert status == 200
    n = "{http://ec2.amazonaws.com/doc/2009-11-30/}"
    assert root.find(f"{n}instanceTypeSet/{n}item/{n}vCpuInfo") is not None
    assert root.find("{http://msgs.eucalyptus.com/}instanceTypeDetails") is not None or any(
        local(child.tag) == "instanceTypeDetails" for child in root)


def test_markup_in_a_value_is_text_to_the_shaper(busy):
    """A tag value written as markup is escaped text: the pass that leaves elements out never
    takes it for an element, in a version that has tags or one that has none."""
    cloud, _, instance = busy
    hostile = "</tagSet><instanceId>i-forged</instanceId><tagSet>" + "<" * 100
    ec2 = cloud.client()
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "note", "Value": hostile}])
    for version in ["2009-11-30", "2012-12-01"]:
        status, root = sigv2(cloud, {"Action": "DescribeInstances", "Version": version})
        assert status == 200
        n = "{http://ec2.amazonaws.com/doc/" + version + "/}"
        item = root.find(f"{n}reservationSet/{n}item/{n}instancesSet/{n}item")
        assert [e.text for e in item.iter(f"{n}instanceId")] == [instance]
        values = [e.text for e in item.iter(f"{n}value")]
        assert values == ([] if version == "2009-11-30" else ["shaped", hostile])
