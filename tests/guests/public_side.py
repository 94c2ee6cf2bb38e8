"""What the guest tests of the cloud's own networks share: a host-only bridge standing for the
site's public network, a namespace on it for the outside world (no packet leaves the machine),
guests reached by ssh from there, and the host's network state to compare."""

import json
import re
import shutil
import subprocess
import time

import pytest

from conftest import Cloud, missing, sample_image, terminate_all_and_stop, wait_for

PUBLIC_BRIDGE, OUTSIDE, OUTSIDE_ADDRESS = "eucavp0", "eucav-out", "198.51.100.200"
POOL = [f"198.51.100.{n}" for n in range(10, 20)]
READY = re.compile(r"euca-instance-ready instance-id=(\S+) key-fingerprint=(\S+) address=(\S+)")
HOST_KEY = re.compile(r"euca-host-key (ssh-ed25519 \S+)")


def run(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=30)


def host_state() -> dict:
    """The host's interfaces, routes and nftables, as the test compares them. IPv6 link-local
    routes are left out: a link's address there changes with its ports, whoever adds them."""
    links = sorted(link["ifname"] for link in json.loads(run("ip", "-j", "link").stdout))
    routes = sorted(json.dumps(route, sort_keys=True) for route in json.loads(run("ip", "-j", "route", "show", "table", "all").stdout)
                    if not route.get("dst", "").startswith(("fe80", "ff00")))
    tables = sorted(f"{t['table']['family']} {t['table']['name']}" for t in json.loads(run("nft", "-j", "list", "tables").stdout)["nftables"]
                    if "table" in t)
    namespaces = sorted(line.split()[0] for line in run("ip", "netns", "list").stdout.splitlines() if line.startswith("euca-v"))
    return {"links": links, "routes": routes, "tables": tables, "namespaces": namespaces}


def vpc_missing() -> str | None:
    reason = missing()
    if reason:
        return reason
    for tool, package in [("nft", "nftables"), ("conntrack", "conntrack")]:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt install {package})"
    return None


def make_public_side() -> dict:
    """The public side: a bridge with no uplink, and a namespace on it for the outside world.
    Returns the host's network state once it has settled (new links take their IPv6 link-local
    addresses a moment after they are up)."""
    run("ip", "link", "add", PUBLIC_BRIDGE, "type", "bridge")
    run("ip", "address", "add", "198.51.100.1/24", "dev", PUBLIC_BRIDGE)
    run("ip", "link", "set", PUBLIC_BRIDGE, "up")
    run("ip", "netns", "add", OUTSIDE)
    run("ip", "link", "add", "eucav-o0", "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE)
    run("ip", "link", "set", "eucav-o0", "master", PUBLIC_BRIDGE, "up")
    run("ip", "-n", OUTSIDE, "address", "add", f"{OUTSIDE_ADDRESS}/24", "dev", "eth0")
    run("ip", "-n", OUTSIDE, "link", "set", "eth0", "up")
    run("ip", "-n", OUTSIDE, "link", "set", "lo", "up")
    return wait_for(lambda: (lambda first: time.sleep(1) or (first == host_state() and first))(host_state()),
                    timeout=15, what="the host's network to settle")


def remove_public_side() -> None:
    run("ip", "netns", "del", OUTSIDE, check=False)
    run("ip", "link", "del", PUBLIC_BRIDGE, check=False)


def cloud_on_public_side(tmp_path_factory, name: str, env: dict):
    """A euca-cloud on qemu:///system with the sample image, its public side `PUBLIC_BRIDGE`,
    `env` naming its mode; as a fixture's body (yields it started, ends it and the public side).
    `cloud.before` is the host's network state before either was made."""
    reason = vpc_missing()
    if reason:
        pytest.skip(f"{name} guest tests skipped: {reason}")
    base = tmp_path_factory.mktemp(name)
    sample = sample_image(base)
    before = make_public_side()
    cloud = Cloud(base / "var", env=dict({
        "LIBVIRT_URI": "qemu:///system", "VNET_PUBINTERFACE": PUBLIC_BRIDGE, "VNET_PUBLICIPS": f"{POOL[0]}-{POOL[-1]}",
        "SAMPLE_IMAGE_DIR": str(sample), "SHUTDOWN_TIMEOUT": "10", "NODE_NAME": f"{name}-node", "METADATA_ADDRESS": "169.254.169.254",
    }, **env))
    cloud.before = before
    try:
        cloud.start(timeout=60)
        yield cloud
    finally:
        terminate_all_and_stop(cloud)
        remove_public_side()


def key_pair(cloud, name: str, directory):
    """A new ed25519 key pair's fingerprint, its private key written to a file of its own."""
    pair = cloud.client().create_key_pair(KeyName=name, KeyType="ed25519")
    key = directory / f"{name}.pem"
    key.write_text(pair["KeyMaterial"])
    key.chmod(0o600)
    return pair["KeyFingerprint"], key


class Instance:
    """A guest, reached by ssh from the outside namespace on its elastic IP."""

    def __init__(self, cloud, instance_id, key, workdir):
        self.cloud, self.id, self.key = cloud, instance_id, key
        self.known_hosts = workdir / f"known_hosts-{instance_id}"
        text = wait_for(lambda: READY.search(self.console()) and self.console(), timeout=180, interval=1,
                        what=f"{instance_id}'s ready line")
        self.private = READY.search(text).group(3)
        self.host_key = HOST_KEY.search(text).group(1)

    def console(self) -> str:
        return self.cloud.aws("ec2", "get-console-output", "--instance-id", self.id, "--query", "Output", "--output", "text").stdout

    def ssh(self, address: str, command: str = "true", timeout: float = 20) -> subprocess.CompletedProcess:
        self.known_hosts.write_text(f"{address} {self.host_key}\n")
        return subprocess.run(
            ["ip", "netns", "exec", OUTSIDE, "ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "BatchMode=yes", "-o", "ConnectTimeout=4",
             "-o", "LogLevel=ERROR", f"root@{address}", command],
            capture_output=True, text=True, timeout=timeout)


def reaches(source: Instance, source_address: str, target: str, port: int = 22) -> bool:
    """Whether `source` (ssh'd to on `source_address`) gets an answer from target:port."""
    result = source.ssh(source_address, f"echo | nc -w 3 {target} {port} | head -c 7")
    assert result.returncode == 0, result.stderr
    return result.stdout.startswith("SSH-2.0")
