"""Images: upload to the image store with euca-admin, register, describe, attributes, deregister."""

import pathlib
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import ROOT, states, wait_for

ADMIN = ROOT / ".build" / "debug" / "euca-admin"


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def upload(cloud, tmp_path, kind, name, content=b"\0" * 4096):
    source = tmp_path / name
    source.write_bytes(content)
    result = subprocess.run([str(ADMIN), "upload-image", "--state", str(cloud.state), "--kind", kind, str(source)],
                            capture_output=True, text=True, check=True)
    return result.stdout.split()[0]


def test_register_describe_modify_and_deregister(cloud, tmp_path):
    ec2 = cloud.client()
    kernel_location = upload(cloud, tmp_path, "kernel", "vmlinuz-test")
    ramdisk_location = upload(cloud, tmp_path, "ramdisk", "initrd-test")
    disk_location = upload(cloud, tmp_path, "machine", "disk.img")
    assert kernel_location == "images/vmlinuz-test"

    kernel = ec2.register_image(Name="test kernel", ImageLocation=kernel_location)["ImageId"]
    ramdisk = ec2.register_image(Name="test ramdisk", ImageLocation=ramdisk_location)["ImageId"]
    assert kernel.startswith("aki-") and ramdisk.startswith("ari-")
    machine = ec2.register_image(Name="test machine", Description="a disk", ImageLocation=disk_location,
                                 KernelId=kernel, RamdiskId=ramdisk, Architecture="x86_64",
                                 TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "os", "Value": "none"}]}])["ImageId"]
    assert machine.startswith("ami-")
    with pytest.raises(ClientError) as duplicate:
        ec2.register_image(Name="test machine", ImageLocation=disk_location)
    assert code(duplicate) == "InvalidAMIName.Duplicate"
    with pytest.raises(ClientError) as nowhere:
        ec2.register_image(Name="nowhere", ImageLocation="images/not-uploaded")
    assert code(nowhere) == "InvalidParameterValue"

    image = ec2.describe_images(ImageIds=[machine])["Images"][0]
    assert image["KernelId"] == kernel and image["RamdiskId"] == ramdisk and image["ImageType"] == "machine"
    assert image["Description"] == "a disk" and image["Tags"] == [{"Key": "os", "Value": "none"}]
    assert image["Public"] is False and image["ImageLocation"] == disk_location
    types = {i["ImageId"]: i["ImageType"] for i in ec2.describe_images(Owners=["self"])["Images"]}
    assert types[kernel] == "kernel" and types[ramdisk] == "ramdisk"
    assert [i["ImageId"] for i in ec2.describe_images(Filters=[{"Name": "image-type", "Values": ["kernel"]}])["Images"]] == [kernel]
    assert [i["ImageId"] for i in ec2.describe_images(Filters=[{"Name": "tag:os", "Values": ["none"]}])["Images"]] == [machine]

    ec2.modify_image_attribute(ImageId=machine, Description={"Value": "new words"})
    assert ec2.describe_image_attribute(ImageId=machine, Attribute="description")["Description"]["Value"] == "new words"
    ec2.modify_image_attribute(ImageId=machine, LaunchPermission={"Add": [{"Group": "all"}, {"UserId": "123456789012"}]})
    permissions = ec2.describe_image_attribute(ImageId=machine, Attribute="launchPermission")["LaunchPermissions"]
    assert {"Group": "all"} in permissions and {"UserId": "123456789012"} in permissions
    assert machine in [i["ImageId"] for i in ec2.describe_images(ExecutableUsers=["all"])["Images"]]
    assert machine in [i["ImageId"] for i in ec2.describe_images(ExecutableUsers=["123456789012"])["Images"]]
    ec2.reset_image_attribute(ImageId=machine, Attribute="launchPermission")
    assert ec2.describe_image_attribute(ImageId=machine, Attribute="launchPermission")["LaunchPermissions"] == []
    ec2.modify_image_attribute(ImageId=machine, Attribute="kernel", Value=kernel)
    assert ec2.describe_image_attribute(ImageId=machine, Attribute="kernel")["KernelId"]["Value"] == kernel

    with pytest.raises(ClientError) as dry:
        ec2.register_image(Name="dry", ImageLocation=kernel_location, DryRun=True)
    assert code(dry) == "DryRunOperation"

    instance = ec2.run_instances(ImageId=machine, MinCount=1, MaxCount=1)["Instances"][0]
    assert instance["KernelId"] == kernel and instance["RamdiskId"] == ramdisk
    wait_for(lambda: states(ec2, [instance["InstanceId"]])[instance["InstanceId"]] == "running", what="running")
    ec2.deregister_image(ImageId=machine)
    with pytest.raises(ClientError) as gone:
        ec2.describe_images(ImageIds=[machine])
    assert code(gone) == "InvalidAMIID.NotFound"
    # The instance launched from it keeps running.
    assert states(ec2, [instance["InstanceId"]])[instance["InstanceId"]] == "running"
    with pytest.raises(ClientError) as again:
        ec2.run_instances(ImageId=machine, MinCount=1, MaxCount=1)
    assert code(again) == "InvalidAMIID.NotFound"
