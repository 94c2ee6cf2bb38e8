"""A scripted aws CLI session over security groups, tags, elastic IPs, filters and pagination."""

import json

from conftest import wait_for


def cli(cloud, *args):
    result = cloud.aws(*args, "--output", "json")
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_a_cli_session_over_the_api_breadth(cloud):
    group = cli(cloud, "ec2", "create-security-group", "--group-name", "web", "--description", "web servers")["GroupId"]
    cloud.aws("ec2", "authorize-security-group-ingress", "--group-id", group, "--protocol", "tcp", "--port", "22",
              "--cidr", "10.0.0.0/8")
    cloud.aws("ec2", "authorize-security-group-ingress", "--group-name", "web", "--ip-permissions",
              '[{"IpProtocol":"tcp","FromPort":80,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]')
    rules = cli(cloud, "ec2", "describe-security-groups", "--group-ids", group)["SecurityGroups"][0]["IpPermissions"]
    assert sorted(r["FromPort"] for r in rules) == [22, 80]

    image = cli(cloud, "ec2", "describe-images", "--owners", "eucalyptus")["Images"][0]["ImageId"]
    run = cli(cloud, "ec2", "run-instances", "--image-id", image, "--count", "3", "--security-groups", "web",
              "--tag-specifications", "ResourceType=instance,Tags=[{Key=team,Value=x}]")
    ids = [i["InstanceId"] for i in run["Instances"]]
    wait_for(lambda: all(i["State"]["Name"] == "running" for r in cli(cloud, "ec2", "describe-instances", "--instance-ids", *ids)["Reservations"]
                         for i in r["Instances"]), what="running")

    cloud.aws("ec2", "create-tags", "--resources", ids[0], "--tags", "Key=role,Value=db")
    tagged = cli(cloud, "ec2", "describe-instances", "--filters", "Name=tag:role,Values=db", "Name=instance-state-name,Values=running")
    assert [i["InstanceId"] for r in tagged["Reservations"] for i in r["Instances"]] == [ids[0]]
    tags = cli(cloud, "ec2", "describe-tags", "--filters", f"Name=resource-id,Values={ids[0]}")["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("role", "db"), ("team", "x")]
    # The CLI pages by itself: a page size of 5 still lists every instance once.
    listed = cli(cloud, "ec2", "describe-instances", "--page-size", "5", "--query", "Reservations[].Instances[].InstanceId")
    assert sorted(listed) == sorted(ids)

    address = cli(cloud, "ec2", "allocate-address")
    cloud.aws("ec2", "associate-address", "--instance-id", ids[1], "--public-ip", address["PublicIp"])
    described = cli(cloud, "ec2", "describe-instances", "--instance-ids", ids[1])["Reservations"][0]["Instances"][0]
    assert described["PublicIpAddress"] == address["PublicIp"]
    cloud.aws("ec2", "disassociate-address", "--public-ip", address["PublicIp"])
    cloud.aws("ec2", "release-address", "--allocation-id", address["AllocationId"])

    dry = cloud.aws("ec2", "terminate-instances", "--instance-ids", ids[2], "--dry-run", check=False)
    assert dry.returncode != 0 and "DryRunOperation" in dry.stderr
    cloud.aws("ec2", "modify-instance-attribute", "--instance-id", ids[2], "--disable-api-termination")
    refused = cloud.aws("ec2", "terminate-instances", "--instance-ids", ids[2], check=False)
    assert refused.returncode != 0 and "OperationNotPermitted" in refused.stderr
    cloud.aws("ec2", "modify-instance-attribute", "--instance-id", ids[2], "--no-disable-api-termination")
    cloud.aws("ec2", "terminate-instances", "--instance-ids", *ids)
    status = cli(cloud, "ec2", "describe-account-attributes", "--attribute-names", "supported-platforms")
    assert status["AccountAttributes"][0]["AttributeValues"] == [{"AttributeValue": "EC2"}, {"AttributeValue": "VPC"}]
