"""Shared by scripts/bench/guest-launch and scripts/bench/metadata (not a script of its own): one
euca-cloud on libvirt's qemu:///system with the sample image, on a private bridge made by
scripts/dev-network, as tests/guests/conftest.py brings it up; teardown that runs on failure and
on Ctrl-C; and the statistics and JSON lines the benchmarks print."""

import configparser
import datetime
import errno
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import botocore.config
import botocore.exceptions

# What a run can fail with that needs no traceback: the message says it.
FAILURES = (RuntimeError, subprocess.TimeoutExpired, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)

ROOT = pathlib.Path(__file__).resolve().parents[2]
VIRSH = ["virsh", "-c", "qemu:///system"]
READY = re.compile(r"euca-instance-ready instance-id=(\S+) key-fingerprint=(\S+) address=(\S+)")


class Interrupted(Exception):
    """SIGTERM or SIGHUP arrived; raised like KeyboardInterrupt so that teardown runs."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def die(message: str) -> None:
    log(f"{pathlib.Path(sys.argv[0]).name}: {message}")
    sys.exit(1)


def emit(fields: dict) -> None:
    """One JSON line on stdout, keys sorted, as euca-control-bench prints them."""
    print(json.dumps(fields, sort_keys=True), flush=True)


def percentile(sorted_values: list[float], p: float) -> float:
    """euca-control-bench's rule: the value at index ⌊n·p⌋ (so p99 of fewer than 100 is the maximum)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def summary(values: list[float], digits: int = 3) -> dict:
    ordered = sorted(values)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    return {"n": len(ordered), "mean_s": round(mean, digits), "p50_s": round(percentile(ordered, 0.50), digits),
            "p99_s": round(percentile(ordered, 0.99), digits), "min_s": round(ordered[0] if ordered else 0.0, digits),
            "max_s": round(ordered[-1] if ordered else 0.0, digits)}


