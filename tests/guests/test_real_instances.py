"""Real instances end to end: the sample image boots under QEMU through libvirt, takes its key and
user data from the metadata service, is reached by ssh, obeys IMDSv2, stops, starts, reboots,
powers itself off, and leaves nothing on the host when terminated."""

import json
import re
import subprocess
import time

from conftest import BRIDGE, wait_for, states

READY = re.compile(r"euca-instance-ready instance-id=(\S+) key-fingerprint=(\S+) address=(\S+)")
HOST_KEY = re.compile(r"euca-host-key (ssh-ed25519 \S+)")


def console(cloud, instance_id: str) -> str:
    """The console through the aws CLI, which decodes EC2's base64."""
    return cloud.aws("ec2", "get-console-output", "--instance-id", instance_id, "--query", "Output", "--output", "text").stdout


def ready_lines(cloud, instance_id):
    return READY.findall(console(cloud, instance_id))


class Guest:
    def __init__(self, cloud, instance_id, key, address, host_key, workdir):
        self.cloud, self.id, self.key, self.address = cloud, instance_id, key, address
        self.known_hosts = workdir / f"known_hosts-{instance_id}"
        # The guest printed its host key on its console: ssh checks it strictly.
        self.known_hosts.write_text(f"{address} {host_key}\n")

    def rebooted(self):
        """A new boot has a new address lease and a new host key: take both from the console."""
        text = console(self.cloud, self.id)
        self.address = READY.findall(text)[-1][2]
        self.known_hosts.write_text(f"{self.address} {HOST_KEY.findall(text)[-1]}\n")

    def ssh(self, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"root@{self.address}", command],
            capture_output=True, text=True, timeout=timeout)


def wait_ready(cloud, instance_id, count=1, timeout=180):
    return wait_for(lambda: len(ready_lines(cloud, instance_id)) >= count and ready_lines(cloud, instance_id),
                    timeout=timeout, interval=1, what=f"{instance_id}'s ready line #{count} on its console")


def host_leftovers(cloud, instance_id) -> list[str]:
    left = []
    domains = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True, text=True).stdout
    if instance_id in domains.split():
        left.append("libvirt domain")
    instance_dir = cloud.state / "instances" / instance_id
    if instance_dir.exists():
        left.append(f"files: {sorted(p.name for p in instance_dir.iterdir())}")
    return left


def taps_on_bridge() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "master", BRIDGE], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.strip()]


def test_the_sample_image_is_registered_once_and_public(guests):
    ec2 = guests.client()
    images = {i["Name"]: i for i in ec2.describe_images()["Images"]}
    sample = images["euca-sample"]
    assert sample["Public"] and sample["KernelId"].startswith("aki-") and sample["RamdiskId"].startswith("ari-")
    assert images["euca-sample-kernel"]["ImageId"] == sample["KernelId"]
    assert images["euca-sample-ramdisk"]["ImageId"] == sample["RamdiskId"]


