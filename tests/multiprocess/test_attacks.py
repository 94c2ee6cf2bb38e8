"""Attacks that need a second account or the admin API, against euca-clc: a captured administrator
signature over another body, a signature scoped to another service, and one tenant reaching for
another's security group or image files. Each is refused exactly as a missing thing would be."""

import configparser
import hashlib
import json
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from conftest import start_clc


@pytest.fixture(scope="module")
def clc(tmp_path_factory):
    instance = start_clc(tmp_path_factory.mktemp("attacks"))
    yield instance
    instance.stop()


def admin_credentials(cloud):
    parser = configparser.ConfigParser()
    parser.read(cloud.root / "clc" / "credentials" / "credentials")
    return botocore.credentials.Credentials(parser["default"]["aws_access_key_id"], parser["default"]["aws_secret_access_key"])


def new_account(cloud, name):
    lines = cloud.admin("create-account", name).stdout.splitlines()
    account_id = next(line.split("\t")[2] for line in lines if line.startswith("ACCOUNT\t"))
    key = next(line.split("\t") for line in lines if line.startswith("KEY\t"))
    return account_id, cloud.client(key[1], key[2])


def account_names(cloud):
    return {row["name"] for row in json.loads(cloud.admin("describe-accounts", "--json").stdout)}


def admin_call(cloud, operation, body: bytes, service="euca-admin", declare_hash=True, send_body: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if declare_hash:
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    request = botocore.awsrequest.AWSRequest(method="POST", url=f"{cloud.endpoint}/admin/v1/{operation}", data=body, headers=headers)
    botocore.auth.SigV4Auth(admin_credentials(cloud), service, "eucalyptus").add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=send_body if send_body is not None else body,
                                  headers={k: v for k, v in prepared.headers.items() if k.lower() != "content-length"},
                                  method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_captured_admin_signature_does_not_create_another_account(clc):
    status, reply = admin_call(clc, "createAccount", b'{"name":"honest"}', send_body=b'{"name":"evil"}')
    assert status == 401 and reply["code"] == "signatureDoesNotMatch", reply
    status, reply = admin_call(clc, "createAccount", b'{"name":"honest"}', declare_hash=False, send_body=b'{"name":"evil"}')
    assert status == 401 and reply["code"] == "authFailure", reply
    status, reply = admin_call(clc, "createAccount", b'{"name":"evil"}', service="ec2")
    assert status == 401 and reply["code"] == "signatureDoesNotMatch", reply
    assert "evil" not in account_names(clc)
    status, reply = admin_call(clc, "createAccount", b'{"name":"honest"}')
    assert status == 200 and reply["name"] == "honest"
    assert "honest" in account_names(clc)


def error(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def test_another_accounts_group_is_not_found_by_its_bare_id(clc):
    owner = clc.client()
    secret = owner.create_security_group(GroupName="a-secret", Description="a")["GroupId"]
    owner_id = owner.describe_security_groups(GroupIds=[secret])["SecurityGroups"][0]["OwnerId"]
    _, tenant = new_account(clc, "tenant-groups")
    tenant.create_security_group(GroupName="b-web", Description="b")

    def authorize(pair):
        return tenant.authorize_security_group_ingress(
            GroupName="b-web", IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [pair]}])

    with pytest.raises(ClientError) as real:
        authorize({"GroupId": secret})
    with pytest.raises(ClientError) as made_up:
        authorize({"GroupId": "sg-0123456789abcdef0"})
    assert error(real)[0] == error(made_up)[0] == "InvalidGroup.NotFound"
    assert error(real)[1].replace(secret, "ID") == error(made_up)[1].replace("sg-0123456789abcdef0", "ID")
    shown = json.dumps(tenant.describe_security_groups()["SecurityGroups"])
    assert owner_id not in shown and "a-secret" not in shown and secret not in shown

    # EC2's own way to name another account's group: its owner's id and the group's name (or id).
    authorize({"UserId": owner_id, "GroupName": "a-secret"})
    with pytest.raises(ClientError) as malformed:
        authorize({"UserId": "x" * 600, "GroupName": "a-secret"})
    assert error(malformed)[0] == "InvalidUserID.Malformed"
    rules = tenant.describe_security_groups(GroupNames=["b-web"])["SecurityGroups"][0]["IpPermissions"]
    assert rules[0]["UserIdGroupPairs"][0]["UserId"] == owner_id


