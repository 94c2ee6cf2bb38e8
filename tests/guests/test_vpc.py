"""VPC mode with real guests: euca-cloud with VNET_MODE=VPC boots the sample image on a VPC of its
own (a namespace, DHCP, security groups on the instance's tap, elastic IPs at the VPC's uplink,
the metadata service through it). A host-only bridge stands for the site's public network and a
namespace on it for the outside world: no packet leaves the machine.

Proves, as EC2 behaves: ssh to a new instance is refused until port 22 is authorized, then works
on its elastic IP; an instance in another group cannot reach the first until its group is
authorized, and not within a second of the rule's revocation; disassociating cuts new connections
and moving the address moves the traffic; terminating leaves nothing of the network behind; a
cloud killed with SIGKILL leaves its instance reachable and takes its VPC over when it starts
again; and stopping the cloud leaves the host's interfaces, routes and nftables as they were."""

import json
import re
import signal
import time

import pytest

from conftest import states, wait_for
from public_side import POOL, Instance, cloud_on_public_side, host_state, key_pair, reaches, run


@pytest.fixture(scope="module")
def vpc(tmp_path_factory):
    yield from cloud_on_public_side(tmp_path_factory, "vpc", {"VNET_MODE": "VPC"})


def test_a_vpc_instance_is_closed_until_authorized_reached_on_its_elastic_ip_and_isolated_by_groups(vpc, tmp_path):
    ec2 = vpc.client()
    sample = ec2.describe_images(Filters=[{"Name": "name", "Values": ["euca-sample"]}])["Images"][0]["ImageId"]
    pair = json.loads(vpc.aws("ec2", "create-key-pair", "--key-name", "vpc-key", "--key-type", "ed25519", "--output", "json").stdout)
    key = tmp_path / "vpc-key.pem"
    key.write_text(pair["KeyMaterial"])
    key.chmod(0o600)
    ec2.create_security_group(GroupName="other", Description="the second instance's")

    first = ec2.run_instances(ImageId=sample, MinCount=1, MaxCount=1, KeyName="vpc-key")["Instances"][0]
    second = ec2.run_instances(ImageId=sample, MinCount=1, MaxCount=1, KeyName="vpc-key", SecurityGroups=["other"])["Instances"][0]
    # The mode gives the address at once, in the zone's default subnet, past the four EC2 keeps.
    subnet = ec2.describe_subnets()["Subnets"][0]
    assert first["PrivateIpAddress"] == "172.31.0.4" and second["PrivateIpAddress"] == "172.31.0.5", (first, second)
    assert first["SubnetId"] == subnet["SubnetId"] and first["VpcId"] == subnet["VpcId"]
    ids = [first["InstanceId"], second["InstanceId"]]
    wait_for(lambda: all(s == "running" for s in states(ec2, ids).values()), timeout=120, interval=0.5, what="running")
    a, b = (Instance(vpc, i, key, tmp_path) for i in ids)
    # DHCP gave each guest the address the API showed, and the guest found its key in the metadata.
    assert (a.private, b.private) == ("172.31.0.4", "172.31.0.5")
    assert pair["KeyFingerprint"] in a.console()

    eip_a, eip_b = (ec2.allocate_address(Domain="vpc")["PublicIp"] for _ in range(2))
    ec2.associate_address(InstanceId=a.id, PublicIp=eip_a)
    ec2.associate_address(InstanceId=b.id, PublicIp=eip_b)
    # Every public address stays on this machine: routed to a device of its own, never the default route.
    for address in [eip_a, eip_b] + POOL:
        route = run("ip", "route", "get", address).stdout
        assert " via " not in route.split("\n")[0], f"{address} would leave the machine: {route}"

    # Closed until port 22 is authorized; then open to the authorized block (the outside), and the
    # instance's metadata shows its public address.
    time.sleep(1)
    assert a.ssh(eip_a).returncode != 0, "ssh answered before port 22 was authorized"
    for group in ["default", "other"]:
        ec2.authorize_security_group_ingress(GroupName=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}])
    began = time.monotonic()
    wait_for(lambda: a.ssh(eip_a).returncode == 0, timeout=15, interval=0.2, what="ssh after the rule")
    print(f"authorize -> ssh answers: {time.monotonic() - began:.2f} s")
    answer = a.ssh(eip_a, "wget -q -O - http://169.254.169.254/latest/meta-data/public-ipv4; echo;"
                          " wget -q -O - http://169.254.169.254/latest/meta-data/local-ipv4").stdout.split()
    assert answer == [eip_a, a.private]
    assert b.ssh(eip_b).returncode == 0

    # The second instance, in another group, does not reach the first (same subnet) until the
    # first's group authorizes its group; outbound from it is allowed all along.
    assert not reaches(b, eip_b, a.private)
    ec2.authorize_security_group_ingress(GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupName": "other"}]}])
    wait_for(lambda: reaches(b, eip_b, a.private), timeout=10, what="the first reached from the other group")
    # Revoked: new connections are refused within a second of the reply.
    ec2.revoke_security_group_ingress(GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupName": "other"}]}])
    time.sleep(1)
    assert not reaches(b, eip_b, a.private)
    # The first's own group lets its members in (the default group's rule), not the second.
    assert not reaches(a, eip_a, b.private)

    # Disassociating cuts new connections; the address moved to the second carries its traffic.
    ec2.disassociate_address(PublicIp=eip_a)
    time.sleep(1)
    assert a.ssh(eip_a).returncode != 0
    ec2.disassociate_address(PublicIp=eip_b)
    ec2.associate_address(InstanceId=b.id, PublicIp=eip_a)
    wait_for(lambda: b.ssh(eip_a).returncode == 0, timeout=10, what="the moved address")
    assert b.ssh(eip_a, "wget -q -O - http://169.254.169.254/latest/meta-data/instance-id").stdout.strip() == b.id

    # Terminated: nothing of the VPC is left on the host.
    ec2.terminate_instances(InstanceIds=ids)
    wait_for(lambda: all(s == "terminated" for s in states(ec2, ids).values()), timeout=60, what="terminated")
    wait_for(lambda: host_state()["namespaces"] == [], timeout=20, what="the VPC's namespace gone")
    left = host_state()
    assert not [link for link in left["links"] if re.fullmatch(r"vn\w+|eu\d+|vx\d+", link)], left["links"]
    assert not [route for route in left["routes"] if re.fullmatch(r"eu\d+", json.loads(route).get("dev", ""))], left["routes"]


def test_a_killed_cloud_leaves_its_instance_reachable_and_takes_its_vpc_over_when_it_starts_again(vpc, tmp_path):
    ec2 = vpc.client()
    sample = ec2.describe_images(Filters=[{"Name": "name", "Values": ["euca-sample"]}])["Images"][0]["ImageId"]
    _, key = key_pair(vpc, "vpc-key-2", tmp_path)
    instance_id = ec2.run_instances(ImageId=sample, MinCount=1, MaxCount=1, KeyName="vpc-key-2")["Instances"][0]["InstanceId"]
    wait_for(lambda: states(ec2, [instance_id])[instance_id] == "running", timeout=120, interval=0.5, what="running")
    guest = Instance(vpc, instance_id, key, tmp_path)
    address = ec2.allocate_address(Domain="vpc")["PublicIp"]
    ec2.associate_address(InstanceId=instance_id, PublicIp=address)
    # The default group lets 198.51.100.0/24 in on port 22 (the test before authorized it).
    wait_for(lambda: guest.ssh(address).returncode == 0, timeout=15, what="ssh on the elastic IP")

    vpc.stop(signal.SIGKILL)
    # The instance runs on, and its VPC with it.
    assert guest.ssh(address).returncode == 0
    vpc.start(timeout=60)
    ec2 = vpc.client()
    ask = "wget -q -O - http://169.254.169.254/latest/meta-data/instance-id"
    wait_for(lambda: guest.ssh(address, ask).stdout.strip() == instance_id, timeout=30, what="metadata after the restart")
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for(lambda: states(ec2, [instance_id])[instance_id] == "terminated", timeout=60, what="terminated")
    wait_for(lambda: host_state()["namespaces"] == [], timeout=20, what="the VPC's namespace gone")


def test_stopping_the_cloud_leaves_the_host_as_it_was(vpc):
    vpc.stop()
    after = host_state()
    for part in after:
        assert after[part] == vpc.before[part], (part, sorted(set(after[part]) ^ set(vpc.before[part])))
