"""The three tiers as separate processes: launch across zones, lose and restart daemons, and
refuse peers without the right certificate."""

import json
import ssl
import datetime
import socket

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import nodes, states, wait_for


def services(cloud):
    return json.loads(cloud.admin("describe-services", "--json").stdout)


def test_registration_launches_across_zones_and_describes_every_component(cloud):
    wait_for(lambda: all(s["state"] == "running" for s in services(cloud)) and len(services(cloud)) == 6, what="every service running")
    ec2 = cloud.client()
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])
    assert zones == ["zone-a", "zone-b"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    a = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, Placement={"AvailabilityZone": "zone-a"})["Instances"]
    b = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "zone-b"})["Instances"]
    ids = [i["InstanceId"] for i in a + b]
    wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="running in both zones")
    placed = {i["InstanceId"]: i["Placement"]["AvailabilityZone"] for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
              for i in r["Instances"]}
    assert sorted(placed.values()) == ["zone-a", "zone-a", "zone-b"]

    nodes = json.loads(cloud.admin("describe-nodes", "--json").stdout)
    wait_for(lambda: sum(n["instances"] for n in json.loads(cloud.admin("describe-nodes", "--json").stdout)) == 3, what="node counts")
    assert {n["cluster"] for n in nodes} == {"zone-a", "zone-b"}
    assert all(n["coresTotal"] == 8 for n in nodes)
    # Round-robin spread zone-a's two instances over its two nodes.
    by_node = {n["name"]: n["instances"] for n in json.loads(cloud.admin("describe-nodes", "--json").stdout)}
    assert sorted(by_node.values()) == [1, 1, 1]
    # The administrator's verbose view names each instance's node (EC2's placement hostId); the
    # instance's own account does not see it, and each cluster logged each decision.
    hosts = {i["InstanceId"]: i["Placement"].get("HostId")
             for r in ec2.describe_instances(InstanceIds=["verbose"])["Reservations"] for i in r["Instances"] if i["InstanceId"] in ids}
    assert sorted(hosts.values()) == sorted(by_node), (hosts, by_node)
    listed = {i: n["name"] for n in json.loads(cloud.admin("describe-nodes", "--json").stdout) for i in n["instanceIds"]}
    assert listed == hosts, "describe-nodes lists each node's instances"
    assert all("HostId" not in i["Placement"] for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"])
    placed_lines = [line for daemon in cloud.clusters.values() for line in daemon.log.read_text().splitlines() if "instance placed" in line]
    for instance, host in hosts.items():
        assert any(f"euca.instance={instance}" in line and f"euca.node={host}" in line and "policy=" in line for line in placed_lines), placed_lines

    # `verbose` lists, under each zone, how many of each type fit now and in the empty zone,
    # as the clusters' describeResources and the nodes' own figures say.
    def fits(type_, cores, memory, disk):
        return min(cores // type_["cores"], memory // type_["memory"], disk // type_["disk"])

    # Every type the cloud offers, as it describes them: Eucalyptus' five as Eucalyptus sized them,
    # and AWS' common names.
    offered = {t["InstanceType"]: {"cores": t["VCpuInfo"]["DefaultVCpus"], "memory": t["MemoryInfo"]["SizeInMiB"],
                                   "disk": t["InstanceStorageInfo"]["TotalSizeInGB"]}
               for page in ec2.get_paginator("describe_instance_types").paginate() for t in page["InstanceTypes"]}
    assert TYPES.items() <= offered.items() and "t3.micro" in offered

    def expected():
        rows = json.loads(cloud.admin("describe-nodes", "--json").stdout)
        lines = {}
        for zone in ["zone-a", "zone-b"]:
            mine = [n for n in rows if n["cluster"] == zone]
            for name, type_ in offered.items():
                free = sum(fits(type_, n["coresFree"], n["memoryFreeMiB"], n["diskFreeGiB"]) for n in mine)
                most = sum(fits(type_, n["coresTotal"], n["memoryTotalMiB"], n["diskTotalGiB"]) for n in mine)
                lines[(zone, name)] = (free, most)
        return lines

    def verbose():
        info = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
        rows, zone = {}, None
        for item in info:
            if not item["ZoneName"].startswith("|- "):
                zone = item["ZoneName"]
            elif item["ZoneName"] == "|- vm types":
                assert item["State"] == "free / max   cpu   ram  disk"
            else:
                free, _, most, cores, memory, disk = item["State"].split()
                name = item["ZoneName"][3:]
                assert (int(cores), int(memory), int(disk)) == tuple(offered[name].values())
                rows[(zone, name)] = (int(free), int(most))
        return rows

    wait_for(lambda: verbose() == expected(), what="verbose capacity matching the nodes")
    assert verbose()[("zone-a", "m1.small")][0] < verbose()[("zone-a", "m1.small")][1]
    # Other accounts see the zones alone.
    lines = cloud.admin("create-account", "viewer").stdout.splitlines()
    key = next(line.split("\t") for line in lines if line.startswith("KEY\t"))
    viewer = cloud.client(key[1], key[2])
    assert [z["ZoneName"] for z in viewer.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]] == ["zone-a", "zone-b"]


TYPES = {
    "m1.small": {"cores": 1, "memory": 128, "disk": 2}, "c1.medium": {"cores": 1, "memory": 256, "disk": 5},
    "m1.large": {"cores": 2, "memory": 512, "disk": 10}, "m1.xlarge": {"cores": 2, "memory": 1024, "disk": 20},
    "c1.xlarge": {"cores": 4, "memory": 2048, "disk": 20},
}


def test_a_used_token_and_an_unknown_one_are_refused(cloud):
    output = cloud.admin("register-node", "zone-b", "127.0.0.1:1").stdout
    token = output.strip().split()[-1]
    from conftest import Daemon
    first = Daemon("euca-nc", cloud.root / "late", {"NC_PORT": "0", "METRICS_PORT": "0"}).start("--join", token)
    wait_for(lambda: (cloud.root / "late" / "tls" / "cert.pem").exists(), what="the first join")
    first.kill()
    again = Daemon("euca-nc", cloud.root / "late2", {"NC_PORT": "0", "METRICS_PORT": "0"}).start("--join", token)
    assert again.process.wait(timeout=20) != 0
    assert "has been used already" in again.log.read_text()
    bogus = Daemon("euca-nc", cloud.root / "late3", {"NC_PORT": "0", "METRICS_PORT": "0"}).start("--join", "euca1.e30")
    assert bogus.process.wait(timeout=20) != 0


def test_a_node_that_dies_is_marked_impaired_and_reconciled_when_it_returns(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "zone-b"})["Instances"]]
    wait_for(lambda: states(ec2, ids) == {ids[0]: "running"}, what="running on b1")
    cloud.nodes["b1"].kill()
    # The node stops answering: the instance is impaired, not forgotten.
    wait_for(lambda: ec2.describe_instance_status(InstanceIds=ids)["InstanceStatuses"][0]["InstanceStatus"]["Status"] == "impaired",
             timeout=15, what="impaired")
    assert states(ec2, ids) == {ids[0]: "running"}
    # It comes back: asked what it runs (nothing: the test driver's domains died with it), the
    # instance converges to terminated.
    cloud.nodes["b1"].start()
    wait_for(lambda: states(ec2, ids) == {ids[0]: "terminated"}, timeout=15, what="converged after the node returned")
    reason = ec2.describe_instances(InstanceIds=ids)["Reservations"][0]["Instances"][0]["StateReason"]["Code"]
    assert reason == "Server.InternalError"
    # And it takes new work.
    more = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "zone-b"})["Instances"]]
    wait_for(lambda: states(ec2, more) == {more[0]: "running"}, what="a new instance on the restarted node")


