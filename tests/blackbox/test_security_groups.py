"""Security groups with boto3: EC2's shapes, semantics and error codes."""

import pytest
from botocore.exceptions import ClientError

from conftest import states, wait_for


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_the_default_group_exists_on_first_use(cloud):
    ec2 = cloud.client()
    groups = ec2.describe_security_groups()["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    default = groups[0]
    assert default["GroupId"].startswith("sg-")
    assert default["IpPermissions"][0]["IpProtocol"] == "-1"
    assert default["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == default["GroupId"]
    assert default["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    with pytest.raises(ClientError) as reserved:
        ec2.delete_security_group(GroupName="default")
    assert code(reserved) == "CannotDelete"


def test_create_authorize_revoke_and_delete(cloud):
    ec2 = cloud.client()
    web = ec2.create_security_group(GroupName="web", Description="web servers",
                                    TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": "x"}]}])
    web_id = web["GroupId"]
    assert web["Tags"] == [{"Key": "team", "Value": "x"}]
    ssh = ec2.create_security_group(GroupName="ssh", Description="ssh")["GroupId"]
    with pytest.raises(ClientError) as duplicate:
        ec2.create_security_group(GroupName="web", Description="again")
    assert code(duplicate) == "InvalidGroup.Duplicate"

    ec2.authorize_security_group_ingress(GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "http"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": ssh}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "50", "IpRanges": [{"CidrIp": "192.168.0.0/16"}]},
    ])
    ec2.authorize_security_group_ingress(GroupName="web", IpProtocol="udp", FromPort=53, ToPort=53, CidrIp="10.1.0.0/16")
    group = ec2.describe_security_groups(GroupIds=[web_id])["SecurityGroups"][0]
    by_proto = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")): p for p in group["IpPermissions"]}
    assert by_proto[("tcp", 80, 80)]["IpRanges"] == [{"CidrIp": "0.0.0.0/0", "Description": "http"}]
    assert by_proto[("tcp", 80, 80)]["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}]
    assert by_proto[("tcp", 22, 22)]["UserIdGroupPairs"][0]["GroupId"] == ssh
    assert by_proto[("icmp", 8, -1)]["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    assert by_proto[("50", None, None)]["IpRanges"] == [{"CidrIp": "192.168.0.0/16"}]
    assert by_proto[("udp", 53, 53)]["IpRanges"] == [{"CidrIp": "10.1.0.0/16"}]

    with pytest.raises(ClientError) as again:
        ec2.authorize_security_group_ingress(GroupId=web_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert code(again) == "InvalidPermission.Duplicate"
    with pytest.raises(ClientError) as missing:
        ec2.revoke_security_group_ingress(GroupId=web_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 81, "ToPort": 81, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert code(missing) == "InvalidPermission.NotFound"

    found = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.from-port", "Values": ["22"]}])["SecurityGroups"]
    assert [g["GroupId"] for g in found] == [web_id]
    assert [g["GroupName"] for g in ec2.describe_security_groups(Filters=[{"Name": "tag:team", "Values": ["x"]}])["SecurityGroups"]] == ["web"]

    with pytest.raises(ClientError) as in_use:
        ec2.delete_security_group(GroupId=ssh)
    assert code(in_use) == "InvalidGroup.InUse"
    ec2.revoke_security_group_ingress(GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": ssh}]}])
    ec2.delete_security_group(GroupId=ssh)

    ec2.authorize_security_group_egress(GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}])
    ec2.revoke_security_group_egress(GroupId=web_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    egress = ec2.describe_security_groups(GroupIds=[web_id])["SecurityGroups"][0]["IpPermissionsEgress"]
    assert egress == [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "1.2.3.4/32"}],
                       "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]


@pytest.mark.parametrize("permission,expected", [
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 70000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 90, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "300.0.0.0/8"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/33"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "Ipv6Ranges": [{"CidrIpv6": "fe80::zz/64"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]}, "InvalidGroup.NotFound"),
])
def test_bad_rules_are_refused_and_change_nothing(cloud, permission, expected):
    ec2 = cloud.client()
    group = ec2.create_security_group(GroupName="g", Description="g")["GroupId"]
    before = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    with pytest.raises(ClientError) as excinfo:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[permission])
    assert code(excinfo) == expected
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"] == before


def test_instances_launch_into_groups_and_keep_them_in_use(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    app = ec2.create_security_group(GroupName="app", Description="app")["GroupId"]
    run = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["default"], SecurityGroupIds=[app])
    instance = run["Instances"][0]
    assert sorted(g["GroupName"] for g in instance["SecurityGroups"]) == ["app", "default"]
    assert sorted(g["GroupName"] for g in run["Groups"]) == ["app", "default"]
    ids = [instance["InstanceId"]]
    wait_for(lambda: states(ec2, ids) == {ids[0]: "running"}, what="running")
    described = ec2.describe_instances(Filters=[{"Name": "instance.group-id", "Values": [app]}])["Reservations"]
    assert [i["InstanceId"] for r in described for i in r["Instances"]] == ids
    with pytest.raises(ClientError) as in_use:
        ec2.delete_security_group(GroupId=app)
    assert code(in_use) == "InvalidGroup.InUse"
    with pytest.raises(ClientError) as unknown:
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["nope"])
    assert code(unknown) == "InvalidGroup.NotFound"
    ec2.terminate_instances(InstanceIds=ids)
    wait_for(lambda: states(ec2, ids) == {ids[0]: "terminated"}, what="terminated")
    ec2.delete_security_group(GroupId=app)


def test_rules_have_ids_in_the_authorize_answer_and_in_describe_security_group_rules(cloud):
    ec2 = cloud.client()
    group = ec2.create_security_group(GroupName="rules", Description="rules")["GroupId"]
    answer = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}]}])
    [rule] = answer["SecurityGroupRules"]
    assert rule["SecurityGroupRuleId"].startswith("sgr-") and rule["GroupId"] == group and rule["IsEgress"] is False
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["CidrIpv4"], rule["Description"]) == (
        "tcp", 22, 22, "10.0.0.0/8", "ssh")
    of_group = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    assert rule["SecurityGroupRuleId"] in {r["SecurityGroupRuleId"] for r in of_group}
    assert ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])["SecurityGroupRules"] == [rule]
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    with pytest.raises(ClientError) as gone:
        ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    assert code(gone) == "InvalidSecurityGroupRuleId.NotFound"
