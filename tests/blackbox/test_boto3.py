"""boto3 as a black box: key pairs, instances, filters, both paths, presigned GETs."""

import base64
import subprocess
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from conftest import states, wait_for


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.mark.parametrize("path", ["/", "/services/Eucalyptus"])
def test_both_paths_answer(cloud, path):
    regions = cloud.client(path).describe_regions()["Regions"]
    assert regions == [{"RegionName": "eucalyptus", "Endpoint": cloud.endpoint + "/", "OptInStatus": "opt-in-not-required"}]


def test_instance_types_are_eucalyptus_defaults_and_aws_common_names(cloud):
    ec2 = cloud.client()
    types = {t["InstanceType"]: t for page in ec2.get_paginator("describe_instance_types").paginate() for t in page["InstanceTypes"]}
    assert {"m1.small", "c1.medium", "m1.large", "m1.xlarge", "c1.xlarge"} <= set(types)
    assert types["c1.xlarge"]["VCpuInfo"]["DefaultVCpus"] == 4
    assert types["m1.small"]["MemoryInfo"]["SizeInMiB"] == 128
    # AWS' names, sized as AWS sizes them.
    families = {name.split(".")[0] for name in types}
    assert {"t2", "t3", "t3a", "m5", "c5", "r5"} <= families
    assert (types["t3.micro"]["VCpuInfo"]["DefaultVCpus"], types["t3.micro"]["MemoryInfo"]["SizeInMiB"]) == (2, 1024)
    assert (types["t2.nano"]["VCpuInfo"]["DefaultVCpus"], types["t2.nano"]["MemoryInfo"]["SizeInMiB"]) == (1, 512)
    assert (types["r5.4xlarge"]["VCpuInfo"]["DefaultVCpus"], types["r5.4xlarge"]["MemoryInfo"]["SizeInMiB"]) == (16, 131072)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    assert launched["InstanceType"] == "t3.micro"


def test_key_pairs(cloud, tmp_path):
    ec2 = cloud.client()
    rsa = ec2.create_key_pair(KeyName="rsa-key")
    assert rsa["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    ed = ec2.create_key_pair(KeyName="ed-key", KeyType="ed25519")
    assert ed["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    private = tmp_path / "ed"
    private.write_text(ed["KeyMaterial"])
    private.chmod(0o600)
    listed = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(private)], capture_output=True, text=True).stdout
    assert "SHA256:" + ed["KeyFingerprint"].rstrip("=") in listed

    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(tmp_path / "mine")], check=True)
    public = (tmp_path / "mine.pub").read_bytes()
    imported = ec2.import_key_pair(KeyName="mine", PublicKeyMaterial=public)
    spki = subprocess.run(
        f"ssh-keygen -e -m PKCS8 -f {tmp_path}/mine.pub | openssl pkey -pubin -outform DER | openssl md5 -c",
        shell=True, capture_output=True, text=True).stdout
    assert imported["KeyFingerprint"] == spki.split()[-1]

    pairs = ec2.describe_key_pairs(IncludePublicKey=True)["KeyPairs"]
    assert sorted(p["KeyName"] for p in pairs) == ["ed-key", "mine", "rsa-key"]
    mine = next(p for p in pairs if p["KeyName"] == "mine")
    assert public.decode().startswith(mine["PublicKey"])
    assert [p["KeyName"] for p in ec2.describe_key_pairs(Filters=[{"Name": "key-type", "Values": ["ed25519"]}])["KeyPairs"]] == ["ed-key"]

    with pytest.raises(ClientError) as duplicate:
        ec2.create_key_pair(KeyName="rsa-key")
    assert error_code(duplicate) == "InvalidKeyPair.Duplicate"
    with pytest.raises(ClientError) as bad:
        ec2.import_key_pair(KeyName="bad", PublicKeyMaterial=b"ssh-rsa not-base64-at-all")
    assert error_code(bad) == "InvalidKey.Format"
    with pytest.raises(ClientError) as missing:
        ec2.describe_key_pairs(KeyNames=["nope"])
    assert error_code(missing) == "InvalidKeyPair.NotFound"

    assert ec2.delete_key_pair(KeyName="rsa-key")["Return"] is True
    assert ec2.delete_key_pair(KeyName="never-existed")["Return"] is True
    assert sorted(p["KeyName"] for p in ec2.describe_key_pairs()["KeyPairs"]) == ["ed-key", "mine"]


