"""Eucalyptus' network modes through the API (on libvirt's test driver, which boots nothing):
MANAGED and MANAGED-NOVLAN give each security group a block of VNET_SUBNET and each instance an
address of its group's block and a public address of its own; STATIC gives the MAC and address
pairs of VNET_MACMAP. Bad values stop the daemon at start, naming the key and its line. The
networks on the hosts are proven in namespaces by the Swift suites SegmentModeNamespaceTests and
BridgedNetworkNamespaceTests."""

import os
import subprocess

import botocore.exceptions
import pytest

from conftest import BINARY, Cloud, states, wait_for

MANAGED = {"VNET_SUBNET": "10.10.0.0", "VNET_NETMASK": "255.255.255.0", "VNET_ADDRSPERNET": "16"}


def code_of(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


@pytest.mark.parametrize("mode", ["MANAGED", "MANAGED-NOVLAN"])
def test_each_group_has_a_block_and_each_instance_a_public_address(tmp_path, mode):
    cloud = Cloud(tmp_path / "var", env=dict(MANAGED, VNET_MODE=mode)).start()
    try:
        ec2 = cloud.client()
        image = ec2.describe_images()["Images"][0]["ImageId"]
        ec2.create_security_group(GroupName="web", Description="web")
        plain = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]
        web = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["web"])["Instances"][0]
        # The default group's block is the first (its .1 the network's router), web's the second.
        assert [i["PrivateIpAddress"] for i in plain] == ["10.10.0.2", "10.10.0.3"]
        assert web["PrivateIpAddress"] == "10.10.0.18"
        assert [i["PublicIpAddress"] for i in plain + [web]] == ["10.99.0.10", "10.99.0.11", "10.99.0.12"]
        shown = ec2.describe_instances(InstanceIds=[web["InstanceId"]])["Reservations"][0]["Instances"][0]
        assert shown["PrivateIpAddress"] == "10.10.0.18" and shown["PublicIpAddress"] == "10.99.0.12"
        assert code_of(lambda: ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, PrivateIpAddress="10.10.0.20")) == "Unsupported"
        # A block of 16 holds 13 instances; the fourteenth is refused as EC2 refuses a full subnet.
        ec2.run_instances(ImageId=image, MinCount=12, MaxCount=12, SecurityGroups=["web"])
        assert code_of(lambda: ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["web"])) \
            == "InsufficientFreeAddressesInSubnet"
        # Terminated, an instance's address is free again in its group's block.
        ec2.terminate_instances(InstanceIds=[web["InstanceId"]])
        wait_for(lambda: states(ec2, [web["InstanceId"]])[web["InstanceId"]] == "terminated", timeout=30, what="terminated")
        again = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["web"])["Instances"][0]
        assert again["PrivateIpAddress"] == "10.10.0.18"
    finally:
        cloud.stop()


def test_static_mode_gives_the_maps_macs_and_addresses(tmp_path):
    env = {"VNET_MODE": "STATIC", "VNET_SUBNET": "10.20.0.0", "VNET_NETMASK": "24",
           "VNET_MACMAP": "D0:0D:AA:00:00:01=10.20.0.50 d0:0d:aa:00:00:02=10.20.0.51"}
    cloud = Cloud(tmp_path / "var", env=env).start()
    try:
        ec2 = cloud.client()
        image = ec2.describe_images()["Images"][0]["ImageId"]
        first = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
        assert first["PrivateIpAddress"] == "10.20.0.50"
        assert first["NetworkInterfaces"][0]["MacAddress"] == "d0:0d:aa:00:00:01"
        assert "PublicIpAddress" not in first, "STATIC gives no public address of its own"
        assert code_of(lambda: ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)) == "InsufficientFreeAddressesInSubnet"
        second = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
        assert (second["PrivateIpAddress"], second["NetworkInterfaces"][0]["MacAddress"]) == ("10.20.0.51", "d0:0d:aa:00:00:02")
        # An elastic IP is allocated and associated as in the other modes.
        address = ec2.allocate_address()["PublicIp"]
        ec2.associate_address(InstanceId=first["InstanceId"], PublicIp=address)
        shown = ec2.describe_instances(InstanceIds=[first["InstanceId"]])["Reservations"][0]["Instances"][0]
        assert shown["PublicIpAddress"] == address
    finally:
        cloud.stop()


@pytest.mark.parametrize("lines, key, words", [
    (["VNET_MODE=MANAGED", "VNET_SUBNET=10.10.0.0"], "VNET_NETMASK", "is needed"),
    (["VNET_MODE=MANAGED", "VNET_SUBNET=10.10.0.0", "VNET_NETMASK=255.255.0.0", "VNET_ADDRSPERNET=24"], "VNET_ADDRSPERNET", "power of two"),
    (["VNET_MODE=MANAGED-NOVLAN", "VNET_SUBNET=10.10.0.0", "VNET_NETMASK=255.255.0.0", "VNET_PUBLICIPS=10.10.9.1"], "VNET_PUBLICIPS", "inside"),
    (["VNET_MODE=MANAGED", "VNET_SUBNET=169.254.0.0", "VNET_NETMASK=255.255.0.0"], "VNET_SUBNET", "overlaps"),
    (["VNET_MODE=STATIC", "VNET_SUBNET=10.20.0.0", "VNET_NETMASK=24", "VNET_MACMAP=d0:0d:00:00:00:01=10.20.0.5 d0:0d:00:00:00:01=10.20.0.6"],
     "VNET_MACMAP", "listed twice"),
])
def test_bad_values_stop_the_daemon_naming_the_key_and_its_line(tmp_path, lines, key, words):
    conf = tmp_path / "eucalyptus.conf"
    conf.write_text("# a site's configuration\n" + "".join(f'{line.split("=")[0]}="{line.split("=", 1)[1]}"\n' for line in lines))
    env = {name: value for name, value in os.environ.items() if not name.startswith("VNET_")}
    env.update(STATE_DIR=str(tmp_path / "var"), EC2_PORT="0")
    result = subprocess.run([str(BINARY), "--config", str(conf)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    # The key's own line; a key that is missing is named at the line of VNET_MODE, which needs it.
    named = [index for index, text in enumerate(lines) if text.startswith(key + "=")]
    line = 2 + (named[0] if named else 0)
    assert key in result.stderr and words in result.stderr, result.stderr[-2000:]
    assert f"{conf}:{line}" in result.stderr, result.stderr[-2000:]
