"""Bad requests get EC2's error codes and statuses, and change nothing."""

import datetime
import urllib.error
import urllib.request
from unittest import mock
from xml.etree import ElementTree

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest


def signed(cloud, params: dict, secret: str | None = None, when: datetime.datetime | None = None,
           path: str = "/", body: bytes | None = None) -> tuple[int, str, str]:
    """POSTs `params` signed with SigV4 (optionally with another secret or at another time);
    returns the status, the error code (or "") and the body."""
    creds = cloud.credentials
    data = body if body is not None else "&".join(
        f"{k}={urllib.parse.quote(str(v), safe='')}" for k, v in {"Version": "2016-11-15", **params}.items()).encode()
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=cloud.endpoint + path, data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds["access_key"], secret or creds["secret_key"]), "ec2", creds["region"])
    if when is not None:
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
            signer.add_auth(request)
    else:
        signer.add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=data, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, "", response.read().decode()
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        code = ElementTree.fromstring(text).findtext("./Errors/Error/Code") or ""
        return error.code, code, text


def snapshot(cloud) -> tuple:
    """Everything a bad request must leave alone."""
    ec2 = cloud.client()
    instances = sorted(
        (i["InstanceId"], i["InstanceType"], i.get("KeyName"))
        for r in ec2.describe_instances()["Reservations"] for i in r["Instances"])
    keys = sorted((k["KeyName"], k["KeyFingerprint"]) for k in ec2.describe_key_pairs()["KeyPairs"])
    images = sorted(i["ImageId"] for i in ec2.describe_images()["Images"])
    return instances, keys, images


@pytest.fixture
def populated(cloud):
    ec2 = cloud.client()
    ec2.create_key_pair(KeyName="k")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, KeyName="k")
    return cloud, image


def run_params(image, **extra):
    return {"Action": "RunInstances", "ImageId": image, "MinCount": "1", "MaxCount": "1", **extra}