def test_a_guest_boots_takes_its_key_and_user_data_answers_ssh_and_obeys_imdsv2(guests, tmp_path):
    ec2 = guests.client()
    sample = ec2.describe_images(Filters=[{"Name": "name", "Values": ["euca-sample"]}])["Images"][0]["ImageId"]
    created = guests.aws("ec2", "create-key-pair", "--key-name", "guest-key", "--key-type", "ed25519", "--output", "json")
    pair = json.loads(created.stdout)
    key = tmp_path / "guest-key.pem"
    key.write_text(pair["KeyMaterial"])
    key.chmod(0o600)
    user_data = tmp_path / "user-data.sh"
    user_data.write_text("#!/bin/sh\necho user-data ran on $(hostname)\n")

    # Two at once on a cold image cache: each image file is downloaded once.
    started = time.monotonic()
    run = json.loads(guests.aws(
        "ec2", "run-instances", "--image-id", sample, "--count", "2", "--instance-type", "m1.small", "--key-name", "guest-key",
        "--user-data", f"file://{user_data}", "--output", "json").stdout)
    ids = [i["InstanceId"] for i in run["Instances"]]
    wait_for(lambda: all(s == "running" for s in states(ec2, ids).values()), timeout=120, interval=0.5, what="running")
    to_running = time.monotonic() - started
    log = guests.log.read_text()
    for image in [sample, run["Instances"][0]["KernelId"], run["Instances"][0]["RamdiskId"]]:
        cached = [line for line in log.splitlines() if "image cached" in line and f"euca.image={image} " in line]
        assert len(cached) == 1, f"{image} was downloaded {len(cached)} times"

    guests_by_id = {}
    for instance_id in ids:
        (found_id, fingerprint, address), = wait_ready(guests, instance_id)
        text = console(guests, instance_id)
        assert found_id == instance_id, text
        assert fingerprint == pair["KeyFingerprint"], "the guest installed another key than the key pair's"
        assert "euca-user-data exit=0" in wait_for(lambda: "euca-user-data exit=" in console(guests, instance_id)
                                                  and console(guests, instance_id), timeout=60, what="user data")
        assert f"user-data ran on {instance_id}" in console(guests, instance_id)
        # The address the guest took from DHCP is the one DescribeInstances shows.
        described = wait_for(lambda: ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
                             .get("PrivateIpAddress"), timeout=30, what="the learned address")
        assert described == address
        guests_by_id[instance_id] = Guest(guests, instance_id, key, address, HOST_KEY.search(text).group(1), tmp_path)
    print(f"API call -> running for 2 instances: {to_running:.1f} s")
    status, metrics = guests.get("/metrics")
    assert status == 200
    assert re.search(r'^euca_metadata_requests_total\{status="200"\} [1-9]', metrics, re.M), "no metadata requests counted"
    assert re.search(r"^euca_image_cache_downloads_total 3(\.0)?$", metrics, re.M), "the cache did not count 3 downloads"

    first, second = (guests_by_id[i] for i in ids)
    result = first.ssh("cat /proc/uptime; wget -q -O - http://169.254.169.254/latest/meta-data/instance-id")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(first.id)

    def put_token(ttl_header: str) -> str:
        request = f"PUT /latest/api/token HTTP/1.0\\r\\n{ttl_header}\\r\\n"
        return first.ssh(f"printf '{request}' | nc 169.254.169.254 80 | head -1").stdout

    def get(path: str, token: str | None = None) -> str:
        header = f"--header 'X-aws-ec2-metadata-token: {token}' " if token else ""
        return first.ssh(f"wget -q -O - {header}http://169.254.169.254{path} 2>&1; echo ' rc='$?").stdout

    # IMDSv2 from inside the guest.
    assert " 400 " in put_token("")
    assert " 400 " in put_token("X-aws-ec2-metadata-token-ttl-seconds: 0\\r\\n")
    assert " 400 " in put_token("X-aws-ec2-metadata-token-ttl-seconds: 21601\\r\\n")
    token = first.ssh("printf 'PUT /latest/api/token HTTP/1.0\\r\\nX-aws-ec2-metadata-token-ttl-seconds: 30\\r\\n\\r\\n'"
                      " | nc 169.254.169.254 80 | tail -1").stdout.strip()
    assert token
    assert get("/latest/meta-data/instance-id", token).startswith(first.id)
    assert "401" in get("/latest/meta-data/instance-id", token + "x")
    assert "401" in get("/latest/meta-data/instance-id", "i-000.0.bogus")
    # Each instance reads only its own data, and a token of one is refused to the other.
    other = second.ssh(f"wget -q -O - --header 'X-aws-ec2-metadata-token: {token}' "
                       f"http://169.254.169.254/latest/meta-data/instance-id 2>&1; echo ' rc='$?").stdout
    assert "401" in other
    assert second.ssh("wget -q -O - http://169.254.169.254/latest/meta-data/instance-id").stdout.strip() == second.id
    public = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True, check=True).stdout.split()
    assert get("/latest/meta-data/public-keys/0/openssh-key").split()[:2] == public[:2]

    # HttpTokens=required: IMDSv1 is refused from then on, tokens still work.
    guests.aws("ec2", "modify-instance-metadata-options", "--instance-id", first.id, "--http-tokens", "required")
    wait_for(lambda: "401" in get("/latest/meta-data/instance-id"), timeout=20, what="IMDSv1 refused")
    assert get("/latest/meta-data/instance-id", token).startswith(first.id)
    options = ec2.describe_instances(InstanceIds=[first.id])["Reservations"][0]["Instances"][0]["MetadataOptions"]
    assert options["HttpTokens"] == "required"

    # Reboot: the guest comes up a second time.
    ec2.reboot_instances(InstanceIds=[first.id])
    wait_ready(guests, first.id, count=2)
    first.rebooted()
    assert first.ssh("true").returncode == 0

    # The guest powers itself off: with the default behaviour it is stopped; start brings it back.
    second.ssh("poweroff", timeout=15)
    wait_for(lambda: states(ec2, [second.id])[second.id] == "stopped", timeout=60, what="stopped after poweroff")
    reason = ec2.describe_instances(InstanceIds=[second.id])["Reservations"][0]["Instances"][0]["StateReason"]["Code"]
    assert reason == "Client.InstanceInitiatedShutdown"
    ec2.start_instances(InstanceIds=[second.id])
    wait_for(lambda: states(ec2, [second.id])[second.id] == "running", timeout=60, what="running again")
    # A new start begins a new console, as on EC2.
    wait_ready(guests, second.id, count=1)
    second.rebooted()
    assert second.ssh("true").returncode == 0
    # Stop through the API: ACPI first, so the guest shuts down by itself well before the timeout.
    began = time.monotonic()
    ec2.stop_instances(InstanceIds=[second.id])
    wait_for(lambda: states(ec2, [second.id])[second.id] == "stopped", timeout=60, what="stopped")
    assert time.monotonic() - began < 15, "the guest did not honour the ACPI power button"

    # With behaviour terminate, a guest that powers off is terminated.
    ec2.modify_instance_attribute(InstanceId=first.id, InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    first.ssh("poweroff", timeout=15)
    wait_for(lambda: states(ec2, [first.id])[first.id] == "terminated", timeout=60, what="terminated after poweroff")

    ec2.terminate_instances(InstanceIds=[second.id])
    wait_for(lambda: states(ec2, [second.id])[second.id] == "terminated", timeout=60, what="terminated")
    for instance_id in ids:
        wait_for(lambda: not host_leftovers(guests, instance_id), timeout=30, what=f"nothing left of {instance_id}")
    assert taps_on_bridge() == [], "a tap device is left on the bridge"
