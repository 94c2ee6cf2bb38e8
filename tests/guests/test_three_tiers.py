"""A real guest through euca-clc, euca-cc and euca-nc in separate processes: the node downloads
the image from the cloud controller's image service over mutual TLS, boots it, and the guest
takes its key from the node's metadata service."""

import importlib.util
import subprocess

import pytest

from conftest import ROOT, missing, wait_for
from test_real_instances import HOST_KEY, READY

_spec = importlib.util.spec_from_file_location("multiprocess_conftest", ROOT / "tests" / "multiprocess" / "conftest.py")
tiers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiers)

BRIDGE, PREFIX = "eucag1", "10.217.0"


@pytest.fixture
def cloud(tmp_path):
    reason = missing()
    if reason:
        pytest.skip(f"real-guest tests skipped: {reason}")
    subprocess.run([str(ROOT / "scripts" / "start-libvirtd")], check=True, timeout=60)
    subprocess.run([str(ROOT / "scripts" / "dev-network"), "up", BRIDGE, PREFIX, str(tmp_path / "net")], check=True, timeout=30)
    instance = tiers.start_clc(tmp_path)
    try:
        yield instance
    finally:
        instance.stop()
        subprocess.run([str(ROOT / "scripts" / "dev-network"), "down", BRIDGE, PREFIX, str(tmp_path / "net")], timeout=30)


def test_a_node_on_another_tier_boots_an_image_it_downloads_over_mutual_tls(cloud, tmp_path):
    sample = tmp_path / "sample"
    subprocess.run([str(ROOT / "scripts" / "build-sample-image"), str(sample)], check=True, stdout=subprocess.DEVNULL)
    cloud.add_cluster("zone-g")
    # The image service's port is not the default: the node learns it from its join.
    cloud.add_node("zone-g", "g1", LIBVIRT_URI="qemu:///system", VNET_BRIDGE=BRIDGE, MAX_MEM="2048",
                   METADATA_ADDRESS="169.254.169.254")
    wait_for(lambda: [r for r in tiers.nodes(cloud) if r.get("reachable")], timeout=60, what="the node up")
    ec2 = cloud.client()
    ids = {}
    for kind, file in [("kernel", "vmlinuz"), ("ramdisk", "initrd.gz"), ("machine", "disk.img")]:
        location = cloud.admin("upload-image", "--kind", kind, str(sample / file)).stdout.split()[0]
        extra = {"KernelId": ids["kernel"], "RamdiskId": ids["ramdisk"]} if kind == "machine" else {}
        ids[kind] = ec2.register_image(Name=f"tiers-{kind}", ImageLocation=location, **extra)["ImageId"]
    pair = ec2.create_key_pair(KeyName="tiers", KeyType="ed25519")
    key = tmp_path / "tiers.pem"
    key.write_text(pair["KeyMaterial"])
    key.chmod(0o600)

    instance_id = ec2.run_instances(ImageId=ids["machine"], MinCount=1, MaxCount=1, KeyName="tiers")["Instances"][0]["InstanceId"]
    wait_for(lambda: tiers.states(ec2, [instance_id])[instance_id] == "running", timeout=120, what="running")

    def ready():
        text = ec2.get_console_output(InstanceId=instance_id).get("Output", "")
        return READY.search(text) and text
    text = wait_for(ready, timeout=180, interval=1, what="the guest's ready line")
    found, fingerprint, address = READY.search(text).groups()
    assert found == instance_id and fingerprint == pair["KeyFingerprint"]
    # The node fetched each file from the cloud controller, over mutual TLS.
    clc_log = cloud.clc.log.read_text()
    assert clc_log.count("image sent to a node") == 3

    known = tmp_path / "known_hosts"
    known.write_text(f"{address} {HOST_KEY.search(text).group(1)}\n")
    result = subprocess.run(
        ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}", "-o", "BatchMode=yes",
         "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"root@{address}", "cat /proc/uptime"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr

    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for(lambda: tiers.states(ec2, [instance_id])[instance_id] == "terminated", timeout=60, what="terminated")
    domains = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True, text=True).stdout
    assert instance_id not in domains.split()
    assert not (tmp_path / "nc-g1" / "instances" / instance_id).exists()
