"""Apache libcloud's EucNodeDriver, unmodified: SigV2 in GET query strings, Version 2016-11-15,
/services/Eucalyptus, list members numbered from 0 for tags, the flat security-group rule form,
and Eucalyptus' own DescribeInstanceTypes answer for list_sizes."""

import urllib.parse

import pytest
from libcloud.compute.providers import get_driver
from libcloud.compute.types import NodeState, Provider

from conftest import wait_for


@pytest.fixture
def driver(cloud):
    creds = cloud.credentials
    url = urllib.parse.urlsplit(cloud.endpoint)
    cls = get_driver(Provider.EUCALYPTUS)
    return cls(creds["access_key"], creds["secret_key"], host=url.hostname, port=url.port, secure=False,
               path="/services/Eucalyptus")


def test_sizes_images_and_key_pairs(driver, tmp_path):
    sizes = {s.name: s for s in driver.list_sizes()}
    assert {"m1.small", "c1.medium", "m1.large", "m1.xlarge", "c1.xlarge", "t3.micro", "m5.large"} <= set(sizes)
    assert sizes["c1.xlarge"].extra["cpu"] == 4 and sizes["m1.small"].ram == 128 and sizes["m1.large"].disk == 10

    images = driver.list_images()
    assert [i.name for i in images] == ["euca-test-empty"]

    created = driver.create_key_pair("lc-key")
    assert created.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----")
    public = created.public_key or ""
    import subprocess
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    imported = driver.import_key_pair_from_string("lc-imported", (tmp_path / "k.pub").read_text())
    assert imported.fingerprint
    assert sorted(k.name for k in driver.list_key_pairs()) == ["lc-imported", "lc-key"]
    assert driver.get_key_pair("lc-key").fingerprint == created.fingerprint
    assert driver.delete_key_pair(imported) is True
    del public


def test_nodes_with_a_key_pair_and_a_security_group(driver, cloud):
    image = driver.list_images()[0]
    size = [s for s in driver.list_sizes() if s.name == "m1.small"][0]
    driver.create_key_pair("lc-key")
    group = driver.ex_create_security_group("lc-web", "libcloud web")
    assert group["group_id"].startswith("sg-")
    assert driver.ex_authorize_security_group("lc-web", 22, 22, "0.0.0.0/0") is True
    ec2 = cloud.client()
    rules = ec2.describe_security_groups(GroupNames=["lc-web"])["SecurityGroups"][0]["IpPermissions"]
    assert rules[0]["FromPort"] == 22 and rules[0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]

    node = driver.create_node(name="lc-node", image=image, size=size, ex_keyname="lc-key", ex_securitygroup="lc-web")
    assert node.name == "lc-node" and node.id.startswith("i-")
    wait_for(lambda: [n.state for n in driver.list_nodes() if n.id == node.id] == [NodeState.RUNNING], what="running node")
    listed = [n for n in driver.list_nodes() if n.id == node.id][0]
    assert listed.name == "lc-node"  # from the Name tag libcloud set
    assert listed.extra["instance_type"] == "m1.small" and listed.extra["key_name"] == "lc-key"
    assert [g["group_name"] for g in listed.extra["groups"]] == ["lc-web"]

    driver.ex_create_tags(node, {"team": "x", "env": "test"})
    assert driver.ex_describe_tags(node) == {"Name": "lc-node", "team": "x", "env": "test"}

    address = driver.ex_allocate_address()
    assert address.ip.startswith("10.99.0.")
    assert driver.ex_associate_address_with_node(node, address)
    with_ip = [n for n in driver.list_nodes() if n.id == node.id][0]
    assert address.ip in with_ip.public_ips
    assert driver.ex_disassociate_address(address)
    assert driver.ex_release_address(address)

    assert driver.reboot_node(node) is True
    assert driver.destroy_node(node) is True
    wait_for(lambda: ec2.describe_instances(InstanceIds=[node.id])["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated",
             what="terminated")
    assert driver.ex_delete_security_group("lc-web") is True
