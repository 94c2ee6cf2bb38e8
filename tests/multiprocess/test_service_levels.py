"""Quotas and leases set with euca-admin, exercised through boto3 against the three tiers."""

import datetime
import json

import botocore.exceptions
import pytest

from conftest import states, wait_for


def account(cloud, name):
    lines = cloud.admin("create-account", name).stdout.splitlines()
    key = next(line.split("\t") for line in lines if line.startswith("KEY\t"))
    return cloud.client(key[1], key[2])


def row(cloud, name):
    return next(r for r in json.loads(cloud.admin("describe-accounts", "--json").stdout) if r["name"] == name)


def test_a_quota_refuses_launches_over_it_with_instance_limit_exceeded(cloud):
    ec2 = account(cloud, "research")
    cloud.admin("set-quota", "research", "--instances", "2", "--cores", "none")
    assert row(cloud, "research")["maxInstances"] == 2
    image = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=5)["Instances"]
    assert len(launched) == 2
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
    assert refused.value.response["Error"]["Code"] == "InstanceLimitExceeded"
    assert row(cloud, "research")["instances"] == 2
    # A malformed limit is refused and changes nothing.
    bad = cloud.admin("set-quota", "research", "--instances", "many", check=False)
    assert bad.returncode != 0 and "max-instances" in bad.stderr
    assert row(cloud, "research")["maxInstances"] == 2


def test_a_lease_is_a_tag_and_ends_the_instance(cloud):
    ec2 = account(cloud, "lab")
    cloud.admin("set-lease", "lab", "4")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    ident = instance["InstanceId"]
    described = ec2.describe_instances(InstanceIds=[ident])["Reservations"][0]["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
    ends = datetime.datetime.fromisoformat(tags["euca:lease-expires"].replace("Z", "+00:00"))
    assert abs((ends - described["LaunchTime"]).total_seconds() - 4) < 1.5
    # Filtering by the tag finds it, as with any tag.
    found = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["euca:lease-expires"]}])["Reservations"]
    assert [i["InstanceId"] for r in found for i in r["Instances"]] == [ident]
    wait_for(lambda: states(ec2, [ident])[ident] == "running", what="running")
    # Ended when the lease runs out (4 s), give or take a reconcile pass.
    wait_for(lambda: states(ec2, [ident])[ident] == "terminated", timeout=20, what="terminated by its lease")
    final = ec2.describe_instances(InstanceIds=[ident])["Reservations"][0]["Instances"][0]
    assert final["StateReason"]["Code"] == "Server.LeaseExpired"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ec2.create_tags(Resources=[ident], Tags=[{"Key": "euca:lease-expires", "Value": "never"}])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
