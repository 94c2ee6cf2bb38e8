"""IAM on euca-cloud, as boto3, the aws CLI and euca-admin use it: users, access keys and
passwords of an account, at /services/Euare and on the EC2 endpoint by the signature's service;
IAM's error codes; keys that stop working the request after they are turned off; secrets sealed
at rest; and one account's users and keys out of another's reach."""

import base64
import os
import pathlib
import subprocess
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

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADMIN = ROOT / ".build" / "debug" / "euca-admin"
IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"


def client(cloud, service, access_key=None, secret=None, path="/services/Euare"):
    creds = cloud.credentials
    return boto3.client(
        service, endpoint_url=cloud.endpoint + (path if service == "iam" else "/"), region_name=creds["region"],
        aws_access_key_id=access_key or creds["access_key"], aws_secret_access_key=secret or creds["secret_key"],
        config=botocore.config.Config(retries={"max_attempts": 1}))


def code(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def admin(cloud, *args) -> str:
    result = subprocess.run([str(ADMIN), *args, "--state", str(cloud.state)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def new_account(cloud, name):
    """An account made with euca-admin: its id, and an IAM and an EC2 client for its admin user."""
    lines = admin(cloud, "create-account", name).splitlines()
    account_id = lines[0].split("\t")[2]
    _, key, secret = lines[1].split("\t")
    return account_id, client(cloud, "iam", key, secret), client(cloud, "ec2", key, secret)


def test_users_and_keys_through_boto3_on_both_paths(cloud):
    for path in ("/services/Euare", "/"):
        iam = client(cloud, "iam", path=path)
        name = "alice" if path == "/" else "bob"
        user = iam.create_user(UserName=name, Path="/team/")["User"]
        assert user["UserName"] == name and user["Path"] == "/team/"
        assert user["Arn"].endswith(f":user/team/{name}") and user["UserId"].startswith("AIDA")
        assert iam.get_user(UserName=name)["User"]["UserId"] == user["UserId"]
    iam = client(cloud, "iam")
    assert iam.get_user()["User"]["UserName"] == "admin"
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["admin", "alice", "bob"]
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]] == ["alice", "bob"]
    # Pages: MaxItems and Marker, as boto3's paginator follows them.
    first = iam.list_users(MaxItems=2)
    assert first["IsTruncated"] and len(first["Users"]) == 2
    rest = iam.list_users(Marker=first["Marker"])
    assert not rest["IsTruncated"] and [u["UserName"] for u in rest["Users"]] == ["bob"]
    paged = [u["UserName"] for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1}) for u in page["Users"]]
    assert paged == ["admin", "alice", "bob"]

    key = iam.create_access_key(UserName="alice")["AccessKey"]
    assert key["Status"] == "Active" and len(key["AccessKeyId"]) == 20 and len(key["SecretAccessKey"]) == 40
    listed = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(key["AccessKeyId"], "Active")]
    assert "SecretAccessKey" not in listed[0]

    # The new key is alice's, on EC2 and STS alike, with the account's resources.
    ec2 = client(cloud, "ec2", key["AccessKeyId"], key["SecretAccessKey"])
    assert ec2.describe_security_groups()["SecurityGroups"]
    who = client(cloud, "sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    assert who["Arn"] == user["Arn"].replace("/bob", "/alice") and who["UserId"] == iam.get_user(UserName="alice")["User"]["UserId"]
    assert client(cloud, "iam", key["AccessKeyId"], key["SecretAccessKey"]).get_user()["User"]["UserName"] == "alice"

    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] == 3 and summary["AccessKeysPerUserQuota"] == 2
    assert iam.list_account_aliases()["AccountAliases"] == ["eucalyptus"]