def test_the_cloud_controller_restarts_from_its_store_while_nodes_keep_running(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_key_pair(KeyName="kept")
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3)["Instances"]]
    wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="running")
    cloud.clc.kill()
    cloud.clc.start()
    from conftest import wait_port
    wait_port(cloud.port)
    ec2 = cloud.client()
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == ["kept"]
    # The instances ran on through the restart, and still do.
    wait_for(lambda: set(states(ec2, ids).values()) == {"running"}, what="still running after the restart")
    ec2.terminate_instances(InstanceIds=ids)
    wait_for(lambda: set(states(ec2, ids).values()) == {"terminated"}, what="terminated through restarted tiers")


def make_cert(issuer_key, issuer_name, role, *, expired=False):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(days=3 if expired else 0, minutes=5)
    end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=1)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"euca-{role}"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "intruder")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))
    return key, cert


def handshake(cloud, tmp_path, port, key, cert) -> bool:
    """Whether a TLS client with this key and certificate gets through to 127.0.0.1:port."""
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cloud.root / "clc" / "ca" / "ca.crt")
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"POST /cc/v1/describeInstances HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
                return tls.recv(100).startswith(b"HTTP/1.1 200")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return False


def test_peers_without_the_right_certificate_are_refused(cloud, tmp_path):
    cc_port = int(cloud.clusters["zone-a"].env["CC_PORT"])
    ca_key = serialization.load_pem_private_key((cloud.root / "clc" / "ca" / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((cloud.root / "clc" / "ca" / "ca.crt").read_bytes())
    # The right CA and role get through: the test itself is sound.
    assert handshake(cloud, tmp_path, cc_port, *make_cert(ca_key, ca_cert.subject, "clc"))
    # Another CA's certificate.
    other_key = ec.generate_private_key(ec.SECP256R1())
    assert not handshake(cloud, tmp_path, cc_port, *make_cert(other_key, ca_cert.subject, "clc"))
    # An expired one from the right CA.
    assert not handshake(cloud, tmp_path, cc_port, *make_cert(ca_key, ca_cert.subject, "clc", expired=True))
    # A node's own certificate used against the cluster API.
    node_tls = cloud.root / "nc-a1" / "tls"
    node_key = serialization.load_pem_private_key((node_tls / "key.pem").read_bytes(), None)
    node_cert = x509.load_pem_x509_certificate((node_tls / "cert.pem").read_bytes())
    assert not handshake(cloud, tmp_path, cc_port, node_key, node_cert)
    log = cloud.clusters["zone-a"].log.read_text()
    assert "peer refused" in log and "wrong role" in log


def test_a_node_or_cluster_holding_instances_is_not_deregistered(cloud):
    ec2 = cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "zone-b"})["Instances"][0]["InstanceId"]
    wait_for(lambda: states(ec2, [instance_id])[instance_id] == "running", what="running")
    node = next(n["name"] for n in json.loads(cloud.admin("describe-nodes", "--json").stdout) if n["cluster"] == "zone-b")
    refused = cloud.admin("deregister-node", "zone-b", node, check=False)
    assert refused.returncode != 0 and instance_id in refused.stderr and "terminate them first" in refused.stderr
    refused = cloud.admin("deregister-cluster", "zone-b", check=False)
    assert refused.returncode != 0 and instance_id in refused.stderr
    assert any(s["name"].endswith(node) for s in services(cloud))
    # Once its instance is gone the node, then its cluster, go.
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for(lambda: states(ec2, [instance_id])[instance_id] == "terminated", what="terminated")
    cloud.admin("deregister-node", "zone-b", node)
    wait_for(lambda: not any(s["name"].endswith(node) for s in services(cloud)), what="the node gone from describe-services")
    cloud.admin("deregister-cluster", "zone-b")
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert zones == ["zone-a"]


