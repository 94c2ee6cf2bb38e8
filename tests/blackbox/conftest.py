"""Starts the built euca-cloud as a black box: a temporary state directory, a free port, and the
credentials it writes. Tests drive it with boto3, raw botocore-signed requests and the aws CLI."""

import configparser
import os
import pathlib
import signal
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import botocore.config
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("EUCA_CLOUD", ROOT / ".build" / "debug" / "euca-cloud"))


class Cloud:
    """One euca-cloud process over a state directory that outlives restarts."""

    def __init__(self, state: pathlib.Path, env: dict | None = None):
        self.state = state
        self.extra_env = env or {}
        self.process = None
        self.endpoint = None
        self.log = state / "euca-cloud.log"

    def start(self, timeout: float = 30) -> "Cloud":
        env = dict(os.environ)
        env.update({"EC2_PORT": "0", "CONSOLE_PORT": "0", "STATE_DIR": str(self.state), "LOGLEVEL": "DEBUG", "RECONCILE_INTERVAL": "0.5",
                    "VNET_PUBLICIPS": "10.99.0.10-10.99.0.13", "METADATA_ADDRESS": ""})
        env.update(self.extra_env)
        self.state.mkdir(parents=True, exist_ok=True)
        log = open(self.log, "a")
        self.process = subprocess.Popen([str(BINARY)], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:
            if "EC2 endpoint:" in line:
                self.endpoint = line.split("EC2 endpoint:")[1].split()[0].rstrip("/")
                break
            if time.monotonic() > deadline:
                break
        if self.endpoint is None:
            self.process.kill()
            raise RuntimeError(f"euca-cloud did not start; see {self.log}:\n{self.log.read_text()[-3000:]}")
        # Keep draining stdout so the process never blocks on a full pipe.
        self._drain = subprocess.Popen(["cat"], stdin=self.process.stdout, stdout=subprocess.DEVNULL)
        return self

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._drain.wait(timeout=5)
        return code

    def restart(self) -> "Cloud":
        # A daemon still running is stopped first: two on one state directory would both serve it.
        if self.process is not None and self.process.poll() is None:
            self.stop()
        return self.start()

    @property
    def credentials(self) -> dict:
        parser = configparser.ConfigParser()
        parser.read(self.state / "credentials" / "credentials")
        parser_config = configparser.ConfigParser()
        parser_config.read(self.state / "credentials" / "config")
        return {
            "access_key": parser["default"]["aws_access_key_id"],
            "secret_key": parser["default"]["aws_secret_access_key"],
            "region": parser_config["default"]["region"],
        }

    def client(self, path: str = "/", secret: str | None = None, **config):
        creds = self.credentials
        return boto3.client(
            "ec2",
            endpoint_url=self.endpoint + path,
            aws_access_key_id=creds["access_key"],
            aws_secret_access_key=secret or creds["secret_key"],
            region_name=creds["region"],
            config=botocore.config.Config(retries={"max_attempts": 1}, **config),
        )

    def aws(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs the aws CLI with only the files euca-cloud wrote."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.state / "credentials" / "credentials")
        env["AWS_CONFIG_FILE"] = str(self.state / "credentials" / "config")
        result = subprocess.run(
            ["aws", "--endpoint-url", self.endpoint, *args], env=env, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.endpoint + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture
def cloud(tmp_path):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is not built; run `swift build` first")
    instance = Cloud(tmp_path / "var").start()
    yield instance
    if instance.process.poll() is None:
        instance.stop()


def wait_for(predicate, timeout: float = 20, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}")


def states(client, ids) -> dict:
    reservations = client.describe_instances(InstanceIds=list(ids))["Reservations"]
    return {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r["Instances"]}
