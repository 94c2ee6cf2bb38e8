"""Requests as euca2ools and other older clients send them: SigV2 (HmacSHA256 and HmacSHA1) over
POST and GET at /services/Eucalyptus, API versions from 2008 to 2016, SigV4 with a region name the
operator lists as an alias; responses in each version's namespace and shape."""

import base64
import datetime
import hashlib
import hmac
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from conftest import states, wait_for


def rfc3986(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def sigv2(cloud, params: dict, method="POST", path="/services/Eucalyptus", signature_method="HmacSHA256",
          when: datetime.datetime | None = None, expires: datetime.datetime | None = None) -> tuple[int, ElementTree.Element]:
    """Signs and sends `params` with Signature Version 2, as the AWS documentation describes it."""
    creds = cloud.credentials
    host = urllib.parse.urlsplit(cloud.endpoint).netloc
    signed = dict(params)
    signed.update({"AWSAccessKeyId": creds["access_key"], "SignatureVersion": "2", "SignatureMethod": signature_method})
    if expires:
        signed["Expires"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        signed["Timestamp"] = (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = "&".join(f"{rfc3986(k)}={rfc3986(str(v))}" for k, v in sorted(signed.items()))
    digest = hashlib.sha256 if signature_method == "HmacSHA256" else hashlib.sha1
    to_sign = f"{method}\n{host}\n{path}\n{query}"
    signed["Signature"] = base64.b64encode(hmac.new(creds["secret_key"].encode(), to_sign.encode(), digest).digest()).decode()
    body = urllib.parse.urlencode(signed)
    if method == "GET":
        request = urllib.request.Request(cloud.endpoint + path + "?" + body, method="GET")
    else:
        request = urllib.request.Request(cloud.endpoint + path, data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, ElementTree.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, ElementTree.fromstring(error.read())


def ns(version):
    return "{http://ec2.amazonaws.com/doc/" + version + "/}"


@pytest.mark.parametrize("version", ["2008-12-01", "2009-11-30", "2010-08-31", "2011-01-01", "2013-02-01", "2014-06-15",
                                     "2015-10-01", "2016-11-15"])
@pytest.mark.parametrize("method,signature_method", [("POST", "HmacSHA256"), ("GET", "HmacSHA1")])
def test_sigv2_in_every_version(cloud, version, method, signature_method):
    status, root = sigv2(cloud, {"Action": "DescribeAvailabilityZones", "Version": version}, method=method,
                         signature_method=signature_method)
    assert status == 200
    assert root.tag == ns(version) + "DescribeAvailabilityZonesResponse"
    assert root.find(f"{ns(version)}availabilityZoneInfo/{ns(version)}item/{ns(version)}zoneName").text == "cluster01"


def test_sigv2_errors(cloud):
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    status, root = sigv2(cloud, {"Action": "DescribeRegions", "Version": "2013-02-01"}, when=old)
    assert (status, root.findtext("Errors/Error/Code")) == (400, "RequestExpired")
    gone = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    status, root = sigv2(cloud, {"Action": "DescribeRegions", "Version": "2013-02-01"}, expires=gone)
    assert (status, root.findtext("Errors/Error/Code")) == (400, "RequestExpired")
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    status, _ = sigv2(cloud, {"Action": "DescribeRegions", "Version": "2013-02-01"}, expires=soon)
    assert status == 200
    status, root = sigv2(cloud, {"Action": "DescribeRegions", "Version": "1999-01-01"})
    assert (status, root.findtext("Errors/Error/Code")) == (400, "NoSuchVersion")


def test_old_versions_see_group_names_where_group_ids_later_went(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_security_group(GroupName="web", Description="web")
    run = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["web"])
    instance = run["Instances"][0]["InstanceId"]
    wait_for(lambda: states(ec2, [instance])[instance] == "running", what="running")
    for version, expected in [("2009-11-30", "web"), ("2014-06-15", run["Instances"][0]["SecurityGroups"][0]["GroupId"])]:
        status, root = sigv2(cloud, {"Action": "DescribeInstances", "Version": version})
        assert status == 200
        n = ns(version)
        group = root.find(f"{n}reservationSet/{n}item/{n}groupSet/{n}item/{n}groupId")
        assert group.text == expected
        status, root = sigv2(cloud, {"Action": "DescribeSecurityGroups", "Version": version, "GroupName.1": "web"})
        has_id = root.find(f"{n}securityGroupInfo/{n}item/{n}groupId") is not None
        assert has_id == (version >= "2011-01-01")


def euca2ools_sigv4(cloud, region: str) -> tuple[int, ElementTree.Element]:
    """Signs as euca2ools 3.3+ does: SigV4, POST, Version 2015-10-01, and the region its
    configuration names (often the cloud's host name)."""
    creds = cloud.credentials
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(creds["access_key"], creds["secret_key"]), "ec2", region)
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=cloud.endpoint + "/services/Eucalyptus", data="Action=DescribeKeyPairs&Version=2015-10-01",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    signer.add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=prepared.body.encode(), headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=10) as response:
            return response.status, ElementTree.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, ElementTree.fromstring(error.read())


def test_euca2ools_sigv4_with_a_region_the_operator_lists(tmp_path):
    """A region name of the client's own is accepted when REGION_ALIASES lists it, and only then."""
    from conftest import Cloud
    cloud = Cloud(tmp_path / "var", env={"REGION_ALIASES": "cloud.example.com, undefined-4242"}).start()
    try:
        for region in ["eucalyptus", "cloud.example.com", "undefined-4242"]:
            status, root = euca2ools_sigv4(cloud, region)
            assert status == 200, region
            assert root.tag == ns("2015-10-01") + "DescribeKeyPairsResponse"
        status, root = euca2ools_sigv4(cloud, "us-east-1")
        assert (status, root.findtext("Errors/Error/Code")) == (403, "SignatureDoesNotMatch")
        assert "valid region" in root.findtext("Errors/Error/Message")
    finally:
        cloud.stop()


def test_libcloud_style_numbering_from_zero(cloud):
    ec2 = cloud.client()
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    status, _ = sigv2(cloud, {"Action": "CreateTags", "Version": "2016-11-15", "ResourceId.0": group,
                              "Tag.0.Key": "a", "Tag.0.Value": "1", "Tag.1.Key": "b", "Tag.1.Value": "2"}, method="GET")
    assert status == 200
    tags = {t["Key"]: t["Value"] for t in ec2.describe_tags()["Tags"]}
    assert tags == {"a": "1", "b": "2"}