def test_cluster_and_node_controllers_export_their_own_metrics(bare_cloud):
    import re
    import urllib.request

    from conftest import free_port

    cc_metrics, nc_metrics = free_port(), free_port()
    bare_cloud.add_cluster("zone-m", METRICS_PORT=str(cc_metrics))
    bare_cloud.add_node("zone-m", "m1", METRICS_PORT=str(nc_metrics))
    wait_for(lambda: [r for r in nodes(bare_cloud) if r.get("reachable")], what="the node up")
    ec2 = bare_cloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_for(lambda: states(ec2, [instance_id])[instance_id] == "running", what="running")

    def metric(port, name, **labels):
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            match = re.match(r"^(\w+)\{([^}]*)\} (\S+)$", line)
            if match and match.group(1) == name:
                found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
                if all(found.get(k) == v for k, v in labels.items()):
                    return float(match.group(3))
        return None

    wait_for(lambda: (metric(nc_metrics, "euca_node_instances") or 0) == 1, what="the node's instance gauge")
    assert metric(nc_metrics, "euca_internal_requests_total", api="nc", operation="runInstance", outcome="ok") >= 1
    assert metric(cc_metrics, "euca_internal_requests_total", api="cc", operation="runInstances", outcome="ok") >= 1
    wait_for(lambda: metric(cc_metrics, "euca_cluster_nodes", zone="zone-m", state="reachable") == 1, what="the cluster's node gauge")
    wait_for(lambda: metric(cc_metrics, "euca_cluster_instances", zone="zone-m") == 1, what="the cluster's instance gauge")
