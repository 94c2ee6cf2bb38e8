"""STS on the EC2 endpoint: GetCallerIdentity as boto3, the aws CLI and Ansible ask it, with STS'
own errors, and no crossing between what is signed for STS and what is signed for EC2."""

import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions
import pytest

STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def sts(cloud, access_key=None, secret=None):
    creds = cloud.credentials
    return boto3.client(
        "sts", endpoint_url=cloud.endpoint, region_name=creds["region"],
        aws_access_key_id=access_key or creds["access_key"], aws_secret_access_key=secret or creds["secret_key"],
        config=botocore.config.Config(retries={"max_attempts": 1}))


def post(cloud, params: dict, service: str | None = "sts") -> tuple[int, str]:
    """POSTs `params`, signed with SigV4 for `service` (unsigned when None); returns status and body."""
    creds = cloud.credentials
    data = urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if service is not None:
        request = botocore.awsrequest.AWSRequest(method="POST", url=cloud.endpoint + "/", data=data, headers=headers)
        botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(creds["access_key"], creds["secret_key"]), service, creds["region"]).add_auth(request)
        headers = dict(request.prepare().headers)
    http = urllib.request.Request(cloud.endpoint + "/", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sts_error(body: str) -> str:
    root = ElementTree.fromstring(body)
    assert root.tag == STS_NS + "ErrorResponse", body
    assert root.findtext(f"{STS_NS}Error/{STS_NS}Type") in ("Sender", "Receiver")
    assert root.findtext(f"{STS_NS}RequestId")
    return root.findtext(f"{STS_NS}Error/{STS_NS}Code")


def test_get_caller_identity_names_the_account_and_its_user(cloud):
    account = cloud.client().describe_security_groups()["SecurityGroups"][0]["OwnerId"]
    first = sts(cloud).get_caller_identity()
    assert first["Account"] == account
    assert first["Arn"] == f"arn:aws:iam::{account}:user/admin"
    assert first["UserId"].startswith("AIDA") and len(first["UserId"]) == 21 and first["UserId"].isalnum()
    # The same user has the same id on every call, and after a restart.
    cloud.stop()
    cloud.restart()
    again = sts(cloud).get_caller_identity()
    assert {k: again[k] for k in ("Account", "Arn", "UserId")} == {k: first[k] for k in ("Account", "Arn", "UserId")}
    # The aws CLI, with only the files euca-cloud wrote.
    result = cloud.aws("sts", "get-caller-identity", "--output", "json")
    assert f'"Account": "{account}"' in result.stdout


@pytest.mark.parametrize("name, tamper, code, status", [
    ("unknown key", {"access_key": "AKIAIOSFODNN7EXAMPLE"}, "InvalidClientTokenId", 403),
    ("wrong secret", {"secret": "x" * 40}, "SignatureDoesNotMatch", 403),
])
def test_bad_credentials_get_sts_errors(cloud, name, tamper, code, status):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sts(cloud, **tamper).get_caller_identity()
    assert raised.value.response["Error"]["Code"] == code, name
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_other_sts_actions_are_refused_by_name(cloud):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sts(cloud).assume_role(RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="session")
    assert raised.value.response["Error"]["Code"] == "NotImplemented"
    assert "AssumeRole" in raised.value.response["Error"]["Message"]
    status, body = post(cloud, {"Action": "DescribeInstances", "Version": "2011-06-15"})
    assert (status, sts_error(body)) == (400, "InvalidAction")


def test_a_signature_for_sts_does_not_open_ec2_nor_the_reverse(cloud):
    # EC2's action, signed for STS: STS answers, and it has no such action.
    status, body = post(cloud, {"Action": "DescribeInstances", "Version": "2016-11-15"})
    assert status == 400 and sts_error(body) == "InvalidParameterValue"
    status, body = post(cloud, {"Action": "TerminateInstances", "Version": "2011-06-15", "InstanceId.1": "i-0123456789abcdef0"})
    assert status == 400 and sts_error(body) == "InvalidAction"
    # STS' action, signed for EC2: EC2 answers, and knows no such version.
    status, body = post(cloud, {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, service="ec2")
    assert status == 400 and ElementTree.fromstring(body).findtext("./Errors/Error/Code") == "NoSuchVersion"


def test_unsigned_and_sigv2_sts_requests_are_refused(cloud):
    status, body = post(cloud, {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, service=None)
    assert (status, sts_error(body)) == (403, "MissingAuthenticationToken")
    creds = cloud.credentials
    params = {"Action": "GetCallerIdentity", "Version": "2011-06-15", "AWSAccessKeyId": creds["access_key"],
              "SignatureVersion": "2", "SignatureMethod": "HmacSHA256", "Timestamp": "2026-01-01T00:00:00Z",
              "Signature": "x"}
    status, body = post(cloud, params, service=None)
    assert (status, sts_error(body)) == (400, "IncompleteSignature")
