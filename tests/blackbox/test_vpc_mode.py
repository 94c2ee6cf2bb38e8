"""VNET_MODE=VPC through the API (on libvirt's test driver, which boots nothing): the cloud gives
each instance its private address in its zone's default subnet, at launch, as EC2 does;
PrivateIpAddress picks one; the errors are EC2's; a terminated instance's address is free again.
The network on the host is proven with real guests in tests/guests/test_vpc.py."""

import os
import subprocess

import botocore.exceptions
import pytest

from conftest import BINARY, Cloud, states, wait_for


@pytest.fixture
def vpc_cloud(tmp_path):
    cloud = Cloud(tmp_path / "var", env={"VNET_MODE": "VPC", "VNET_PUBLICIPS": "198.51.100.10-198.51.100.13"})
    cloud.start()
    yield cloud
    cloud.stop()


def code_of(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_addresses_are_given_at_launch_in_the_default_subnet(vpc_cloud):
    ec2 = vpc_cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]
    free = subnet["AvailableIpAddressCount"]
    instances = ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3)["Instances"]
    # The first four addresses of a subnet are EC2's, so the first instance gets .4.
    assert [i["PrivateIpAddress"] for i in instances] == ["172.31.0.4", "172.31.0.5", "172.31.0.6"]
    described = {i["InstanceId"]: i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    for instance in instances:
        shown = described[instance["InstanceId"]]
        assert shown["PrivateIpAddress"] == instance["PrivateIpAddress"]
        assert shown["NetworkInterfaces"][0]["PrivateIpAddress"] == instance["PrivateIpAddress"]
        assert shown["SubnetId"] == subnet["SubnetId"] and shown["VpcId"] == subnet["VpcId"]
    assert ec2.describe_subnets()["Subnets"][0]["AvailableIpAddressCount"] == free - 3
    found = ec2.describe_instances(Filters=[{"Name": "private-ip-address", "Values": ["172.31.0.5"]}])
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [instances[1]["InstanceId"]]

    # An address asked for; one in use, EC2's own, outside the subnet or for two instances is refused.
    chosen = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, PrivateIpAddress="172.31.0.20")["Instances"][0]
    assert chosen["PrivateIpAddress"] == "172.31.0.20"
    launch = lambda **kwargs: ec2.run_instances(ImageId=image, MinCount=1, MaxCount=kwargs.pop("count", 1), **kwargs)
    assert code_of(lambda: launch(PrivateIpAddress="172.31.0.20")) == "InvalidIPAddress.InUse"
    assert code_of(lambda: launch(PrivateIpAddress="172.31.0.5")) == "InvalidIPAddress.InUse"
    for address in ["172.31.0.3", "172.31.15.255", "10.1.2.3", "172.31.0.020", "172.31.0.300", "not-an-address", "172.31.0.4" * 1000]:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            launch(PrivateIpAddress=address)
        assert raised.value.response["Error"]["Code"] == "InvalidParameterValue", address[:40]
        assert len(raised.value.response["Error"]["Message"]) < 300, "the message quotes a bounded part of the value"
    assert code_of(lambda: launch(PrivateIpAddress="172.31.0.30", count=2)) == "InvalidParameterCombination"
    interface = {"DeviceIndex": 0, "SubnetId": subnet["SubnetId"], "PrivateIpAddress": "172.31.0.21"}
    assert launch(NetworkInterfaces=[interface])["Instances"][0]["PrivateIpAddress"] == "172.31.0.21"
    assert code_of(lambda: launch(NetworkInterfaces=[dict(interface, PrivateIpAddress="172.31.0.22")],
                                  PrivateIpAddress="172.31.0.23")) == "InvalidParameterCombination"
    # Nothing a refused request asked for was taken: the next launch takes the lowest free address.
    assert launch()["Instances"][0]["PrivateIpAddress"] == "172.31.0.7"

    # A terminated instance's address is free again; a stopped one keeps its own.
    ec2.stop_instances(InstanceIds=[instances[0]["InstanceId"]])
    ec2.terminate_instances(InstanceIds=[instances[1]["InstanceId"]])
    ids = [instances[0]["InstanceId"], instances[1]["InstanceId"]]
    wait_for(lambda: states(ec2, ids) == {ids[0]: "stopped", ids[1]: "terminated"}, timeout=30, what="stopped and terminated")
    assert launch()["Instances"][0]["PrivateIpAddress"] == "172.31.0.5"
    assert code_of(lambda: launch(PrivateIpAddress="172.31.0.4")) == "InvalidIPAddress.InUse"