def test_a_key_turned_off_or_deleted_fails_on_the_next_request(cloud):
    iam = client(cloud, "iam")
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    ec2 = client(cloud, "ec2", key["AccessKeyId"], key["SecretAccessKey"])
    assert ec2.describe_regions()["Regions"]
    iam.update_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert code(ec2.describe_regions) == "AuthFailure"
    # Nor can it turn itself back on through IAM.
    own = client(cloud, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert code(lambda: own.update_access_key(AccessKeyId=key["AccessKeyId"], Status="Active")) == "InvalidClientTokenId"
    iam.update_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"], Status="Active")
    assert ec2.describe_regions()["Regions"]
    iam.delete_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"])
    assert code(ec2.describe_regions) == "AuthFailure"
    assert iam.list_access_keys(UserName="carol")["AccessKeyMetadata"] == []

    # euca-admin turns keys off and on too.
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    ec2 = client(cloud, "ec2", key["AccessKeyId"], key["SecretAccessKey"])
    assert "Inactive" in admin(cloud, "deactivate-access-key", key["AccessKeyId"])
    assert code(ec2.describe_regions) == "AuthFailure"
    admin(cloud, "activate-access-key", key["AccessKeyId"])
    assert ec2.describe_regions()["Regions"]
    admin(cloud, "delete-access-key", key["AccessKeyId"])
    assert code(ec2.describe_regions) == "AuthFailure"


def test_iam_error_codes_for_bad_input(cloud):
    iam = client(cloud, "iam")
    iam.create_user(UserName="dave")
    assert code(lambda: iam.create_user(UserName="DAVE")) == "EntityAlreadyExists"
    assert code(lambda: iam.create_user(UserName="dave smith")) == "ValidationError"
    assert code(lambda: iam.create_user(UserName="x" * 65)) == "ValidationError"
    assert code(lambda: iam.create_user(UserName="eve", Path="no-slashes")) == "InvalidInput"
    assert code(lambda: iam.get_user(UserName="nobody")) == "NoSuchEntity"
    assert code(lambda: iam.list_access_keys(UserName="nobody")) == "NoSuchEntity"
    assert code(lambda: iam.delete_access_key(UserName="dave", AccessKeyId="AKIA0000000000000000")) == "NoSuchEntity"
    assert code(lambda: iam.update_access_key(UserName="dave", AccessKeyId="AKIA0000000000000000", Status="Sleeping")) == "ValidationError"
    keys = {iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"] for _ in range(2)}
    assert code(lambda: iam.create_access_key(UserName="dave")) == "LimitExceeded"
    # One key a page: the marker leads to the other, whatever order they were made in.
    first = iam.list_access_keys(UserName="dave", MaxItems=1)
    assert first["IsTruncated"] and len(first["AccessKeyMetadata"]) == 1
    second = iam.list_access_keys(UserName="dave", MaxItems=1, Marker=first["Marker"])
    assert {k["AccessKeyId"] for k in first["AccessKeyMetadata"] + second["AccessKeyMetadata"]} == keys
    assert code(lambda: iam.delete_user(UserName="dave")) == "DeleteConflict"
    assert code(lambda: iam.delete_user(UserName="admin")) == "DeleteConflict"

    # Passwords: IAM's policy, one profile per user, hashed (never echoed back).
    assert code(lambda: iam.create_login_profile(UserName="dave", Password="short")) == "PasswordPolicyViolation"
    profile = iam.create_login_profile(UserName="dave", Password="a long passphrase", PasswordResetRequired=True)["LoginProfile"]
    assert profile["UserName"] == "dave" and profile["PasswordResetRequired"] is True
    assert code(lambda: iam.create_login_profile(UserName="dave", Password="another passphrase")) == "EntityAlreadyExists"
    iam.update_login_profile(UserName="dave", Password="a third passphrase", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="dave")["LoginProfile"]["PasswordResetRequired"] is False
    iam.delete_login_profile(UserName="dave")
    assert code(lambda: iam.get_login_profile(UserName="dave")) == "NoSuchEntity"
    assert code(lambda: iam.update_login_profile(UserName="dave", Password="a fourth passphrase")) == "NoSuchEntity"

    # IAM's other actions are refused by name; made-up ones are not IAM's.
    assert code(iam.list_roles) == "NotImplemented"
    assert code(lambda: iam.attach_user_policy(UserName="dave", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")) == "NotImplemented"
    assert code(lambda: iam.create_user(UserName="frank", Tags=[{"Key": "a", "Value": "b"}])) == "NotImplemented"
    assert iam.get_user(UserName="dave")["User"]["UserName"] == "dave"
    assert code(lambda: iam.get_user(UserName="frank")) == "NoSuchEntity"


def signed_post(cloud, path, params, service):
    creds = cloud.credentials
    data = urllib.parse.urlencode(params).encode()
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=cloud.endpoint + path, data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds["access_key"], creds["secret_key"]), service, creds["region"]).add_auth(request)
    http = urllib.request.Request(cloud.endpoint + path, data=data, headers=dict(request.prepare().headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def iam_error(body):
    root = ElementTree.fromstring(body)
    assert root.tag == IAM_NS + "ErrorResponse", body
    return root.findtext(f"{IAM_NS}Error/{IAM_NS}Code")


def test_what_is_signed_for_one_service_does_not_reach_another(cloud):
    # Signed for EC2, sent to IAM's path: refused by IAM, nothing made.
    status, body = signed_post(cloud, "/services/Euare", {"Action": "CreateUser", "Version": "2010-05-08", "UserName": "mallory"}, "ec2")
    assert status == 403 and iam_error(body) == "SignatureDoesNotMatch"
    # Signed for IAM, an EC2 action: IAM does not know it.
    status, body = signed_post(cloud, "/", {"Action": "DescribeInstances", "Version": "2010-05-08"}, "iam")
    assert status == 400 and iam_error(body) == "InvalidAction"
    # Unsigned: refused.
    http = urllib.request.Request(cloud.endpoint + "/services/Euare", data=b"Action=ListUsers&Version=2010-05-08", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(http, timeout=30)
    assert caught.value.code == 403 and iam_error(caught.value.read().decode()) == "MissingAuthenticationToken"
    assert code(lambda: client(cloud, "iam").get_user(UserName="mallory")) == "NoSuchEntity"


def test_another_accounts_users_and_keys_answer_as_if_they_did_not_exist(cloud):
    ours = client(cloud, "iam")
    ours.create_user(UserName="alice")
    our_key = ours.create_access_key(UserName="alice")["AccessKey"]
    _, theirs, _ = new_account(cloud, "elsewhere")
    assert [u["UserName"] for u in theirs.list_users()["Users"]] == ["admin"]
    assert code(lambda: theirs.get_user(UserName="alice")) == "NoSuchEntity"
    assert code(lambda: theirs.list_access_keys(UserName="alice")) == "NoSuchEntity"
    # Their own alice is theirs: our alice's key is still no key of hers.
    theirs.create_user(UserName="alice")
    assert code(lambda: theirs.update_access_key(UserName="alice", AccessKeyId=our_key["AccessKeyId"], Status="Inactive")) == "NoSuchEntity"
    assert code(lambda: theirs.delete_access_key(UserName="alice", AccessKeyId=our_key["AccessKeyId"])) == "NoSuchEntity"
    assert code(lambda: theirs.delete_user(UserName="admin")) == "DeleteConflict"
    assert client(cloud, "ec2", our_key["AccessKeyId"], our_key["SecretAccessKey"]).describe_regions()["Regions"]
    assert [k["Status"] for k in ours.list_access_keys(UserName="alice")["AccessKeyMetadata"]] == ["Active"]
    assert theirs.list_account_aliases()["AccountAliases"] == ["elsewhere"]


def test_the_aws_cli_and_euca_admin_manage_users(cloud):
    created = cloud.aws("iam", "create-user", "--user-name", "grace")
    assert '"UserName": "grace"' in created.stdout
    listed = cloud.aws("iam", "list-users", "--query", "Users[].UserName", "--output", "text").stdout.split()
    assert listed == ["admin", "grace"]
    admin(cloud, "create-account", "lab")
    assert "USER\tolivia" in admin(cloud, "create-user", "--account", "lab", "--user", "olivia")
    line = admin(cloud, "create-access-key", "--account", "lab", "--user", "olivia").split("\t")
    assert line[0] == "KEY" and line[3] == "olivia"
    users = admin(cloud, "describe-users", "--account", "lab")
    assert "USER\tadmin" in users and f"KEY\t{line[1]}\tActive" in users
    failed = subprocess.run([str(ADMIN), "describe-nodes", "--state", str(cloud.state)], capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "euca-cloud runs its one cluster and node itself" in failed.stderr


def test_secrets_are_sealed_at_rest_and_keys_survive_a_restart(cloud):
    iam = client(cloud, "iam")
    iam.create_user(UserName="heidi")
    key = iam.create_access_key(UserName="heidi")["AccessKey"]
    iam.create_login_profile(UserName="heidi", Password="heidi's passphrase")
    master = cloud.state / "master.key"
    assert oct(master.stat().st_mode & 0o777) == "0o600"
    cloud.restart()
    stored = b"".join(path.read_bytes() for path in (cloud.state / "state").iterdir() if path.is_file())
    assert key["AccessKeyId"].encode() in stored
    assert key["SecretAccessKey"].encode() not in stored
    assert cloud.credentials["secret_key"].encode() not in stored
    assert b"heidi's passphrase" not in stored
    assert client(cloud, "ec2", key["AccessKeyId"], key["SecretAccessKey"]).describe_regions()["Regions"]
    # A store started with another master key refuses to start, and says why.
    cloud.stop()
    master.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    cloud.endpoint = None
    with pytest.raises(RuntimeError):
        cloud.start(timeout=15)
    assert "master key" in cloud.log.read_text()


def test_a_users_credentials_bundle_works_as_it_comes(cloud, tmp_path):
    import zipfile

    admin(cloud, "create-account", "lab")
    admin(cloud, "create-user", "--account", "lab", "--user", "ivan")
    bundle = tmp_path / "ivan.zip"
    assert "CREDENTIALS" in admin(cloud, "get-credentials", "--account", "lab", "--user", "ivan", "-o", str(bundle))
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    with zipfile.ZipFile(bundle) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert {"eucarc", "credentials", "config", "cloud-cert.pem"} <= set(names)
        assert all((info.external_attr >> 16) & 0o777 == 0o600 for info in archive.infolist())
        archive.extractall(tmp_path / "ivan")
    home = tmp_path / "ivan"
    certificate = next(name for name in names if name.startswith("euca2-ivan-") and name.endswith("-cert.pem"))
    assert (home / certificate.replace("-cert.pem", "-pk.pem")).read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    eucarc = (home / "eucarc").read_text()
    for variable in ("EC2_URL", "S3_URL", "EUARE_URL", "EC2_ACCESS_KEY", "EC2_SECRET_KEY", "EC2_CERT", "EC2_PRIVATE_KEY", "EUCALYPTUS_CERT"):
        assert f"export {variable}=" in eucarc
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(home / "cloud-cert.pem"), str(home / certificate)],
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    subject = subprocess.run(["openssl", "x509", "-in", str(home / certificate), "-noout", "-subject", "-ext", "extendedKeyUsage"],
                             capture_output=True, text=True, check=True).stdout
    assert "CN = ivan" in subject and "OU = euca-user" in subject and "Server" not in subject

    # Its aws files, read by boto3 as they are: ivan runs an instance in lab.
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"), "AWS_CONFIG_FILE": str(home / "config")}
    saved = {k: os.environ.get(k) for k in list(os.environ) if k.startswith("AWS_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(env)
    try:
        session = boto3.Session()
        ec2 = session.client("ec2", config=botocore.config.Config(retries={"max_attempts": 1}))
        assert ec2.meta.endpoint_url.rstrip("/") == cloud.endpoint
        image = cloud.client().describe_images(Owners=["self"])["Images"][0]["ImageId"]
        reservation = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
        launched = reservation["Instances"][0]
        who = session.client("sts").get_caller_identity()
        assert who["Arn"].endswith(":user/ivan") and reservation["OwnerId"] == who["Account"]
        iam = session.client("iam", endpoint_url=eucarc.split("EUARE_URL=")[1].split()[0])
        listed = iam.list_signing_certificates()["Certificates"]
        assert [c["Status"] for c in listed] == ["Active"] and listed[0]["CertificateBody"].strip() == (home / certificate).read_text().strip()
        ec2.terminate_instances(InstanceIds=[launched["InstanceId"]])
    finally:
        for k in env:
            del os.environ[k]
        os.environ.update({k: v for k, v in saved.items() if v is not None})

    # Another bundle for ivan holds the same key and a new certificate.
    again = tmp_path / "again.zip"
    admin(cloud, "get-credentials", "--account", "lab", "--user", "ivan", "-o", str(again))
    with zipfile.ZipFile(again) as archive:
        assert archive.read("credentials") == (home / "credentials").read_bytes()
        assert certificate not in archive.namelist()
    missing = subprocess.run([str(ADMIN), "get-credentials", "--account", "lab", "--user", "nobody", "--state", str(cloud.state)],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "nobody" in missing.stderr
