"""scripts/three-tier-local, as a researcher runs it: a cloud of three processes with the
cluster controller given, on the test driver; launches land where the policy says, and the
cluster controller's log says so, line by line."""

import configparser
import pathlib
import signal
import subprocess
import time

import boto3

from conftest import ROOT, wait_for


def test_the_script_brings_up_a_cloud_whose_placements_can_be_read(tmp_path):
    lab = tmp_path / "lab"
    script = subprocess.Popen([str(ROOT / "scripts" / "three-tier-local"), str(lab), str(ROOT / ".build" / "debug" / "euca-cc"), "GREEDY", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        endpoint = None
        deadline = time.monotonic() + 60
        for line in script.stdout:
            if line.startswith("EC2 endpoint:"):
                endpoint = line.split()[-1]
            if "Ctrl-C" in line or time.monotonic() > deadline:
                break
        assert endpoint, "the script printed no endpoint"
        parser = configparser.ConfigParser()
        parser.read(lab / "clc" / "credentials" / "credentials")
        ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="eucalyptus",
                           aws_access_key_id=parser["default"]["aws_access_key_id"],
                           aws_secret_access_key=parser["default"]["aws_secret_access_key"])
        image = ec2.describe_images()["Images"][0]["ImageId"]
        ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]]
        # GREEDY fills the first node first: both instances on one node, and the log says which.
        wait_for(lambda: (lab / "cc.log").read_text().count("instance placed") == 2, what="two placements logged")
        placed = [line for line in (lab / "cc.log").read_text().splitlines() if "instance placed" in line]
        nodes = {part.split("=", 1)[1] for line in placed for part in line.split() if part.startswith("euca.node=")}
        assert len(nodes) == 1 and all("policy=GREEDY" in line for line in placed), placed
        assert all(any(f"euca.instance={i}" in line for line in placed) for i in ids)
        assert len(daemons_under(lab)) == 4, "euca-clc, euca-cc and two euca-nc"
    finally:
        script.send_signal(signal.SIGINT)
        script.wait(timeout=40)
    # Every daemon it started (each with its STATE_DIR under the lab) is gone with it.
    wait_for(lambda: not daemons_under(lab), timeout=20, what="the daemons gone")


def daemons_under(directory) -> list[int]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"STATE_DIR={directory}".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found
