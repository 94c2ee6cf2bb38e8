"""Real guests: euca-cloud on libvirt's qemu:///system (KVM, or QEMU's TCG where KVM cannot run a
guest), booting the sample image on a private bridge with DHCP and the metadata address. Needs
root, QEMU, libvirtd (started here if it is not running) and dnsmasq; skips, saying which is
missing, without them."""

import importlib.util
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("blackbox_conftest", ROOT / "tests" / "blackbox" / "conftest.py")
blackbox = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blackbox)
Cloud, wait_for, states = blackbox.Cloud, blackbox.wait_for, blackbox.states

BRIDGE, PREFIX = "eucag0", "10.215.0"


def missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (libvirt's qemu:///system, a bridge, port 80 on 169.254.169.254)"
    for tool, package in [("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"), ("libvirtd", "libvirt-daemon"),
                          ("dnsmasq", "dnsmasq-base"), ("dropbear", "dropbear-bin"), ("ssh", "openssh-client")]:
        if shutil.which(tool) is None and not pathlib.Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (apt install {package})"
    if not list(pathlib.Path("/boot").glob("vmlinuz-*")):
        return "no kernel in /boot (apt install linux-image-amd64)"
    return None


def sample_image(base: pathlib.Path) -> pathlib.Path:
    """Starts libvirtd if need be and builds the sample image under `base`."""
    subprocess.run([str(ROOT / "scripts" / "start-libvirtd")], check=True, timeout=60)
    sample = base / "sample-image"
    subprocess.run([str(ROOT / "scripts" / "build-sample-image"), str(sample)], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    return sample


def terminate_all_and_stop(cloud) -> None:
    """Terminates every instance the cloud still has, then stops it (if it runs)."""
    if not (cloud.process and cloud.process.poll() is None):
        return
    try:
        ec2 = cloud.client()
        ids = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
               if i["State"]["Name"] != "terminated"]
        if ids:
            ec2.terminate_instances(InstanceIds=ids)
            wait_for(lambda: all(s == "terminated" for s in states(ec2, ids).values()), timeout=60)
    finally:
        cloud.stop()


@pytest.fixture(scope="module")
def guests(tmp_path_factory):
    reason = missing()
    if reason:
        pytest.skip(f"real-guest tests skipped: {reason}")
    base = tmp_path_factory.mktemp("guests")
    sample = sample_image(base)
    net = base / "net"
    subprocess.run([str(ROOT / "scripts" / "dev-network"), "up", BRIDGE, PREFIX, str(net)], check=True, timeout=30)
    cloud = Cloud(base / "var", env={
        "LIBVIRT_URI": "qemu:///system", "VNET_BRIDGE": BRIDGE, "SAMPLE_IMAGE_DIR": str(sample),
        "SHUTDOWN_TIMEOUT": "20", "NODE_NAME": "guests-node", "METADATA_ADDRESS": "169.254.169.254",
    })
    cloud.sample = sample
    try:
        cloud.start(timeout=60)
        yield cloud
    finally:
        terminate_all_and_stop(cloud)
        subprocess.run([str(ROOT / "scripts" / "dev-network"), "down", BRIDGE, PREFIX, str(net)], timeout=30)
