"""Attacks on the running euca-cloud, each written down as it was tried: a captured signature
stretched over another body, service or region, an unsigned host, a request valid for decades,
ids a thousand times too long, and clients that never finish. Each is refused with EC2's code,
changes nothing, and the honest form beside it still works."""

import datetime
import hashlib
import select
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from conftest import Cloud
from test_errors import signed, snapshot
from test_old_clients import sigv2

DESCRIBE = b"Action=DescribeRegions&Version=2016-11-15"
CREATE_KEY = b"Action=CreateKeyPair&Version=2016-11-15&KeyName=stolen"


def send(cloud, request: botocore.awsrequest.AWSRequest, body: bytes | None = None) -> tuple[int, str, str]:
    """Sends a request as signed, optionally with another body; returns status, error code, text."""
    prepared = request.prepare()
    data = body if body is not None else prepared.body
    if isinstance(data, str):
        data = data.encode()
    # urllib sets Content-Length from the body actually sent.
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    http = urllib.request.Request(prepared.url, data=data, headers=headers, method=prepared.method)
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, "", response.read().decode()
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, ElementTree.fromstring(text).findtext("./Errors/Error/Code") or "", text


def form_request(cloud, body: bytes, headers: dict | None = None) -> botocore.awsrequest.AWSRequest:
    return botocore.awsrequest.AWSRequest(
        method="POST", url=cloud.endpoint + "/", data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})})


def credentials(cloud):
    creds = cloud.credentials
    return botocore.credentials.Credentials(creds["access_key"], creds["secret_key"])


def key_names(cloud):
    return sorted(k["KeyName"] for k in cloud.client().describe_key_pairs()["KeyPairs"])