def run(*args: str, check: bool = True, timeout: float = 60, quiet: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    if not quiet and result.returncode != 0:
        log(f"  ({' '.join(args)}: {result.stderr.strip()})")
    return result


def missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "needs root (libvirt's qemu:///system, a bridge, port 80 on 169.254.169.254)"
    for tool, package in [("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"), ("virsh", "libvirt-clients"),
                          ("libvirtd", "libvirt-daemon"), ("dnsmasq", "dnsmasq-base"), ("dropbear", "dropbear-bin"),
                          ("ip", "iproute2")]:
        if shutil.which(tool) is None and not pathlib.Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (apt install {package})"
    if not list(pathlib.Path("/boot").glob("vmlinuz-*")):
        return "no kernel in /boot (apt install linux-image-amd64)"
    return None


def port_taken(address: str, port: int) -> bool:
    """Whether something listens on address:port (False when the address is not on this host yet)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


METADATA_TAKEN = ("169.254.169.254:80 is taken: another node's metadata service runs on this host (make run, the guest "
                  "tests, another benchmark); only one can serve it, so stop that one first")


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores were busy, on average, over the next `seconds` (from /proc/stat)."""
    def ticks():
        values = [int(v) for v in pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(values) - values[3] - values[4], sum(values)
    busy0, total0 = ticks()
    time.sleep(seconds)
    busy1, total1 = ticks()
    return (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)


class Lab:
    """A bench bridge, one euca-cloud process with the sample image, and everything to undo.

    Use as a context manager. Teardown runs its own undo steps last-registered first (scripts add
    theirs with `on_teardown`), then terminates every instance launched through `launch`, stops the
    cloud, removes libvirt domains of those instances that are somehow still there, takes the
    bridge and its dnsmasq down and removes the work directory unless `keep`."""

    def __init__(self, *, bridge: str, prefix: str, binary: pathlib.Path, keep: bool, node_accel: str = "auto",
                 extra_env: dict | None = None, name: str = "bench"):
        self.bridge, self.prefix, self.binary, self.keep = bridge, prefix, binary, keep
        self.node_accel, self.extra_env, self.name = node_accel, extra_env or {}, name
        self.work: pathlib.Path | None = None
        self.process: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.launched: list[str] = []
        self.undo: list[tuple[str, object]] = []
        self.network_up = False
        self._ec2 = None

    # -- setup ---------------------------------------------------------------------------------

    def __enter__(self) -> "Lab":
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._interrupt)
        try:
            self._setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, exc_type, _exc, _tb) -> None:
        if exc_type is not None and not issubclass(exc_type, (KeyboardInterrupt, Interrupted, SystemExit)):
            try:
                self.check_alive()
            except RuntimeError as dead:
                log(str(dead))
        self.teardown()

    @staticmethod
    def _interrupt(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)

    def _setup(self) -> None:
        reason = missing_tools()
        if reason:
            die(reason)
        if not self.binary.exists():
            die(f"{self.binary} is not built (swift build, or pass --euca-cloud PATH)")
        if pathlib.Path(f"/sys/class/net/{self.bridge}").exists():
            die(f"{self.bridge} already exists; another run may be using it (pick another with --bridge and --prefix)")
        if port_taken("169.254.169.254", 80):
            die(METADATA_TAKEN)
        busy = busy_cores()
        if busy > 0.5:
            log(f"warning: the host is already busy ({busy:.1f} of {os.cpu_count()} cores in the last second); "
                "the figures will show it")
        others = run("pgrep", "-c", "-f", "qemu-system", check=False, quiet=True).stdout.strip()
        if others not in ("", "0"):
            log(f"warning: {others} other QEMU process(es) run on this host; they share its {os.cpu_count()} cores "
                "with this benchmark")
        self.work = pathlib.Path(tempfile.mkdtemp(prefix=f"euca-{self.name}."))
        log(f"work directory {self.work}")
        run(str(ROOT / "scripts" / "start-libvirtd"))
        out = run(str(ROOT / "scripts" / "build-sample-image"), str(self.work / "sample"), timeout=180)
        log(out.stdout.strip())
        self.network_up = True
        run(str(ROOT / "scripts" / "dev-network"), "up", self.bridge, self.prefix, str(self.work / "net"))
        # The node's metadata service binds 169.254.169.254:80, which another bridge may also carry
        # (make run, the guest tests): only one node on this host can serve it at a time.
        if port_taken("169.254.169.254", 80):
            die(METADATA_TAKEN)
        env = dict(os.environ)
        env.update({"STATE_DIR": str(self.work / "var"), "EC2_PORT": "0", "LIBVIRT_URI": "qemu:///system",
                    "VNET_BRIDGE": self.bridge, "SAMPLE_IMAGE_DIR": str(self.work / "sample"),
                    "NODE_NAME": f"{self.name}-node", "SHUTDOWN_TIMEOUT": "10"})
        if self.node_accel != "auto":
            env["HYPERVISOR_ACCEL"] = self.node_accel
        env.update(self.extra_env)
        (self.work / "var").mkdir()
        self.log_path = self.work / "euca-cloud.log"
        with open(self.log_path, "w") as err:
            self.process = subprocess.Popen([str(self.binary)], env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                            start_new_session=True)
        deadline = time.monotonic() + 90
        for line in self.process.stdout:
            if "EC2 endpoint:" in line:
                self.endpoint = line.split("EC2 endpoint:")[1].split()[0].rstrip("/")
                break
            if time.monotonic() > deadline:
                break
        if self.endpoint is None:
            raise RuntimeError(f"euca-cloud did not start; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()
        log(f"euca-cloud ({self.binary}) at {self.endpoint}; log {self.log_path}")
        time.sleep(1)
        self.check_alive()

    def check_alive(self) -> None:
        """Raises with the end of the cloud's log if euca-cloud has exited."""
        if self.process is not None and self.process.poll() is not None:
            lines = self.log_path.read_text(errors="replace").splitlines()
            hint = f"\n{METADATA_TAKEN}" if lines and "Address already in use" in lines[-1] else ""
            raise RuntimeError(f"euca-cloud exited ({self.process.returncode}); the end of its log:\n"
                               + "\n".join(lines[-15:]) + hint)

    # -- the cloud -----------------------------------------------------------------------------

    def client(self):
        if self._ec2 is None:
            creds = configparser.ConfigParser()
            creds.read(self.work / "var" / "credentials" / "credentials")
            config = configparser.ConfigParser()
            config.read(self.work / "var" / "credentials" / "config")
            self._ec2 = boto3.client(
                "ec2", endpoint_url=self.endpoint, aws_access_key_id=creds["default"]["aws_access_key_id"],
                aws_secret_access_key=creds["default"]["aws_secret_access_key"], region_name=config["default"]["region"],
                config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=60))
        return self._ec2

    def sample_image(self) -> str:
        images = self.client().describe_images(Filters=[{"Name": "name", "Values": ["euca-sample"]}])["Images"]
        if not images:
            raise RuntimeError("euca-cloud registered no euca-sample image")
        return images[0]["ImageId"]

    def guest_acceleration(self) -> str | None:
        """What the node's probe chose, from its log line "guests run with qemu|kvm"."""
        match = re.search(r"guests run with (\w+)", self.log_path.read_text(errors="replace"))
        return match.group(1) if match else None

    def run_instance(self, image: str, instance_type: str) -> str:
        reply = self.client().run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType=instance_type)
        instance_id = reply["Instances"][0]["InstanceId"]
        self.launched.append(instance_id)
        return instance_id

    def state(self, instance_id: str) -> str:
        reservations = self.client().describe_instances(InstanceIds=[instance_id])["Reservations"]
        return reservations[0]["Instances"][0]["State"]["Name"]

    def console(self, instance_id: str) -> str:
        return self.client().get_console_output(InstanceId=instance_id).get("Output") or ""

    def terminate(self, ids: list[str], timeout: float = 120, interval: float = 0.2) -> float:
        """Terminates and waits until DescribeInstances shows every one terminated; the seconds it took."""
        ec2 = self.client()
        began = time.monotonic()
        ec2.terminate_instances(InstanceIds=ids)
        while True:
            reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
            if all(i["State"]["Name"] == "terminated" for r in reservations for i in r["Instances"]):
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                raise RuntimeError(f"{ids} not terminated within {timeout} s")
            time.sleep(interval)

    @staticmethod
    def qemu_started_at(instance_id: str) -> float | None:
        """When libvirt last started QEMU for `instance_id` (epoch seconds, from its log), when readable."""
        try:
            text = pathlib.Path(f"/var/log/libvirt/qemu/{instance_id}.log").read_text(errors="replace")
        except OSError:
            return None
        found = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\+0000: starting up", text, re.MULTILINE)
        if not found:
            return None
        return datetime.datetime.strptime(found[-1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()

    def qemu_command_line(self, instance_id: str) -> list[str] | None:
        """The QEMU command line libvirt started `instance_id` with (from its log), when readable."""
        path = pathlib.Path(f"/var/log/libvirt/qemu/{instance_id}.log")
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return None
        blocks = text.split("starting up libvirt")
        lines = []
        for line in blocks[-1].splitlines()[1:]:
            if not line.endswith("\\"):
                lines.append(line)
                break
            lines.append(line[:-1])
        words = shlex.split(" ".join(lines))
        for index, word in enumerate(words):
            if word.endswith("qemu-system-x86_64"):
                return words[index:]
        return None

    # -- teardown ------------------------------------------------------------------------------

    def on_teardown(self, what: str, action) -> None:
        """Registers an undo step; steps run last-registered first."""
        self.undo.append((what, action))

    def teardown(self) -> None:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self._teardown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _step(self, what: str, action) -> None:
        try:
            action()
        except Exception as error:  # teardown goes on; each step says what it could not undo
            log(f"teardown: {what}: {error}")

    def _teardown(self) -> None:
        while self.undo:
            self._step(*self.undo.pop())
        if self.process is not None and self.process.poll() is None:
            def terminate_all():
                ec2 = self.client()
                left = []
                for start in range(0, len(self.launched), 100):
                    chunk = self.launched[start:start + 100]
                    for r in ec2.describe_instances(InstanceIds=chunk)["Reservations"]:
                        left += [i["InstanceId"] for i in r["Instances"] if i["State"]["Name"] != "terminated"]
                if left:
                    log(f"teardown: terminating {' '.join(left)}")
                    self.terminate(left, timeout=60, interval=0.5)
            if self.launched:
                self._step("terminating instances", terminate_all)

            def stop_cloud():
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    log("teardown: euca-cloud did not stop within 30 s; killing it")
                    self.process.kill()
                    self.process.wait(timeout=10)
            self._step("stopping euca-cloud", stop_cloud)
        if self.launched:
            def domains():
                names = run(*VIRSH, "list", "--all", "--name", check=False, quiet=True).stdout.split()
                for instance_id in set(names) & set(self.launched):
                    log(f"teardown: removing the libvirt domain {instance_id}")
                    run(*VIRSH, "destroy", instance_id, check=False)
                    run(*VIRSH, "undefine", instance_id, check=False)
            self._step("removing libvirt domains", domains)
            if not self.keep:
                for instance_id in self.launched:
                    pathlib.Path(f"/var/log/libvirt/qemu/{instance_id}.log").unlink(missing_ok=True)
        if self.network_up:
            self._step("taking the bridge down", lambda: run(
                str(ROOT / "scripts" / "dev-network"), "down", self.bridge, self.prefix, str(self.work / "net")))
            self.network_up = False
        if self.work is not None and self.work.exists():
            if self.keep:
                log(f"kept {self.work} (state directory {self.work / 'var'}, cloud log {self.work / 'euca-cloud.log'})")
            else:
                self._step("removing the work directory", lambda: shutil.rmtree(self.work))
