"""Tags on every taggable resource, tag filters, and pagination that survives changes."""

import pytest
from botocore.exceptions import ClientError

from conftest import states, wait_for


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_tags_round_trip_on_every_resource(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    run = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "x"}, {"Key": "Name", "Value": "web"}]}])
    ids = [i["InstanceId"] for i in run["Instances"]]
    assert sorted(t["Key"] for t in run["Instances"][0]["Tags"]) == ["Name", "team"]
    key = ec2.create_key_pair(KeyName="k", TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": "team", "Value": "y"}]}])
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    ec2.create_tags(Resources=[group, key["KeyPairId"]], Tags=[{"Key": "env", "Value": "test"}, {"Key": "empty", "Value": ""}])

    rows = ec2.describe_tags()["Tags"]
    assert {(r["ResourceType"], r["Key"]) for r in rows} == {
        ("instance", "team"), ("instance", "Name"), ("key-pair", "team"), ("key-pair", "env"), ("key-pair", "empty"),
        ("security-group", "env"), ("security-group", "empty")}
    assert len([r for r in rows if r["ResourceType"] == "instance"]) == 4
    only = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["key-pair"]}, {"Name": "key", "Values": ["e*"]}])["Tags"]
    assert sorted(r["Key"] for r in only) == ["empty", "env"]

    def instances(*filters):
        result = ec2.describe_instances(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return sorted(i["InstanceId"] for r in result["Reservations"] for i in r["Instances"])

    assert instances(("tag:team", ["x"])) == sorted(ids)
    assert instances(("tag:team", ["y"])) == []
    assert instances(("tag-key", ["Name"])) == sorted(ids)
    assert instances(("tag-value", ["w?b"])) == sorted(ids)
    pairs = ec2.describe_key_pairs(Filters=[{"Name": "tag:env", "Values": ["test"]}])["KeyPairs"]
    assert [p["KeyName"] for p in pairs] == ["k"]
    assert {t["Key"] for t in pairs[0]["Tags"]} == {"team", "env", "empty"}

    ec2.delete_tags(Resources=[ids[0]], Tags=[{"Key": "team", "Value": "not-x"}])  # value differs: kept
    ec2.delete_tags(Resources=[ids[0]], Tags=[{"Key": "Name"}])
    tags = {t["Key"]: t["Value"] for t in ec2.describe_instances(InstanceIds=[ids[0]])["Reservations"][0]["Instances"][0]["Tags"]}
    assert tags == {"team": "x"}
    ec2.delete_tags(Resources=[ids[1]])
    # As EC2 shows an instance without tags: no tag set at all.
    assert "Tags" not in ec2.describe_instances(InstanceIds=[ids[1]])["Reservations"][0]["Instances"][0]

    ec2.delete_key_pair(KeyName="k")
    assert not [r for r in ec2.describe_tags()["Tags"] if r["ResourceType"] == "key-pair"]


def test_tag_limits(cloud):
    ec2 = cloud.client()
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    ec2.create_tags(Resources=[group], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as too_many:
        ec2.create_tags(Resources=[group], Tags=[{"Key": "one-more", "Value": "v"}])
    assert code(too_many) == "TagLimitExceeded"
    with pytest.raises(ClientError) as long_key:
        ec2.create_tags(Resources=[group], Tags=[{"Key": "k" * 129, "Value": "v"}])
    assert code(long_key) == "InvalidParameterValue"
    with pytest.raises(ClientError) as long_value:
        ec2.create_tags(Resources=[group], Tags=[{"Key": "k0", "Value": "v" * 257}])
    assert code(long_value) == "InvalidParameterValue"
    ec2.create_tags(Resources=[group], Tags=[{"Key": "k0", "Value": "é" * 256}])  # characters, not bytes
    with pytest.raises(ClientError) as reserved:
        ec2.create_tags(Resources=[group], Tags=[{"Key": "AWS:thing", "Value": "v"}])
    assert code(reserved) == "InvalidParameterValue"


def test_paginators_walk_every_resource_once_while_things_change(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    first = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=12, MaxCount=12)["Instances"]]
    pages = ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5})
    seen = []
    for number, page in enumerate(pages):
        seen += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
        if number == 0:
            # Changes between pages: new instances come after the old ones; nothing is seen twice.
            ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3)
    assert len(seen) == len(set(seen))
    assert set(first) <= set(seen)
    assert len(seen) == 15

    page = ec2.describe_instances(MaxResults=5)
    assert sum(len(r["Instances"]) for r in page["Reservations"]) == 5 and page["NextToken"]
    with pytest.raises(ClientError) as combined:
        ec2.describe_instances(MaxResults=5, InstanceIds=first[:1])
    assert code(combined) == "InvalidParameterCombination"

    for index in range(7):
        ec2.create_security_group(GroupName=f"g{index}", Description="d")
    groups = [g["GroupName"] for p in ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 5})
              for g in p["SecurityGroups"]]
    assert sorted(groups) == sorted(["default"] + [f"g{i}" for i in range(7)])
    ec2.create_tags(Resources=first, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    rows = [(t["ResourceId"], t["Key"]) for p in ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5})
            for t in p["Tags"]]
    assert len(rows) == 24 and len(set(rows)) == 24
