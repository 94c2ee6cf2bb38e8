"""VPC mode across processes: the cloud controller gives addresses, and `euca-admin
describe-network-plan` prints what a node's VPC network is made to be, before any host is touched.
The nodes here run libvirt's test driver, so they have no VPC network and say so: the cluster
sends them no policy (the policy's way over the internal API is the wire contract's to prove)."""

import re
import time

from conftest import Cloud, nodes, states, wait_for, wait_port


def start_with_one_node(cloud: Cloud, state, env: dict) -> str:
    """Starts the cloud controller with `env`, a cluster and one node; the node's name."""
    cloud.clc.env.update(env)
    cloud.clc.start()
    wait_port(cloud.port)
    wait_for(lambda: (state / "clc" / "credentials" / "credentials").exists(), what="credentials")
    cloud.add_cluster("zone-a")
    node = cloud.add_node("zone-a", "a1")
    wait_for(lambda: [row.get("reachable") for row in nodes(cloud)] == [True], what="the node up")
    return node


def test_the_plan_is_described_and_a_node_that_enforces_nothing_is_sent_no_policy(tmp_path):
    cloud = Cloud(tmp_path)
    try:
        node = start_with_one_node(cloud, tmp_path, {"VNET_MODE": "VPC", "VNET_PUBLICIPS": "198.51.100.10-198.51.100.12"})
        ec2 = cloud.client()
        image = ec2.describe_images()["Images"][0]["ImageId"]
        ec2.create_security_group(GroupName="web", Description="web")
        web = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["web"])["Instances"][0]
        plain = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
        assert (web["PrivateIpAddress"], plain["PrivateIpAddress"]) == ("172.31.0.4", "172.31.0.5")
        ids = [web["InstanceId"], plain["InstanceId"]]
        wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="running")
        ec2.authorize_security_group_ingress(GroupName="web", IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}])
        address = ec2.allocate_address(Domain="vpc")["PublicIp"]
        ec2.associate_address(InstanceId=web["InstanceId"], PublicIp=address)

        # The node enforces nothing (libvirt's test driver): it is sent no policy.
        time.sleep(1)
        assert "network policy taken" not in cloud.nodes["a1"].log.read_text()

        plan = cloud.admin("describe-network-plan", "--node", node).stdout
        assert f"NODE\t{node}" in plan and re.search(r"NETWORK\tvni \d+\tnamespace euca-v\d+\tblock 172.31.0.0/16\tgateway 172.31.0.1", plan), plan
        for instance in [web, plain]:
            assert re.search(rf"PORT\tvn\w+\t{instance['InstanceId']}\t{instance['NetworkInterfaces'][0]['MacAddress']}\t"
                             rf"{instance['PrivateIpAddress']}\tsg-", plan), plan
        assert f"ELASTICIP\t{address}\t172.31.0.4" in plan
        assert "ip saddr 203.0.113.0/24 tcp dport 443 accept" in plan, plan
        assert "PROBLEM" not in plan
        assert cloud.admin("describe-network-plan", "--node", "nowhere").stdout.startswith("No instance runs on node nowhere")
    finally:
        cloud.stop()


def test_the_plans_of_eucalyptus_modes_are_described(tmp_path):
    """MANAGED: each group's subnet and segment; SYSTEM: the bridge's tables, by MAC and tap."""
    for mode, env in [("MANAGED", {"VNET_SUBNET": "10.10.0.0", "VNET_NETMASK": "255.255.255.0", "VNET_ADDRSPERNET": "16"}),
                      ("SYSTEM", {})]:
        cloud = Cloud(tmp_path / mode)
        try:
            node = start_with_one_node(cloud, tmp_path / mode, dict(env, VNET_MODE=mode, VNET_PUBLICIPS="198.51.100.10-198.51.100.12"))
            ec2 = cloud.client()
            image = ec2.describe_images()["Images"][0]["ImageId"]
            ec2.create_security_group(GroupName="web", Description="web")
            ec2.authorize_security_group_ingress(GroupName="web", IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupName": "default"}]}])
            web = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["web"])["Instances"][0]
            plain = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
            wait_for(lambda: set(states(ec2, [web["InstanceId"], plain["InstanceId"]]).values()) == {"running"}, what="running")
            plan = cloud.admin("describe-network-plan", "--node", node).stdout
            assert f"NODE\t{node}" in plan and "PROBLEM" not in plan, plan
            if mode == "MANAGED":
                assert web["PrivateIpAddress"] == "10.10.0.2" and plain["PrivateIpAddress"] == "10.10.0.18", (web, plain)
                assert re.search(rf"PORT\tvn\w+\t{web['InstanceId']}\t.*\tsubnet 10.10.0.0/28 gateway 10.10.0.1", plan), plan
                assert re.search(rf"PORT\tvn\w+\t{plain['InstanceId']}\t.*\tsubnet 10.10.0.16/28 gateway 10.10.0.17", plan), plan
                assert "ELASTICIP\t198.51.100.10\t10.10.0.2" in plan
            else:
                assert "BRIDGE\t(the node's VNET_BRIDGE)" in plan
                assert re.search(rf"PORT\tei\w+\t{web['InstanceId']}\t{web['NetworkInterfaces'][0]['MacAddress']}\t", plan), plan
                assert "table inet euca_bridged" in plan and "tcp dport 80 accept" in plan, plan
        finally:
            cloud.stop()
