"""Malformed input of every kind gets an EC2 error, never a 500, and changes nothing."""

import string

from hypothesis import HealthCheck, given, settings, strategies as st

from test_errors import signed, snapshot

ACTIONS = ["RunInstances", "DescribeInstances", "TerminateInstances", "StopInstances", "StartInstances", "RebootInstances",
           "CreateKeyPair", "ImportKeyPair", "DeleteKeyPair", "DescribeKeyPairs", "DescribeImages", "RegisterImage",
           "DeregisterImage", "ModifyImageAttribute", "CreateSecurityGroup", "DeleteSecurityGroup",
           "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupEgress", "DescribeSecurityGroups", "CreateTags",
           "DeleteTags", "DescribeTags", "AllocateAddress", "AssociateAddress", "ReleaseAddress", "DescribeAddresses",
           "ModifyInstanceAttribute", "DescribeInstanceAttribute", "DescribeInstanceStatus", "GetConsoleOutput",
           "DescribeAvailabilityZones", "DescribeRegions", "DescribeInstanceTypes", "DescribeAccountAttributes"]
NAMES = ["ImageId", "MinCount", "MaxCount", "InstanceId", "InstanceId.1", "KeyName", "GroupName", "GroupId",
         "IpPermissions.1.IpProtocol", "IpPermissions.1.FromPort", "IpPermissions.1.IpRanges.1.CidrIp", "Filter.1.Name",
         "Filter.1.Value.1", "MaxResults", "NextToken", "ResourceId.1", "Tag.1.Key", "Tag.1.Value", "UserData",
         "PublicKeyMaterial", "AllocationId", "PublicIp", "Attribute", "Value", "Name", "ImageLocation", "DryRun",
         "TagSpecification.1.ResourceType", "TagSpecification.1.Tag.1.Key", "ClientToken", "InstanceType",
         "Placement.AvailabilityZone", "Description", "GroupDescription", "KernelId", "LaunchPermission.Add.1.UserId"]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["-1", "0", "99999999999999999999", "i-xyz", "ami-", "sg-", "true", "maybe", "", "%", "\u0000",
                     "tcp", "300.1.1.1/8", "a" * 300, "i-0123456789abcdef0", "ami-0123456789abcdef0"]),
    st.integers(min_value=-2**63, max_value=2**63).map(str),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(ACTIONS), params=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6))
def test_random_parameters_never_cause_a_server_error(cloud, action, params):
    status, code, body = signed(cloud, {"Action": action, **params})
    assert status < 500 or code == "InsufficientInstanceCapacity", body


def test_bytes_that_are_not_utf8_repeated_parameters_and_huge_values(cloud):
    before = snapshot(cloud)
    status, code, _ = signed(cloud, {}, body=b"Action=CreateKeyPair&Version=2016-11-15&KeyName=%FF%FE")
    assert (status, code) == (400, "InvalidParameterValue")
    status, code, _ = signed(cloud, {}, body=b"Action=CreateKeyPair&Version=2016-11-15&KeyName=a&KeyName=b")
    assert (status, code) == (400, "InvalidParameterValue")
    status, code, _ = signed(cloud, {"Action": "CreateKeyPair", "KeyName": "k" * 70000})
    assert (status, code) == (400, "InvalidParameterValue")
    status, code, _ = signed(cloud, {"Action": "CreateKeyPair", "KeyName": "k" * 300})
    assert (status, code) == (400, "InvalidParameterValue")
    status, code, _ = signed(cloud, {"Action": "CreateKeyPair", "KeyName": "tab\there"})
    assert (status, code) == (400, "InvalidParameterValue")
    assert snapshot(cloud) == before
