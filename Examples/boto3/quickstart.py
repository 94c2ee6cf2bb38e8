#!/usr/bin/env python3
"""A first session with boto3 against a running euca-cloud, using only the files it wrote.

    python3 Examples/boto3/quickstart.py [STATE_DIR]      # default ./var

Creates a key pair, launches two instances of the default image, waits for them to run, reads a
console, and terminates them.
"""

import configparser
import pathlib
import sys
import time

import boto3

state = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "var")
config = configparser.ConfigParser()
config.read([state / "credentials" / "credentials", state / "credentials" / "config"])
profile = config["default"]

ec2 = boto3.client(
    "ec2",
    endpoint_url=profile["endpoint_url"],
    region_name=profile["region"],
    aws_access_key_id=profile["aws_access_key_id"],
    aws_secret_access_key=profile["aws_secret_access_key"],
)

print("zones:", [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]])
key = ec2.create_key_pair(KeyName=f"quickstart-{int(time.time())}", KeyType="ed25519")
print("key pair:", key["KeyName"], key["KeyFingerprint"])
image = ec2.describe_images(Owners=["self", "eucalyptus"])["Images"][0]["ImageId"]
reservation = ec2.run_instances(ImageId=image, InstanceType="m1.small", MinCount=2, MaxCount=2, KeyName=key["KeyName"])
ids = [i["InstanceId"] for i in reservation["Instances"]]
print("launched:", reservation["ReservationId"], ids)


def states():
    result = ec2.describe_instances(InstanceIds=ids)
    return {i["InstanceId"]: i["State"]["Name"] for r in result["Reservations"] for i in r["Instances"]}


deadline = time.time() + 60
while set(states().values()) != {"running"} and time.time() < deadline:
    time.sleep(0.5)
print("states:", states())
console = ec2.get_console_output(InstanceId=ids[0])
print("console of", ids[0], "at", console["Timestamp"], f"({len(console.get('Output', ''))} characters)")
ec2.terminate_instances(InstanceIds=ids)
while set(states().values()) != {"terminated"} and time.time() < deadline:
    time.sleep(0.5)
print("states:", states())
ec2.delete_key_pair(KeyName=key["KeyName"])
