"""Ansible's amazon.aws collection, unmodified, against a running euca-cloud: only `endpoint_url`
and `region` are set, and the credentials are the files euca-cloud wrote. Every task's `changed`
flag must be what a real cloud gives (the same task twice changes nothing the second time)."""

import json
import os
import shutil
import subprocess

import boto3
import pytest

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/amazon.aws.aws:
      endpoint_url: "{endpoint}"
      region: "{region}"
  tasks:
    - name: key
      amazon.aws.ec2_key: {{name: play-key}}
    - name: key again
      amazon.aws.ec2_key: {{name: play-key}}
    - name: group
      amazon.aws.ec2_security_group:
        name: web
        description: web servers
        rules: [{{proto: tcp, ports: [22, 80], cidr_ip: 0.0.0.0/0}}]
    - name: group again
      amazon.aws.ec2_security_group:
        name: web
        description: web servers
        rules: [{{proto: tcp, ports: [22, 80], cidr_ip: 0.0.0.0/0}}]
    - name: vpcs
      amazon.aws.ec2_vpc_net_info: {{filters: {{is-default: "true"}}}}
      register: vpcs
    - name: subnets
      amazon.aws.ec2_vpc_subnet_info: {{filters: {{default-for-az: "true"}}}}
      register: subnets
    - name: gateways
      amazon.aws.ec2_vpc_igw_info: {{filters: {{attachment.vpc-id: "{{{{ vpcs.vpcs[0].id }}}}"}}}}
      register: gateways
    - name: route tables
      amazon.aws.ec2_vpc_route_table_info: {{filters: {{vpc-id: "{{{{ vpcs.vpcs[0].id }}}}"}}}}
      register: tables
    - name: images
      amazon.aws.ec2_ami_info: {{image_ids: ["{image}"]}}
    - name: instance
      amazon.aws.ec2_instance: &instance
        name: play-vm
        image_id: "{image}"
        instance_type: t3.micro
        key_name: play-key
        security_group: web
        wait: true
      register: created
    - name: instance again
      amazon.aws.ec2_instance: *instance
    - name: instance info
      amazon.aws.ec2_instance_info:
        filters: {{"tag:Name": play-vm, instance-state-name: running}}
      register: info
    - name: address
      amazon.aws.ec2_eip:
        device_id: "{{{{ created.instances[0].instance_id }}}}"
        in_vpc: true
      register: address
    - name: address released
      amazon.aws.ec2_eip:
        device_id: "{{{{ created.instances[0].instance_id }}}}"
        public_ip: "{{{{ address.public_ip }}}}"
        in_vpc: true
        state: absent
        release_on_disassociation: true
    - name: instance gone
      amazon.aws.ec2_instance: {{name: play-vm, state: absent, wait: true}}
    - name: instance gone again
      amazon.aws.ec2_instance: {{name: play-vm, state: absent, wait: true}}
    - name: iam user
      amazon.aws.iam_user: {{name: play-user, state: present}}
    - name: iam user again
      amazon.aws.iam_user: {{name: play-user, state: present}}
    - name: iam key
      amazon.aws.iam_access_key: {{user_name: play-user, state: present}}
      register: iam_key
    - name: iam users
      amazon.aws.iam_user_info: {{}}
      register: iam_users
"""

EXPECTED_CHANGES = {
    "key": True, "key again": False, "group": True, "group again": False, "vpcs": False, "subnets": False,
    "gateways": False, "route tables": False,
    "images": False, "instance": True, "instance again": False, "instance info": False, "address": True,
    "address released": True, "instance gone": True, "instance gone again": False,
    "iam user": True, "iam user again": False, "iam key": True, "iam users": False,
}


@pytest.mark.skipif(shutil.which("ansible-playbook") is None,
                    reason="ansible is not installed (make pydeps installs ansible==12.* with the amazon.aws collection)")
def test_an_ansible_playbook_runs_unmodified(cloud, tmp_path):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(endpoint=cloud.endpoint, region=cloud.credentials["region"], image=image))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_SHARED_CREDENTIALS_FILE": str(cloud.state / "credentials" / "credentials"),
        "AWS_CONFIG_FILE": str(cloud.state / "credentials" / "config"),
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
    })
    run = subprocess.run(["ansible-playbook", str(playbook)], env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(run.stdout[run.stdout.index("{"):])
    tasks = report["plays"][0]["tasks"]
    results = {t["task"]["name"]: t["hosts"]["localhost"] for t in tasks}
    failed = {name: r.get("msg") for name, r in results.items() if r.get("failed")}
    assert not failed and run.returncode == 0, f"{failed}\n{run.stderr[-2000:]}"
    assert {name: results[name].get("changed", False) for name in EXPECTED_CHANGES} == EXPECTED_CHANGES

    vpc = results["vpcs"]["vpcs"]
    assert len(vpc) == 1 and vpc[0]["is_default"] is True
    assert len(results["subnets"]["subnets"]) == len(ec2.describe_availability_zones()["AvailabilityZones"])
    assert len(results["gateways"]["internet_gateways"]) == 1
    [table] = results["route tables"]["route_tables"]
    assert {r["gateway_id"] for r in table["routes"]} == {"local", results["gateways"]["internet_gateways"][0]["internet_gateway_id"]}
    instance = results["instance info"]["instances"]
    assert len(instance) == 1 and instance[0]["vpc_id"] == vpc[0]["id"]
    # What the playbook left: no instance running, the address back in the pool.
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running", "pending"]}])
    assert running["Reservations"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    # The IAM user Ansible made has the key it made, and the key works.
    assert {u["user_name"] for u in results["iam users"]["iam_users"]} == {"admin", "play-user"}
    key = results["iam key"]["access_key"]
    made = boto3.client("ec2", endpoint_url=cloud.endpoint + "/", region_name=cloud.credentials["region"],
                        aws_access_key_id=key["access_key_id"], aws_secret_access_key=results["iam key"]["secret_access_key"])
    assert made.describe_regions()["Regions"]
