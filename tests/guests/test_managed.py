"""MANAGED mode with real guests: euca-cloud with VNET_MODE=MANAGED boots the sample image, each
security group's instances on a subnet of their own (a block of VNET_SUBNET). A host-only bridge
stands for the site's public network and a namespace on it for the outside world.

Proves, as Eucalyptus' MANAGED mode behaves: each guest takes by DHCP the address the API showed,
in its group's block, with the block's router; each has a public address of its own from
VNET_PUBLICIPS, reached from outside once port 22 is authorized; the metadata service answers it;
an instance of another group (another subnet) reaches it only once its group's rule allows; and
terminating both leaves nothing of the network on the host."""

import re

import pytest

from conftest import states, wait_for
from public_side import POOL, Instance, cloud_on_public_side, host_state, key_pair, reaches


@pytest.fixture(scope="module")
def managed(tmp_path_factory):
    yield from cloud_on_public_side(tmp_path_factory, "managed", {
        "VNET_MODE": "MANAGED", "VNET_SUBNET": "10.10.0.0", "VNET_NETMASK": "255.255.0.0", "VNET_ADDRSPERNET": "32"})


def test_each_group_has_its_subnet_and_instances_reach_each_other_as_rules_allow(managed, tmp_path):
    ec2 = managed.client()
    sample = ec2.describe_images(Filters=[{"Name": "name", "Values": ["euca-sample"]}])["Images"][0]["ImageId"]
    fingerprint, key = key_pair(managed, "managed-key", tmp_path)
    ec2.create_security_group(GroupName="other", Description="the second instance's")
    first = ec2.run_instances(ImageId=sample, MinCount=1, MaxCount=1, KeyName="managed-key")["Instances"][0]
    second = ec2.run_instances(ImageId=sample, MinCount=1, MaxCount=1, KeyName="managed-key", SecurityGroups=["other"])["Instances"][0]
    # The default group's block is the first, the other group's the second; each instance has a
    # public address of its own.
    assert (first["PrivateIpAddress"], second["PrivateIpAddress"]) == ("10.10.0.2", "10.10.0.34"), (first, second)
    public = [first["PublicIpAddress"], second["PublicIpAddress"]]
    assert public == POOL[:2]
    ids = [first["InstanceId"], second["InstanceId"]]
    wait_for(lambda: all(s == "running" for s in states(ec2, ids).values()), timeout=120, interval=0.5, what="running")
    a, b = (Instance(managed, i, key, tmp_path) for i in ids)
    assert (a.private, b.private) == ("10.10.0.2", "10.10.0.34")
    assert fingerprint in a.console()

    for group in ["default", "other"]:
        ec2.authorize_security_group_ingress(GroupName=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}])
    wait_for(lambda: a.ssh(public[0]).returncode == 0 and b.ssh(public[1]).returncode == 0, timeout=20, interval=0.3, what="ssh")
    # The guest's own view: its group's subnet and router, and the metadata service.
    assert re.search(r"inet 10\.10\.0\.34/27 ", b.ssh(public[1], "ip -4 addr show dev eth0").stdout)
    assert "default via 10.10.0.33 " in b.ssh(public[1], "ip route").stdout
    answer = b.ssh(public[1], "wget -q -O - http://169.254.169.254/latest/meta-data/public-ipv4; echo;"
                              " wget -q -O - http://169.254.169.254/latest/meta-data/local-ipv4").stdout.split()
    assert answer == [public[1], "10.10.0.34"]

    # Another group's instance, on another subnet, reaches the first only once its rules allow.
    assert not reaches(b, public[1], a.private)
    ec2.authorize_security_group_ingress(GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupName": "other"}]}])
    wait_for(lambda: reaches(b, public[1], a.private), timeout=10, what="the first reached from the other group")
    assert not reaches(a, public[0], b.private), "the other group lets only the outside in"

    ec2.terminate_instances(InstanceIds=ids)
    wait_for(lambda: all(s == "terminated" for s in states(ec2, ids).values()), timeout=60, what="terminated")
    wait_for(lambda: host_state()["namespaces"] == [], timeout=20, what="the network's namespace gone")
    left = host_state()
    assert not [link for link in left["links"] if re.fullmatch(r"vn\w+|eu\d+|vx\d+", link)], left["links"]