def test_a_captured_signature_does_not_carry_another_body(cloud):
    before = key_names(cloud)
    digest = hashlib.sha256(DESCRIBE).hexdigest()
    request = form_request(cloud, DESCRIBE, {"X-Amz-Content-SHA256": digest})
    botocore.auth.SigV4Auth(credentials(cloud), "ec2", cloud.credentials["region"]).add_auth(request)
    # The honest request passes, with its declared hash ...
    assert send(cloud, request)[0] == 200
    # ... and the same signature over another body does not, with or without the header.
    assert send(cloud, request, CREATE_KEY)[:2] == (403, "SignatureDoesNotMatch")
    plain = form_request(cloud, DESCRIBE)
    botocore.auth.SigV4Auth(credentials(cloud), "ec2", cloud.credentials["region"]).add_auth(plain)
    assert send(cloud, plain, CREATE_KEY)[:2] == (401, "AuthFailure")
    # A declared hash that is not the body's, and an unsigned payload, are refused.
    wrong = form_request(cloud, CREATE_KEY, {"X-Amz-Content-SHA256": digest})
    botocore.auth.SigV4Auth(credentials(cloud), "ec2", cloud.credentials["region"]).add_auth(wrong)
    assert send(cloud, wrong)[:2] == (403, "SignatureDoesNotMatch")
    unsigned = form_request(cloud, CREATE_KEY, {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    botocore.auth.SigV4Auth(credentials(cloud), "ec2", cloud.credentials["region"]).add_auth(unsigned)
    assert send(cloud, unsigned)[:2] == (403, "SignatureDoesNotMatch")
    assert key_names(cloud) == before


@pytest.mark.parametrize("service,region", [("ec2", "us-east-1"), ("ec2", ""), ("s3", None), ("iam", None), ("sts", None),
                                            ("euca-admin", None)])
def test_a_signature_scoped_elsewhere_is_refused(cloud, service, region):
    region = cloud.credentials["region"] if region is None else region
    before = key_names(cloud)

    def refused(status, code, body):
        if service == "sts":
            # STS, on the same endpoint, takes it: it has no such action, and says so in its own document.
            return status == 400 and "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">" in body
        if service == "iam":
            # So does IAM: EC2's version is not its own.
            return status == 400 and "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">" in body
        return (status, code) == (403, "SignatureDoesNotMatch")

    request = form_request(cloud, CREATE_KEY)
    botocore.auth.SigV4Auth(credentials(cloud), service, region).add_auth(request)
    assert refused(*send(cloud, request))
    # The presigned form too.
    query = botocore.awsrequest.AWSRequest(method="GET", url=cloud.endpoint + "/?" + CREATE_KEY.decode())
    botocore.auth.SigV4QueryAuth(credentials(cloud), service, region, expires=300).add_auth(query)
    assert refused(*send(cloud, query))
    assert key_names(cloud) == before


def test_the_honest_presigned_form_works(cloud):
    query = botocore.awsrequest.AWSRequest(method="GET", url=cloud.endpoint + "/?" + DESCRIBE.decode())
    botocore.auth.SigV4QueryAuth(credentials(cloud), "ec2", cloud.credentials["region"], expires=300).add_auth(query)
    assert send(cloud, query)[0] == 200
    week = botocore.awsrequest.AWSRequest(method="GET", url=cloud.endpoint + "/?" + DESCRIBE.decode())
    botocore.auth.SigV4QueryAuth(credentials(cloud), "ec2", cloud.credentials["region"], expires=604801).add_auth(week)
    assert send(cloud, week)[:2] == (400, "IncompleteSignature")


def signer_without(header: str) -> type:
    """botocore's SigV4 signer, leaving `header` out of the signed headers."""
    class Without(botocore.auth.SigV4Auth):
        def headers_to_sign(self, request):
            headers = super().headers_to_sign(request)
            del headers[header]
            return headers
    return Without


def test_a_signature_that_leaves_out_host_is_refused(cloud):
    before = key_names(cloud)
    request = form_request(cloud, CREATE_KEY)
    signer_without("host")(credentials(cloud), "ec2", cloud.credentials["region"]).add_auth(request)
    assert "host" not in request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert send(cloud, request)[:2] == (400, "IncompleteSignature")
    assert key_names(cloud) == before


def date_header_request(cloud, body: bytes, signer_class=botocore.auth.SigV4Auth) -> botocore.awsrequest.AWSRequest:
    """SigV4 with the time in an HTTP Date header instead of X-Amz-Date, as older clients sign."""
    now = datetime.datetime.now(datetime.timezone.utc)
    request = form_request(cloud, body, {"Date": now.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    signer = signer_class(credentials(cloud), "ec2", cloud.credentials["region"])
    request.context["timestamp"] = now.strftime("%Y%m%dT%H%M%SZ")
    request.headers["Host"] = urllib.parse.urlsplit(cloud.endpoint).netloc
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    scope = f"{now.strftime('%Y%m%d')}/{cloud.credentials['region']}/ec2/aws4_request"
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={cloud.credentials['access_key']}/{scope}, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}")
    return request


def test_sigv4_with_a_date_header(cloud):
    assert send(cloud, date_header_request(cloud, DESCRIBE))[0] == 200
    assert send(cloud, date_header_request(cloud, CREATE_KEY, signer_without("date")))[:2] == (400, "IncompleteSignature")
    assert "stolen" not in key_names(cloud)


def test_sigv2_valid_for_decades_is_refused(cloud):
    before = snapshot(cloud)
    status, root = sigv2(cloud, {"Action": "CreateKeyPair", "Version": "2013-02-01", "KeyName": "decades"},
                         expires=datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc))
    assert (status, root.findtext("Errors/Error/Code")) == (400, "RequestExpired")
    week = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7, minutes=5)
    status, root = sigv2(cloud, {"Action": "DescribeRegions", "Version": "2013-02-01"}, expires=week)
    assert (status, root.findtext("Errors/Error/Code")) == (400, "RequestExpired")
    # An old Timestamp beside a fresh Expires does not let the request through either.
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=6)
    status, root = sigv2(cloud, {"Action": "DescribeRegions", "Version": "2013-02-01", "Timestamp": "2001-01-01T00:00:00Z"},
                         expires=soon)
    assert (status, root.findtext("Errors/Error/Code")) == (400, "InvalidParameterValue")
    assert snapshot(cloud) == before


