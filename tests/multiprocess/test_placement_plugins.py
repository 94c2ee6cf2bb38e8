"""A cluster controller built by a package of its own with its own placement policy, and
POWERSAVE powering idle node controllers down and up through operator commands."""

import json
import subprocess

import pytest

from conftest import ROOT, nodes, states, wait_for

# `make test-examples` builds the example in this package's build folder.
CUSTOM_CC = ROOT / ".build" / "debug" / "euca-cc-mostfreememory"


def per_node(cloud):
    return {n["name"]: n["instances"] for n in nodes(cloud)}


def test_the_example_packages_cluster_controller_places_with_its_own_policy(bare_cloud):
    if not CUSTOM_CC.exists():
        pytest.fail("build the example first: make test-examples")
    cloud = bare_cloud
    # Its own --check-config knows its policy; the stock euca-cc's refuses the name.
    conf = cloud.root / "custom.conf"
    conf.write_text('SCHEDPOLICY="MOSTFREEMEMORY"\n')
    checked = subprocess.run([str(CUSTOM_CC), "--config", str(conf), "--check-config"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0 and "SCHEDPOLICY MOSTFREEMEMORY" in checked.stdout, checked.stderr
    stock = subprocess.run([str(ROOT / ".build" / "debug" / "euca-cc"), "--config", str(conf), "--check-config"],
                           capture_output=True, text=True, timeout=30)
    assert stock.returncode != 0 and "SCHEDPOLICY" in stock.stderr, stock.stderr
    cloud.add_cluster("custom", program=CUSTOM_CC, SCHEDPOLICY="MOSTFREEMEMORY")
    first = cloud.add_node("custom", "m1")
    second = cloud.add_node("custom", "m2")
    wait_for(lambda: len(nodes(cloud)) == 2 and all(n["reachable"] for n in nodes(cloud)), what="both nodes up")
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    # One m1.xlarge (1 GiB) goes to the first node; MOSTFREEMEMORY then puts both m1.small on
    # the other, which has more memory free (ROUNDROBIN would alternate, GREEDY would stack).
    big = ec2.run_instances(ImageId=image, InstanceType="m1.xlarge", MinCount=1, MaxCount=1)["Instances"]
    wait_for(lambda: states(ec2, [i["InstanceId"] for i in big]) == {big[0]["InstanceId"]: "running"}, what="xlarge running")
    small = ec2.run_instances(ImageId=image, InstanceType="m1.small", MinCount=2, MaxCount=2)["Instances"]
    ids = [i["InstanceId"] for i in small]
    wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="smalls running")
    wait_for(lambda: sorted(per_node(cloud).values()) == [1, 2], what="node counts")
    counts = per_node(cloud)
    xlarge_node = next(name for name, count in counts.items() if count == 1)
    assert counts[xlarge_node] == 1 and set(counts) == {first, second}
    log = (cloud.root / "cc-custom.log").read_text()
    assert "MOSTFREEMEMORY" in log


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_powersave_stops_an_idle_node_and_wakes_it_when_the_awake_one_is_full(bare_cloud, tmp_path):
    cloud = bare_cloud
    pids = tmp_path / "pids"
    pids.mkdir()
    # A "machine" here is a node controller process: powering down stops it, waking continues it.
    cloud.add_cluster(
        "green", SCHEDPOLICY="POWERSAVE", POWER_IDLETHRESH="2", POWER_WAKETHRESH="20",
        POWER_DOWN_COMMAND=f'kill -STOP "$(cat {pids}/$EUCA_NODE)"',
        POWER_WAKE_COMMAND=f'kill -CONT "$(cat {pids}/$EUCA_NODE)"')
    names = {}
    for label in ["g1", "g2"]:
        name = cloud.add_node("green", label)
        (pids / name).write_text(str(cloud.nodes[label].process.pid))
        names[name] = label
    # After two idle seconds one node is powered down; one always stays up.
    wait_for(lambda: sum(n.get("asleep", False) for n in nodes(cloud)) == 1, timeout=30, what="one node asleep")
    sleeping = next(n["name"] for n in nodes(cloud) if n["asleep"])
    awake = next(name for name in names if name != sleeping)
    assert process_state(cloud.nodes[names[sleeping]].process.pid) == "T"
    services = json.loads(cloud.admin("describe-services", "--json").stdout)
    assert next(s for s in services if s["name"] == sleeping)["state"] == "asleep"

    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    # Each node has 8 cores: eight m1.small pack onto the awake node, the ninth wakes the other.
    packed = ec2.run_instances(ImageId=image, InstanceType="m1.small", MinCount=8, MaxCount=8)["Instances"]
    wait_for(lambda: set(states(ec2, [i["InstanceId"] for i in packed]).values()) == {"running"}, what="eight running")
    wait_for(lambda: per_node(cloud).get(awake) == 8, what="all eight on the awake node")
    assert process_state(cloud.nodes[names[sleeping]].process.pid) == "T"
    extra = ec2.run_instances(ImageId=image, InstanceType="m1.small", MinCount=1, MaxCount=1)["Instances"]
    wait_for(lambda: states(ec2, [extra[0]["InstanceId"]])[extra[0]["InstanceId"]] == "running", timeout=30, what="the ninth running")
    assert process_state(cloud.nodes[names[sleeping]].process.pid) != "T"
    wait_for(lambda: per_node(cloud) == {awake: 8, sleeping: 1}, what="the ninth on the woken node")
    log = (cloud.root / "cc-green.log").read_text()
    assert "idle node powered down" in log and "node woke" in log