def test_launches_at_once_never_share_an_address(vpc_cloud):
    from concurrent.futures import ThreadPoolExecutor
    ec2 = vpc_cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    with ThreadPoolExecutor(8) as pool:
        launched = list(pool.map(lambda _: vpc_cloud.client().run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"],
                                 range(8)))
    addresses = [i["PrivateIpAddress"] for batch in launched for i in batch]
    assert len(addresses) == 16 and len(set(addresses)) == 16
    assert sorted(addresses, key=lambda a: int(a.split(".")[3])) == [f"172.31.0.{n}" for n in range(4, 20)]


def test_a_public_pool_inside_the_vpc_block_is_refused_naming_the_key(tmp_path):
    env = dict(os.environ, STATE_DIR=str(tmp_path), EC2_PORT="0", VNET_MODE="VPC", VNET_PUBLICIPS="198.51.100.10 172.31.7.7")
    result = subprocess.run([str(BINARY)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "VNET_PUBLICIPS" in result.stderr and "172.31.7.7" in result.stderr, result.stderr[-2000:]
    env["VNET_MODE"] = "MANAGED"
    result = subprocess.run([str(BINARY)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "VNET_NETMASK" in result.stderr and "is needed with VNET_MODE=MANAGED" in result.stderr, result.stderr[-2000:]


def test_instances_get_a_public_address_of_their_own_and_an_elastic_ip_takes_its_place(vpc_cloud):
    ec2 = vpc_cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]
    assert subnet["MapPublicIpOnLaunch"] is True
    # The pool is 198.51.100.10-13: the default subnet maps one to each instance, as EC2's does.
    first = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    assert first["PublicIpAddress"] == "198.51.100.10"
    interface = {"DeviceIndex": 0, "SubnetId": subnet["SubnetId"], "AssociatePublicIpAddress": False}
    private_only = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, NetworkInterfaces=[interface])["Instances"][0]
    assert "PublicIpAddress" not in private_only
    # An elastic IP comes from what the instances do not hold; associated, it takes the place of
    # the instance's own address, which goes back to the pool.
    elastic = ec2.allocate_address(Domain="vpc")["PublicIp"]
    assert elastic == "198.51.100.11"
    ec2.associate_address(InstanceId=first["InstanceId"], PublicIp=elastic)
    shown = ec2.describe_instances(InstanceIds=[first["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert shown["PublicIpAddress"] == elastic
    second = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    assert second["PublicIpAddress"] == "198.51.100.10", "the first instance's own address was free again"
    # The pool used up: instances launch with no public address, and no address can be allocated.
    third = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]
    assert [i.get("PublicIpAddress") for i in third] == ["198.51.100.12", "198.51.100.13"]
    assert "PublicIpAddress" not in ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    assert code_of(lambda: ec2.allocate_address(Domain="vpc")) == "AddressLimitExceeded"
    # Terminated, an instance gives its address back.
    ec2.terminate_instances(InstanceIds=[third[0]["InstanceId"]])
    wait_for(lambda: states(ec2, [third[0]["InstanceId"]])[third[0]["InstanceId"]] == "terminated", timeout=30, what="terminated")
    assert ec2.allocate_address(Domain="vpc")["PublicIp"] == "198.51.100.12"