LONG = [
    ({"Action": "DisassociateAddress", "PublicIp": "x" * 401}, "InvalidParameterValue"),
    ({"Action": "DisassociateAddress", "AssociationId": "eipassoc-" + "a" * 600}, "InvalidParameterValue"),
    ({"Action": "ReleaseAddress", "AllocationId": "eipalloc-" + "a" * 600}, "InvalidAllocationID.Malformed"),
    ({"Action": "AssociateAddress", "PublicIp": "1" * 500, "InstanceId": "i-0123456789abcdef0"}, "InvalidParameterValue"),
    ({"Action": "CreateTags", "ResourceId.1": "sg-" + "a" * 398, "Tag.1.Key": "k", "Tag.1.Value": "v"}, "InvalidID"),
    ({"Action": "DeleteTags", "ResourceId.1": "sg-" + "a" * 398}, "InvalidID"),
    ({"Action": "CreateTags", "ResourceId.1": "i-" + "0" * 5000, "Tag.1.Key": "k", "Tag.1.Value": "v"}, "InvalidID"),
    ({"Action": "CreateSecurityGroup", "GroupName": "\u00e9" * 200, "GroupDescription": "d"}, "InvalidParameterValue"),
    ({"Action": "AuthorizeSecurityGroupIngress", "GroupName": "default", "IpPermissions.1.IpProtocol": "tcp",
      "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22", "IpPermissions.1.Groups.1.UserId": "1" * 600,
      "IpPermissions.1.Groups.1.GroupName": "default"}, "InvalidUserID.Malformed"),
    ({"Action": "AuthorizeSecurityGroupIngress", "GroupName": "default", "IpPermissions.1.IpProtocol": "tcp",
      "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22", "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/8",
      "IpPermissions.1.IpRanges.1.Description": "D" * 60000}, "InvalidParameterValue"),
    # Arabic-Indic digits are not an account id's.
    ({"Action": "ModifyImageAttribute", "ImageId": "IMAGE", "LaunchPermission.Add.1.UserId": "\u0661" * 12},
     "InvalidAMIAttributeItemValue"),
    # Parameter names and values a thousand times too long, and list numbers past any list.
    ({"Action": "DescribeInstances", "B" * 20000: "x"}, "UnknownParameter"),
    ({"Action": "DescribeInstances", "Filter.1.Name": "x" * 20000, "Filter.1.Value.1": "y"}, "InvalidParameterValue"),
    ({"Action": "RunInstances", "ImageId": "IMAGE", "Placement.Tenancy": "d" * 20000}, "InvalidParameterValue"),
    ({"Action": "RunInstances", "ImageId": "IMAGE", "CpuOptions.CoreCount": "9" * 20000}, "Unsupported"),
    ({"Action": "DescribeInstanceTypes", "InstanceType.1": "m" * 20000}, "InvalidInstanceType"),
    # An index past any list's is no member of one: refused, not dropped.
    ({"Action": "DescribeNetworkInterfaces", "NetworkInterfaceId.99999999999999999999": "eni-" + "a" * 20000},
     "UnknownParameter"),
    ({"Action": "DescribeNetworkInterfaces", "NetworkInterfaceId.1": "eni-" + "a" * 20000}, "InvalidNetworkInterfaceID.NotFound"),
]


@pytest.mark.parametrize("params,code", LONG, ids=[f"{p['Action']}-{i}" for i, (p, _) in enumerate(LONG)])
def test_over_long_and_misshapen_ids_are_refused_before_the_store(cloud, params, code):
    before = snapshot(cloud)
    image = cloud.client().describe_images(Owners=["self"])["Images"][0]["ImageId"]
    status, got, body = signed(cloud, {k: image if v == "IMAGE" else v for k, v in params.items()})
    assert (status, got) == (400, code), body
    # The answer quotes at most a little of what it refuses.
    assert len(body) < 2000, body[:300]
    assert snapshot(cloud) == before


# --- Clients that never finish -------------------------------------------------------------

LIMITS = {"HTTP_HEADER_TIMEOUT": "1", "HTTP_BODY_TIMEOUT": "1.5", "HTTP_IDLE_TIMEOUT": "2", "HTTP_MAX_CONNECTIONS": "20",
          "HTTP_MAX_CONNECTIONS_PER_CLIENT": "8"}


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    """One euca-cloud with short HTTP limits, shared by the slow-client tests."""
    instance = Cloud(tmp_path_factory.mktemp("tight") / "var", env=LIMITS).start()
    yield instance
    instance.stop()


def connect(cloud, source: str | None = None) -> socket.socket:
    """A TCP connection to the EC2 API, from another loopback address when `source` is given."""
    host, port = urllib.parse.urlsplit(cloud.endpoint).netloc.split(":")
    return socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0) if source else None)