def test_instances_and_filters(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_key_pair(KeyName="k")
    user_data = "#!/bin/sh\necho hello\n"
    small = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, KeyName="k", UserData=user_data)
    large = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.large",
                              Placement={"AvailabilityZone": "cluster01"})
    ids = [i["InstanceId"] for i in small["Instances"] + large["Instances"]]
    wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="running")

    def ids_for(*filters):
        result = ec2.describe_instances(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return sorted(i["InstanceId"] for r in result["Reservations"] for i in r["Instances"])

    assert ids_for(("instance-type", ["m1.large"])) == [large["Instances"][0]["InstanceId"]]
    assert ids_for(("key-name", ["k"])) == sorted(i["InstanceId"] for i in small["Instances"])
    assert ids_for(("instance-state-name", ["running"]), ("availability-zone", ["cluster*"])) == sorted(ids)
    assert ids_for(("instance-id", [ids[0], ids[2]])) == sorted([ids[0], ids[2]])
    assert ids_for(("instance-type", ["m1.?mall"]), ("instance-state-name", ["stopped"])) == []
    with pytest.raises(ClientError) as bad_filter:
        ids_for(("no-such-filter", ["x"]))
    assert error_code(bad_filter) == "InvalidParameterValue"

    reservation = ec2.describe_instances(InstanceIds=[ids[0]])["Reservations"][0]
    assert reservation["ReservationId"] == small["ReservationId"]
    assert [i["InstanceId"] for i in reservation["Instances"]] == [ids[0]]
    paginator = ec2.get_paginator("describe_instances")
    walked = [i["InstanceId"] for page in paginator.paginate() for r in page["Reservations"] for i in r["Instances"]]
    assert sorted(walked) == sorted(ids)

    ec2.terminate_instances(InstanceIds=ids)
    wait_for(lambda: set(states(ec2, ids).values()) == {"terminated"}, what="terminated")
    with pytest.raises(ClientError) as terminated:
        ec2.stop_instances(InstanceIds=[ids[0]])
    assert error_code(terminated) == "IncorrectInstanceState"


def test_client_token_makes_run_instances_idempotent(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    first = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, ClientToken="token-1")
    again = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, ClientToken="token-1")
    assert again["ReservationId"] == first["ReservationId"]
    assert [i["InstanceId"] for i in again["Instances"]] == [i["InstanceId"] for i in first["Instances"]]
    with pytest.raises(ClientError) as mismatch:
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="token-1")
    assert error_code(mismatch) == "IdempotentParameterMismatch"
    count = sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])
    assert count == 2


def test_a_presigned_get_is_accepted_on_both_paths(cloud):
    creds = cloud.credentials
    signer = botocore.auth.SigV4QueryAuth(
        botocore.credentials.Credentials(creds["access_key"], creds["secret_key"]), "ec2", creds["region"], expires=300)
    for path in ["/", "/services/Eucalyptus"]:
        request = botocore.awsrequest.AWSRequest(
            method="GET", url=cloud.endpoint + path + "?Action=DescribeRegions&Version=2016-11-15")
        signer.add_auth(request)
        with urllib.request.urlopen(request.url, timeout=10) as response:
            body = response.read().decode()
        assert response.status == 200
        assert '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' in body


def test_responses_use_the_namespace_of_the_version_sent(cloud):
    creds = cloud.credentials
    signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds["access_key"], creds["secret_key"]), "ec2", creds["region"])
    for version in ["2010-08-31", "2016-11-15"]:
        request = botocore.awsrequest.AWSRequest(
            method="POST", url=cloud.endpoint + "/services/Eucalyptus",
            data=f"Action=DescribeAvailabilityZones&Version={version}",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        signer.add_auth(request)
        prepared = request.prepare()
        http = urllib.request.Request(prepared.url, data=prepared.body.encode(), headers=dict(prepared.headers), method="POST")
        with urllib.request.urlopen(http, timeout=10) as response:
            body = response.read().decode()
            assert response.headers["x-amzn-RequestId"]
        assert f'xmlns="http://ec2.amazonaws.com/doc/{version}/"' in body
        assert "<requestId>" in body


def test_metrics_are_exposed(cloud):
    cloud.client().describe_regions()
    status, body = cloud.get("/metrics")
    assert status == 200
    assert 'euca_ec2_requests_total{status="200"}' in body