def test_another_accounts_image_files_answer_as_missing_ones(clc, tmp_path):
    tenant_id, tenant = new_account(clc, "tenant-images")
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    admins = clc.admin("upload-image", "--kind", "machine", "--name", "admins-disk", str(disk)).stdout.split()[0]
    tenants = clc.admin("upload-image", "--kind", "machine", "--name", "tenants-disk", "--account", tenant_id, str(disk)).stdout.split()[0]

    def refusal(client, location):
        with pytest.raises(ClientError) as refused:
            client.register_image(Name="probe", ImageLocation=location)
        code, message = error(refused)
        return code, message.replace(location, "LOCATION")

    missing = refusal(tenant, "images/never-uploaded")
    assert missing[0] == "InvalidParameterValue"
    assert refusal(tenant, admins) == missing
    assert refusal(clc.client(), tenants) == missing
    image = tenant.register_image(Name="mine", ImageLocation=tenants)["ImageId"]
    assert tenant.describe_images(ImageIds=[image])["Images"][0]["OwnerId"] == tenant_id
    assert clc.client().register_image(Name="admins", ImageLocation=admins)["ImageId"].startswith("ami-")
    bad_account = clc.admin("upload-image", "--kind", "machine", "--account", "nobody", str(disk), check=False)
    assert bad_account.returncode != 0 and "12-digit" in bad_account.stderr


def test_the_internal_tls_api_closes_a_connection_that_never_speaks(clc):
    """A client that connects to a cluster controller's mutual-TLS port and sends nothing (not even
    a TLS hello) is cut off after HTTP_HEADER_TIMEOUT, as on the EC2 API."""
    import socket
    import time
    clc.add_cluster("zone-slow", HTTP_HEADER_TIMEOUT="1", HTTP_MAX_CONNECTIONS="4")
    port = int(clc.clusters["zone-slow"].env["CC_PORT"])
    silent = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.monotonic()
    assert silent.recv(1024) == b""
    assert time.monotonic() - started < 5
    # Over the limit, connections are closed as they arrive.
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(8)]
    time.sleep(0.3)
    shed = 0
    for sock in held:
        sock.settimeout(0.05)
        try:
            shed += sock.recv(1024) == b""
        except (socket.timeout, TimeoutError):
            pass
        except ConnectionResetError:
            shed += 1
        sock.close()
    assert shed >= 4


def test_the_admin_api_takes_no_sigv2(clc):
    """SigV2 signs neither the body nor a service: one administrator's SigV2 signature would
    otherwise create any number of accounts."""
    import base64
    import datetime
    import hmac
    import urllib.parse
    creds = admin_credentials(clc)
    path = "/admin/v1/createAccount"
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {"AWSAccessKeyId": creds.access_key, "SignatureVersion": "2", "SignatureMethod": "HmacSHA256", "Expires": expires}
    query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(params.items()))
    host = clc.endpoint.split("//")[1]
    digest = hmac.new(creds.secret_key.encode(), f"POST\n{host}\n{path}\n{query}".encode(), hashlib.sha256).digest()
    url = f"{clc.endpoint}{path}?{query}&Signature={urllib.parse.quote(base64.b64encode(digest).decode(), safe='')}"
    request = urllib.request.Request(url, data=b'{"name":"v2evil"}', headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["code"] == "incompleteSignature"
    assert "v2evil" not in account_names(clc)


def test_an_images_tags_and_share_list_are_its_owners(clc):
    owner = clc.client()
    public = owner.describe_images(Owners=["self"])["Images"][0]["ImageId"]
    owner.modify_image_attribute(ImageId=public, LaunchPermission={"Add": [{"Group": "all"}]})
    owner.create_tags(Resources=[public], Tags=[{"Key": "owner-secret", "Value": "db-password"}])
    third_id, _ = new_account(clc, "third")
    owner.modify_image_attribute(ImageId=public, LaunchPermission={"Add": [{"UserId": third_id}]})
    tenant_id, tenant = new_account(clc, "tenant-tags")
    seen = tenant.describe_images(ImageIds=[public])["Images"][0]
    assert seen.get("Tags", []) == []
    assert tenant.describe_images(Filters=[{"Name": "tag:owner-secret", "Values": ["*"]}])["Images"] == []
    assert tenant.describe_images(ExecutableUsers=[third_id])["Images"] == []
    assert owner.describe_images(ImageIds=[public])["Images"][0]["Tags"] == [{"Key": "owner-secret", "Value": "db-password"}]
    assert [i["ImageId"] for i in owner.describe_images(ExecutableUsers=[third_id])["Images"]] == [public]


def test_another_accounts_rule_does_not_pin_a_group(clc):
    owner = clc.client()
    victim = owner.create_security_group(GroupName="victim", Description="v")["GroupId"]
    owner_id = owner.describe_security_groups(GroupIds=[victim])["SecurityGroups"][0]["OwnerId"]
    _, tenant = new_account(clc, "tenant-pin")
    tenant.create_security_group(GroupName="pinner", Description="p")
    tenant.authorize_security_group_ingress(
        GroupName="pinner", IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"UserId": owner_id, "GroupName": "victim"}]}])
    owner.delete_security_group(GroupId=victim)
    with pytest.raises(ClientError) as gone:
        owner.describe_security_groups(GroupIds=[victim])
    assert error(gone)[0] == "InvalidGroup.NotFound"
    # The tenant's rule stays, naming what it named; it matches nothing now.
    rules = tenant.describe_security_groups(GroupNames=["pinner"])["SecurityGroups"][0]["IpPermissions"]
    assert rules[0]["UserIdGroupPairs"][0]["GroupId"] == victim