def closed_after(sock: socket.socket, limit: float) -> float | None:
    """Seconds until the server closes `sock` (reading and discarding what it sends), or None."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
        return time.monotonic() - started
    except (socket.timeout, TimeoutError):
        return None
    except ConnectionResetError:
        return time.monotonic() - started


def read_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int([line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")][0])
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def metric(cloud, name: str, **labels) -> float:
    _, text = cloud.get("/metrics")
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_connection_that_sends_nothing_is_closed(tight):
    sock = connect(tight)
    elapsed = closed_after(sock, 10)
    assert elapsed is not None and 0.5 < elapsed < 5


def test_headers_sent_slowly_are_cut_off(tight):
    sock = connect(tight)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    for _ in range(20):
        try:
            sock.sendall(b"X-Slow: 1\r\n")
        except OSError:
            break
        time.sleep(0.2)
    assert time.monotonic() - start < 5
    assert closed_after(sock, 5) is not None


def test_a_body_sent_slowly_is_cut_off(tight):
    sock = connect(tight)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nAction=")
    elapsed = closed_after(sock, 10)
    assert elapsed is not None and elapsed < 5


def test_an_idle_kept_alive_connection_is_closed(tight):
    sock = connect(tight)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(sock).startswith(b"HTTP/1.1 200")
    elapsed = closed_after(sock, 10)
    assert elapsed is not None and 1 < elapsed < 6


def test_a_short_body_is_a_400_and_a_large_one_a_413_that_closes(tight):
    sock = connect(tight)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nAction=")
    sock.shutdown(socket.SHUT_WR)
    response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 400") and b"<Code>MalformedQueryString</Code>" in response
    sock = connect(tight)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 5000000\r\n\r\nAction=DescribeRegions&Pad=xxxx")
    response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 413") and b"connection: close" in response.lower()
    assert closed_after(sock, 5) is not None


def shed_among(held: list[socket.socket]) -> int:
    """How many of `held` the server closed at once (before their 1 s header timeout)."""
    time.sleep(0.4)
    readable, _, _ = select.select(held, [], [], 0)
    shed = sum(1 for sock in readable if closed_after(sock, 0.1) is not None)
    for sock in held:
        sock.close()
    time.sleep(0.3)
    return shed


def test_connections_over_the_limits_are_shed_and_counted(tight):
    shed_before = metric(tight, "euca_http_connections_shed_total", server="ec2")
    # One client may hold 8 ...
    assert shed_among([connect(tight) for _ in range(12)]) == 4
    # ... and the server 20, from any number of clients.
    assert shed_among([connect(tight, f"127.0.0.{n}") for n in (2, 3, 4) for _ in range(8)]) == 4
    assert metric(tight, "euca_http_connections_shed_total", server="ec2") == shed_before + 8
    assert tight.client().describe_regions()["Regions"]


def test_a_thousand_filters_or_parameters_are_refused_at_once(cloud):
    """Numbered parameters are indexed once; a flood of them is refused, not parsed for minutes."""
    filters = {f"Filter.{i}.Name": "instance-id" for i in range(1, 20001)}
    status, code, _ = signed(cloud, {"Action": "DescribeInstances", **filters})
    assert (status, code) == (400, "InvalidParameterValue")  # over 5,000 parameters
    filters = {f"Filter.{i}.Name": "instance-id" for i in range(1, 52)}
    status, code, _ = signed(cloud, {"Action": "DescribeInstances", **filters})
    assert (status, code) == (400, "FilterLimitExceeded")
    values = {f"Filter.1.Value.{i}": f"i-{i:017x}" for i in range(1, 202)}
    status, code, _ = signed(cloud, {"Action": "DescribeInstances", "Filter.1.Name": "instance-id", **values})
    assert (status, code) == (400, "FilterLimitExceeded")
    ingress = {}
    for i in range(1, 1200):
        ingress.update({f"IpPermissions.{i}.IpProtocol": "tcp", f"IpPermissions.{i}.FromPort": "1",
                        f"IpPermissions.{i}.ToPort": "1", f"IpPermissions.{i}.IpRanges.1.CidrIp": f"10.{i // 256}.{i % 256}.0/24"})
    status, code, _ = signed(cloud, {"Action": "AuthorizeSecurityGroupIngress", "GroupName": "default", **ingress})
    assert status == 400
    assert cloud.client().describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["IpPermissions"][0]["IpRanges"] == []