CASES = [
    # name, how to send, expected status, expected code
    ("wrong secret", lambda c, img: signed(c, run_params(img), secret="x" * 40), 401, "AuthFailure"),
    ("signed 20 minutes ago",
     lambda c, img: signed(c, run_params(img), when=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)),
     400, "RequestExpired"),
    ("unknown image", lambda c, img: signed(c, run_params("ami-0123456789abcdef0")), 400, "InvalidAMIID.NotFound"),
    ("malformed image id", lambda c, img: signed(c, run_params("ami-xyz")), 400, "InvalidAMIID.Malformed"),
    ("unknown instance type", lambda c, img: signed(c, run_params(img, InstanceType="m9.huge")), 400, "InvalidParameterValue"),
    ("MaxCount 0", lambda c, img: signed(c, run_params(img, MaxCount="0")), 400, "InvalidParameterValue"),
    ("MaxCount -1", lambda c, img: signed(c, run_params(img, MaxCount="-1")), 400, "InvalidParameterValue"),
    ("MinCount over MaxCount", lambda c, img: signed(c, run_params(img, MinCount="3", MaxCount="2")), 400, "InvalidParameterValue"),
    ("MaxCount not a number", lambda c, img: signed(c, run_params(img, MaxCount="many")), 400, "InvalidParameterValue"),
    ("unknown key pair", lambda c, img: signed(c, run_params(img, KeyName="nope")), 400, "InvalidKeyPair.NotFound"),
    ("unknown zone", lambda c, img: signed(c, run_params(img, **{"Placement.AvailabilityZone": "nowhere"})), 400, "InvalidParameterValue"),
    ("user data not base64", lambda c, img: signed(c, run_params(img, UserData="%%%")), 400, "InvalidUserData.Malformed"),
    ("no ImageId", lambda c, img: signed(c, {"Action": "RunInstances", "MinCount": "1", "MaxCount": "1"}), 400, "MissingParameter"),
    ("too many instances", lambda c, img: signed(c, run_params(img, MinCount="100000", MaxCount="100000")), 400, "InstanceLimitExceeded"),
    ("no capacity", lambda c, img: signed(c, run_params(img, MinCount="900", MaxCount="900", InstanceType="c1.xlarge")), 500,
     "InsufficientInstanceCapacity"),
    ("malformed instance id", lambda c, img: signed(c, {"Action": "TerminateInstances", "InstanceId.1": "i-xyz"}), 400,
     "InvalidInstanceID.Malformed"),
    ("unknown instance", lambda c, img: signed(c, {"Action": "TerminateInstances", "InstanceId.1": "i-0123456789abcdef0"}), 400,
     "InvalidInstanceID.NotFound"),
    ("no instance id", lambda c, img: signed(c, {"Action": "StopInstances"}), 400, "MissingParameter"),
    ("unknown action", lambda c, img: signed(c, {"Action": "LaunchRockets"}), 400, "InvalidAction"),
    ("an action not offered yet", lambda c, img: signed(c, {"Action": "CreateVolume", "Size": "1"}), 400, "Unsupported"),
    ("tags for the wrong resource type", lambda c, img: signed(c, {"Action": "CreateKeyPair", "KeyName": "t",
                                                                   "TagSpecification.1.ResourceType": "instance"}), 400,
     "InvalidParameterValue"),
    ("a reserved tag key", lambda c, img: signed(c, {"Action": "CreateKeyPair", "KeyName": "t",
                                                     "TagSpecification.1.ResourceType": "key-pair",
                                                     "TagSpecification.1.Tag.1.Key": "aws:x", "TagSpecification.1.Tag.1.Value": "v"}),
     400, "InvalidParameterValue"),
    ("tagging a missing instance", lambda c, img: signed(c, {"Action": "CreateTags", "ResourceId.1": "i-0123456789abcdef0",
                                                             "Tag.1.Key": "k", "Tag.1.Value": "v"}), 400, "InvalidInstanceID.NotFound"),
    ("tagging a malformed id", lambda c, img: signed(c, {"Action": "CreateTags", "ResourceId.1": "vol-12",
                                                         "Tag.1.Key": "k", "Tag.1.Value": "v"}), 400, "InvalidID"),
    ("MaxResults out of range", lambda c, img: signed(c, {"Action": "DescribeInstances", "MaxResults": "2"}), 400,
     "InvalidParameterValue"),
    ("a bad NextToken", lambda c, img: signed(c, {"Action": "DescribeInstances", "NextToken": "%%%"}), 400, "InvalidParameterValue"),
    ("a duplicate key pair", lambda c, img: signed(c, {"Action": "CreateKeyPair", "KeyName": "k"}), 400, "InvalidKeyPair.Duplicate"),
    ("a bad public key", lambda c, img: signed(c, {"Action": "ImportKeyPair", "KeyName": "bad",
                                                   "PublicKeyMaterial": "c3NoLXJzYSBub3BlCg=="}), 400, "InvalidKey.Format"),
    ("dry run", lambda c, img: signed(c, run_params(img, DryRun="true")), 412, "DryRunOperation"),
    # EC2's own codes, one row each.
    ("an unknown public address", lambda c, img: signed(c, {"Action": "DescribeAddresses", "PublicIp.1": "10.99.0.99"}), 400,
     "InvalidAddress.NotFound"),
    ("associating an unknown public address", lambda c, img: signed(c, {"Action": "AssociateAddress", "PublicIp": "10.99.0.99",
                                                                        "InstanceId": "i-0123456789abcdef0"}), 400,
     "InvalidAddress.NotFound"),
    ("disassociating an unknown public address", lambda c, img: signed(c, {"Action": "DisassociateAddress", "PublicIp": "10.99.0.99"}),
     400, "InvalidAddress.NotFound"),
    ("releasing an unknown public address", lambda c, img: signed(c, {"Action": "ReleaseAddress", "PublicIp": "10.99.0.99"}), 400,
     "InvalidAddress.NotFound"),
    ("an unknown association", lambda c, img: signed(c, {"Action": "DisassociateAddress", "AssociationId": "eipassoc-0123456789abcdef0"}),
     400, "InvalidAssociationID.NotFound"),
    ("a malformed allocation id", lambda c, img: signed(c, {"Action": "ReleaseAddress", "AllocationId": "bogus"}), 400,
     "InvalidAllocationID.Malformed"),
    ("an unknown allocation id", lambda c, img: signed(c, {"Action": "ReleaseAddress", "AllocationId": "eipalloc-0123456789abcdef0"}),
     400, "InvalidAllocationID.NotFound"),
    ("an unknown instance type described", lambda c, img: signed(c, {"Action": "DescribeInstanceTypes", "InstanceType.1": "m9.huge"}),
     400, "InvalidInstanceType"),
    ("deleting the default group", lambda c, img: signed(c, {"Action": "DeleteSecurityGroup", "GroupName": "default"}), 400,
     "CannotDelete"),
    ("a launch permission for no account", lambda c, img: signed(c, {"Action": "ModifyImageAttribute", "ImageId": img,
                                                                     "LaunchPermission.Add.1.UserId": "abc"}), 400,
     "InvalidAMIAttributeItemValue"),
    ("no action", lambda c, img: signed(c, {}), 400, "MissingAction"),
    ("a prefix-list rule", lambda c, img: signed(c, {"Action": "AuthorizeSecurityGroupIngress", "GroupName": "default",
                                                     "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22",
                                                     "IpPermissions.1.ToPort": "22",
                                                     "IpPermissions.1.PrefixListIds.1.PrefixListId": "pl-12345678"}), 400,
     "Unsupported"),
    ("an undocumented parameter", lambda c, img: signed(c, run_params(img, Bogus="x")), 400, "UnknownParameter"),
    ("a documented parameter not acted on", lambda c, img: signed(c, run_params(img, **{"CpuOptions.CoreCount": "1"})), 400,
     "Unsupported"),
    ("a 2 MiB body", lambda c, img: signed(c, {}, body=b"Action=DescribeRegions&Pad=" + b"x" * (2 << 20)), 413,
     "RequestEntityTooLarge"),
]


@pytest.mark.parametrize("name,send,status,code", CASES, ids=[c[0] for c in CASES])
def test_bad_requests_get_ec2_errors_and_change_nothing(populated, name, send, status, code):
    cloud, image = populated
    before = snapshot(cloud)
    got_status, got_code, body = send(cloud, image)
    assert (got_status, got_code) == (status, code), body
    assert "<RequestID>" in body
    assert snapshot(cloud) == before
    # The daemon is still there and still answers.
    assert cloud.client().describe_regions()["Regions"]


def test_an_unsigned_request_is_refused(cloud):
    status, body = cloud.get("/?Action=DescribeRegions&Version=2016-11-15")
    assert status == 401
    assert "<Code>MissingAuthenticationToken</Code>" in body


def test_an_unknown_access_key_is_an_auth_failure(cloud):
    import boto3
    import botocore.config
    from botocore.exceptions import ClientError

    client = boto3.client("ec2", endpoint_url=cloud.endpoint, aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                          aws_secret_access_key="x" * 40, region_name="eucalyptus",
                          config=botocore.config.Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as excinfo:
        client.describe_regions()
    assert excinfo.value.response["Error"]["Code"] == "AuthFailure"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
