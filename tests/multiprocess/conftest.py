"""A cloud of separate processes on one machine: one euca-clc, two euca-cc (two zones) and three
euca-nc, each with its own state directory, port and libvirt test driver, registered with
euca-admin through join tokens."""

import configparser
import os
import pathlib
import signal
import socket
import subprocess
import time

import boto3
import botocore.config
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = ROOT / ".build" / "debug"
# The documented timings these tests rely on (see docs/operators-guide.md).
TIMINGS = {"NC_POLLING_FREQUENCY": "0.5", "NODE_TIMEOUT": "2", "CLUSTER_SYNC_INTERVAL": "0.5", "RECONCILE_INTERVAL": "0.5"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Daemon:
    def __init__(self, program: str, state: pathlib.Path, env: dict, args=()):
        self.program, self.state, self.env, self.args = program, state, env, list(args)
        self.process = None
        self.log = state.parent / f"{state.name}.log"

    def start(self, *extra):
        self.state.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, STATE_DIR=str(self.state), LOGLEVEL="DEBUG", **TIMINGS, **self.env)
        program = self.program if "/" in str(self.program) else BIN / self.program
        self.process = subprocess.Popen([str(program), *self.args, *extra], env=env,
                                        stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        return self

    def kill(self, sig=signal.SIGKILL):
        self.process.send_signal(sig)
        return self.process.wait(timeout=20)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Cloud:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.port = free_port()
        self.image_port = free_port()
        self.clc = Daemon("euca-clc", root / "clc", {"EC2_PORT": str(self.port), "IMAGE_PORT": str(self.image_port), "CONSOLE_PORT": "0"})
        self.clusters: dict[str, Daemon] = {}
        self.nodes: dict[str, Daemon] = {}
        self.node_ports: dict[str, int] = {}

    def admin(self, *args, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BIN / "euca-admin"), *args, "--state", str(self.root / "clc")], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"euca-admin {' '.join(args)}: {result.stderr}")
        return result

    def token(self, output: str) -> str:
        return output.strip().split()[-1]

    def add_cluster(self, name: str, program="euca-cc", **env):
        port = free_port()
        token = self.token(self.admin("register-cluster", name, f"127.0.0.1:{port}").stdout)
        daemon = Daemon(program, self.root / f"cc-{name}", {"CC_PORT": str(port), "METRICS_PORT": "0", **env})
        daemon.start("--join", token)
        wait_port(port)
        self.clusters[name] = daemon

    def add_node(self, cluster: str, label: str, **env):
        port = free_port()
        output = self.admin("register-node", cluster, f"127.0.0.1:{port}").stdout
        name = output.split()[1]
        # Several node controllers share this host: none serves metadata unless a test asks.
        daemon = Daemon("euca-nc", self.root / f"nc-{label}",
                        {"NC_PORT": str(port), "METRICS_PORT": "0", "MAX_CORES": "8", "METADATA_ADDRESS": "", **env})
        daemon.start("--join", self.token(output))
        wait_port(port)
        self.nodes[label] = daemon
        self.node_ports[label] = port
        return name

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self, key=None, secret=None):
        if key is None:
            parser = configparser.ConfigParser()
            parser.read(self.root / "clc" / "credentials" / "credentials")
            key, secret = parser["default"]["aws_access_key_id"], parser["default"]["aws_secret_access_key"]
        return boto3.client("ec2", endpoint_url=self.endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                            region_name="eucalyptus", config=botocore.config.Config(retries={"max_attempts": 1}))

    def stop(self):
        # All at once: a TLS server waits up to 5 s for its peers' close_notify.
        running = [d for d in [*self.nodes.values(), *self.clusters.values(), self.clc] if d.alive()]
        for daemon in running:
            daemon.process.send_signal(signal.SIGCONT)  # a node "powered down" by a test is stopped
            daemon.process.send_signal(signal.SIGTERM)
        unclean = []
        for daemon in running:
            try:
                code = daemon.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.process.kill()
                code = "killed after 30 s"
            if code != 0:
                unclean.append(f"{daemon.program} ({daemon.log}): {code}")
        assert not unclean, f"did not stop cleanly: {unclean}"


def wait_for(predicate, timeout=30, interval=0.25, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as error:  # a daemon restarting
            last = error
        if last is True or (last and not isinstance(last, Exception)):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last {last!r}")


def start_clc(tmp_path) -> "Cloud":
    if not (BIN / "euca-clc").exists():
        pytest.fail("build first: swift build")
    instance = Cloud(tmp_path)
    instance.clc.start()
    wait_port(instance.port)
    wait_for(lambda: (tmp_path / "clc" / "credentials" / "credentials").exists(), what="credentials")
    return instance


@pytest.fixture
def bare_cloud(tmp_path):
    """A cloud controller alone: the test registers its own clusters and nodes."""
    instance = start_clc(tmp_path)
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def cloud(tmp_path):
    instance = start_clc(tmp_path)
    try:
        # Stopped even when a daemon fails to start, so nothing outlives the test.
        instance.add_cluster("zone-a")
        instance.add_cluster("zone-b")
        instance.add_node("zone-a", "a1")
        instance.add_node("zone-a", "a2")
        instance.add_node("zone-b", "b1")
        wait_for(lambda: all(row.get("reachable") for row in nodes(instance)) and len(nodes(instance)) == 3, what="every node up")
        yield instance
    finally:
        instance.stop()


def nodes(cloud):
    import json
    return json.loads(cloud.admin("describe-nodes", "--json").stdout)


def states(ec2, ids):
    result = ec2.describe_instances(InstanceIds=list(ids))
    return {i["InstanceId"]: i["State"]["Name"] for r in result["Reservations"] for i in r["Instances"]}
