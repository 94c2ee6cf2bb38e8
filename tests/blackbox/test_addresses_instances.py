"""Elastic IPs, instance attributes, termination protection, instance status, account attributes."""

import base64

import pytest
from botocore.exceptions import ClientError

from conftest import states, wait_for


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def running(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]]
    wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="running")
    return ec2, ids


def public_ip(ec2, instance):
    return ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0].get("PublicIpAddress")


def test_elastic_ips_from_the_pool(running):
    ec2, ids = running
    allocated = [ec2.allocate_address() for _ in range(4)]
    assert sorted(a["PublicIp"] for a in allocated) == ["10.99.0.10", "10.99.0.11", "10.99.0.12", "10.99.0.13"]
    assert all(a["AllocationId"].startswith("eipalloc-") and a["Domain"] == "standard" for a in allocated)
    with pytest.raises(ClientError) as empty:
        ec2.allocate_address()
    assert code(empty) == "AddressLimitExceeded"

    first, second = allocated[0], allocated[1]
    association = ec2.associate_address(InstanceId=ids[0], AllocationId=first["AllocationId"])["AssociationId"]
    assert association.startswith("eipassoc-")
    assert public_ip(ec2, ids[0]) == first["PublicIp"]
    # Associating another address replaces the first; moving an address takes it from its instance.
    ec2.associate_address(InstanceId=ids[0], PublicIp=second["PublicIp"])
    assert public_ip(ec2, ids[0]) == second["PublicIp"]
    ec2.associate_address(InstanceId=ids[1], PublicIp=second["PublicIp"])
    assert public_ip(ec2, ids[0]) is None and public_ip(ec2, ids[1]) == second["PublicIp"]
    described = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [ids[1]]}])["Addresses"]
    assert [a["PublicIp"] for a in described] == [second["PublicIp"]]
    assert ec2.describe_addresses(PublicIps=[first["PublicIp"]])["Addresses"][0].get("InstanceId") in (None, "")

    ec2.disassociate_address(PublicIp=second["PublicIp"])
    assert public_ip(ec2, ids[1]) is None
    ec2.associate_address(InstanceId=ids[1], AllocationId=second["AllocationId"])
    ec2.terminate_instances(InstanceIds=[ids[1]])
    wait_for(lambda: states(ec2, ids[1:])[ids[1]] == "terminated", what="terminated")
    # Terminating an instance disassociates its address, which stays allocated.
    assert ec2.describe_addresses(AllocationIds=[second["AllocationId"]])["Addresses"][0].get("InstanceId") in (None, "")

    ec2.release_address(AllocationId=first["AllocationId"])
    assert ec2.allocate_address()["PublicIp"] == first["PublicIp"]
    with pytest.raises(ClientError) as missing:
        ec2.release_address(AllocationId="eipalloc-0123456789abcdef0")
    assert code(missing) == "InvalidAllocationID.NotFound"


def test_attributes_and_termination_protection(running):
    ec2, ids = running
    target = ids[0]
    assert ec2.describe_instance_attribute(InstanceId=target, Attribute="instanceType")["InstanceType"]["Value"] == "m1.small"
    ec2.modify_instance_attribute(InstanceId=target, DisableApiTermination={"Value": True})
    assert ec2.describe_instance_attribute(InstanceId=target, Attribute="disableApiTermination")["DisableApiTermination"]["Value"] is True
    with pytest.raises(ClientError) as protected:
        ec2.terminate_instances(InstanceIds=ids)
    assert code(protected) == "OperationNotPermitted"
    assert set(states(ec2, ids).values()) == {"running"}

    with pytest.raises(ClientError) as running_type:
        ec2.modify_instance_attribute(InstanceId=target, InstanceType={"Value": "m1.large"})
    assert code(running_type) == "IncorrectInstanceState"
    ec2.stop_instances(InstanceIds=[target])
    wait_for(lambda: states(ec2, [target])[target] == "stopped", what="stopped")
    ec2.modify_instance_attribute(InstanceId=target, InstanceType={"Value": "m1.large"})
    ec2.modify_instance_attribute(InstanceId=target, UserData={"Value": b"#!/bin/sh\necho new\n"})
    ec2.modify_instance_attribute(InstanceId=target, InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    user_data = ec2.describe_instance_attribute(InstanceId=target, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(user_data) == b"#!/bin/sh\necho new\n"
    assert ec2.describe_instance_attribute(InstanceId=target, Attribute="instanceInitiatedShutdownBehavior")[
        "InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    with pytest.raises(ClientError) as bad_type:
        ec2.modify_instance_attribute(InstanceId=target, InstanceType={"Value": "m9.huge"})
    assert code(bad_type) == "InvalidParameterValue"
    ec2.start_instances(InstanceIds=[target])
    wait_for(lambda: states(ec2, [target])[target] == "running", what="running as m1.large")
    assert ec2.describe_instances(InstanceIds=[target])["Reservations"][0]["Instances"][0]["InstanceType"] == "m1.large"
    ec2.modify_instance_attribute(InstanceId=target, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=ids)


def test_user_data_round_trips(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    data = bytes(range(256)) * 8
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, UserData=data)["Instances"][0]["InstanceId"]
    value = ec2.describe_instance_attribute(InstanceId=instance, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(value) == data


def test_instance_status_and_account_attributes(running):
    ec2, ids = running
    ec2.stop_instances(InstanceIds=[ids[1]])
    wait_for(lambda: states(ec2, ids)[ids[1]] == "stopped", what="stopped")
    statuses = ec2.describe_instance_status()["InstanceStatuses"]
    assert [s["InstanceId"] for s in statuses] == [ids[0]]
    assert statuses[0]["InstanceStatus"]["Status"] == "ok" and statuses[0]["SystemStatus"]["Details"][0]["Status"] == "passed"
    everything = ec2.describe_instance_status(IncludeAllInstances=True)["InstanceStatuses"]
    assert {s["InstanceId"]: s["InstanceState"]["Name"] for s in everything} == {ids[0]: "running", ids[1]: "stopped"}

    attributes = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
                  for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attributes["supported-platforms"] == ["EC2", "VPC"]
    assert attributes["max-elastic-ips"] == ["4"]
    assert int(attributes["max-instances"][0]) > 0
    only = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    assert only == [{"AttributeName": "default-vpc", "AttributeValues": [{"AttributeValue": default_vpc}]}]
