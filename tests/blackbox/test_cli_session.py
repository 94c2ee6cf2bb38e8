"""The session from the README, with the aws CLI and only the files euca-cloud wrote."""

import json
import subprocess

from conftest import wait_for


def cli_json(cloud, *args):
    return json.loads(cloud.aws(*args, "--output", "json").stdout)


def instance_states(cloud, ids):
    data = cli_json(cloud, "ec2", "describe-instances", "--instance-ids", *ids)
    return {i["InstanceId"]: i["State"]["Name"] for r in data["Reservations"] for i in r["Instances"]}


def test_the_readme_session(cloud, tmp_path):
    zones = cli_json(cloud, "ec2", "describe-availability-zones")["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["cluster01"]
    assert zones[0]["State"] == "available" and zones[0]["RegionName"] == "eucalyptus"

    pem = cloud.aws("ec2", "create-key-pair", "--key-name", "k1", "--query", "KeyMaterial", "--output", "text").stdout
    key_file = tmp_path / "k1.pem"
    key_file.write_text(pem)
    key_file.chmod(0o600)
    check = subprocess.run(["openssl", "rsa", "-check", "-noout", "-in", str(key_file)], capture_output=True, text=True)
    assert "RSA key ok" in check.stdout

    images = cli_json(cloud, "ec2", "describe-images")["Images"]
    assert len(images) == 1 and images[0]["ImageId"].startswith("ami-")
    image = images[0]["ImageId"]

    run = cli_json(cloud, "ec2", "run-instances", "--image-id", image, "--instance-type", "m1.small",
                   "--count", "3", "--key-name", "k1")
    ids = [i["InstanceId"] for i in run["Instances"]]
    assert len(ids) == 3 and all(i["State"]["Name"] == "pending" for i in run["Instances"])
    assert all(i["KeyName"] == "k1" and i["InstanceType"] == "m1.small" for i in run["Instances"])
    wait_for(lambda: set(instance_states(cloud, ids).values()) == {"running"}, what="three running instances")

    cloud.aws("ec2", "reboot-instances", "--instance-ids", ids[0])
    assert instance_states(cloud, ids[:1]) == {ids[0]: "running"}

    stopped = cli_json(cloud, "ec2", "stop-instances", "--instance-ids", ids[0])["StoppingInstances"][0]
    assert stopped["PreviousState"]["Name"] == "running" and stopped["CurrentState"]["Name"] == "stopping"
    wait_for(lambda: instance_states(cloud, ids[:1])[ids[0]] == "stopped", what="stopped")

    started = cli_json(cloud, "ec2", "start-instances", "--instance-ids", ids[0])["StartingInstances"][0]
    assert started["PreviousState"]["Name"] == "stopped" and started["CurrentState"]["Name"] == "pending"
    wait_for(lambda: instance_states(cloud, ids[:1])[ids[0]] == "running", what="running again")

    console = cli_json(cloud, "ec2", "get-console-output", "--instance-id", ids[0])
    assert console["InstanceId"] == ids[0] and "Timestamp" in console

    terminating = cli_json(cloud, "ec2", "terminate-instances", "--instance-ids", *ids)["TerminatingInstances"]
    assert {t["CurrentState"]["Name"] for t in terminating} == {"shutting-down"}
    wait_for(lambda: set(instance_states(cloud, ids).values()) == {"terminated"}, what="terminated")


def test_the_written_config_alone_reaches_the_cloud(cloud):
    """The config file names the endpoint, so the CLI needs no --endpoint-url."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(cloud.state / "credentials" / "credentials")
    env["AWS_CONFIG_FILE"] = str(cloud.state / "credentials" / "config")
    result = subprocess.run(["aws", "ec2", "describe-regions", "--output", "json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Regions"][0]["RegionName"] == "eucalyptus"


def test_the_eucarc_works_for_the_cli(cloud):
    script = f". {cloud.state}/credentials/eucarc && aws ec2 describe-availability-zones --output text"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "cluster01" in result.stdout


def test_the_boto3_example_runs(cloud):
    import pathlib
    import sys

    example = pathlib.Path(__file__).resolve().parents[2] / "Examples" / "boto3" / "quickstart.py"
    result = subprocess.run([sys.executable, str(example), str(cloud.state)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "'running'" in result.stdout and "'terminated'" in result.stdout


def test_the_configuration_key_table_is_current():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    admin = root / ".build" / "debug" / "euca-admin"
    doc = (root / "docs" / "configuration-keys.md").read_text()
    for daemon in ["euca-cloud", "euca-clc", "euca-cc", "euca-nc"]:
        table = subprocess.run([str(admin), "config-keys", "--markdown", "--daemon", daemon],
                               capture_output=True, text=True, check=True).stdout
        assert f"## {daemon}\n\n{table}" in doc, f"run `make docs` ({daemon})"
    refused = subprocess.run([str(admin), "config-keys", "--daemon", "euca-xx"], capture_output=True, text=True)
    assert refused.returncode != 0 and "euca-cloud, euca-clc, euca-cc, euca-nc" in refused.stderr


def test_the_api_coverage_table_is_current():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    admin = root / ".build" / "debug" / "euca-admin"
    table = subprocess.run([str(admin), "api-coverage"], capture_output=True, text=True, check=True).stdout
    assert table == (root / "docs" / "ec2-api-coverage.md").read_text(), "run `make docs`"


def test_check_config_reads_a_file_as_the_named_daemon_does(tmp_path):
    import pathlib

    admin = pathlib.Path(__file__).resolve().parents[2] / ".build" / "debug" / "euca-admin"
    conf = tmp_path / "eucalyptus.conf"
    conf.write_text('# a cluster controller\nCC_PORT="8774"\nPOWER_IDLETHRESH="600"\nBOGUS="1"\n')
    as_cc = subprocess.run([str(admin), "check-config", str(conf), "--daemon", "euca-cc"], capture_output=True, text=True)
    assert as_cc.returncode == 0, as_cc.stderr
    assert "euca-cc does not read BOGUS" in as_cc.stdout and "CC_PORT" not in as_cc.stdout
    as_cloud = subprocess.run([str(admin), "check-config", str(conf)], capture_output=True, text=True)
    assert "euca-cloud does not read CC_PORT" in as_cloud.stdout
    conf.write_text('CC_PORT="eighty"\n')
    bad = subprocess.run([str(admin), "check-config", str(conf), "--daemon", "euca-cc"], capture_output=True, text=True)
    assert bad.returncode == 78 and f"{conf}:1" in bad.stderr and "CC_PORT" in bad.stderr
    # A policy name euca-admin does not know may be a custom cluster controller's: a warning, not a refusal.
    conf.write_text('SCHEDPOLICY="MOSTFREEMEMORY"\n')
    custom = subprocess.run([str(admin), "check-config", str(conf), "--daemon", "euca-cc"], capture_output=True, text=True)
    assert custom.returncode == 0 and "SCHEDPOLICY MOSTFREEMEMORY is not one of" in custom.stdout and "--check-config" in custom.stdout
    conf.write_text('SCHEDPOLICY="GREEDY; rm"\n')
    garbled = subprocess.run([str(admin), "check-config", str(conf), "--daemon", "euca-cc"], capture_output=True, text=True)
    assert garbled.returncode == 78 and "SCHEDPOLICY" in garbled.stderr
